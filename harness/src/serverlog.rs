//! Server-side evidence of what the P0 runner executed: the tag on each statement, the server
//! log read back after a call, and the check that the server ran exactly what the runner reported.
//!
//! Every statement the runner sends in a step's transaction starts with a comment
//! `/* dryrun-p0 <nonce>.<call> step=<k> run=<precheck|deploy|verify|revert> part=<i>/<n> */`
//! and runs with `SET LOCAL log_statement = 'all'`, so PostgreSQL itself writes each one to its
//! log (`LOG:  statement: /* dryrun-p0 …`). After a call the runner logs an end marker; the log
//! is read back up to that marker ([`crate::container::PgContainer::log_until`]; the server
//! writes a statement's log line before it answers, and the log is one ordered stream) and
//! parsed into [`ServerStatement`]s. [`check`] compares them with the runner's own events: a
//! phase the server ran more often than the events say is a silent retry (CTE-01 forbids it).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::migrate::events::{Phase, Status, StepEvent};

/// The tag's prefix; the rest is `<nonce>.<call>`.
pub const TAG_PREFIX: &str = "dryrun-p0";

/// What one execution was: the pre-check (the step's verify run before its deploy to find out
/// whether it is applied already), the deploy, the verify after it, or the revert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Run {
    Precheck,
    Deploy,
    Verify,
    Revert,
}

impl Run {
    pub fn as_str(self) -> &'static str {
        match self {
            Run::Precheck => "precheck",
            Run::Deploy => "deploy",
            Run::Verify => "verify",
            Run::Revert => "revert",
        }
    }

    fn parse(s: &str) -> Option<Run> {
        Some(match s {
            "precheck" => Run::Precheck,
            "deploy" => Run::Deploy,
            "verify" => Run::Verify,
            "revert" => Run::Revert,
            _ => return None,
        })
    }
}

/// The comment that starts statement `part` of `parts` of an execution (ends in a newline, so
/// the server log shows the tag alone on the statement's first line).
pub fn tag(call: &str, index: usize, run: Run, part: usize, parts: usize) -> String {
    format!(
        "/* {TAG_PREFIX} {call} step={index} run={} part={part}/{parts} */\n",
        run.as_str()
    )
}

/// The end marker statement of a call, and the text of it to wait for in the log.
pub fn end_marker(call: &str) -> (String, String) {
    let text = format!("{TAG_PREFIX} {call} end");
    (format!("/* {text} */ SELECT 1"), text)
}

/// One statement of a call as the server logged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerStatement {
    /// 1-based plan step.
    pub index: usize,
    pub run: Run,
    pub part: usize,
    pub parts: usize,
}

impl ServerStatement {
    /// `step 3 verify` (the first statement of an execution), `step 4 deploy part 2/2`.
    pub fn label(&self) -> String {
        if self.part == 1 {
            format!("step {} {}", self.index, self.run.as_str())
        } else {
            format!(
                "step {} {} part {}/{}",
                self.index,
                self.run.as_str(),
                self.part,
                self.parts
            )
        }
    }
}

/// The statements of call `call` in a server log (stderr format, any `log_line_prefix`), in
/// log order. Only `LOG:  statement:` lines count: the `STATEMENT:` line that follows an
/// error repeats a statement already logged.
pub fn parse(log: &str, call: &str) -> Vec<ServerStatement> {
    let needle = format!("LOG:  statement: /* {TAG_PREFIX} {call} ");
    log.lines()
        .filter_map(|line| {
            let rest = &line[line.find(&needle)? + needle.len()..];
            let rest = rest.strip_suffix(" */").unwrap_or(rest).trim_end();
            let mut index = None;
            let mut run = None;
            let mut part = None;
            for field in rest.split_whitespace() {
                match field.split_once('=') {
                    Some(("step", v)) => index = v.parse().ok(),
                    Some(("run", v)) => run = Run::parse(v),
                    Some(("part", v)) => {
                        part = v
                            .split_once('/')
                            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                    }
                    _ => {}
                }
            }
            let (part, parts) = part?;
            Some(ServerStatement {
                index: index?,
                run: run?,
                part,
                parts,
            })
        })
        .collect()
}

/// How many times the events of one runner call say each `(step, run)` was executed:
/// `(least, most)`. A no-op deploy is either the ledger's (nothing ran) or the pre-check's.
fn expected(events: &[StepEvent]) -> BTreeMap<(usize, Run), (usize, usize)> {
    let mut want: BTreeMap<(usize, Run), (usize, usize)> = BTreeMap::new();
    let mut add = |k: (usize, Run), lo: usize, hi: usize| {
        let e = want.entry(k).or_insert((0, 0));
        e.0 += lo;
        e.1 += hi;
    };
    for (n, e) in events.iter().enumerate() {
        let ran = matches!(e.status, Status::Ok | Status::Failed);
        // A lost connection may fail a transaction before its first statement reached the server.
        let lo = usize::from(
            e.error
                .as_ref()
                .is_none_or(|f| f.kind != crate::migrate::events::FailureKind::ConnectionLost),
        );
        match (e.phase, e.status) {
            (Phase::Deploy, Status::NoOp) => add((e.index, Run::Precheck), 0, 1),
            (Phase::Deploy, _) if ran => {
                add((e.index, Run::Precheck), 1, 1);
                add((e.index, Run::Deploy), lo, 1);
            }
            (Phase::Verify, _) if ran => {
                // After the step's own deploy event it is the verify; without one, the
                // pre-check failed (not with "not applied") and stopped the run.
                let after_deploy =
                    n > 0 && events[n - 1].index == e.index && events[n - 1].phase == Phase::Deploy;
                let run = if after_deploy {
                    Run::Verify
                } else {
                    Run::Precheck
                };
                add((e.index, run), lo, 1);
            }
            (Phase::Revert, _) if ran || e.status == Status::NoOp => {
                add((e.index, Run::Revert), lo, 1)
            }
            _ => {}
        }
    }
    want
}

/// Check the server's record of one runner call against the call's events. The first line of
/// an error names the step and what the server ran; the whole record follows.
pub fn check(events: &[StepEvent], record: &[ServerStatement]) -> std::result::Result<(), String> {
    let mut ran: BTreeMap<(usize, Run), usize> = BTreeMap::new();
    for s in record.iter().filter(|s| s.part == 1) {
        *ran.entry((s.index, s.run)).or_insert(0) += 1;
    }
    let want = expected(events);
    let name = |index: usize| {
        events
            .iter()
            .find(|e| e.index == index)
            .map(|e| format!(" {}", e.step))
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    for (&(index, run), &n) in &ran {
        let (lo, hi) = want.get(&(index, run)).copied().unwrap_or((0, 0));
        if n > hi {
            let what = if hi == 0 {
                "the runner reported no such execution".to_string()
            } else {
                format!("the runner's events account for {hi}")
            };
            let retry = if hi > 0 {
                ": a silent retry (CTE-01: no automatic retry)"
            } else {
                ""
            };
            problems.push(format!(
                "the server ran step {index}{} {} {n} times, {what}{retry}",
                name(index),
                run.as_str()
            ));
        } else if n < lo {
            problems.push(format!(
                "the server ran step {index}{} {} {n} times, the runner's events say {lo}",
                name(index),
                run.as_str()
            ));
        }
    }
    for (&(index, run), &(lo, _)) in &want {
        if lo > 0 && !ran.contains_key(&(index, run)) {
            problems.push(format!(
                "the server never ran step {index}{} {}, which the runner's events report",
                name(index),
                run.as_str()
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let labels: Vec<String> = record.iter().map(ServerStatement::label).collect();
    Err(format!(
        "{}; server record: {}",
        problems.join("; "),
        if labels.is_empty() {
            "nothing".to_string()
        } else {
            labels.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::events::DbFailure;

    fn ev(index: usize, phase: Phase, status: Status) -> StepEvent {
        StepEvent {
            step: format!("0{index}_s"),
            index,
            phase,
            status,
            error: None,
            elapsed_ms: 0,
        }
    }

    fn st(index: usize, run: Run) -> ServerStatement {
        ServerStatement {
            index,
            run,
            part: 1,
            parts: 1,
        }
    }

    fn log_of(call: &str, runs: &[(usize, Run)]) -> String {
        let mut log = String::from("2026-12-02 04:15:02.123 UTC [77] LOG:  checkpoint starting\n");
        for &(i, r) in runs {
            log.push_str(&format!(
                "2026-12-02 04:15:02.200 UTC [88] LOG:  statement: {}DO $v$ BEGIN\n  NULL;\nEND $v$\n",
                tag(call, i, r, 1, 1)
            ));
        }
        log
    }

    /// S14's first deploy: steps 1-2 applied, step 3's verify fails, 4-7 skipped.
    fn s14_events() -> Vec<StepEvent> {
        let mut v = Vec::new();
        for i in 1..=2 {
            v.push(ev(i, Phase::Deploy, Status::Ok));
            v.push(ev(i, Phase::Verify, Status::Ok));
        }
        v.push(ev(3, Phase::Deploy, Status::Ok));
        let mut failed = ev(3, Phase::Verify, Status::Failed);
        failed.error = Some(DbFailure {
            sqlstate: Some("P0001".into()),
            kind: crate::migrate::events::FailureKind::VerifyFailed,
            message: "injected verify failure".into(),
            detail: None,
        });
        v.push(failed);
        for i in 4..=7 {
            v.push(ev(i, Phase::Deploy, Status::Skipped));
        }
        v
    }

    fn s14_runs() -> Vec<(usize, Run)> {
        let mut r = Vec::new();
        for i in 1..=3 {
            r.extend([(i, Run::Precheck), (i, Run::Deploy), (i, Run::Verify)]);
        }
        r
    }

    #[test]
    fn tag_round_trips_through_a_log_line() {
        let t = tag("n1.4", 5, Run::Revert, 2, 3);
        assert_eq!(t, "/* dryrun-p0 n1.4 step=5 run=revert part=2/3 */\n");
        let log = format!("2026-12-02 UTC [9] LOG:  statement: {t}DROP TABLE x;\n");
        assert_eq!(
            parse(&log, "n1.4"),
            [ServerStatement {
                index: 5,
                run: Run::Revert,
                part: 2,
                parts: 3
            }]
        );
        assert_eq!(parse(&log, "n1.40"), []);
        assert_eq!(parse(&log, "n1.5"), []);
    }

    #[test]
    fn parse_skips_error_statement_lines_and_other_calls() {
        let mut log = log_of("abc.2", &[(1, Run::Precheck), (1, Run::Deploy)]);
        log.push_str(&log_of("abc.3", &[(2, Run::Deploy)]));
        log.push_str("2026-12-02 UTC [88] ERROR:  injected verify failure\n");
        log.push_str(&format!(
            "2026-12-02 UTC [88] STATEMENT:  {}DO $$ $$\n",
            tag("abc.2", 1, Run::Verify, 1, 1)
        ));
        log.push_str(&format!(
            "2026-12-02 UTC [88] LOG:  statement: {} SELECT 1\n",
            end_marker("abc.2").0
        ));
        assert_eq!(
            parse(&log, "abc.2"),
            [st(1, Run::Precheck), st(1, Run::Deploy)]
        );
        assert_eq!(parse(&log, "abc.3"), [st(2, Run::Deploy)]);
    }

    #[test]
    fn parse_ignores_malformed_tags() {
        for bad in [
            "step=x run=deploy part=1/1",
            "step=1 run=redeploy part=1/1",
            "step=1 run=deploy part=1",
            "step=1 run=deploy part=a/1",
            "step=1 run=deploy part=1/b",
            "run=deploy part=1/1",
            "step=1 part=1/1",
        ] {
            let log = format!("x LOG:  statement: /* dryrun-p0 c.1 {bad} */\nSELECT 1\n");
            assert_eq!(parse(&log, "c.1"), [], "{bad}");
        }
    }

    #[test]
    fn end_marker_is_not_a_statement_of_the_call() {
        let (sql, text) = end_marker("q.7");
        assert_eq!(sql, "/* dryrun-p0 q.7 end */ SELECT 1");
        assert_eq!(text, "dryrun-p0 q.7 end");
        let log = format!("x LOG:  statement: {sql}\n");
        assert!(log.contains(&text));
        assert_eq!(parse(&log, "q.7"), []);
    }

    #[test]
    fn s14_record_matches_its_events() {
        let runs = s14_runs();
        let record = parse(&log_of("s.1", &runs), "s.1");
        assert_eq!(record.len(), 9);
        assert_eq!(check(&s14_events(), &record), Ok(()));
    }

    #[test]
    fn a_silent_rerun_of_the_failing_verify_is_named() {
        let mut runs = s14_runs();
        runs.push((3, Run::Verify));
        let record = parse(&log_of("s.1", &runs), "s.1");
        let err = check(&s14_events(), &record).expect_err("retry");
        assert!(
            err.starts_with(
                "the server ran step 3 03_s verify 2 times, the runner's events account for 1: a silent retry (CTE-01: no automatic retry); server record: step 1 precheck"
            ),
            "{err}"
        );
        assert!(err.ends_with("step 3 verify, step 3 verify"), "{err}");
    }

    #[test]
    fn a_skipped_step_that_ran_is_named() {
        let mut runs = s14_runs();
        runs.push((4, Run::Precheck));
        let record = parse(&log_of("s.1", &runs), "s.1");
        let err = check(&s14_events(), &record).expect_err("ran after the stop");
        assert!(
            err.starts_with(
                "the server ran step 4 04_s precheck 1 times, the runner reported no such execution; server record:"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_reported_execution_the_server_never_saw_is_named() {
        let runs: Vec<_> = s14_runs()
            .into_iter()
            .filter(|r| *r != (2, Run::Deploy))
            .collect();
        let record = parse(&log_of("s.1", &runs), "s.1");
        let err = check(&s14_events(), &record).expect_err("missing");
        assert!(
            err.starts_with(
                "the server never ran step 2 02_s deploy, which the runner's events report"
            ),
            "{err}"
        );
        assert_eq!(
            check(&s14_events(), &[])
                .expect_err("empty")
                .split("; ")
                .last(),
            Some("server record: nothing")
        );
    }

    #[test]
    fn later_parts_do_not_count_as_executions() {
        let events = vec![
            ev(1, Phase::Deploy, Status::Ok),
            ev(1, Phase::Verify, Status::Ok),
        ];
        let mut record = vec![st(1, Run::Precheck), st(1, Run::Deploy)];
        record.push(ServerStatement {
            index: 1,
            run: Run::Deploy,
            part: 2,
            parts: 2,
        });
        record.push(st(1, Run::Verify));
        assert_eq!(check(&events, &record), Ok(()));
        assert_eq!(record[2].label(), "step 1 deploy part 2/2");
    }

    #[test]
    fn noop_deploys_allow_no_precheck_or_one() {
        let events = vec![ev(1, Phase::Deploy, Status::NoOp)];
        assert_eq!(check(&events, &[]), Ok(()));
        assert_eq!(check(&events, &[st(1, Run::Precheck)]), Ok(()));
        let err = check(&events, &[st(1, Run::Precheck), st(1, Run::Precheck)])
            .expect_err("two prechecks");
        assert!(err.contains("step 1 01_s precheck 2 times"), "{err}");
        assert!(check(&events, &[st(1, Run::Deploy)]).is_err());
    }

    #[test]
    fn a_failing_precheck_is_a_verify_event_without_a_deploy() {
        let events = vec![
            ev(1, Phase::Deploy, Status::Ok),
            ev(1, Phase::Verify, Status::Ok),
            ev(2, Phase::Verify, Status::Failed),
        ];
        let mut record = vec![st(1, Run::Precheck), st(1, Run::Deploy), st(1, Run::Verify)];
        record.push(st(2, Run::Precheck));
        assert_eq!(check(&events, &record), Ok(()));
        record.pop();
        record.push(st(2, Run::Verify));
        assert!(check(&events, &record).is_err());
    }

    #[test]
    fn reverts_count_once_each_noop_included() {
        let events = vec![
            ev(2, Phase::Revert, Status::Ok),
            ev(1, Phase::Revert, Status::NoOp),
        ];
        let record = vec![st(2, Run::Revert), st(1, Run::Revert)];
        assert_eq!(check(&events, &record), Ok(()));
        let mut twice = record.clone();
        twice.push(st(1, Run::Revert));
        assert!(check(&events, &twice)
            .expect_err("twice")
            .starts_with("the server ran step 1 01_s revert 2 times"));
        let skipped = vec![ev(1, Phase::Revert, Status::Skipped)];
        assert!(check(&skipped, &[st(1, Run::Revert)]).is_err());
        assert_eq!(check(&skipped, &[]), Ok(()));
    }

    #[test]
    fn a_lost_connection_may_leave_no_statement() {
        let mut e = ev(1, Phase::Deploy, Status::Failed);
        e.error = Some(DbFailure {
            sqlstate: None,
            kind: crate::migrate::events::FailureKind::ConnectionLost,
            message: "connection closed".into(),
            detail: None,
        });
        let events = vec![e];
        assert_eq!(check(&events, &[st(1, Run::Precheck)]), Ok(()));
        assert_eq!(
            check(&events, &[st(1, Run::Precheck), st(1, Run::Deploy)]),
            Ok(())
        );
        let mut plain = events.clone();
        plain[0].error = None;
        assert!(check(&plain, &[st(1, Run::Precheck)]).is_err());
    }
}

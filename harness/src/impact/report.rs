//! The impact profile's verdict against the rule set and its three renderings: Markdown for the
//! people who sign, JSON for tools, JUnit with one case per rule for CI.

use serde::{Deserialize, Serialize};

use super::lint::{Finding, Judgement};
use super::profile::StepProfile;
use super::rules::ImpactRules;
use crate::error::{Error, ErrorKind, Result};

/// The timeline's file beside `impact.md` (drawn by `impact::plot`).
pub const TIMELINE_FILE: &str = "impact-timeline.svg";

/// One rule of the set, with its breaches (empty: kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleVerdict {
    /// `max_lock_on_existing`, `max_step_ms`, `rewrite_existing`, `plan_runs`, `lint:<rule>`.
    pub rule: String,
    pub limit: String,
    pub breaches: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpactReport {
    pub plan: String,
    pub plan_digest: String,
    pub dump: String,
    pub dump_sha256: String,
    pub image: String,
    pub rules_source: String,
    pub rules: ImpactRules,
    pub lint: Vec<Finding>,
    pub steps: Vec<StepProfile>,
    /// Writes per second under `--load` (0: none), and every write the writers made.
    pub load: f64,
    pub samples: Vec<super::load::Sample>,
    pub verdicts: Vec<RuleVerdict>,
    pub passed: bool,
    /// Test hooks active in the process that wrote it (`fault::active_hooks`).
    pub test_hooks: Vec<String>,
}

/// Judge the profile and the lint findings against the rules.
pub fn judge(rules: &ImpactRules, steps: &[StepProfile], lint: &[Finding]) -> Vec<RuleVerdict> {
    let mut lock = Vec::new();
    let mut slow = Vec::new();
    let mut rewrites = Vec::new();
    let mut failed = Vec::new();
    let mut stalled = Vec::new();
    for s in steps {
        if let Some(st) = s
            .stalls
            .as_ref()
            .filter(|st| st.longest_ms > rules.max_writer_stall_ms as f64)
        {
            let table = st.longest_table.clone().unwrap_or_default();
            let held = s
                .holds
                .iter()
                .find(|h| h.relation == table)
                .map(|h| format!("; the step held {} on it ({})", h.mode, h.by))
                .unwrap_or_default();
            stalled.push(format!(
                "{} {} blocked a {} on {table} for {:.0} ms ({} of {} reads and writes blocked){held}",
                s.phase, s.step, st.longest_access, st.longest_ms, st.blocked, st.writes
            ));
        }
        for h in s
            .holds
            .iter()
            .filter(|h| h.mode > rules.max_lock_on_existing)
        {
            lock.push(format!(
                "{} {} took {} on {} ({}), held {:.0} ms to the commit",
                s.phase, s.step, h.mode, h.relation, h.by, h.held_ms
            ));
        }
        if s.duration_ms > rules.max_step_ms as f64 {
            slow.push(format!(
                "{} {} took {:.0} ms ({})",
                s.phase, s.step, s.duration_ms, s.file
            ));
        }
        if !rules.rewrite_existing {
            for st in &s.statements {
                for r in &st.rewrites {
                    rewrites.push(format!("{}:{} rewrote {r}", s.file, st.line));
                }
            }
        }
        if let Some(e) = &s.error {
            failed.push(format!("{} {} failed: {e}", s.phase, s.step));
        }
    }
    let mut out = vec![
        RuleVerdict {
            rule: "plan_runs".into(),
            limit: "every deploy and revert step commits".into(),
            breaches: failed,
        },
        RuleVerdict {
            rule: "max_lock_on_existing".into(),
            limit: format!(
                "{} ({})",
                rules.max_lock_on_existing,
                rules.max_lock_on_existing.sql()
            ),
            breaches: lock,
        },
        RuleVerdict {
            rule: "max_step_ms".into(),
            limit: format!("{} ms", rules.max_step_ms),
            breaches: slow,
        },
        RuleVerdict {
            rule: "max_writer_stall_ms".into(),
            limit: format!("{} ms", rules.max_writer_stall_ms),
            breaches: stalled,
        },
        RuleVerdict {
            rule: "rewrite_existing".into(),
            limit: if rules.rewrite_existing {
                "allowed".into()
            } else {
                "no rewrite of a pre-existing relation".into()
            },
            breaches: rewrites,
        },
    ];
    for r in &rules.lint.enforce {
        out.push(RuleVerdict {
            rule: format!("lint:{r}"),
            limit: "no finding (or a waiver with its reason)".into(),
            breaches: lint
                .iter()
                .filter(|f| &f.rule == r && f.judgement == Judgement::Breach)
                .map(|f| format!("{} {}", f.location(), f.message))
                .collect(),
        });
    }
    out
}

/// Up to five objects by name, the rest counted (a revert dropping a schema drops dozens).
fn objects_cell(o: &[super::profile::ObjectChange]) -> String {
    let mut parts: Vec<String> = o
        .iter()
        .take(5)
        .map(|x| format!("{} {}", x.change, cell(&x.object)))
        .collect();
    if o.len() > 5 {
        parts.push(format!("and {} more (impact.json)", o.len() - 5));
    }
    parts.join(", ")
}

fn cell(t: &str) -> String {
    t.replace('|', "\\|").replace('\n', " ")
}

/// The verdict per rule and the locks each step held: the part the closure report embeds.
/// `heading` is the Markdown level of its subsection.
pub fn overview(r: &ImpactReport, heading: &str) -> String {
    let mut s = String::new();
    s.push_str("| rule | limit | verdict |\n|---|---|---|\n");
    for v in &r.verdicts {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            v.rule,
            cell(&v.limit),
            if v.breaches.is_empty() {
                "kept".to_string()
            } else {
                format!("**BREACH**: {}", cell(&v.breaches.join("; ")))
            }
        ));
    }
    s.push_str(&format!(
        "\n![Lock holds per step against writer latency]({})\n",
        TIMELINE_FILE
    ));
    s.push_str(&format!("\n{heading} Per step: locks on pre-existing relations (strongest mode, held to the commit)\n\n| step | phase | duration | relation | mode | taken by | held |\n|---|---|---|---|---|---|---|\n"));
    for st in &r.steps {
        if st.holds.is_empty() {
            s.push_str(&format!(
                "| {} | {} | {:.1} ms | none | | | |\n",
                st.step, st.phase, st.duration_ms
            ));
        }
        for h in &st.holds {
            s.push_str(&format!(
                "| {} | {} | {:.1} ms | {} | {} | {} | {:.1} ms |\n",
                st.step,
                st.phase,
                st.duration_ms,
                h.relation,
                h.mode.sql(),
                h.by,
                h.held_ms
            ));
        }
    }
    s
}

pub fn markdown(r: &ImpactReport) -> String {
    let mut s = String::from("# What the plan does to the database while it runs\n\n");
    if let Some(h) = crate::fault::hooks_sentence(&r.test_hooks) {
        s.push_str(&format!("**{h}**\n\n"));
    }
    s.push_str(&format!(
        "**Verdict: {}** against {}\n\nPlan {} (digest `{}`), run on a restored copy of {} (`{}`), image {}.\n\n",
        if r.passed { "PASS" } else { "BREACH" },
        r.rules_source,
        r.plan,
        &r.plan_digest[..r.plan_digest.len().min(16)],
        r.dump,
        &r.dump_sha256[..r.dump_sha256.len().min(16)],
        r.image
    ));
    let limits = crate::migrate::Limits::default();
    s.push_str(&format!(
        "Each step ran as the runner runs it: one transaction with `SET LOCAL lock_timeout = '{}ms'` and `SET LOCAL statement_timeout = '{}ms'`, committed before the next.\n\n",
        limits.lock_timeout_ms, limits.statement_timeout_ms
    ));
    s.push_str(&overview(r, "##"));
    if r.load > 0.0 {
        s.push_str(&format!(
            "\n## Directus-like sessions under load ({} statements/s, {} reads and writes)\n\n| step | phase | reads + writes during it | of them reads | blocked (> {} ms) | longest wait | on | failed |\n|---|---|---|---|---|---|---|---|\n",
            r.load,
            r.samples.len(),
            super::load::BLOCKED_MS
        ));
        for st in &r.steps {
            if let Some(x) = &st.stalls {
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {:.1} ms | {} {} | {} |\n",
                    st.step,
                    st.phase,
                    x.writes,
                    x.reads,
                    x.blocked,
                    x.longest_ms,
                    x.longest_access,
                    x.longest_table.as_deref().unwrap_or(""),
                    x.failed
                ));
            }
        }
    }
    s.push_str("\n## Per statement\n\n| file:line | statement | duration | locks taken | rewrites | sequential scans | objects created / altered / dropped |\n|---|---|---|---|---|---|---|\n");
    for st in &r.steps {
        for p in &st.statements {
            s.push_str(&format!(
                "| {}:{} | `{}` | {:.1} ms | {} | {} | {} | {} |\n",
                st.file,
                p.line,
                cell(&p.head).replace('`', "'"),
                p.duration_ms,
                p.locks
                    .iter()
                    .map(|l| format!("{} {}", l.mode.sql(), l.relation))
                    .collect::<Vec<_>>()
                    .join(", "),
                p.rewrites.join(", "),
                p.seq_scans
                    .iter()
                    .map(|(t, n)| format!("{t} ({n} rows)"))
                    .collect::<Vec<_>>()
                    .join(", "),
                objects_cell(&p.objects)
            ));
        }
        if let Some(e) = &st.error {
            s.push_str(&format!(
                "| {} | **failed** | | {} | | | |\n",
                st.file,
                cell(e)
            ));
        }
    }
    s.push_str(
        "\n## Lint (squawk, and the harness's outside-own-schemas)\n\n| file:line | rule | judgement | message |\n|---|---|---|---|\n",
    );
    for f in &r.lint {
        s.push_str(&format!(
            "| {} | {} | {}{} | {} |\n",
            f.location(),
            f.rule,
            f.judgement,
            f.reason
                .as_deref()
                .map(|x| format!(" ({})", cell(x)))
                .unwrap_or_default(),
            cell(&f.message)
        ));
    }
    s
}

pub fn junit(r: &ImpactReport) -> Result<String> {
    let mut rep = quick_junit::Report::new("impact");
    rep.add_test_suite(junit_suite(r));
    rep.to_string()
        .map_err(|e| Error::new(ErrorKind::Junit, e.to_string()))
}

/// One JUnit case per rule (`dryrun impact`'s file and the closure report's JUnit).
pub fn junit_suite(r: &ImpactReport) -> quick_junit::TestSuite {
    let mut suite = quick_junit::TestSuite::new("P0 impact rules");
    if let Some(h) = crate::fault::hooks_sentence(&r.test_hooks) {
        suite.set_system_out(h);
    }
    for v in &r.verdicts {
        let status = if v.breaches.is_empty() {
            quick_junit::TestCaseStatus::success()
        } else {
            let mut st =
                quick_junit::TestCaseStatus::non_success(quick_junit::NonSuccessKind::Failure);
            st.set_message(format!("{} breach(es) of {}", v.breaches.len(), v.limit));
            st.set_description(v.breaches.join("\n"));
            st
        };
        let mut tc = quick_junit::TestCase::new(v.rule.clone(), status);
        tc.set_classname("impact");
        suite.add_test_case(tc);
    }
    suite
}

#[cfg(test)]
mod tests {
    use super::super::profile::{LockHold, Phase, StatementProfile};
    use super::super::rules::LockMode;
    use super::*;

    fn step(mode: LockMode, ms: f64, rewrite: bool) -> StepProfile {
        StepProfile {
            step: "04_cut_unit".into(),
            phase: Phase::Deploy,
            file: "deploy/04_cut_unit.sql".into(),
            duration_ms: ms,
            statements: vec![StatementProfile {
                line: 5,
                head: "CREATE INDEX …".into(),
                duration_ms: ms,
                ended_ms: ms,
                locks: vec![],
                rewrites: if rewrite {
                    vec!["public.t".into()]
                } else {
                    vec![]
                },
                seq_scans: vec![],
                objects: vec![],
            }],
            holds: vec![LockHold {
                relation: "public.tac_logical_unit".into(),
                mode,
                by: "deploy/04_cut_unit.sql:5".into(),
                acquired_ms: 1.0,
                held_ms: 2.0,
            }],
            error: None,
            started_at_ms: 0.0,
            ended_at_ms: ms,
            stalls: None,
        }
    }

    #[test]
    fn each_rule_names_its_breach_and_a_kept_set_passes() {
        let rules = ImpactRules::load(None).expect("bundled");
        let ok = judge(&rules, &[step(LockMode::AccessShareLock, 5.0, false)], &[]);
        assert!(ok.iter().all(|v| v.breaches.is_empty()), "{ok:?}");
        let bad = judge(&rules, &[step(LockMode::ShareLock, 70_000.0, true)], &[]);
        let of = |r: &str| {
            bad.iter()
                .find(|v| v.rule == r)
                .expect(r)
                .breaches
                .join(";")
        };
        assert!(of("max_lock_on_existing")
            .contains("ShareLock on public.tac_logical_unit (deploy/04_cut_unit.sql:5)"));
        assert!(of("max_step_ms").contains("70000 ms"));
        assert!(of("rewrite_existing").contains("deploy/04_cut_unit.sql:5 rewrote public.t"));
    }
}

//! The attempts of a report folder: the previous ones read back (a file that cannot be read
//! stops the run), the retry gate, a new attempt assembled from what ran, its closure line,
//! and the report written (JSON, Markdown, JUnit).

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::scenario::snapshot;

use super::execute::Executed;
use super::inputs::Inputs;
use super::render::{junit, short};
use super::*;

fn attempts_path(report: &Path) -> PathBuf {
    report.join("hb05-closure.json")
}

/// The attempts so far, from `<report>/hb05-closure.json`. No file: a first attempt. A file
/// that cannot be read or parsed is refused (the retry gate must not be bypassed by it).
pub fn previous_attempts(report_dir: &Path) -> Result<ClosureReport> {
    let path = attempts_path(report_dir);
    let hint = "The retry gate (CTE-01) needs the previous attempts, so nothing is started over. Restore the file from a copy, or, if those attempts are to be discarded on purpose, move the directory away (keep it for the record) and run again, or pass another --report directory.";
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ClosureReport::default()),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::ReportUnreadable,
                format!(
                    "The previous closure report {} cannot be read: {e}.",
                    path.display()
                ),
            )
            .with_hint(hint))
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        Error::new(
            ErrorKind::ReportMalformed,
            format!(
                "The previous closure report {} is not a closure report ({e}).",
                path.display()
            ),
        )
        .with_hint(hint)
    })
}

pub(super) fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The retry gate (CTE-01): after a failed attempt a new one needs a named approval (a name
/// of only spaces is none). A first attempt, or one after a pass, needs nothing.
pub fn retry_gate(report: &ClosureReport, approved_by: Option<&str>, dir: &Path) -> Result<()> {
    let Some(last) = report.attempts.last() else {
        return Ok(());
    };
    if last.is_pass() || !approved_by.map(str::trim).unwrap_or("").is_empty() {
        return Ok(());
    }
    Err(Error::new(ErrorKind::RetryNeedsApproval, format!(
        "The previous attempt in {} failed ({}/{} passed); nothing is retried silently.", dir.display(), last.passed, last.total))
        .with_hint("Re-run with --retry-approved-by <name> (the Đ32 sign-off); the report keeps the failed attempt beside the new one."))
}

/// The attempt from what ran: its rows, artefacts with their digests, failure-stops and
/// approvals, the environment, the binding of its HB-05 line, and what fails it outside any
/// scenario (a changed environment baseline, a container outside the run this run changed).
pub(super) fn assemble(
    o: &RunOptions,
    i: &Inputs,
    x: Executed,
    started_utc: String,
) -> Result<Attempt> {
    let Inputs {
        files,
        dumps,
        dump_sha256,
        plan_record,
        selection,
        ..
    } = i;
    let (plan_record, selection) = (plan_record.clone(), selection.clone());
    let Executed {
        results,
        server_version,
        impact,
        environment,
        before,
        after,
        foreign_changes,
        restores,
        run,
        image,
        started,
    } = x;
    let snapshots = o.repo.join("snapshots");
    let mut rows: Vec<ScenarioRow> = results.iter().map(|(r, _)| r.clone()).collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let mut artefacts: Vec<(String, String)> = vec![
        (
            rel(&o.repo, &dumps.dump),
            crate::checksum::sha256_file(&dumps.dump)?,
        ),
        (
            rel(&o.repo, &dumps.sums),
            crate::checksum::sha256_file(&dumps.sums)?,
        ),
        (
            rel(&o.repo, &dumps.rowcounts),
            crate::checksum::sha256_file(&dumps.rowcounts)?,
        ),
    ];
    for f in files {
        artefacts.push((rel(&o.repo, &f.path), f.sha256.clone()));
        let snap = snapshot::snapshot_path(&snapshots, f);
        if let Ok(d) = crate::checksum::sha256_file(&snap) {
            artefacts.push((rel(&o.repo, &snap), d));
        }
    }
    for (n, d) in &plan_record.files {
        artefacts.push((format!("plan: {n}"), d.clone()));
    }
    for (_, e) in &results {
        artefacts.extend(e.artefacts.iter().cloned());
    }
    let mut failure_stops: Vec<String> = Vec::new();
    let mut approvals: Vec<String> = Vec::new();
    for (r, e) in &results {
        failure_stops.extend(e.failure_stops.iter().map(|s| format!("{}: {s}", r.id)));
        approvals.extend(
            e.approvals
                .iter()
                .map(|a| format!("{}: step {} approved by {}", r.id, a.step, a.approved_by)),
        );
    }
    failure_stops.sort();
    approvals.sort();
    let passed = rows.iter().filter(|r| r.passed).count();
    let mut attempt = Attempt {
        run_id: run.run_id.clone(),
        started_utc,
        ended_utc: now_utc(),
        expected: files.len(),
        kept_environments: environment
            .iter()
            .map(|e| KeptEnvironment {
                name: e.name.clone(),
                what: format!(
                    "persistent dry-run environment (container `{}`), kept on purpose; remove it with `dryrun env down {}`",
                    short(&e.container_id),
                    e.name
                ),
            })
            .collect(),
        retry_approved_by: o.retry_approved_by.clone(),
        passed,
        total: rows.len(),
        scenarios: rows,
        failure_stops,
        run_failures: Vec::new(),
        retry_approvals: approvals,
        artefacts,
        image: image.reference.clone(),
        image_id: image.id.clone(),
        server_version,
        foreign_containers_before: before.clone(),
        foreign_containers_after: after.clone(),
        elapsed_ms: started.elapsed().as_millis(),
        environment,
        test_hooks: crate::fault::active_hooks(),
        foreign_changes: foreign_changes.clone(),
        impact,
        restores,
        bound: Some(Binding {
            plan: plan_record,
            dump_sha256: dump_sha256.clone(),
            harness: crate::bundle::harness_version(),
            suite_sha256: crate::bundle::suite_digest(),
            selection_differs: selection,
        }),
    };
    if let Some(e) = &attempt.environment {
        if e.baseline_verdict != BaselineVerdict::Unchanged {
            attempt.passed = 0;
            attempt.run_failures.push(RunFailure::BaselineChanged {
                environment: e.name.clone(),
                verdict: e.baseline_verdict,
                differences: e.baseline_differences.clone(),
            });
        }
    }
    // Only a change this run made fails it (the guard forbids one); a change by someone else
    // (its owner, a restart policy) is a note beside the outcomes.
    let mine: Vec<String> = foreign_changes
        .iter()
        .filter(|c| c.by_this_run)
        .map(|c| c.line())
        .collect();
    if !mine.is_empty() {
        attempt.passed = 0;
        attempt
            .run_failures
            .push(RunFailure::OutsideContainersChanged { changes: mine });
    }
    Ok(attempt)
}

/// The report's closure line: what the last attempt proves (a pass awaits the sign-offs).
pub(super) fn closure_line(last: Option<&Attempt>) -> String {
    let partial = last
        .and_then(|a| a.bound.as_ref())
        .is_some_and(|b| !b.selection_differs.is_empty());
    if let Some(h) = last.and_then(|a| crate::fault::hooks_sentence(&a.test_hooks)) {
        return format!("No closure: {h}");
    }
    match last {
        Some(a) if partial => format!(
            "Partial result, not HB-05: {}/{} passed, but the scenarios run are not exactly the committed S01..S26",
            a.passed, a.expected
        ),
        Some(a) if a.is_pass() => match &a.bound {
            Some(b) => format!(
                "HB-05 passed {}/{} for plan {} (digest {}) on dump {} (awaiting Đ32 and G-4 sign-off)",
                a.passed,
                a.expected,
                b.plan.source,
                &b.plan.digest[..b.plan.digest.len().min(16)],
                &b.dump_sha256[..b.dump_sha256.len().min(16)]
            ),
            None => format!(
                "HB-05 passed {}/{} (awaiting Đ32 and G-4 sign-off)",
                a.passed, a.expected
            ),
        },
        _ => "HB-05 NOT passed".into(),
    }
}

fn rel(repo: &Path, p: &Path) -> String {
    p.strip_prefix(repo).unwrap_or(p).display().to_string()
}

pub(super) fn write(dir: &Path, r: &ClosureReport) -> Result<()> {
    crate::report::write_json(&attempts_path(dir), r)?;
    crate::report::write_text(&dir.join("hb05-closure.md"), &markdown(r))?;
    crate::report::write_text(&dir.join("hb05-junit.xml"), &junit(r)?)?;
    Ok(())
}

/// First line of a failure's cause, for tables (pipes escaped).
#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(passed: usize, total: usize, expected: usize) -> Attempt {
        Attempt {
            passed,
            total,
            expected,
            ..Attempt::default()
        }
    }

    #[test]
    fn a_pass_needs_every_planned_scenario() {
        assert!(attempt(26, 26, 26).is_pass());
        assert!(!attempt(25, 26, 26).is_pass());
        assert!(!attempt(20, 20, 26).is_pass(), "a partial run is no pass");
        assert!(!attempt(0, 0, 0).is_pass(), "an empty run is no pass");
        assert!(!attempt(0, 0, 26).is_pass());
        // Reports from before `expected` was recorded: their total stands.
        assert!(attempt(26, 26, 0).is_pass());
        assert!(!attempt(25, 26, 0).is_pass());
    }

    #[test]
    fn the_closure_line_follows_the_last_attempt() {
        assert_eq!(
            closure_line(Some(&attempt(26, 26, 26))),
            "HB-05 passed 26/26 (awaiting Đ32 and G-4 sign-off)"
        );
        assert_eq!(closure_line(Some(&attempt(25, 26, 26))), "HB-05 NOT passed");
        assert_eq!(closure_line(None), "HB-05 NOT passed");
    }

    /// A test hook (a fault point or a negative control) in the process voids the closure
    /// line, whatever the outcome: the line names the hooks instead.
    #[test]
    fn no_closure_line_under_a_test_hook() {
        let mut a = attempt(26, 26, 26);
        a.test_hooks = vec!["DRYRUN_FAULT=scenario=sleep:10".into()];
        let line = closure_line(Some(&a));
        assert!(
            line.starts_with("No closure: Test hooks were active"),
            "{line}"
        );
        assert!(line.contains("DRYRUN_FAULT=scenario=sleep:10"), "{line}");
        assert!(!line.contains("HB-05 passed"), "{line}");
        let r = ClosureReport {
            closure: line.clone(),
            attempts: vec![a],
            ..ClosureReport::default()
        };
        assert!(summary_markdown(&r).contains("**Test hooks were active"));
        let x = junit(&r).expect("junit");
        assert!(x.contains("test_hooks"), "{x}");
    }

    #[test]
    fn the_retry_gate_needs_a_name_after_a_failed_attempt() {
        let dir = Path::new("/r");
        let mut report = ClosureReport::default();
        assert!(retry_gate(&report, None, dir).is_ok(), "first attempt");
        report.attempts.push(attempt(26, 26, 26));
        assert!(retry_gate(&report, None, dir).is_ok(), "after a pass");
        report.attempts.push(attempt(25, 26, 26));
        for who in [None, Some(""), Some("  ")] {
            let e = retry_gate(&report, who, dir).expect_err("refused");
            assert_eq!(e.kind, crate::error::ErrorKind::RetryNeedsApproval);
            assert_eq!(e.exit_code(), Error::new(ErrorKind::X, "y").exit_code());
            assert!(
                e.message.contains("/r failed (25/26 passed)"),
                "{}",
                e.message
            );
        }
        assert!(retry_gate(&report, Some("Đ32 alice"), dir).is_ok());
        // Only the last attempt counts.
        report.attempts.push(attempt(26, 26, 26));
        assert!(retry_gate(&report, None, dir).is_ok());
    }
}

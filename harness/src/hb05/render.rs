//! The closure report's renderings: the one-screen summary, the Markdown of every attempt with
//! its evidence, and the JUnit XML (a case per scenario, a suite per impact rule).

use super::model::*;
use crate::error::{Error, ErrorKind, Result};

fn first_line(t: &str) -> String {
    t.lines().next().unwrap_or("").replace('|', "\\|")
}

/// The one-screen summary that opens the report: verdict, a row per scenario of the latest
/// attempt with where it failed, kept environments.
pub fn summary_markdown(r: &ClosureReport) -> String {
    let mut s = format!(
        "# HB-05 closure report — dot-iu-cutter P0 rollback plan\n\n**{}**\n\n",
        r.closure
    );
    let Some(a) = r.attempts.last() else {
        return s;
    };
    if let Some(h) = crate::fault::hooks_sentence(&a.test_hooks) {
        s.push_str(&format!("**{h}**\n\n"));
    }
    s.push_str(&format!(
        "Latest attempt {} of {}: run `{}`, started {}, ended {}, {:.1} s: **{}/{} passed** (plan: {} scenarios).\n\n",
        r.attempts.len(),
        r.attempts.len(),
        a.run_id,
        a.started_utc,
        if a.ended_utc.is_empty() { "?" } else { &a.ended_utc },
        a.elapsed_ms as f64 / 1000.0,
        a.passed,
        a.total,
        a.expected
    ));
    s.push_str("| scenario | outcome | where it failed |\n|---|---|---|\n");
    for sc in &a.scenarios {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            sc.name,
            if sc.passed { "PASS" } else { "**FAIL**" },
            sc.failure.as_deref().map(first_line).unwrap_or_default()
        ));
    }
    for f in &a.run_failures {
        s.push_str(&format!("\n**FAIL**: {f}\n"));
    }
    for c in a.foreign_changes.iter().filter(|c| !c.by_this_run) {
        s.push_str(&format!(
            "\n**Note** (a container outside this run changed, not by this run; the outcomes above stand): {}\n",
            c.line()
        ));
    }
    if let Some(line) = a.impact.as_ref().map(impact_line) {
        s.push_str(&format!("\n{line}\n"));
    }
    s.push_str("\nKept or persistent environments: ");
    if a.kept_environments.is_empty() {
        s.push_str("none (every container and volume of the run was removed).\n");
    } else {
        s.push('\n');
        for k in &a.kept_environments {
            s.push_str(&format!("- `{}`: {}\n", k.name, k.what));
        }
    }
    s.push_str("\nDetails of every attempt follow.\n\n---\n\n");
    s
}

pub fn markdown(r: &ClosureReport) -> String {
    let mut s = summary_markdown(r);
    for (i, a) in r.attempts.iter().enumerate() {
        s.push_str(&format!(
            "## Attempt {} — run `{}` (started {}, ended {})\n\n",
            i + 1,
            a.run_id,
            a.started_utc,
            if a.ended_utc.is_empty() {
                "?"
            } else {
                &a.ended_utc
            }
        ));
        if let Some(by) = &a.retry_approved_by {
            s.push_str(&format!("Retry approved by **{by}** (Đ32).\n\n"));
        }
        if let Some(e) = &a.environment {
            s.push_str(&format!(
                "Ran in the persistent dry-run environment **{}** (container `{}`, image `{}`, dump SHA-256 `{}`, created {}).\n\n",
                e.name,
                short(&e.container_id),
                e.image,
                e.dump_sha256,
                e.created
            ));
            s.push_str(&format!(
                "Baseline database `directus` of {}: **{}** (never written by the run: clones, copies and restores only)\n\n| fingerprint | before | after |\n|---|---|---|\n| schema | `{}` | `{}` |\n| data | `{}` | `{}` |\n\n",
                e.name,
                e.baseline_verdict,
                e.baseline_before.schema_sha256,
                e.baseline_after.as_ref().map(|f| f.schema_sha256.as_str()).unwrap_or("-"),
                e.baseline_before.data_sha256,
                e.baseline_after.as_ref().map(|f| f.data_sha256.as_str()).unwrap_or("-"),
            ));
            for d in &e.baseline_differences {
                s.push_str(&format!("- {d}\n"));
            }
            if !e.stale_clones_dropped.is_empty() {
                s.push_str(&format!(
                    "Scenario clones left by an interrupted earlier run, dropped first: {}\n\n",
                    e.stale_clones_dropped.join(", ")
                ));
            }
            s.push_str(&format!(
                "Server settings (unchanged by the run): {}\n\n",
                e.settings
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(b) = &a.bound {
            s.push_str(&format!(
                "What this attempt proved things about:\n\n- plan: `{}` ({}, {} steps: {}), digest `{}`\n- dump SHA-256 `{}`\n- harness: {}, committed scenarios and snapshots digest `{}`\n",
                b.plan.source,
                b.plan.format,
                b.plan.steps.len(),
                b.plan.steps.join(", "),
                b.plan.digest,
                b.dump_sha256,
                b.harness,
                b.suite_sha256
            ));
            if b.selection_differs.is_empty() {
                s.push_str("- scenarios: exactly the committed S01..S26\n\n");
            } else {
                s.push_str(&format!(
                    "- scenarios: **not** the committed S01..S26, so this is a partial result: {}\n\n",
                    b.selection_differs.join("; ")
                ));
            }
        }
        s.push_str(&format!(
            "Pass rate: **{}/{}** ({:.1}%) · image `{}` (`{}`) · server {} · {:.1} s\n\n",
            a.passed,
            a.total,
            100.0 * a.passed as f64 / a.total.max(1) as f64,
            a.image,
            a.image_id,
            a.server_version,
            a.elapsed_ms as f64 / 1000.0
        ));
        s.push_str("| scenario | title | outcome | strategy | time (s) |\n|---|---|---|---|---|\n");
        for sc in &a.scenarios {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {:.1} |\n",
                sc.name,
                sc.title,
                if sc.passed { "PASS" } else { "FAIL" },
                sc.strategy,
                sc.elapsed_ms as f64 / 1000.0
            ));
        }
        if !a.restores.is_empty() {
            s.push_str(&format!(
                "\nRestores performed: {} ({}).\n",
                a.restores.len(),
                a.restores.join("; ")
            ));
        }
        let fails: Vec<&ScenarioRow> = a.scenarios.iter().filter(|s| !s.passed).collect();
        if !fails.is_empty() {
            s.push_str("\n### Failures\n\n");
            for f in fails {
                s.push_str(&format!(
                    "#### {}\n\n```text\n{}\n```\n\n",
                    f.name,
                    f.failure.clone().unwrap_or_default()
                ));
                if let Some(d) = &f.diff {
                    s.push_str(&format!(
                        "Snapshot diff (`-` stored, `+` observed):\n\n```diff\n{}\n```\n\n",
                        d.trim_end()
                    ));
                }
            }
        }
        s.push_str("\n### Evidence (plan- and data-specific facts; the snapshots hold what every correct run observes)\n\n");
        for sc in &a.scenarios {
            if sc.evidence.is_empty() {
                continue;
            }
            s.push_str(&format!(
                "<details><summary>{} ({} facts)</summary>\n\n",
                sc.name,
                sc.evidence.len()
            ));
            for e in &sc.evidence {
                s.push_str(&format!("- {}\n", e.line_text().replace('|', "\\|")));
            }
            s.push_str("\n</details>\n\n");
        }
        if let Some(i) = &a.impact {
            s.push_str(&format!(
                "\n### What P0 does to the database while it runs\n\n{}\n\n",
                impact_line(i)
            ));
            if let Some(r) = &i.report {
                s.push_str(&crate::impact::report::overview(r, "####"));
                s.push_str("\nEvery statement, the lint findings with file:line and the timeline: `impact.md`, `impact.json`, `impact-timeline.svg` beside this report.\n");
            }
        }
        s.push_str("\n### Failure-stop events (expected by the scenarios that provoke them)\n\n");
        for f in &a.failure_stops {
            s.push_str(&format!("- {f}\n"));
        }
        for f in &a.run_failures {
            s.push_str(&format!("- {f}\n"));
        }
        s.push_str("\n### Retry approvals\n\n");
        if a.retry_approvals.is_empty() {
            s.push_str("- none\n");
        }
        for f in &a.retry_approvals {
            s.push_str(&format!("- {f}\n"));
        }
        s.push_str(&format!(
            "\n### Engine containers outside this run\n\nbefore: {} · after: {} · changed meanwhile: {}\n",
            a.foreign_containers_before.len(),
            a.foreign_containers_after.len(),
            if a.foreign_changes.is_empty() {
                "none"
            } else {
                "see below (with the Docker events that made each change, and whether this run's own engine calls did)"
            }
        ));
        for c in &a.foreign_changes {
            s.push_str(&format!("- {}\n", c.line()));
        }
        s.push_str("\n### Artefacts\n\n| artefact | SHA-256 |\n|---|---|\n");
        for (n, d) in &a.artefacts {
            s.push_str(&format!("| {n} | `{d}` |\n"));
        }
        s.push('\n');
    }
    s.push_str("## Sign-off\n\n- Đ32 (approves HB-05): ____________________ date: __________\n- G-4 (custodian): ____________________ date: __________\n");
    s
}

/// One line: the impact verdict against the rule set, or why there is none.
fn impact_line(i: &ImpactSection) -> String {
    match (&i.report, &i.error) {
        (Some(r), None) => {
            let breached: Vec<&str> = r
                .verdicts
                .iter()
                .filter(|v| !v.breaches.is_empty())
                .map(|v| v.rule.as_str())
                .collect();
            if breached.is_empty() {
                format!(
                    "Impact while P0 runs: **all {} rules kept** ({}; no load: `dryrun impact --load RATE` measures writer stalls).",
                    r.verdicts.len(),
                    r.rules_source
                )
            } else {
                format!(
                    "Impact while P0 runs: **BREACH** of {} ({}): see the impact section.",
                    breached.join(", "),
                    r.rules_source
                )
            }
        }
        (_, Some(e)) => format!("Impact while P0 runs: **not measured**: {e}"),
        (None, None) => "Impact while P0 runs: not measured.".to_string(),
    }
}

pub(super) fn junit(r: &ClosureReport) -> Result<String> {
    let mut rep = quick_junit::Report::new("hb05");
    if let Some(a) = r.attempts.last() {
        let mut suite = quick_junit::TestSuite::new("HB-05 rollback scenarios");
        if let Some(h) = crate::fault::hooks_sentence(&a.test_hooks) {
            suite.add_property(quick_junit::Property::new(
                "test_hooks",
                a.test_hooks.join("; "),
            ));
            suite.set_system_out(h);
        }
        for c in &a.foreign_changes {
            suite.add_property(quick_junit::Property::new(
                "foreign_container_change",
                c.line(),
            ));
        }
        for sc in &a.scenarios {
            let status = if sc.passed {
                quick_junit::TestCaseStatus::success()
            } else {
                let mut st =
                    quick_junit::TestCaseStatus::non_success(quick_junit::NonSuccessKind::Failure);
                let failure = sc.failure.clone().unwrap_or_default();
                st.set_message(first_line(&failure).replace("\\|", "|"));
                let mut body = failure;
                if let Some(d) = &sc.diff {
                    body.push_str("\n\n");
                    body.push_str(d);
                }
                st.set_description(body);
                st
            };
            let mut tc = quick_junit::TestCase::new(sc.name.clone(), status);
            tc.set_time(std::time::Duration::from_millis(sc.elapsed_ms as u64));
            tc.set_classname("hb05");
            suite.add_test_case(tc);
        }
        rep.add_test_suite(suite);
        if let Some(r) = a.impact.as_ref().and_then(|i| i.report.as_ref()) {
            rep.add_test_suite(crate::impact::report::junit_suite(r));
        }
    }
    rep.to_string()
        .map_err(|e| Error::new(ErrorKind::Junit, e.to_string()))
}

pub(super) fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod summary_tests {
    use super::*;

    fn row(id: &str, failure: Option<&str>) -> ScenarioRow {
        ScenarioRow {
            id: id.into(),
            name: format!("{id}-x"),
            title: "t".into(),
            passed: failure.is_none(),
            failure: failure.map(String::from),
            diff: None,
            strategy: "clone".into(),
            settings: vec![],
            elapsed_ms: 1000,
            scenario_sha256: String::new(),
            snapshot_sha256: None,
            evidence: vec![],
        }
    }

    fn report(scenarios: Vec<ScenarioRow>, kept: Vec<KeptEnvironment>) -> ClosureReport {
        let passed = scenarios.iter().filter(|s| s.passed).count();
        ClosureReport {
            closure: "HB-05 failed".into(),
            attempts: vec![Attempt {
                run_id: "r1".into(),
                started_utc: "2026-12-02T04:00:00Z".into(),
                ended_utc: "2026-12-02T04:05:00Z".into(),
                expected: scenarios.len(),
                kept_environments: kept,
                retry_approved_by: None,
                passed,
                total: scenarios.len(),
                scenarios,
                failure_stops: vec!["S08 stopped at step 3 (expected)".into()],
                run_failures: vec![],
                retry_approvals: vec![],
                artefacts: vec![],
                image: "img".into(),
                image_id: "sha256:1".into(),
                server_version: "16".into(),
                foreign_containers_before: vec![],
                foreign_containers_after: vec![],
                elapsed_ms: 300_000,
                environment: None,
                bound: None,
                test_hooks: vec![],
                foreign_changes: vec![],
                restores: vec![],
                impact: Some(ImpactSection {
                    report: None,
                    error: Some("[clone_failed] no space left on device".into()),
                    elapsed_ms: 5,
                }),
            }],
            sign_off: SignOff::default(),
        }
    }

    /// The report opens with one screen: verdict, a row per scenario with where it failed, the
    /// kept or persistent environments by name; the details come after it.
    #[test]
    fn the_report_opens_with_a_one_screen_summary_naming_kept_environments() {
        let mut rows: Vec<ScenarioRow> = (1..=26).map(|i| row(&format!("S{i:02}"), None)).collect();
        rows[7] = row(
            "S08",
            Some("scenarios/S08-x.yaml:10: table left behind | t1\nsecond line"),
        );
        let kept = vec![KeptEnvironment {
            name: "pg-dry-run-hb05".into(),
            what: "persistent dry-run environment, kept on purpose; remove it with `dryrun env down pg-dry-run-hb05`".into(),
        }];
        let md = markdown(&report(rows, kept));
        let summary = summary_markdown(&report(vec![], vec![]));
        assert!(summary.contains("none (every container and volume of the run was removed)"));
        let top = md.split("## Attempt 1").next().unwrap_or("");
        assert!(top.lines().count() <= 50, "more than a screen:\n{top}");
        assert!(top.contains("**HB-05 failed**"), "{top}");
        assert!(
            top.contains("**25/26 passed** (plan: 26 scenarios)"),
            "{top}"
        );
        assert_eq!(top.matches("| PASS |").count(), 25, "{top}");
        assert!(
            top.contains(
                "| S08-x | **FAIL** | scenarios/S08-x.yaml:10: table left behind \\| t1 |"
            ),
            "{top}"
        );
        assert!(!top.contains("second line"), "{top}");
        assert!(
            top.contains("- `pg-dry-run-hb05`: persistent dry-run environment")
                && top.contains("dryrun env down pg-dry-run-hb05"),
            "{top}"
        );
        assert!(md.contains("## Attempt 1"), "{md}");
        // An impact profile that could not be taken says so, at the top, with its cause.
        assert!(
            top.contains(
                "Impact while P0 runs: **not measured**: [clone_failed] no space left on device"
            ),
            "{top}"
        );
    }

    /// A failure of the run as a whole is a FAIL at the top and in the failure-stop list,
    /// whatever its wording; a scenario's expected failure stop is never at the top.
    #[test]
    fn run_failures_are_selected_by_kind_not_by_wording() {
        let mut r = report(vec![row("S01", None)], vec![]);
        r.attempts[0].run_failures = vec![
            RunFailure::BaselineChanged {
                environment: "pg-dry-run-hb05".into(),
                verdict: BaselineVerdict::Changed,
                differences: vec!["public.t: 3 rows -> 4 rows".into()],
            },
            RunFailure::OutsideContainersChanged {
                changes: vec!["c1 stopped".into()],
            },
        ];
        let md = markdown(&r);
        let top = md.split("## Attempt 1").next().unwrap_or("");
        for f in &r.attempts[0].run_failures {
            assert!(top.contains(&format!("**FAIL**: {f}")), "{f}:\n{top}");
            assert!(md.contains(&format!("- {f}\n")), "{f}:\n{md}");
        }
        assert!(!top.contains("S08 stopped at step 3"), "{top}");
        let json = serde_json::to_string(&r.attempts[0].run_failures).unwrap_or_default();
        let back: Vec<RunFailure> = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, r.attempts[0].run_failures, "{json}");
    }
}

//! The team's P0, not our stand-in: three correct plans that are not `migrations/p0` (one step
//! more, three fewer, and the stand-in written as a Sqitch project with its own BEGIN/COMMIT,
//! a tag and a reworked change) each pass 26/26 with the committed snapshots, through the real
//! `dryrun run --plan` and real containers. S12 injects a failure at each of the plan's steps,
//! and the closure report binds the plan it proved.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

fn passes_26_of_26(plan: &Path, format: &str) {
    let report = tempfile::tempdir().expect("tmp");
    let r = run(
        &[
            "run",
            "--plan",
            plan.to_str().expect("utf-8"),
            "--report",
            report.path().to_str().expect("utf-8"),
        ],
        &[],
        &repo(),
        Duration::from_secs(900),
    );
    let what = plan.display();
    assert_eq!(r.code, Some(0), "{what}:\n{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout.lines().last(),
        Some("26 passed, 0 failed"),
        "{what}:\n{}",
        r.stdout
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.path().join("hb05-closure.json")).expect("json"),
    )
    .expect("closure json");
    let a = &json["attempts"][0];
    let bound = &a["bound"]["plan"];
    let loaded = harness::migrate::Plan::load(plan).expect("the plan loads");
    let steps = loaded.steps.len();
    assert_eq!(bound["format"], format, "{bound}");
    assert_eq!(bound["digest"], loaded.digest().as_str(), "{bound}");
    assert_eq!(
        bound["steps"].as_array().map(Vec::len),
        Some(steps),
        "{bound}"
    );
    assert!(
        json["closure"]
            .as_str()
            .is_some_and(|c| c.starts_with("HB-05 passed 26/26 for plan ")
                && c.contains(&plan.display().to_string())),
        "{}",
        json["closure"]
    );
    // The impact section: this plan profiled both ways (a deploy and a revert per step) and
    // judged against checks/p0-impact.yaml: all kept; its files beside the report.
    let impact = &a["impact"]["report"];
    assert_eq!(impact["plan_digest"], loaded.digest().as_str(), "{impact}");
    assert_eq!(impact["passed"], true, "{}", impact["verdicts"]);
    assert_eq!(impact["steps"].as_array().map(Vec::len), Some(2 * steps));
    for f in [
        "impact.md",
        "impact.json",
        "impact-junit.xml",
        "impact-timeline.svg",
    ] {
        assert!(report.path().join(f).is_file(), "{what}: no {f}");
    }
    let md = std::fs::read_to_string(report.path().join("hb05-closure.md")).expect("md");
    assert!(
        md.contains("Impact while P0 runs: **all ")
            && md.contains("### What P0 does to the database while it runs"),
        "{md}"
    );
    // S12: one injected failure-stop per step of this plan, each at its own step.
    let s12 = a["scenarios"]
        .as_array()
        .and_then(|v| v.iter().find(|s| s["id"] == "S12"))
        .expect("S12 row");
    let stops: Vec<String> = s12["evidence"]
        .as_array()
        .expect("S12 evidence")
        .iter()
        .filter(|e| e["step"] == "deploy")
        .filter_map(|e| e["facts"]["stop"].as_str().map(str::to_string))
        .collect();
    assert_eq!(stops.len(), steps, "{stops:?}");
    for (i, (stop, name)) in stops.iter().zip(loaded.step_names()).enumerate() {
        assert_eq!(
            stop,
            &format!("step {} {name} deploy: injected", i + 1),
            "{stops:?}"
        );
    }
}

#[test]
fn a_plan_with_one_more_step_passes_26_of_26() {
    passes_26_of_26(&repo().join("harness/tests/plans/more-steps"), "plan.yaml");
}

#[test]
fn a_plan_with_fewer_steps_passes_26_of_26() {
    passes_26_of_26(&repo().join("harness/tests/plans/fewer-steps"), "plan.yaml");
}

#[test]
fn the_plan_as_a_sqitch_project_passes_26_of_26() {
    passes_26_of_26(&repo().join("harness/tests/plans/sqitch"), "sqitch");
}

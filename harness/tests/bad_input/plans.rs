//! `dryrun run --plan`: a missing folder, a Sqitch project bent in its grammar, dependencies,
//! scripts or schema, both layouts at once, and a plan without the governance tables.

use std::path::Path;
use std::process::Command;

use crate::common::copy_tree;
use crate::support::*;

#[test]
fn run_plan_folder_missing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan = tmp.path().join("no-such-plan");
    let report = tmp.path().join("report");
    let mut c = Command::new(BIN);
    c.current_dir(repo())
        .arg("run")
        .arg("--plan")
        .arg(&plan)
        .arg("--report")
        .arg(&report);
    let r = run(c);
    assert_refused(
        &r,
        3,
        "file_not_found",
        &[&plan.join("plan.yaml").display().to_string(), "--plan"],
    );
    assert!(!report.exists(), "the report directory was created");
}

/// A copy of the Sqitch test plan (`harness/tests/plans/sqitch`), bent by `bend`, refused by
/// `dryrun run --plan` with `kind` naming `names` (relative to the copy), before Docker.
fn run_plan_sqitch_refused(bend: impl Fn(&Path), kind: &str, names: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan = tmp.path().join("sqitch");
    copy_tree(&repo().join("harness/tests/plans/sqitch"), &plan);
    bend(&plan);
    let report = tmp.path().join("report");
    let mut c = Command::new(BIN);
    c.current_dir(repo())
        .arg("run")
        .arg("--plan")
        .arg(&plan)
        .arg("--report")
        .arg(&report);
    let r = run(c);
    let named: Vec<String> = names
        .iter()
        .map(|n| plan.join(n).display().to_string())
        .collect();
    let named: Vec<&str> = named.iter().map(String::as_str).collect();
    assert_refused(&r, 3, kind, &named);
    assert!(!report.exists(), "the report directory was created");
    r
}

fn edit(path: &Path, f: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(path).expect("read");
    std::fs::write(path, f(&text)).expect("write");
}

#[test]
fn run_plan_sqitch_grammar() {
    // line 6 (dot_tool_revision) without its timestamp
    let r = run_plan_sqitch_refused(
        |p| {
            edit(&p.join("sqitch.plan"), |t| {
                t.replacen("2026-01-05T09:05:00Z ", "", 1)
            })
        },
        "malformed_plan",
        &["sqitch.plan:6"],
    );
    assert!(r.stderr.contains("Missing timestamp"), "{}", r.stderr);
}

#[test]
fn run_plan_sqitch_dependencies() {
    let r = run_plan_sqitch_refused(
        |p| {
            edit(&p.join("sqitch.plan"), |t| {
                t.replacen("cut_unit [cut_change_set]", "cut_unit [g2_backlog]", 1)
            })
        },
        "plan_dependency",
        &["sqitch.plan:8"],
    );
    assert!(r.stderr.contains("deploys later (line 14)"), "{}", r.stderr);
    run_plan_sqitch_refused(
        |p| {
            edit(&p.join("sqitch.plan"), |t| {
                t.replacen(
                    "cut_unit [cut_change_set]",
                    "cut_unit [cut_change_set base:users]",
                    1,
                )
            })
        },
        "cross_project_dependency",
        &["sqitch.plan:8"],
    );
}

#[test]
fn run_plan_sqitch_script_refused() {
    let r = run_plan_sqitch_refused(
        |p| {
            edit(&p.join("deploy/cut_unit.sql"), |t| {
                t.replacen(
                    "CREATE INDEX cut_unit_change_set_id_idx",
                    "CREATE INDEX CONCURRENTLY cut_unit_change_set_id_idx",
                    1,
                )
            })
        },
        "unsupported_script",
        &["deploy/cut_unit.sql:28"],
    );
    assert!(
        r.stderr.contains("CREATE INDEX CONCURRENTLY"),
        "{}",
        r.stderr
    );
    run_plan_sqitch_refused(
        |p| {
            edit(&p.join("verify/g2_backlog.sql"), |t| {
                format!("\\set ON_ERROR_STOP 1\n{t}")
            })
        },
        "unsupported_script",
        &["verify/g2_backlog.sql:1"],
    );
}

#[test]
fn run_plan_sqitch_no_schema() {
    run_plan_sqitch_refused(
        |p| {
            edit(&p.join("deploy/schema.sql"), |t| {
                t.replace("CREATE SCHEMA cutter_governance;", "SELECT 1;")
            })
        },
        "plan_schema",
        &["sqitch.plan"],
    );
}

#[test]
fn run_plan_both_layouts() {
    run_plan_sqitch_refused(
        |p| {
            std::fs::copy(repo().join("migrations/p0/plan.yaml"), p.join("plan.yaml"))
                .map(|_| ())
                .expect("copy")
        },
        "ambiguous_plan",
        &["plan.yaml", "sqitch.plan"],
    );
}

/// A plan without what S11 and S20–S26 write to (here `cutter_governance.dot_pair_signature`,
/// SPEC §7a) is refused before any container, naming the table, the scenarios and the way out
/// (`--scenarios rollback`); nothing is written.
#[test]
fn run_plan_without_the_governance_tables_is_refused_up_front() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan = tmp.path().join("p0");
    copy_tree(&repo().join("migrations/p0"), &plan);
    edit(&plan.join("deploy/05_dot_pair_signature.sql"), |t| {
        t.replace(
            "CREATE TABLE cutter_governance.dot_pair_signature (",
            "CREATE TABLE cutter_governance.pair_signature (",
        )
    });
    let report = tmp.path().join("report");
    let mut c = Command::new(BIN);
    c.current_dir(repo())
        .arg("run")
        .arg("--plan")
        .arg(&plan)
        .arg("--report")
        .arg(&report);
    let r = run(c);
    assert_refused(
        &r,
        3,
        "plan_contract",
        &[
            "cutter_governance.dot_pair_signature",
            "S11:",
            "S26:",
            "--scenarios rollback",
        ],
    );
    assert!(!r.stderr.contains("S08:"), "{}", r.stderr);
    assert!(!report.exists(), "the report directory was created");
}

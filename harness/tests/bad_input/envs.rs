//! Persistent environments: an unknown name for `env down` and `run --env`, a name in use,
//! and an invalid name, each refused before anything is created.

use std::path::Path;
use std::process::Command;

use crate::common::docker_lines;
use crate::support::*;

/// `dryrun <args>` in the repository (bundled fixture paths are relative to it).
fn dryrun_in_repo(args: &[&str]) -> Run {
    let mut c = Command::new(BIN);
    c.current_dir(repo()).args(args);
    run(c)
}

fn env_up_fixture(name: &str, report: &Path) -> Vec<String> {
    [
        "env",
        "up",
        "--dump",
        &format!("fixtures/{DUMP}"),
        "--sums",
        "fixtures/SHA256SUMS",
        "--name",
        name,
        "--report",
        &report.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn env_down_unknown_name() {
    let name = format!("pg-dry-run-hb05-no-such-{}", std::process::id());
    let r = dryrun_in_repo(&["env", "down", &name]);
    assert_refused(&r, 3, "env_unknown", &[&name, "dryrun env ls"]);
}

#[test]
fn run_env_unknown_name() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report");
    let name = format!("pg-dry-run-hb05-no-such-{}", std::process::id());
    let r = dryrun_in_repo(&["run", "--env", &name, "--report", report.to_str().unwrap()]);
    assert_refused(&r, 3, "env_unknown", &[&name, "dryrun env ls"]);
    assert!(
        !report.exists(),
        "a report was written for an unknown environment"
    );
}

#[test]
fn env_up_name_in_use() {
    // Any container holding the name (here a created, never started one) refuses it.
    let name = format!("pg-dry-run-hb05-taken-{}", std::process::id());
    let created = Command::new("docker")
        .args([
            "create",
            "--name",
            &name,
            "dot-iu-cutter/postgres:16",
            "true",
        ])
        .output()
        .expect("docker create");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report");
    let args = env_up_fixture(&name, &report);
    let r = dryrun_in_repo(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let still_there = docker_lines(&["ps", "-a", "--filter", &format!("name=^{name}$"), "-q"]);
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    assert_refused(&r, 3, "env_name_in_use", &[&name]);
    assert_eq!(
        still_there.len(),
        1,
        "the container holding the name was touched"
    );
    assert!(!report.exists(), "a report was written for a refused name");
}

#[test]
fn env_up_invalid_name() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report");
    let args = env_up_fixture("no spaces/allowed", &report);
    let r = dryrun_in_repo(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_refused(&r, 3, "env_name_invalid", &["no spaces/allowed"]);
    assert!(!report.exists());
}

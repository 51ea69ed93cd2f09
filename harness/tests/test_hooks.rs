//! Test hooks never ship and never pass silently: the shipped `dryrun` has no harness faults
//! (`DRYRUN_SABOTAGE` is not even a string in it), the test-only `dryrun-negative-control` has
//! them, and a report written under any hook says so and carries no closure line.
//!
//! The behavioural proof uses a dump with a restore error that is not benign: a table in a
//! tablespace the restore target lacks (`SET default_tablespace` fails), made by pg_dump from a
//! real source container.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::source_db::SourceDb;

const SABOTAGE_NAMES: &[&str] = &[
    "DRYRUN_SABOTAGE",
    "triage_all_benign",
    "smoke_skip_table",
    "content_counts_only",
    "wrong_key_ignored",
    "verify_retry_once",
];

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The scan finds every name in the negative-control build (so it can find them at all) and
/// none in the shipped one.
#[test]
fn the_shipped_binary_has_no_harness_faults() {
    let shipped = std::fs::read(common::bin()).expect("read dryrun");
    let control = std::fs::read(common::negative_control_bin()).expect("read negative control");
    for name in SABOTAGE_NAMES {
        assert!(
            contains(&control, name),
            "{name} is not in dryrun-negative-control: the scan proves nothing"
        );
        assert!(
            !contains(&shipped, name),
            "{name} is compiled into the shipped dryrun ({})",
            common::bin()
        );
    }
}

/// A backup set (SPEC §2 by hand) of a source holding `public.spaced` in tablespace `ts_p0`.
fn dump_with_a_tablespace(dir: &Path) -> common::source_db::SpecSet {
    let src = SourceDb::start_empty();
    let out = std::process::Command::new("docker")
        .args(["exec", &src.name, "mkdir", "-p", "/tmp/ts_p0"])
        .output()
        .expect("docker exec mkdir");
    assert!(
        out.status.success(),
        "mkdir in the source: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    src.psql_stdin("CREATE TABLESPACE ts_p0 LOCATION '/tmp/ts_p0';");
    src.psql_stdin(
        "CREATE TABLE public.spaced (id int PRIMARY KEY, v text) TABLESPACE ts_p0;\n\
         INSERT INTO public.spaced SELECT g, 'row ' || g FROM generate_series(1, 20) g;\n\
         CREATE TABLE public.plain (id int PRIMARY KEY);\n\
         INSERT INTO public.plain SELECT generate_series(1, 5);",
    );
    let set = src.backup_like_spec(dir, "20261204T1000Z");
    src.remove();
    set
}

struct Outcome {
    code: Option<i32>,
    json: serde_json::Value,
    markdown: String,
    stderr: String,
}

fn restore_test(
    bin: &Path,
    set: &common::source_db::SpecSet,
    report: &Path,
    env: &[(&str, &str)],
) -> Outcome {
    let args = [
        "restore-test".to_string(),
        "--dump".into(),
        set.dump.display().to_string(),
        "--sums".into(),
        set.dir.join("SHA256SUMS").display().to_string(),
        "--checks".into(),
        "counts".into(),
        "--report".into(),
        report.display().to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut all = vec![("DRYRUN_LOG", "warn")];
    all.extend_from_slice(env);
    let f =
        common::spawn_bin(bin, &args, &all, &[], &common::repo()).finish(Duration::from_secs(600));
    common::cleanup(f.pid);
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(report.join("restore-test.json")).unwrap_or_else(|e| {
            panic!(
                "restore-test.json not written ({e}); exit {:?}, stderr:\n{}",
                f.code, f.stderr
            )
        }),
    )
    .expect("restore-test.json parses");
    Outcome {
        code: f.code,
        json,
        markdown: std::fs::read_to_string(report.join("restore-test.md")).expect("restore-test.md"),
        stderr: f.stderr,
    }
}

/// `DRYRUN_SABOTAGE=triage_all_benign` is inert in `dryrun` (the restore fails, naming the
/// tablespace, and the report lists no hook), acts in the negative control (the same restore
/// "passes"), and there every report says a hook was active.
#[test]
fn a_sabotage_is_inert_in_dryrun_and_declared_in_the_negative_control() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = dump_with_a_tablespace(&tmp.path().join("set"));
    let sabotage = [("DRYRUN_SABOTAGE", "triage_all_benign")];

    let shipped = restore_test(
        Path::new(common::bin()),
        &set,
        &tmp.path().join("shipped"),
        &sabotage,
    );
    assert_eq!(shipped.code, Some(1), "stderr: {}", shipped.stderr);
    assert_eq!(shipped.json["verdict"], "fail");
    assert!(
        shipped.json["reason"]
            .as_str()
            .is_some_and(|r| r.contains("ts_p0")),
        "the failure names the tablespace: {}",
        shipped.json["reason"]
    );
    assert_eq!(shipped.json["test_hooks"], serde_json::json!([]));
    assert!(!shipped.markdown.contains("Test hooks were active"));
    assert!(!shipped.stderr.contains("dryrun-sabotage"));

    let control = restore_test(
        &common::negative_control_bin(),
        &set,
        &tmp.path().join("control"),
        &sabotage,
    );
    assert_eq!(
        control.json["verdict"], "pass",
        "the sabotage acts in the negative control: {}",
        control.markdown
    );
    assert_eq!(
        control.json["test_hooks"],
        serde_json::json!(["DRYRUN_SABOTAGE=triage_all_benign"])
    );
    assert!(
        control
            .markdown
            .contains("**Test hooks were active in this run (DRYRUN_SABOTAGE=triage_all_benign)"),
        "{}",
        control.markdown
    );
    assert!(control
        .stderr
        .contains("dryrun-sabotage: triage_all_benign active"));
}

/// A fault point (which can only make a run fail or wait) still voids the closure: the
/// closure report's line, its JSON and its JUnit name the hook, and no HB-05 line is written.
#[test]
fn a_fault_hook_voids_the_closure_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let report: PathBuf = tmp.path().join("report");
    let report_s = report.display().to_string();
    let f = common::run(
        &["run", "--scenarios", "S20", "--report", &report_s],
        &[("DRYRUN_FAULT", "scenario=sleep:10")],
        &common::repo(),
        Duration::from_secs(600),
    );
    common::cleanup(f.pid);
    // spawn() removes an inherited DRYRUN_FAULT and sets the one given here.
    assert!(
        f.stderr.contains("dryrun-fault: reached scenario"),
        "{}",
        f.stderr
    );
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(report.join("hb05-closure.json")).expect("hb05-closure.json"),
    )
    .expect("closure json parses");
    let closure = json["closure"].as_str().expect("closure line");
    assert!(
        closure.starts_with("No closure: Test hooks were active"),
        "{closure}"
    );
    assert!(
        closure.contains("DRYRUN_FAULT=scenario=sleep:10"),
        "{closure}"
    );
    let last = json["attempts"]
        .as_array()
        .and_then(|a| a.last())
        .expect("an attempt");
    assert_eq!(
        last["test_hooks"],
        serde_json::json!(["DRYRUN_FAULT=scenario=sleep:10"])
    );
    let md = std::fs::read_to_string(report.join("hb05-closure.md")).expect("closure md");
    assert!(md.contains("No closure: Test hooks were active"), "{md}");
    assert!(!md.contains("HB-05 passed"), "{md}");
    let junit = std::fs::read_to_string(report.join("hb05-junit.xml")).expect("junit");
    assert!(junit.contains("name=\"test_hooks\""), "{junit}");
    assert!(
        f.stdout.contains("No closure: Test hooks were active"),
        "the console prints the report's line: {}",
        f.stdout
    );
}

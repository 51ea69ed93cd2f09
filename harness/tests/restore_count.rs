//! pg_restore's error count, accounted for through the real binary on the bundled fixture: the
//! seed's single-job restore counts its one `workflow_admin` error once, `-j 2` counts it twice,
//! and the report says why (an item a parallel worker restored counts once more) instead of
//! showing a mismatch.

mod common;

use std::time::Duration;

fn restore_test(jobs: &str) -> serde_json::Value {
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = tmp.path().join("report");
    let report_s = report.display().to_string();
    let f = common::run(
        &[
            "restore-test",
            "--dump",
            "fixtures/directus_full_fixture.dump",
            "--sums",
            "fixtures/SHA256SUMS",
            "-j",
            jobs,
            "--report",
            &report_s,
        ],
        &[],
        &common::repo(),
        Duration::from_secs(600),
    );
    common::cleanup(f.pid);
    assert_eq!(f.code, Some(0), "restore-test -j {jobs}: {}", f.stderr);
    let md = std::fs::read_to_string(report.join("restore-test.md")).expect("restore-test.md");
    let mut json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(report.join("restore-test.json")).expect("restore-test.json"),
    )
    .expect("json");
    json["markdown"] = serde_json::Value::String(md);
    json
}

#[test]
fn the_parallel_count_is_explained_and_the_single_job_count_matches() {
    let one = restore_test("1");
    let r = &one["restore"];
    assert_eq!(r["errors_ignored"], 1, "{r}");
    assert_eq!(r["errors_accounted"], 1, "{r}");
    assert!(r["count_note"].is_null(), "{r}");
    assert_eq!(r["messages"].as_array().map(Vec::len), Some(1), "{r}");

    let two = restore_test("2");
    let r = &two["restore"];
    assert_eq!(r["errors_ignored"], 2, "{r}");
    assert_eq!(r["errors_accounted"], 2, "{r}");
    assert_eq!(r["messages"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(r["messages"][0]["kind"], "missing_role");
    let note = r["count_note"]
        .as_str()
        .expect("the count difference is explained");
    assert!(
        note.contains("counted 2 ignored errors for 1 message"),
        "{note}"
    );
    assert!(note.contains("mark_restore_job_done"), "{note}");
    assert!(
        note.contains("so 1 of these messages' items were restored by a worker"),
        "{note}"
    );
    let md = two["markdown"].as_str().unwrap_or_default();
    assert!(md.contains("messages found: 1; they account for 2"), "{md}");
    assert!(md.contains("mark_restore_job_done"), "{md}");
}

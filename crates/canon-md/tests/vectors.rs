//! Runs the reference vectors file and checks the vectors checker itself
//! (failure reporting, malformed files).

use std::path::{Path, PathBuf};

use canon_md::vectors::{check_bytes, check_file, VectorsError};

fn reference_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/reference/canon-md-v0.1.0.vectors.json")
}

#[test]
fn reference_vectors_all_pass() {
    let report = check_file(reference_file()).unwrap();
    for failure in report.failures() {
        eprintln!("{failure}");
    }
    assert_eq!(report.rule, "canon-md-v0.1.0");
    assert_eq!(report.summary(), "15 passed, 0 failed");
    assert_eq!((report.passed(), report.failed()), (15, 0));
    assert!(report.all_passed());
    let names: Vec<&str> = report.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"plain"));
    assert!(names.contains(&"invalid_utf8"));
}

fn check(json: &str) -> Result<canon_md::vectors::VectorReport, VectorsError> {
    check_bytes(json.as_bytes(), Path::new("mem/test.vectors.json"))
}

fn only_failure(json: &str) -> String {
    let report = check(json).unwrap();
    assert_eq!(report.failed(), 1, "{report:?}");
    let f = report.failures().next().unwrap();
    f.first_difference.clone().unwrap()
}

#[test]
fn failing_vectors_name_the_first_difference() {
    // Wrong canonical bytes: "a\n" expected as "b\n".
    let d = only_failure(
        r#"{"rule":"canon-md-v0.1.0","vectors":[
            {"name":"ok","input_hex":"61","canonical_hex":"610a"},
            {"name":"bad","input_hex":"61","canonical_hex":"620a"}]}"#,
    );
    assert!(d.contains("byte offset 0"), "{d}");
    let report = check(
        r#"{"rule":"canon-md-v0.1.0","vectors":[
            {"name":"ok","input_hex":"61","canonical_hex":"610a"},
            {"name":"bad","input_hex":"61","canonical_hex":"620a"}]}"#,
    )
    .unwrap();
    assert_eq!(report.summary(), "1 passed, 1 failed");
    assert_eq!(
        report.render(),
        "FAIL bad: canonical bytes differ at byte offset 0: expected 0x62, got 0x61 (expected 2 bytes, got 2)\n1 passed, 1 failed\n"
    );
    let line = report.failures().next().unwrap().to_string();
    assert!(
        line.starts_with("FAIL bad: canonical bytes differ"),
        "{line}"
    );

    let d = only_failure(
        r#"{"rule":"canon-md-v0.1.0","vectors":[
            {"name":"sha","input_hex":"61","canonical_hex":"610a","canonical_sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}"#,
    );
    assert!(d.starts_with("canonical_sha256"), "{d}");

    let d = only_failure(
        r#"{"rule":"canon-md-v0.1.0","vectors":[
            {"name":"tok","input_hex":"6120620a","canonical_hex":"6120620a","tokens":[[0,1],[2,4]]}]}"#,
    );
    assert_eq!(d, "token 1: expected [2, 4), got [2, 3)");

    let d = only_failure(
        r#"{"rule":"canon-md-v0.1.0","vectors":[
            {"name":"count","input_hex":"6120620a","canonical_hex":"6120620a","tokens":[[0,1]]}]}"#,
    );
    assert_eq!(d, "token count: expected 1, got 2");

    let d = only_failure(
        r#"{"rule":"canon-md-v0.1.0","vectors":[
            {"name":"span","input_hex":"6120620a","canonical_hex":"6120620a",
             "spans":[{"byte_span":[0,1],"start_token_position":0,"end_token_position":0},
                      {"byte_span":[1,2],"start_token_position":0,"end_token_position":0}]}]}"#,
    );
    assert_eq!(
        d,
        "span [1, 2): expected tokens 0..=0, got error span_covers_no_token"
    );

    let d = only_failure(
        r#"{"rule":"canon-md-v0.1.0","vectors":[
            {"name":"err","input_hex":"61","error":"invalid_utf8"}]}"#,
    );
    assert!(
        d.starts_with("expected error invalid_utf8, got canonical output"),
        "{d}"
    );

    let d = only_failure(
        r#"{"rule":"canon-md-v0.1.0","vectors":[
            {"name":"noerr","input_hex":"ff","canonical_hex":"0a"}]}"#,
    );
    assert!(
        d.starts_with("expected canonical output, got error invalid_utf8"),
        "{d}"
    );
    assert!(d.contains("offset 0"), "{d}");
}

fn malformed(json: &str) -> String {
    match check(json) {
        Err(e @ VectorsError::Malformed { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with("mem/test.vectors.json: malformed vectors file: "),
                "{msg}"
            );
            msg
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn malformed_files_are_errors_naming_the_file() {
    let cases: &[(&str, &str)] = &[
        ("", "invalid JSON"),
        ("{", "invalid JSON"),
        ("[]", "top level is not a JSON object"),
        (r#"{"vectors":[]}"#, "missing field \"rule\""),
        (r#"{"rule":"canon-md-v0.1.0"}"#, "missing field \"vectors\""),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":{}}"#,
            "\"vectors\" is not an array",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[]}"#,
            "\"vectors\" is empty",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[1]}"#,
            "vector #0: not a JSON object",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"input_hex":"61","canonical_hex":"610a"}]}"#,
            "vector #0: missing field \"name\"",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","canonical_hex":"610a"}]}"#,
            "vector #0 \"x\": missing field \"input_hex\"",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"6g","canonical_hex":"610a"}]}"#,
            "\"input_hex\" is not valid hex",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"616","canonical_hex":"610a"}]}"#,
            "\"input_hex\" is not valid hex",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":61,"canonical_hex":"610a"}]}"#,
            "\"input_hex\" is not a string",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61"}]}"#,
            "neither \"error\" nor \"canonical_hex\"",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a","error":"invalid_utf8"}]}"#,
            "both \"error\" and \"canonical_hex\"",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"ff","error":"bad_utf8"}]}"#,
            "\"error\" is \"bad_utf8\", not one of",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"ff","error":"invalid_utf8","tokens":[]}]}"#,
            "\"tokens\" is not allowed",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a","canonical_sha256":"abc"}]}"#,
            "not 64 hex digits",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a","tokens":[[0,1,2]]}]}"#,
            "tokens[0]: not a [start, end] pair",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a","tokens":[[-1,1]]}]}"#,
            "tokens[0]: not a pair of non-negative integers",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a","tokens":"0-1"}]}"#,
            "\"tokens\" is not an array",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a","spans":[{"start_token_position":0,"end_token_position":0}]}]}"#,
            "spans[0]: missing field \"byte_span\"",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a","spans":[{"byte_span":[0,1]}]}]}"#,
            "spans[0]: has neither",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a","spans":[{"byte_span":[0,1],"start_token_position":0}]}]}"#,
            "missing field \"end_token_position\"",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a","spans":[{"byte_span":[0,1],"start_token_position":0,"end_token_position":0,"error":"span_out_of_range"}]}]}"#,
            "has both \"error\" and token positions",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a","spans":[{"byte_span":[0,1],"start_token_position":1.5,"end_token_position":0}]}]}"#,
            "\"start_token_position\" is not a non-negative integer",
        ),
        (
            r#"{"rule":"canon-md-v0.1.0","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a"},{"name":"x","input_hex":"62","canonical_hex":"620a"}]}"#,
            "vector #1 \"x\": duplicate vector name",
        ),
    ];
    for (json, needle) in cases {
        let msg = malformed(json);
        assert!(msg.contains(needle), "for {json}: {msg:?} lacks {needle:?}");
    }
}

#[test]
fn other_rule_is_rejected() {
    match check(
        r#"{"rule":"canon-md-v9","vectors":[{"name":"x","input_hex":"61","canonical_hex":"610a"}]}"#,
    ) {
        Err(e @ VectorsError::RuleMismatch { .. }) => {
            assert!(e.to_string().contains("mem/test.vectors.json"), "{e}");
            assert!(e.to_string().contains("canon-md-v9"), "{e}");
        }
        other => panic!("expected RuleMismatch, got {other:?}"),
    }
}

#[test]
fn unreadable_and_malformed_files_on_disk() {
    let missing = std::env::temp_dir().join("canon-md-no-such-dir/none.vectors.json");
    let err = check_file(&missing).unwrap_err();
    assert!(matches!(err, VectorsError::Read { .. }));
    assert!(err.to_string().contains("none.vectors.json"), "{err}");

    let dir = std::env::temp_dir().join(format!("canon-md-vectors-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.vectors.json");
    // Truncated copy of the reference file, and a binary (non-UTF-8) file.
    let reference = std::fs::read(reference_file()).unwrap();
    for content in [&reference[..reference.len() / 2], &[0xff, 0xfe, 0x00][..]] {
        std::fs::write(&path, content).unwrap();
        let err = check_file(&path).unwrap_err();
        assert!(matches!(err, VectorsError::Malformed { .. }), "{err:?}");
        assert!(err.to_string().contains("broken.vectors.json"), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_serializes_to_json() {
    let report = check_file(reference_file()).unwrap();
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(v["rule"], "canon-md-v0.1.0");
    assert_eq!(v["results"][0]["name"], "plain");
    assert_eq!(v["results"][0]["passed"], true);
    assert!(v["results"][0]["first_difference"].is_null());
}

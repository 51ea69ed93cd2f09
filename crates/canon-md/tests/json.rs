//! JSON output shapes (what a CLI prints for results and errors).

use canon_md::{canonicalize, CanonError};
use serde_json::json;

#[test]
fn canonical_report_json() {
    let c = canonicalize(b"# Title\r\n\r\nHello world.  \r\n").unwrap();
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(
        v,
        json!({
            "canonicalization_rule_used": "canon-md-v0.1.0",
            "canonical_sha256": "f9b55cbac8f5a43833e469f589b6af0c8c84e561eba978034ca867912cbad6f0",
            "canonical_byte_length": 22,
            "token_count": 4,
            "tokens": [
                {"position": 0, "byte_start": 0, "byte_end": 1, "text": "#"},
                {"position": 1, "byte_start": 2, "byte_end": 7, "text": "Title"},
                {"position": 2, "byte_start": 9, "byte_end": 14, "text": "Hello"},
                {"position": 3, "byte_start": 15, "byte_end": 21, "text": "world."}
            ]
        })
    );
    assert_eq!(serde_json::to_value(c.report()).unwrap(), v);
}

#[test]
fn span_and_error_json() {
    let c = canonicalize(b"alpha beta\n").unwrap();
    let span = c.span_to_tokens(0, 10).unwrap();
    assert_eq!(
        serde_json::to_value(span).unwrap(),
        json!({"canonicalization_rule_used": "canon-md-v0.1.0", "start_token_position": 0, "end_token_position": 1})
    );
    let err = c.span_to_tokens(5, 6).unwrap_err();
    assert_eq!(err.name(), "span_covers_no_token");
    assert_eq!(
        serde_json::to_value(&err).unwrap(),
        json!({
            "canonicalization_rule_used": "canon-md-v0.1.0",
            "error": "span_covers_no_token",
            "message": "span_covers_no_token: byte span [5, 6) intersects no token",
            "byte_span": [5, 6]
        })
    );
    let err = canonicalize(b"ok \xff").unwrap_err();
    assert_eq!(err, CanonError::InvalidUtf8 { offset: 3 });
    let v = serde_json::to_value(&err).unwrap();
    assert_eq!(v["error"], "invalid_utf8");
    assert_eq!(v["offset"], 3);
    assert_eq!(err.rule(), "canon-md-v0.1.0");
}

#[test]
fn error_names() {
    let c = canonicalize("é x\n".as_bytes()).unwrap();
    let names: Vec<&str> = [
        canonicalize(b"\xc3").unwrap_err(),
        c.span_to_tokens(0, 99).unwrap_err(),
        c.span_to_tokens(1, 2).unwrap_err(),
        c.span_to_tokens(2, 3).unwrap_err(),
    ]
    .iter()
    .map(|e| e.name())
    .collect();
    assert_eq!(names, CanonError::NAMES);
}

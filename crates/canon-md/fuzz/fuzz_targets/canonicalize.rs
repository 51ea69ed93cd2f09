//! Fuzz target for `canon-md-v0.1.0`: canonicalize arbitrary bytes, check
//! idempotence and token invariants, and map spans derived from the input.
#![no_main]

use canon_md::{canonicalize, is_white_space};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(once) = canonicalize(data) else {
        return;
    };
    let text = once.text();
    assert!(text.ends_with('\n'));

    // Idempotence. Documented exception: the rule strips only one leading U+FEFF,
    // so a canonical text that still starts with U+FEFF loses it on the next pass.
    let twice = canonicalize(once.bytes()).expect("canonical text is UTF-8");
    if let Some(rest) = text.strip_prefix('\u{FEFF}') {
        assert_eq!(twice.text(), rest);
    } else {
        assert_eq!(twice, once);
    }

    // Token invariants.
    let mut prev_end = 0usize;
    for (i, t) in once.tokens().iter().enumerate() {
        assert_eq!(t.position, i);
        assert!(t.byte_start < t.byte_end);
        assert!(i == 0 || t.byte_start > prev_end);
        assert!(!once.token_text(t).is_empty());
        assert!(!once.token_text(t).contains(is_white_space));
        prev_end = t.byte_end;
    }

    // Span mapping on spans derived from the input bytes, checked against a scan.
    let len = once.len();
    for pair in data.chunks(4) {
        let a = pair.first().copied().unwrap_or(0) as usize
            | (pair.get(1).copied().unwrap_or(0) as usize) << 8;
        let b = pair.get(2).copied().unwrap_or(0) as usize
            | (pair.get(3).copied().unwrap_or(0) as usize) << 8;
        let (start, end) = (a % (len + 2), b % (len + 2));
        let got = once.span_to_tokens(start, end);
        let expected_kind = if !(start < end && end <= len) {
            Some("span_out_of_range")
        } else if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            Some("span_not_char_boundary")
        } else {
            None
        };
        match (got, expected_kind) {
            (Err(e), Some(kind)) => assert_eq!(e.name(), kind),
            (Ok(span), None) => {
                let hits: Vec<usize> = once
                    .tokens()
                    .iter()
                    .filter(|t| t.byte_start < end && t.byte_end > start)
                    .map(|t| t.position)
                    .collect();
                assert_eq!(hits.first(), Some(&span.start_token_position));
                assert_eq!(hits.last(), Some(&span.end_token_position));
            }
            (Err(e), None) => {
                assert_eq!(e.name(), "span_covers_no_token");
                assert!(!once
                    .tokens()
                    .iter()
                    .any(|t| t.byte_start < end && t.byte_end > start));
            }
            (Ok(span), Some(kind)) => panic!("expected {kind}, got {span:?}"),
        }
    }
});

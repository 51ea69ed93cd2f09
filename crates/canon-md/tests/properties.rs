//! Property tests of `canon-md-v0.1.0`: determinism, idempotence, no panics, token
//! invariants, agreement with a straight-from-the-spec reference, naive span mapping.

use canon_md::{canonicalize, is_white_space, CanonError, Canonical, TokenSpan};
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

/// Characters that exercise every step: line endings, all white space, BOM,
/// combining marks, precomposed letters, Hangul jamo/syllables, singletons.
fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(vec!['a', 'b', 'Z', '#', '-', '*', '`', '1', '.']),
        3 => prop::sample::select(canon_md::WHITE_SPACE.to_vec()),
        2 => prop::sample::select(vec!['\r', '\n']),
        1 => prop::sample::select(vec![
            '\u{FEFF}', '\u{0301}', '\u{0308}', '\u{0323}', '\u{0345}', '\u{05AE}',
            'é', 'e', 'E', 'Å', '\u{212B}', '\u{1100}', '\u{1161}', '\u{11A8}', '\u{AC00}',
            '\u{2000}', '\u{2001}', '\u{0958}', '\u{200B}', '\u{180E}', '\u{1F600}',
        ]),
        1 => any::<char>(),
    ]
}

fn interesting_string() -> impl Strategy<Value = String> {
    prop::collection::vec(interesting_char(), 0..64).prop_map(|v| v.into_iter().collect())
}

/// Input bytes: mostly interesting text, sometimes with a BOM, sometimes arbitrary bytes.
fn input_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => interesting_string().prop_map(String::into_bytes),
        1 => interesting_string().prop_map(|s| format!("\u{FEFF}{s}").into_bytes()),
        2 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// The rule, written as literally as possible (whole-text NFC, global replaces).
fn reference(input: &[u8]) -> Result<String, usize> {
    let s = std::str::from_utf8(input).map_err(|e| e.valid_up_to())?;
    let s = s.strip_prefix('\u{FEFF}').unwrap_or(s);
    let s: String = s.nfc().collect();
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<&str> = s
        .split('\n')
        .map(|l| l.trim_end_matches(is_white_space))
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out)
}

/// Tokens computed char by char.
fn naive_tokens(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_white_space(c), start) {
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// Step 8 by linear scan.
fn naive_span(c: &Canonical, start: usize, end: usize) -> Result<TokenSpan, &'static str> {
    let text = c.text();
    if !(start < end && end <= text.len()) {
        return Err("span_out_of_range");
    }
    if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
        return Err("span_not_char_boundary");
    }
    let hits: Vec<usize> = c
        .tokens()
        .iter()
        .filter(|t| t.byte_start < end && t.byte_end > start)
        .map(|t| t.position)
        .collect();
    match (hits.first(), hits.last()) {
        (Some(&a), Some(&b)) => Ok(TokenSpan {
            start_token_position: a,
            end_token_position: b,
        }),
        _ => Err("span_covers_no_token"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = canonicalize(&input);
    }

    #[test]
    fn deterministic(input in input_bytes()) {
        prop_assert_eq!(canonicalize(&input), canonicalize(&input));
    }

    #[test]
    fn agrees_with_literal_reference(input in input_bytes()) {
        match (canonicalize(&input), reference(&input)) {
            (Ok(c), Ok(r)) => prop_assert_eq!(c.text(), r.as_str()),
            (Err(CanonError::InvalidUtf8 { offset }), Err(r)) => prop_assert_eq!(offset, r),
            (got, want) => prop_assert!(false, "got {:?}, want {:?}", got, want),
        }
    }

    #[test]
    fn idempotent(input in input_bytes()) {
        if let Ok(once) = canonicalize(&input) {
            let twice = canonicalize(once.bytes()).unwrap();
            if once.text().starts_with('\u{FEFF}') {
                // Documented exception: the rule strips only one leading BOM.
                prop_assert_eq!(twice.text(), &once.text()['\u{FEFF}'.len_utf8()..]);
            } else {
                prop_assert_eq!(&twice, &once);
            }
        }
    }

    #[test]
    fn canonical_text_shape(input in input_bytes()) {
        if let Ok(c) = canonicalize(&input) {
            let t = c.text();
            prop_assert!(t.ends_with('\n'));
            prop_assert!(!t.contains('\r'));
            prop_assert!(t == "\n" || !t.ends_with("\n\n"));
            prop_assert!(unicode_normalization::is_nfc(t));
            for line in t[..t.len() - 1].split('\n') {
                prop_assert!(!line.ends_with(is_white_space), "line {:?}", line);
            }
            prop_assert_eq!(c.rule(), "canon-md-v0.1.0");
            prop_assert_eq!(c.sha256_hex().len(), 64);
        }
    }

    #[test]
    fn token_invariants(input in input_bytes()) {
        if let Ok(c) = canonicalize(&input) {
            let text = c.text();
            let mut prev_end = 0;
            for (i, t) in c.tokens().iter().enumerate() {
                prop_assert_eq!(t.position, i);
                prop_assert!(t.byte_start < t.byte_end, "empty token {:?}", t);
                prop_assert!(i == 0 || t.byte_start > prev_end, "tokens not separated");
                prop_assert!(text.is_char_boundary(t.byte_start));
                prop_assert!(text.is_char_boundary(t.byte_end));
                let tok = c.token_text(t);
                prop_assert!(!tok.contains(is_white_space), "token {:?}", tok);
                prev_end = t.byte_end;
            }
            // Every non-White_Space char is inside a token; maximality via the naive split.
            for (i, ch) in text.char_indices() {
                let covered = c.tokens().iter().any(|t| t.byte_start <= i && i < t.byte_end);
                prop_assert_eq!(covered, !is_white_space(ch), "char {:?} at {}", ch, i);
            }
            let got: Vec<(usize, usize)> = c.tokens().iter().map(|t| (t.byte_start, t.byte_end)).collect();
            prop_assert_eq!(got, naive_tokens(text));
        }
    }

    #[test]
    fn span_mapping_matches_naive(input in interesting_string(), a in 0usize..80, b in 0usize..80) {
        let c = canonicalize(input.as_bytes()).unwrap();
        let fast = c.span_to_tokens(a, b).map_err(|e| e.name());
        prop_assert_eq!(fast, naive_span(&c, a, b));
    }

    #[test]
    fn span_mapping_all_spans(input in interesting_string()) {
        let c = canonicalize(input.as_bytes()).unwrap();
        let n = c.len();
        for a in 0..=n + 1 {
            for b in a.saturating_sub(1)..=n + 1 {
                let fast = c.span_to_tokens(a, b).map_err(|e| e.name());
                prop_assert_eq!(fast, naive_span(&c, a, b), "span [{}, {})", a, b);
            }
        }
    }
}

#[test]
fn huge_span_values_do_not_panic() {
    let c = canonicalize(b"a b\n").unwrap();
    assert_eq!(
        c.span_to_tokens(usize::MAX - 1, usize::MAX)
            .unwrap_err()
            .name(),
        "span_out_of_range"
    );
    assert_eq!(
        c.span_to_tokens(0, usize::MAX).unwrap_err().name(),
        "span_out_of_range"
    );
}

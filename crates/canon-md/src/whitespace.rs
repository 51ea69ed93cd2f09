//! The `White_Space` character class used by `canon-md-v0.1.0` (trimming and tokens).
//! Owns the exact list from the rule, as a `char` predicate and as a UTF-8 byte matcher.

/// Every code point the rule treats as white space: the Unicode `White_Space`
/// property, written out exactly as listed by `canon-md-v0.1.0`.
pub const WHITE_SPACE: [char; 25] = [
    '\u{0009}', '\u{000A}', '\u{000B}', '\u{000C}', '\u{000D}', '\u{0020}', '\u{0085}', '\u{00A0}',
    '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}',
    '\u{2007}', '\u{2008}', '\u{2009}', '\u{200A}', '\u{2028}', '\u{2029}', '\u{202F}', '\u{205F}',
    '\u{3000}',
];

/// `true` iff `c` is in the rule's `White_Space` list: U+0009–U+000D, U+0020,
/// U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
///
/// The list is fixed by the rule (it does not follow future Unicode versions).
/// It agrees with [`char::is_whitespace`] for every `char` of the Unicode version
/// shipped with the toolchain (checked by a unit test).
pub const fn is_white_space(c: char) -> bool {
    matches!(
        c,
        '\u{0009}'..='\u{000D}'
            | '\u{0020}'
            | '\u{0085}'
            | '\u{00A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
    )
}

/// Length in bytes of the white-space character starting at `bytes[i]`, or 0 if
/// the character there is not white space (or `i` is not a character start).
///
/// `bytes` must be valid UTF-8; out-of-range `i` returns 0.
#[inline(always)]
pub(crate) fn ws_len_at(bytes: &[u8], i: usize) -> usize {
    let Some(&b0) = bytes.get(i) else {
        return 0;
    };
    if b0 < 0x80 {
        return ASCII_WS[b0 as usize] as usize;
    }
    match b0 {
        // U+0085, U+00A0
        0xC2 => match bytes.get(i + 1) {
            Some(0x85) | Some(0xA0) => 2,
            _ => 0,
        },
        // U+1680
        0xE1 => match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(0x9A), Some(0x80)) => 3,
            _ => 0,
        },
        // U+2000..=U+200A, U+2028, U+2029, U+202F, U+205F
        0xE2 => match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(0x80), Some(0x80..=0x8A | 0xA8 | 0xA9 | 0xAF)) => 3,
            (Some(0x81), Some(0x9F)) => 3,
            _ => 0,
        },
        // U+3000
        0xE3 => match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(0x80), Some(0x80)) => 3,
            _ => 0,
        },
        _ => 0,
    }
}

/// `true` iff the ASCII byte `b` is white space (U+0009–U+000D, U+0020).
#[inline(always)]
pub(crate) const fn is_ascii_ws(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// Lookup table for ASCII white space (U+0009–U+000D, U+0020).
const ASCII_WS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        if is_white_space(i as u8 as char) {
            t[i] = 1;
        }
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    fn all_chars() -> impl Iterator<Item = char> {
        (0u32..=0x10FFFF).filter_map(char::from_u32)
    }

    /// The rule's list versus the standard library's `White_Space` (`char::is_whitespace`).
    ///
    /// Documented difference: none. For the Unicode version of this toolchain the two
    /// sets are identical (25 code points). Should a future Unicode version add a
    /// `White_Space` code point, this test will fail and the rule (not this test) keeps
    /// the fixed list above; a new rule version would be needed to follow Unicode.
    #[test]
    fn agrees_with_std_is_whitespace_for_all_chars() {
        let differences: Vec<char> = all_chars()
            .filter(|&c| is_white_space(c) != c.is_whitespace())
            .collect();
        assert!(
            differences.is_empty(),
            "differences between the rule's White_Space list and char::is_whitespace: {:?}",
            differences
        );
    }

    #[test]
    fn list_matches_predicate() {
        let from_pred: Vec<char> = all_chars().filter(|&c| is_white_space(c)).collect();
        assert_eq!(from_pred, WHITE_SPACE.to_vec());
    }

    #[test]
    fn byte_matcher_agrees_with_predicate_for_all_chars() {
        let mut buf = [0u8; 4];
        for c in all_chars() {
            let s = c.encode_utf8(&mut buf);
            let expected = if is_white_space(c) { s.len() } else { 0 };
            assert_eq!(
                ws_len_at(s.as_bytes(), 0),
                expected,
                "char U+{:04X}",
                c as u32
            );
            // Continuation bytes never start white space.
            for i in 1..s.len() {
                assert_eq!(
                    ws_len_at(s.as_bytes(), i),
                    0,
                    "char U+{:04X} byte {i}",
                    c as u32
                );
            }
        }
        assert_eq!(ws_len_at(b"", 0), 0);
        assert_eq!(ws_len_at(b"\xE2\x80", 0), 0);
    }
}

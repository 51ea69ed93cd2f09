//! Steps 1–7 of `canon-md-v0.1.0`: bytes in, canonical text and token stream out.
//! Owns `canonicalize` and the `Canonical` result, tuned for throughput (its report and
//! `Serialize` are in `report`).

use sha2::{Digest, Sha256};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::span::{self, TokenSpan};
use crate::token::Token;
use crate::whitespace::{is_ascii_ws, is_white_space, ws_len_at};
use crate::{CanonError, RULE};

/// A canonicalization result: canonical text (always valid UTF-8, always ending in
/// exactly one LF) and its token stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    text: String,
    tokens: Vec<Token>,
}

impl Canonical {
    /// Canonical bytes.
    pub fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// Canonical text (same bytes as [`Canonical::bytes`]).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Consumes the result, returning the canonical text.
    pub fn into_text(self) -> String {
        self.text
    }

    /// Length of the canonical bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Always `false`: canonical text is at least `"\n"`.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Token stream, ordered by position (equal to the index).
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Text of a token of this result (empty if the token does not belong to it).
    pub fn token_text(&self, token: &Token) -> &str {
        self.text.get(token.byte_range()).unwrap_or("")
    }

    /// Lowercase hex SHA-256 of the canonical bytes (`canonical_sha256`).
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(self.text.as_bytes()))
    }

    /// The rule used (always [`RULE`], `"canon-md-v0.1.0"`).
    pub fn rule(&self) -> &'static str {
        RULE
    }

    /// Step 8: maps the canonical byte span `[start, end)` to the first and last
    /// token whose byte range intersects it (binary search, `O(log n)`).
    ///
    /// Errors, checked in this order: `span_out_of_range` (not
    /// `0 <= start < end <= len`), `span_not_char_boundary`, `span_covers_no_token`.
    pub fn span_to_tokens(&self, start: usize, end: usize) -> Result<TokenSpan, CanonError> {
        span::span_to_tokens(&self.text, &self.tokens, start, end)
    }
}

/// Canonicalizes `input` under `canon-md-v0.1.0` (steps 1–7).
///
/// 1. Decode as UTF-8 (error `invalid_utf8` with the first bad byte offset).
/// 2. Strip one leading U+FEFF.
/// 3. Unicode NFC.
/// 4. CRLF → LF, then lone CR → LF.
/// 5. Remove trailing `White_Space` from every line.
/// 6. Remove all trailing empty lines; end with exactly one LF (`"\n"` if nothing is left).
/// 7. Tokenize.
///
/// Never panics. Idempotent except for one input family that the rule as written
/// makes non-idempotent: when the canonical text itself starts with U+FEFF (the
/// input started with two or more BOMs), canonicalizing again strips one more.
///
/// Implementation: steps 3–6 run in one pass over lines. NFC is applied per line,
/// which equals NFC of the whole text because CR and LF are starters that never
/// compose (safe normalization boundaries); lines that are ASCII or pass
/// `is_nfc_quick` are copied without re-normalizing.
pub fn canonicalize(input: &[u8]) -> Result<Canonical, CanonError> {
    // 1. UTF-8
    let text = std::str::from_utf8(input).map_err(|e| CanonError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    // 2. one BOM
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    // 3–6.
    let canonical = normalize_lines(text);
    // 7.
    let tokens = tokenize(canonical.as_bytes());
    Ok(Canonical {
        text: canonical,
        tokens,
    })
}

/// Appends the NFC form of one line (a segment between line terminators) to `out`
/// without its trailing `White_Space`; returns whether anything was appended.
///
/// Lines that are ASCII or pass `is_nfc_quick` are copied as they are.
#[inline]
fn push_line(out: &mut String, line: &str) -> bool {
    let line_start = out.len();
    // ASCII characters are NFC starters that never compose with what precedes
    // them, so an ASCII prefix needs no checking; the quick check starts at the
    // character before the first non-ASCII byte (which may compose with it).
    let Some(first_non_ascii) = line.bytes().position(|b| !b.is_ascii()) else {
        out.push_str(line.trim_end_matches(is_white_space));
        return out.len() > line_start;
    };
    let (head, tail) = line.split_at(first_non_ascii.saturating_sub(1));
    if is_nfc_quick(tail.chars()) == IsNormalized::Yes {
        out.push_str(line.trim_end_matches(is_white_space));
    } else {
        out.push_str(head);
        out.extend(tail.nfc());
        let kept = out[line_start..].trim_end_matches(is_white_space).len();
        out.truncate(line_start + kept);
    }
    out.len() > line_start
}

/// Steps 3–6 in a single pass over `text` (already UTF-8, BOM stripped).
fn normalize_lines(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 1);
    // Length of `out` just after the LF of the last non-empty line.
    let mut keep = 0usize;
    let mut pos = 0usize;
    loop {
        // Next CR or LF (both ASCII, so every split point is a char boundary).
        let (line_end, next) = match memchr::memchr2(b'\n', b'\r', &bytes[pos..]) {
            Some(off) => {
                let at = pos + off;
                // CRLF counts as one terminator; lone CR and LF as one each.
                let skip = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                (at, Some(at + skip))
            }
            None => (bytes.len(), None),
        };
        let non_empty = push_line(&mut out, &text[pos..line_end]);
        out.push('\n');
        if non_empty {
            keep = out.len();
        }
        match next {
            Some(n) => pos = n,
            None => break,
        }
    }
    out.truncate(keep);
    if out.is_empty() {
        out.push('\n');
    }
    out
}

/// Step 7: maximal runs of non-`White_Space` characters, with byte ranges.
fn tokenize(bytes: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(bytes.len() / 8 + 1);
    let n = bytes.len();
    let mut i = 0usize;
    loop {
        // Skip white space.
        while i < n {
            let w = ws_len_at(bytes, i);
            if w == 0 {
                break;
            }
            i += w;
        }
        if i >= n {
            break;
        }
        // Scan one token. Bytes inside a multi-byte character (continuation bytes)
        // are never white space, so stepping byte by byte stays correct.
        let start = i;
        while i < n {
            let b = bytes[i];
            if b < 0x80 {
                if is_ascii_ws(b) {
                    break;
                }
            } else if ws_len_at(bytes, i) > 0 {
                break;
            }
            i += 1;
        }
        tokens.push(Token {
            position: tokens.len(),
            byte_start: start,
            byte_end: i,
        });
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &[u8]) -> String {
        canonicalize(s).map(|c| c.into_text()).unwrap_or_default()
    }

    #[test]
    fn steps() {
        assert_eq!(canon(b""), "\n");
        assert_eq!(canon(b" \t\r\n \x0b\x0c\r"), "\n");
        assert_eq!(canon(b"a"), "a\n");
        assert_eq!(canon(b"a\r\n"), "a\n");
        assert_eq!(canon(b"a\r\r\nb"), "a\n\nb\n");
        assert_eq!(canon(b"a\rb\r"), "a\nb\n");
        assert_eq!(canon(b"\n\na  \n\n  b\t\n\n\n"), "\n\na\n\n  b\n");
        assert_eq!(canon("\u{FEFF}x".as_bytes()), "x\n");
        assert_eq!(canon("x\u{FEFF}".as_bytes()), "x\u{FEFF}\n");
        assert_eq!(canon("e\u{301}\u{3000}\u{a0}\n".as_bytes()), "\u{e9}\n");
        // U+2000 is canonically equivalent to U+2002 (singleton decomposition).
        assert_eq!(canon("a\u{2000}b".as_bytes()), "a\u{2002}b\n");
        // U+0085 / U+2028 are white space but not line breaks for this rule.
        assert_eq!(canon("a\u{85}b\u{2028}".as_bytes()), "a\u{85}b\n");
    }

    #[test]
    fn invalid_utf8_offset() {
        assert_eq!(
            canonicalize(b"ok \xff bad"),
            Err(CanonError::InvalidUtf8 { offset: 3 })
        );
        assert_eq!(
            canonicalize(b"\xe2\x82"),
            Err(CanonError::InvalidUtf8 { offset: 0 })
        );
        // The offset is in the input bytes, BOM included.
        assert_eq!(
            canonicalize(b"\xef\xbb\xbfa\xff"),
            Err(CanonError::InvalidUtf8 { offset: 4 })
        );
    }

    #[test]
    fn double_bom_is_the_documented_idempotence_exception() {
        let once = canon("\u{FEFF}\u{FEFF}a".as_bytes());
        assert_eq!(once, "\u{FEFF}a\n");
        assert_eq!(canon(once.as_bytes()), "a\n");
    }

    #[test]
    fn tokens_and_spans() {
        let c = canonicalize("été ok\u{3000}x\n".as_bytes()).unwrap();
        let ranges: Vec<_> = c.tokens().iter().map(|t| t.byte_range()).collect();
        assert_eq!(ranges, vec![0..5, 6..8, 11..12]);
        assert_eq!(c.token_text(&c.tokens()[0]), "été");
        assert_eq!(
            c.span_to_tokens(1, 3),
            Err(CanonError::SpanNotCharBoundary {
                start: 1,
                end: 3,
                offset: 1
            })
        );
        assert_eq!(
            c.span_to_tokens(8, 11),
            Err(CanonError::SpanCoversNoToken { start: 8, end: 11 })
        );
        assert_eq!(
            c.span_to_tokens(3, 3),
            Err(CanonError::SpanOutOfRange {
                start: 3,
                end: 3,
                len: 13
            })
        );
        let s = c.span_to_tokens(3, 12).unwrap();
        assert_eq!((s.start_token_position, s.end_token_position), (0, 2));
    }

    #[test]
    fn canonical_text_is_never_empty() {
        for input in [&b""[..], b"\n\n", b" \t", b"a"] {
            let c = canonicalize(input).expect("valid UTF-8");
            assert!(!c.is_empty(), "{input:?}");
            assert_eq!(c.len(), c.text().len());
        }
    }
}

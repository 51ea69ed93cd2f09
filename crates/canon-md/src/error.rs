//! Errors of the `canon-md-v0.1.0` rule: rejected input and rejected span mappings.
//! Owns the stable error names (`invalid_utf8`, `span_*`) used in vectors and JSON output.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::RULE;

/// Everything that canonicalization or span mapping can reject.
///
/// The stable, machine-readable name of each variant is given by [`CanonError::name`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonError {
    /// The input is not valid UTF-8; `offset` is the first bad byte (0-based).
    #[error("invalid_utf8: input is not valid UTF-8; first invalid byte at offset {offset}")]
    InvalidUtf8 {
        /// Byte offset (in the input) of the first byte that is not valid UTF-8.
        offset: usize,
    },
    /// Not `0 <= start < end <= len` (canonical bytes).
    #[error(
        "span_out_of_range: byte span [{start}, {end}) is not within 0 <= start < end <= {len}"
    )]
    SpanOutOfRange {
        /// Requested span start.
        start: usize,
        /// Requested span end (exclusive).
        end: usize,
        /// Length of the canonical bytes.
        len: usize,
    },
    /// `start` or `end` falls inside a multi-byte UTF-8 character.
    #[error("span_not_char_boundary: byte span [{start}, {end}): offset {offset} is not on a character boundary")]
    SpanNotCharBoundary {
        /// Requested span start.
        start: usize,
        /// Requested span end (exclusive).
        end: usize,
        /// The first of `start`, `end` that is not a character boundary.
        offset: usize,
    },
    /// The span lies entirely in white space: no token intersects it.
    #[error("span_covers_no_token: byte span [{start}, {end}) intersects no token")]
    SpanCoversNoToken {
        /// Requested span start.
        start: usize,
        /// Requested span end (exclusive).
        end: usize,
    },
}

impl CanonError {
    /// Every error name, in declaration order.
    pub const NAMES: [&'static str; 4] = [
        "invalid_utf8",
        "span_out_of_range",
        "span_not_char_boundary",
        "span_covers_no_token",
    ];

    /// Stable machine-readable name: `invalid_utf8`, `span_out_of_range`,
    /// `span_not_char_boundary` or `span_covers_no_token`.
    pub fn name(&self) -> &'static str {
        match self {
            CanonError::InvalidUtf8 { .. } => "invalid_utf8",
            CanonError::SpanOutOfRange { .. } => "span_out_of_range",
            CanonError::SpanNotCharBoundary { .. } => "span_not_char_boundary",
            CanonError::SpanCoversNoToken { .. } => "span_covers_no_token",
        }
    }

    /// The rule under which the error was raised (always [`RULE`]).
    pub fn rule(&self) -> &'static str {
        RULE
    }
}

/// JSON shape: `{"canonicalization_rule_used", "error", "message", ...details}`.
impl Serialize for CanonError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("canonicalization_rule_used", RULE)?;
        map.serialize_entry("error", self.name())?;
        map.serialize_entry("message", &self.to_string())?;
        match *self {
            CanonError::InvalidUtf8 { offset } => {
                map.serialize_entry("offset", &offset)?;
            }
            CanonError::SpanOutOfRange { start, end, len } => {
                map.serialize_entry("byte_span", &[start, end])?;
                map.serialize_entry("canonical_byte_length", &len)?;
            }
            CanonError::SpanNotCharBoundary { start, end, offset } => {
                map.serialize_entry("byte_span", &[start, end])?;
                map.serialize_entry("offset", &offset)?;
            }
            CanonError::SpanCoversNoToken { start, end } => {
                map.serialize_entry("byte_span", &[start, end])?;
            }
        }
        map.end()
    }
}

//! Mapping of a byte span of the canonical text to the tokens it intersects (step 8).
//! Owns `TokenSpan` and the range / boundary / coverage checks, via binary search.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::token::Token;
use crate::{CanonError, RULE};

/// Result of mapping a byte span: the first and last token (inclusive) whose byte
/// range intersects the span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenSpan {
    /// Position of the first token intersecting the span.
    pub start_token_position: usize,
    /// Position of the last token intersecting the span (inclusive).
    pub end_token_position: usize,
}

impl TokenSpan {
    /// The rule under which the mapping was made (always [`RULE`]).
    pub fn rule(&self) -> &'static str {
        RULE
    }
}

/// JSON shape: `{"canonicalization_rule_used", "start_token_position", "end_token_position"}`.
impl Serialize for TokenSpan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("TokenSpan", 3)?;
        s.serialize_field("canonicalization_rule_used", RULE)?;
        s.serialize_field("start_token_position", &self.start_token_position)?;
        s.serialize_field("end_token_position", &self.end_token_position)?;
        s.end()
    }
}

/// Step 8 over `text` (canonical) and its `tokens` (sorted, disjoint, non-empty).
pub(crate) fn span_to_tokens(
    text: &str,
    tokens: &[Token],
    start: usize,
    end: usize,
) -> Result<TokenSpan, CanonError> {
    let len = text.len();
    if !(start < end && end <= len) {
        return Err(CanonError::SpanOutOfRange { start, end, len });
    }
    for offset in [start, end] {
        if !text.is_char_boundary(offset) {
            return Err(CanonError::SpanNotCharBoundary { start, end, offset });
        }
    }
    // Token [ts, te) intersects [start, end) iff ts < end && te > start.
    // First candidate: first token ending after `start`.
    let first = tokens.partition_point(|t| t.byte_end <= start);
    // Last candidate: last token starting before `end`.
    let after_last = tokens.partition_point(|t| t.byte_start < end);
    if first < after_last {
        Ok(TokenSpan {
            start_token_position: first,
            end_token_position: after_last - 1,
        })
    } else {
        Err(CanonError::SpanCoversNoToken { start, end })
    }
}

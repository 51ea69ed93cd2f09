//! A token of the canonical text: its position in the token stream and its byte range, shared
//! by canonicalization (which finds tokens) and spans (which map byte ranges to them).

use serde::Serialize;

/// One token: a maximal run of non-`White_Space` characters of the canonical text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Token {
    /// Position in the token stream, numbered from 0.
    pub position: usize,
    /// First byte of the token in the canonical bytes.
    pub byte_start: usize,
    /// One past the last byte of the token in the canonical bytes.
    pub byte_end: usize,
}

impl Token {
    /// Byte range `[byte_start, byte_end)` in the canonical bytes.
    pub fn byte_range(&self) -> std::ops::Range<usize> {
        self.byte_start..self.byte_end
    }
}

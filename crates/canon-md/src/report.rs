//! JSON shape of a canonicalization result, as printed by command-line tools.
//! Owns `CanonReport` / `TokenReport` (rule, canonical SHA-256, tokens with ranges and text),
//! `Canonical::report` and `Canonical`'s `Serialize` (as its report).

use serde::{Serialize, Serializer};

use crate::{Canonical, RULE};

/// Serializable summary of a [`Canonical`]:
///
/// ```json
/// {"canonicalization_rule_used":"canon-md-v0.1.0","canonical_sha256":"…",
///  "canonical_byte_length":22,"token_count":4,
///  "tokens":[{"position":0,"byte_start":0,"byte_end":1,"text":"#"}, …]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CanonReport<'a> {
    /// Always `"canon-md-v0.1.0"`.
    pub canonicalization_rule_used: &'static str,
    /// Lowercase hex SHA-256 of the canonical bytes.
    pub canonical_sha256: String,
    /// Length of the canonical bytes.
    pub canonical_byte_length: usize,
    /// Number of tokens.
    pub token_count: usize,
    /// Tokens in order.
    pub tokens: Vec<TokenReport<'a>>,
}

/// One token in a [`CanonReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenReport<'a> {
    /// Position, from 0.
    pub position: usize,
    /// Start byte (inclusive) in the canonical bytes.
    pub byte_start: usize,
    /// End byte (exclusive) in the canonical bytes.
    pub byte_end: usize,
    /// The token's text.
    pub text: &'a str,
}

impl<'a> CanonReport<'a> {
    /// Builds the report of `c`.
    pub fn new(c: &'a Canonical) -> Self {
        CanonReport {
            canonicalization_rule_used: RULE,
            canonical_sha256: c.sha256_hex(),
            canonical_byte_length: c.len(),
            token_count: c.tokens().len(),
            tokens: c
                .tokens()
                .iter()
                .map(|t| TokenReport {
                    position: t.position,
                    byte_start: t.byte_start,
                    byte_end: t.byte_end,
                    text: c.token_text(t),
                })
                .collect(),
        }
    }
}

impl Canonical {
    /// The JSON-ready report (rule, sha256, tokens with byte ranges and text).
    pub fn report(&self) -> CanonReport<'_> {
        CanonReport::new(self)
    }
}

/// Serializes as [`CanonReport`].
impl Serialize for Canonical {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.report().serialize(serializer)
    }
}

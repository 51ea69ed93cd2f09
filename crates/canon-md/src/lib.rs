//! Canonicalization rule `canon-md-v0.1.0` for Markdown sources.
//!
//! This crate owns the byte-exact definition of the rule: UTF-8 validation, BOM
//! stripping, Unicode NFC, line-ending and trailing-whitespace normalization, the
//! token stream over the canonical text, and the mapping of canonical byte spans
//! to token positions. It also owns the checker for the reference vectors file
//! (`fixtures/reference/canon-md-v0.1.0.vectors.json`) and the JSON shape that
//! command-line tools print for a canonicalization result.
//!
//! ```
//! let c = canon_md::canonicalize(b"# Title\r\n\r\nHello  world.  \r\n\r\n").unwrap();
//! assert_eq!(c.text(), "# Title\n\nHello  world.\n");
//! assert_eq!(c.tokens().len(), 4);
//! let span = c.span_to_tokens(2, 7).unwrap();
//! assert_eq!((span.start_token_position, span.end_token_position), (1, 1));
//! assert_eq!(c.rule(), canon_md::RULE);
//! ```
//!
//! Properties: deterministic, idempotent for every input whose canonical text does
//! not itself start with U+FEFF (see [`canonicalize`]), and never panics.

mod canon;
mod error;
mod report;
mod span;
mod token;
pub mod vectors;
mod whitespace;

pub use canon::{canonicalize, Canonical};
pub use error::CanonError;
pub use report::{CanonReport, TokenReport};
pub use span::TokenSpan;
pub use token::Token;
pub use whitespace::{is_white_space, WHITE_SPACE};

/// Identifier of the canonicalization rule implemented by this crate; reported as
/// `canonicalization_rule_used` by every result.
pub const RULE: &str = "canon-md-v0.1.0";

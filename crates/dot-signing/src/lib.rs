//! DOT pair pseudo-signatures, scheme `v0.1` (`dot_pair_signature` rows).
//!
//! This crate owns how the executor DOT 992 (`DOT-IU-CUTTER`) and the verifier DOT
//! 991 (`DOT-IU-CUTTER-VERIFY`) sign and verify their cuts:
//!
//! * the payload envelope ([`PayloadEnvelope`], schema `dot-pair-signature/v0.1`)
//!   and its canonical bytes (RFC 8785 JCS), `payload_hash` (SHA-256, lowercase hex);
//! * `signature_payload` = `"v0.1:hmac-sha256:" + hex(HMAC-SHA256(key, payload_hash))`,
//!   with the key found through a [`CredentialRef`] resolved by a [`CredentialStore`]
//!   (environment, file, or memory) — rows store the reference, never the key;
//! * the exactly-one cross reference of a row ([`CrossRef`]: an `executor_cut`
//!   references its change set, a `verifier_cut` the executor signature it verifies);
//! * verification ([`verify`], [`verify_pair`]) with distinct outcomes mapped to the
//!   `signature_failure` and `dot_pair_drift` signals.
//!
//! HMAC is symmetric, so this is only a pseudo-signature: anyone who can verify can
//! also sign. The scheme is versioned (`v0.1:` prefix) so that an asymmetric scheme
//! can replace it; unknown prefixes verify as [`Verification::UnsupportedScheme`].
//!
//! ```
//! use dot_signing::*;
//! use uuid::Uuid;
//!
//! let store = MemoryStore::new()
//!     .with(&CredentialRef::parse("env:DOT_992_KEY").unwrap(), b"executor-key".to_vec())
//!     .with(&CredentialRef::parse("env:DOT_991_KEY").unwrap(), b"verifier-key".to_vec());
//! let cut = CutPayload {
//!     change_set_id: Uuid::nil(),
//!     canonicalization_rule_used: "canon-md-v0.1.0".into(),
//!     canonical_sha256: "f9b55cbac8f5a43833e469f589b6af0c8c84e561eba978034ca867912cbad6f0".into(),
//!     units: vec![Unit { start_token_position: 0, end_token_position: 3 }],
//! };
//! let exec = Signer::executor("0.1.0", CredentialRef::parse("env:DOT_992_KEY").unwrap());
//! let verif = Signer::verifier("0.1.0", CredentialRef::parse("env:DOT_991_KEY").unwrap());
//! let e = sign_executor(&cut, &exec, &store).unwrap();
//! let v = sign_verifier(&e, &cut, &verif, &store).unwrap();
//! assert_eq!(verify(Some(&e), &store, "0.1.0"), Verification::Valid);
//! assert_eq!(verify(Some(&v), &store, "0.1.0"), Verification::Valid);
//! let drift = verify(Some(&e), &store, "0.2.0");
//! assert_eq!(drift.signal_kind(), Some("dot_pair_drift"));
//! ```

mod credentials;
mod crossref;
mod dot;
mod envelope;
mod error;
mod row;
mod sign;
pub mod sql;
mod verify;

pub use credentials::{
    ChainStore, CredentialError, CredentialRef, CredentialSource, CredentialStore, EnvStore,
    FileStore, MemoryStore, SecretKey,
};
pub use crossref::CrossRef;
pub use dot::{DotIdentity, DotRole, SignatureKind, DOT_IU_CUTTER, DOT_IU_CUTTER_VERIFY};
pub use envelope::{jcs_bytes, payload_hash_of, PayloadEnvelope, Unit, MAX_SAFE_INTEGER};
pub use error::SigningError;
pub use row::{SignatureColumns, SignatureRow, SQL_CHECK_CONSTRAINTS};
pub use sign::{
    compute_signature_payload, sign_executor, sign_executor_at, sign_verifier, sign_verifier_at,
    CutPayload, Signer,
};
pub use verify::{verify, verify_pair, PairVerification, Verification, VerificationKind};

/// Version prefix of `signature_payload` for this scheme.
pub const SCHEME_PREFIX: &str = "v0.1:hmac-sha256:";
/// Value of the envelope's `schema` field.
pub const ENVELOPE_SCHEMA: &str = "dot-pair-signature/v0.1";
/// Signal emitted for a tampered envelope, wrong key, missing or unverifiable signature.
pub const SIGNAL_SIGNATURE_FAILURE: &str = "signature_failure";
/// Signal emitted when the signer's tool revision differs from the registered one.
pub const SIGNAL_DOT_PAIR_DRIFT: &str = "dot_pair_drift";
/// Change-set state after a tool revision drift.
pub const CHANGE_SET_STATE_INVALID_DRIFT: &str = "invalid_drift";

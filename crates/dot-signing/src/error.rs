//! Errors of signing and of reading signature rows back (never containing key bytes).
//! Owns `SigningError` and its stable names.

use uuid::Uuid;

use crate::{CredentialError, SignatureKind};

/// Why a row could not be signed or built. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// Neither a change set nor a signature is referenced (exactly one is required).
    #[error("cross_reference_missing: a signature row must reference exactly one of a change set or a signature; it references none")]
    CrossReferenceMissing,
    /// Both a change set and a signature are referenced (exactly one is required).
    #[error("cross_reference_ambiguous: a signature row must reference exactly one of a change set or a signature; it references change set {change_set_id} and signature {signature_id}")]
    CrossReferenceAmbiguous {
        /// The referenced change set.
        change_set_id: Uuid,
        /// The referenced signature.
        signature_id: Uuid,
    },
    /// The reference does not fit the kind (executor → change set, verifier → signature).
    #[error("cross_reference_kind_mismatch: a {kind} row cannot reference a {references}")]
    CrossReferenceKindMismatch {
        /// The row's kind.
        kind: SignatureKind,
        /// What it references (`change_set` or `signature`).
        references: &'static str,
    },
    /// `signature_kind` column value that is not `executor_cut` / `verifier_cut`.
    #[error("unknown_signature_kind: {0:?} is not executor_cut or verifier_cut")]
    UnknownSignatureKind(String),
    /// The signer is not the DOT that signs this kind.
    #[error("wrong_signer: {kind} must be signed by DOT {expected}, not DOT {got}")]
    WrongSigner {
        /// The kind being signed.
        kind: SignatureKind,
        /// The DOT that signs this kind.
        expected: i32,
        /// The DOT that tried.
        got: i32,
    },
    /// `sign_verifier` was given a row that is not an `executor_cut`.
    #[error("not_an_executor_signature: signature {signature_id} is a {kind}, a verifier_cut must reference an executor_cut")]
    NotAnExecutorSignature {
        /// The row given as executor signature.
        signature_id: Uuid,
        /// Its kind.
        kind: SignatureKind,
    },
    /// The verifier's change set differs from the executor's.
    #[error("change_set_mismatch: the executor signed change set {executor}, the verifier cut is for change set {verifier}")]
    ChangeSetMismatch {
        /// Change set of the executor envelope.
        executor: Uuid,
        /// Change set of the verifier cut.
        verifier: Uuid,
    },
    /// The envelope is not a valid `dot-pair-signature/v0.1` envelope.
    #[error("invalid_envelope: {0}")]
    InvalidEnvelope(String),
    /// The signer's key could not be resolved.
    #[error("credential_error: {0}")]
    Credential(#[from] CredentialError),
    /// The key was rejected by HMAC (not expected: HMAC accepts any key length).
    #[error("invalid_key: the key was rejected by HMAC-SHA256")]
    InvalidKey,
    /// JCS serialization failed.
    #[error("canonicalization_failed: {0}")]
    Canonicalization(String),
}

impl SigningError {
    /// Stable machine-readable name (the prefix of the message).
    pub fn name(&self) -> &'static str {
        match self {
            SigningError::CrossReferenceMissing => "cross_reference_missing",
            SigningError::CrossReferenceAmbiguous { .. } => "cross_reference_ambiguous",
            SigningError::CrossReferenceKindMismatch { .. } => "cross_reference_kind_mismatch",
            SigningError::UnknownSignatureKind(_) => "unknown_signature_kind",
            SigningError::WrongSigner { .. } => "wrong_signer",
            SigningError::NotAnExecutorSignature { .. } => "not_an_executor_signature",
            SigningError::ChangeSetMismatch { .. } => "change_set_mismatch",
            SigningError::InvalidEnvelope(_) => "invalid_envelope",
            SigningError::Credential(_) => "credential_error",
            SigningError::InvalidKey => "invalid_key",
            SigningError::Canonicalization(_) => "canonicalization_failed",
        }
    }
}

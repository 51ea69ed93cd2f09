//! The exactly-one cross reference of a signature row (a change set or a signature).
//! Owns the rule that zero or two references are impossible, and the kind it implies.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{SignatureKind, SigningError};

/// What a `dot_pair_signature` row references: exactly one of a change set or
/// another signature. The variant also fixes the row's kind: an `executor_cut`
/// references its change set, a `verifier_cut` the executor signature it verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossRef {
    /// References a change set (rows of kind `executor_cut`).
    ChangeSet(Uuid),
    /// References another signature (rows of kind `verifier_cut`).
    Signature(Uuid),
}

impl CrossRef {
    /// Builds a reference from the two nullable database columns, rejecting zero
    /// references ([`SigningError::CrossReferenceMissing`]) and two references
    /// ([`SigningError::CrossReferenceAmbiguous`]).
    pub fn from_columns(
        change_set: Option<Uuid>,
        signature: Option<Uuid>,
    ) -> Result<CrossRef, SigningError> {
        match (change_set, signature) {
            (Some(c), None) => Ok(CrossRef::ChangeSet(c)),
            (None, Some(s)) => Ok(CrossRef::Signature(s)),
            (None, None) => Err(SigningError::CrossReferenceMissing),
            (Some(change_set_id), Some(signature_id)) => {
                Err(SigningError::CrossReferenceAmbiguous {
                    change_set_id,
                    signature_id,
                })
            }
        }
    }

    /// Like [`CrossRef::from_columns`], also requiring the variant that `kind` needs
    /// ([`SigningError::CrossReferenceKindMismatch`] otherwise).
    pub fn for_kind(
        kind: SignatureKind,
        change_set: Option<Uuid>,
        signature: Option<Uuid>,
    ) -> Result<CrossRef, SigningError> {
        let r = CrossRef::from_columns(change_set, signature)?;
        if r.signature_kind() == kind {
            Ok(r)
        } else {
            Err(SigningError::CrossReferenceKindMismatch {
                kind,
                references: r.target_name(),
            })
        }
    }

    /// The two database columns `(change_set_id, verifies_signature_id)`;
    /// exactly one is `Some`.
    pub fn to_columns(self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            CrossRef::ChangeSet(c) => (Some(c), None),
            CrossRef::Signature(s) => (None, Some(s)),
        }
    }

    /// The kind a row with this reference has.
    pub fn signature_kind(self) -> SignatureKind {
        match self {
            CrossRef::ChangeSet(_) => SignatureKind::ExecutorCut,
            CrossRef::Signature(_) => SignatureKind::VerifierCut,
        }
    }

    /// The referenced id.
    pub fn id(self) -> Uuid {
        match self {
            CrossRef::ChangeSet(id) | CrossRef::Signature(id) => id,
        }
    }

    /// `"change_set"` or `"signature"`.
    pub fn target_name(self) -> &'static str {
        match self {
            CrossRef::ChangeSet(_) => "change_set",
            CrossRef::Signature(_) => "signature",
        }
    }
}

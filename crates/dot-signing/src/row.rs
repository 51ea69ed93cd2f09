//! The `dot_pair_signature` row as the database stores it, and its invariants.
//! Owns `SignatureRow` (typed, always consistent) and `SignatureColumns` (flat columns).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{CredentialRef, CrossRef, PayloadEnvelope, SignatureKind, SigningError};

/// The table constraints that enforce the cross-reference rules in the database,
/// as in `migrations/p0/deploy/05_dot_pair_signature.sql` (column names of
/// [`SignatureColumns`]): exactly one target, and the target the kind requires.
pub const SQL_CHECK_CONSTRAINTS: &str = "\
CONSTRAINT dot_pair_signature_exactly_one_target_check \
CHECK (num_nonnulls(change_set_id, verifies_signature_id) = 1),
CONSTRAINT dot_pair_signature_kind_target_check CHECK (\
(signature_kind = 'executor_cut' AND change_set_id IS NOT NULL) \
OR (signature_kind = 'verifier_cut' AND verifies_signature_id IS NOT NULL))";

/// A `dot_pair_signature` row. The kind is implied by the cross reference, so a row
/// with zero, two, or the wrong kind of reference cannot be represented.
///
/// Serializes as [`SignatureColumns`] (flat database columns) and deserializes
/// through it, so rows read back are checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "SignatureColumns", try_from = "SignatureColumns")]
pub struct SignatureRow {
    /// Primary key.
    pub signature_id: Uuid,
    /// What the row references; fixes [`SignatureRow::signature_kind`].
    pub references: CrossRef,
    /// The signed envelope, exactly as stored.
    pub payload_envelope: Value,
    /// Lowercase hex SHA-256 of the JCS bytes of `payload_envelope`.
    pub payload_hash: String,
    /// `"v0.1:hmac-sha256:" + hex(HMAC-SHA256(key, payload_hash))`.
    pub signature_payload: String,
    /// When it was signed (UTC, microsecond precision).
    pub signed_at: DateTime<Utc>,
    /// The signing DOT (992 or 991).
    pub signer_dot_id: i32,
    /// The signing tool's revision.
    pub signer_tool_revision: String,
    /// Where the signer's key is (never the key).
    pub credential_ref: CredentialRef,
}

impl SignatureRow {
    /// `executor_cut` if the row references a change set, `verifier_cut` if it
    /// references a signature.
    pub fn signature_kind(&self) -> SignatureKind {
        self.references.signature_kind()
    }

    /// The parsed and validated envelope.
    pub fn envelope(&self) -> Result<PayloadEnvelope, SigningError> {
        PayloadEnvelope::from_value(&self.payload_envelope)
    }

    /// The envelope's `change_set_id`, if the envelope has a valid one.
    pub fn change_set_id(&self) -> Option<Uuid> {
        self.payload_envelope
            .get("change_set_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    /// The flat database columns.
    pub fn to_columns(&self) -> SignatureColumns {
        SignatureColumns::from(self.clone())
    }

    /// Builds a row from database columns, enforcing the exactly-one rule and the
    /// kind/reference rule (see [`CrossRef::for_kind`]).
    pub fn from_columns(c: SignatureColumns) -> Result<SignatureRow, SigningError> {
        SignatureRow::try_from(c)
    }
}

/// The flat columns of a `cutter_governance.dot_pair_signature` row, named as in
/// the table (what SQL reads and writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureColumns {
    /// Primary key (`id`).
    pub id: Uuid,
    /// `executor_cut` or `verifier_cut`.
    pub signature_kind: String,
    /// The signed envelope.
    pub payload_envelope: Value,
    /// Lowercase hex SHA-256 of the JCS bytes of the envelope.
    pub payload_hash: String,
    /// The pseudo-signature.
    pub signature_payload: String,
    /// When it was signed (UTC).
    pub signed_at: DateTime<Utc>,
    /// The signing DOT.
    pub signer_dot_id: i32,
    /// The signing tool's revision.
    pub signer_tool_revision: String,
    /// The credential reference.
    pub credential_ref: String,
    /// The referenced change set; set on `executor_cut` rows only.
    pub change_set_id: Option<Uuid>,
    /// The referenced (executor) signature; set on `verifier_cut` rows only.
    pub verifies_signature_id: Option<Uuid>,
}

impl From<SignatureRow> for SignatureColumns {
    fn from(r: SignatureRow) -> SignatureColumns {
        let (change_set_id, verifies_signature_id) = r.references.to_columns();
        SignatureColumns {
            id: r.signature_id,
            signature_kind: r.signature_kind().as_str().to_string(),
            payload_envelope: r.payload_envelope,
            payload_hash: r.payload_hash,
            signature_payload: r.signature_payload,
            signed_at: r.signed_at,
            signer_dot_id: r.signer_dot_id,
            signer_tool_revision: r.signer_tool_revision,
            credential_ref: r.credential_ref.into(),
            change_set_id,
            verifies_signature_id,
        }
    }
}

impl TryFrom<SignatureColumns> for SignatureRow {
    type Error = SigningError;
    fn try_from(c: SignatureColumns) -> Result<SignatureRow, SigningError> {
        let kind = SignatureKind::parse(&c.signature_kind)
            .ok_or_else(|| SigningError::UnknownSignatureKind(c.signature_kind.clone()))?;
        let references = CrossRef::for_kind(kind, c.change_set_id, c.verifies_signature_id)?;
        let credential_ref = CredentialRef::parse(&c.credential_ref)?;
        Ok(SignatureRow {
            signature_id: c.id,
            references,
            payload_envelope: c.payload_envelope,
            payload_hash: c.payload_hash,
            signature_payload: c.signature_payload,
            signed_at: c.signed_at,
            signer_dot_id: c.signer_dot_id,
            signer_tool_revision: c.signer_tool_revision,
            credential_ref,
        })
    }
}

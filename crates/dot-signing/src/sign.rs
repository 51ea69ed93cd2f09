//! Producing `executor_cut` and `verifier_cut` rows (scheme v0.1, HMAC-SHA256).
//! Owns `Signer`, `CutPayload`, `sign_executor` / `sign_verifier` and the HMAC.

use chrono::{DateTime, SubsecRound, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::{
    CredentialRef, CredentialStore, CrossRef, PayloadEnvelope, SecretKey, SignatureKind,
    SignatureRow, SigningError, Unit, DOT_IU_CUTTER, DOT_IU_CUTTER_VERIFY, ENVELOPE_SCHEMA,
    SCHEME_PREFIX,
};

/// Who signs: the DOT, its tool revision, and the reference to its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// The signing DOT (992 for `executor_cut`, 991 for `verifier_cut`).
    pub dot_id: i32,
    /// The signing tool's revision (goes into the envelope and the row).
    pub tool_revision: String,
    /// Where the key is.
    pub credential_ref: CredentialRef,
}

impl Signer {
    /// DOT 992 (`DOT-IU-CUTTER`).
    pub fn executor(tool_revision: impl Into<String>, credential_ref: CredentialRef) -> Signer {
        Signer {
            dot_id: DOT_IU_CUTTER.id,
            tool_revision: tool_revision.into(),
            credential_ref,
        }
    }

    /// DOT 991 (`DOT-IU-CUTTER-VERIFY`).
    pub fn verifier(tool_revision: impl Into<String>, credential_ref: CredentialRef) -> Signer {
        Signer {
            dot_id: DOT_IU_CUTTER_VERIFY.id,
            tool_revision: tool_revision.into(),
            credential_ref,
        }
    }
}

/// What a DOT signs about its cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutPayload {
    /// The change set.
    pub change_set_id: Uuid,
    /// Canonicalization rule of the source (e.g. `canon-md-v0.1.0`).
    pub canonicalization_rule_used: String,
    /// Lowercase hex SHA-256 of the source's canonical bytes.
    pub canonical_sha256: String,
    /// The units of the cut.
    pub units: Vec<Unit>,
}

/// `"v0.1:hmac-sha256:" + hex(HMAC-SHA256(key, payload_hash))`, the message being
/// the ASCII bytes of the lowercase hex `payload_hash`.
pub fn compute_signature_payload(
    key: &SecretKey,
    payload_hash: &str,
) -> Result<String, SigningError> {
    let tag = hmac_tag(key, payload_hash)?;
    let mut out = String::with_capacity(SCHEME_PREFIX.len() + 64);
    out.push_str(SCHEME_PREFIX);
    out.push_str(&hex::encode(tag));
    Ok(out)
}

pub(crate) fn hmac_tag(key: &SecretKey, payload_hash: &str) -> Result<[u8; 32], SigningError> {
    // HMAC accepts keys of any length, so this error is not expected in practice.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret())
        .map_err(|_| SigningError::InvalidKey)?;
    mac.update(payload_hash.as_bytes());
    Ok(mac.finalize().into_bytes().into())
}

fn check_signer(kind: SignatureKind, signer: &Signer) -> Result<(), SigningError> {
    let expected = kind.signer().id;
    if signer.dot_id == expected {
        Ok(())
    } else {
        Err(SigningError::WrongSigner {
            kind,
            expected,
            got: signer.dot_id,
        })
    }
}

fn build_row(
    envelope: PayloadEnvelope,
    references: CrossRef,
    signer: &Signer,
    store: &dyn CredentialStore,
    signature_id: Uuid,
    signed_at: DateTime<Utc>,
) -> Result<SignatureRow, SigningError> {
    envelope.validate()?;
    let payload_envelope = envelope.to_value()?;
    let payload_hash = crate::payload_hash_of(&payload_envelope)?;
    let key = store.resolve(&signer.credential_ref)?;
    let signature_payload = compute_signature_payload(&key, &payload_hash)?;
    Ok(SignatureRow {
        signature_id,
        references,
        payload_envelope,
        payload_hash,
        signature_payload,
        // Microseconds: what a PostgreSQL timestamptz keeps.
        signed_at: signed_at.trunc_subsecs(6),
        signer_dot_id: signer.dot_id,
        signer_tool_revision: signer.tool_revision.clone(),
        credential_ref: signer.credential_ref.clone(),
    })
}

/// Signs an `executor_cut` (signer must be DOT 992) with a new v4 id, now.
pub fn sign_executor(
    cut: &CutPayload,
    signer: &Signer,
    store: &dyn CredentialStore,
) -> Result<SignatureRow, SigningError> {
    sign_executor_at(cut, signer, store, Uuid::new_v4(), Utc::now())
}

/// [`sign_executor`] with a given signature id and time (deterministic fixtures).
pub fn sign_executor_at(
    cut: &CutPayload,
    signer: &Signer,
    store: &dyn CredentialStore,
    signature_id: Uuid,
    signed_at: DateTime<Utc>,
) -> Result<SignatureRow, SigningError> {
    let kind = SignatureKind::ExecutorCut;
    check_signer(kind, signer)?;
    let envelope = PayloadEnvelope {
        schema: ENVELOPE_SCHEMA.to_string(),
        signature_kind: kind,
        change_set_id: cut.change_set_id,
        canonicalization_rule_used: cut.canonicalization_rule_used.clone(),
        canonical_sha256: cut.canonical_sha256.clone(),
        units: cut.units.clone(),
        tool_revision: signer.tool_revision.clone(),
        verified_signature_id: None,
        verified_payload_hash: None,
    };
    build_row(
        envelope,
        CrossRef::ChangeSet(cut.change_set_id),
        signer,
        store,
        signature_id,
        signed_at,
    )
}

/// Signs a `verifier_cut` of the executor signature `executor_row` (signer must be
/// DOT 991) with a new v4 id, now.
///
/// The row references `executor_row`; the envelope carries the executor's
/// `change_set_id` (the cut must be for the same change set, else
/// [`SigningError::ChangeSetMismatch`]) and binds the executor's signature id and
/// `payload_hash`. The executor row is not cryptographically verified here (that
/// needs the executor's key): use [`crate::verify`] / [`crate::verify_pair`].
pub fn sign_verifier(
    executor_row: &SignatureRow,
    cut: &CutPayload,
    signer: &Signer,
    store: &dyn CredentialStore,
) -> Result<SignatureRow, SigningError> {
    sign_verifier_at(executor_row, cut, signer, store, Uuid::new_v4(), Utc::now())
}

/// [`sign_verifier`] with a given signature id and time (deterministic fixtures).
pub fn sign_verifier_at(
    executor_row: &SignatureRow,
    cut: &CutPayload,
    signer: &Signer,
    store: &dyn CredentialStore,
    signature_id: Uuid,
    signed_at: DateTime<Utc>,
) -> Result<SignatureRow, SigningError> {
    let kind = SignatureKind::VerifierCut;
    check_signer(kind, signer)?;
    if executor_row.signature_kind() != SignatureKind::ExecutorCut {
        return Err(SigningError::NotAnExecutorSignature {
            signature_id: executor_row.signature_id,
            kind: executor_row.signature_kind(),
        });
    }
    let executor_envelope = executor_row.envelope()?;
    if executor_envelope.signature_kind != SignatureKind::ExecutorCut {
        return Err(SigningError::InvalidEnvelope(
            "the executor row's envelope is not an executor_cut envelope".into(),
        ));
    }
    if executor_envelope.change_set_id != cut.change_set_id {
        return Err(SigningError::ChangeSetMismatch {
            executor: executor_envelope.change_set_id,
            verifier: cut.change_set_id,
        });
    }
    let envelope = PayloadEnvelope {
        schema: ENVELOPE_SCHEMA.to_string(),
        signature_kind: kind,
        change_set_id: cut.change_set_id,
        canonicalization_rule_used: cut.canonicalization_rule_used.clone(),
        canonical_sha256: cut.canonical_sha256.clone(),
        units: cut.units.clone(),
        tool_revision: signer.tool_revision.clone(),
        verified_signature_id: Some(executor_row.signature_id),
        verified_payload_hash: Some(executor_row.payload_hash.clone()),
    };
    build_row(
        envelope,
        CrossRef::Signature(executor_row.signature_id),
        signer,
        store,
        signature_id,
        signed_at,
    )
}

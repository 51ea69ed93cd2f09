//! Verification of signature rows and of the executor/verifier pair.
//! Owns the distinct outcomes and their mapping to signals and change-set states.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::envelope::check_value_types;
use crate::sign::hmac_tag;
use crate::{
    payload_hash_of, CredentialStore, CrossRef, PayloadEnvelope, SignatureKind, SignatureRow,
    CHANGE_SET_STATE_INVALID_DRIFT, SCHEME_PREFIX, SIGNAL_DOT_PAIR_DRIFT, SIGNAL_SIGNATURE_FAILURE,
};

/// Outcome of verifying one row. Checks run in this order, the first failure wins:
/// missing → scheme → payload hash → key → HMAC → row consistency → tool revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verification {
    /// Hash, HMAC, row consistency and tool revision all check out.
    Valid,
    /// No row, or an empty `signature_payload`.
    MissingSignature,
    /// `signature_payload` does not start with `v0.1:hmac-sha256:`.
    UnsupportedScheme {
        /// The prefix found (up to the last `:`, at most 64 characters).
        scheme: String,
    },
    /// The envelope does not hash to the stored `payload_hash`.
    TamperedPayload {
        /// `payload_hash` stored in the row.
        stored: String,
        /// Hash recomputed from the stored envelope.
        recomputed: String,
    },
    /// The key behind `credential_ref` could not be resolved.
    KeyUnavailable {
        /// The reference (never the key).
        credential_ref: String,
        /// Why (never contains key material).
        reason: String,
    },
    /// The HMAC does not match: wrong key, forged signature, or envelope and
    /// `payload_hash` rewritten together.
    WrongKey,
    /// Validly signed, but the envelope is not a valid v0.1 envelope or disagrees
    /// with the row's columns (kind, reference, signer, tool revision).
    InconsistentRow {
        /// What disagrees.
        reason: String,
    },
    /// Validly signed, but by a tool revision other than the one registered for the DOT.
    ToolRevisionMismatch {
        /// Revision registered for the signing DOT.
        registered: String,
        /// Revision the row was signed with.
        signed: String,
    },
}

/// The outcome of a [`Verification`] without its details: what a scenario expects and a
/// report names. Serialized snake_case, as [`Verification::name`] spells it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum VerificationKind {
    /// [`Verification::Valid`].
    Valid,
    /// [`Verification::MissingSignature`].
    MissingSignature,
    /// [`Verification::UnsupportedScheme`].
    UnsupportedScheme,
    /// [`Verification::TamperedPayload`].
    TamperedPayload,
    /// [`Verification::KeyUnavailable`].
    KeyUnavailable,
    /// [`Verification::WrongKey`].
    WrongKey,
    /// [`Verification::InconsistentRow`].
    InconsistentRow,
    /// [`Verification::ToolRevisionMismatch`].
    ToolRevisionMismatch,
}

impl VerificationKind {
    /// Stable name of the outcome, as serialized.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Verification {
    /// The outcome without its details ([`VerificationKind`]).
    pub fn kind(&self) -> VerificationKind {
        match self {
            Verification::Valid => VerificationKind::Valid,
            Verification::MissingSignature => VerificationKind::MissingSignature,
            Verification::UnsupportedScheme { .. } => VerificationKind::UnsupportedScheme,
            Verification::TamperedPayload { .. } => VerificationKind::TamperedPayload,
            Verification::KeyUnavailable { .. } => VerificationKind::KeyUnavailable,
            Verification::WrongKey => VerificationKind::WrongKey,
            Verification::InconsistentRow { .. } => VerificationKind::InconsistentRow,
            Verification::ToolRevisionMismatch { .. } => VerificationKind::ToolRevisionMismatch,
        }
    }

    /// Stable name of the outcome (`valid`, `missing_signature`, `unsupported_scheme`,
    /// `tampered_payload`, `key_unavailable`, `wrong_key`, `inconsistent_row`,
    /// `tool_revision_mismatch`): the name of its [`VerificationKind`].
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// `true` only for [`Verification::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, Verification::Valid)
    }

    /// The signal to emit: `None` when valid, `dot_pair_drift` for a tool revision
    /// mismatch, `signature_failure` for everything else.
    pub fn signal_kind(&self) -> Option<&'static str> {
        match self {
            Verification::Valid => None,
            Verification::ToolRevisionMismatch { .. } => Some(SIGNAL_DOT_PAIR_DRIFT),
            _ => Some(SIGNAL_SIGNATURE_FAILURE),
        }
    }

    /// `tool_revision_match`: `Some(true)` when valid, `Some(false)` on a mismatch,
    /// `None` when the signature itself failed (the revision was not trusted).
    pub fn tool_revision_match(&self) -> Option<bool> {
        match self {
            Verification::Valid => Some(true),
            Verification::ToolRevisionMismatch { .. } => Some(false),
            _ => None,
        }
    }

    /// The state the change set must go to: `invalid_drift` on a tool revision
    /// mismatch, otherwise `None` (no state change decided here).
    pub fn change_set_state(&self) -> Option<&'static str> {
        match self {
            Verification::ToolRevisionMismatch { .. } => Some(CHANGE_SET_STATE_INVALID_DRIFT),
            _ => None,
        }
    }
}

/// Verifies one row: recomputes the JCS payload hash and the HMAC (constant-time
/// compare), checks that the signed envelope agrees with the row's columns, and
/// compares `signer_tool_revision` with `registered_revision`, the revision
/// registered for the signing DOT.
pub fn verify(
    row: Option<&SignatureRow>,
    store: &dyn CredentialStore,
    registered_revision: &str,
) -> Verification {
    let Some(row) = row else {
        return Verification::MissingSignature;
    };
    if row.signature_payload.is_empty() {
        return Verification::MissingSignature;
    }
    let Some(tag_hex) = row.signature_payload.strip_prefix(SCHEME_PREFIX) else {
        let scheme = match row.signature_payload.rfind(':') {
            Some(i) => &row.signature_payload[..i],
            None => "",
        };
        return Verification::UnsupportedScheme {
            scheme: scheme.chars().take(64).collect(),
        };
    };
    let recomputed = match payload_hash_of(&row.payload_envelope) {
        Ok(h) => h,
        Err(e) => {
            return Verification::InconsistentRow {
                reason: e.to_string(),
            }
        }
    };
    if recomputed != row.payload_hash {
        return Verification::TamperedPayload {
            stored: row.payload_hash.chars().take(128).collect(),
            recomputed,
        };
    }
    let key = match store.resolve(&row.credential_ref) {
        Ok(k) => k,
        Err(e) => {
            return Verification::KeyUnavailable {
                credential_ref: row.credential_ref.to_string(),
                reason: e.to_string(),
            }
        }
    };
    let expected = match hmac_tag(&key, &row.payload_hash) {
        Ok(tag) => hex::encode(tag),
        Err(e) => {
            return Verification::KeyUnavailable {
                credential_ref: row.credential_ref.to_string(),
                reason: e.to_string(),
            }
        }
    };
    drop(key);
    if !bool::from(expected.as_bytes().ct_eq(tag_hex.as_bytes())) {
        return Verification::WrongKey;
    }
    if let Err(reason) = check_consistency(row) {
        return Verification::InconsistentRow { reason };
    }
    if row.signer_tool_revision != registered_revision {
        return Verification::ToolRevisionMismatch {
            registered: registered_revision.to_string(),
            signed: row.signer_tool_revision.clone(),
        };
    }
    Verification::Valid
}

/// The signed envelope against the row's unsigned columns.
fn check_consistency(row: &SignatureRow) -> Result<(), String> {
    check_value_types(&row.payload_envelope)?;
    let env = PayloadEnvelope::from_value(&row.payload_envelope).map_err(|e| e.to_string())?;
    let kind = row.signature_kind();
    if env.signature_kind != kind {
        return Err(format!(
            "envelope signature_kind is {}, the row references a {} (so is a {kind})",
            env.signature_kind,
            row.references.target_name()
        ));
    }
    let expected_signer = kind.signer().id;
    if row.signer_dot_id != expected_signer {
        return Err(format!(
            "{kind} must be signed by DOT {expected_signer}, the row says DOT {}",
            row.signer_dot_id
        ));
    }
    if env.tool_revision != row.signer_tool_revision {
        return Err(format!(
            "envelope tool_revision {:?} differs from signer_tool_revision {:?}",
            env.tool_revision, row.signer_tool_revision
        ));
    }
    match row.references {
        CrossRef::ChangeSet(id) if id != env.change_set_id => Err(format!(
            "the row references change set {id}, the envelope is for change set {}",
            env.change_set_id
        )),
        CrossRef::Signature(id) if env.verified_signature_id != Some(id) => Err(format!(
            "the row references signature {id}, the envelope verifies {}",
            env.verified_signature_id
                .map_or_else(|| "nothing".to_string(), |v| v.to_string())
        )),
        _ => Ok(()),
    }
}

/// Outcome of verifying an executor/verifier pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairVerification {
    /// The executor row's own verification.
    pub executor: Verification,
    /// The verifier row's own verification.
    pub verifier: Verification,
    /// Why the two rows do not belong together, if they do not.
    pub linkage_error: Option<String>,
}

impl PairVerification {
    /// Both rows valid and linked.
    pub fn is_valid(&self) -> bool {
        self.executor.is_valid() && self.verifier.is_valid() && self.linkage_error.is_none()
    }

    /// The distinct signals to emit (`signature_failure` before `dot_pair_drift`).
    pub fn signal_kinds(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        if self.linkage_error.is_some() {
            out.push(SIGNAL_SIGNATURE_FAILURE);
        }
        for v in [&self.executor, &self.verifier] {
            if let Some(s) = v.signal_kind() {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out.sort_by_key(|s| *s != SIGNAL_SIGNATURE_FAILURE);
        out
    }

    /// `invalid_drift` if either row drifted, else `None`.
    pub fn change_set_state(&self) -> Option<&'static str> {
        self.executor
            .change_set_state()
            .or(self.verifier.change_set_state())
    }
}

/// Verifies both rows of a pair (each against its DOT's registered revision) and
/// their linkage: the executor row is an `executor_cut`, the verifier row is a
/// `verifier_cut` referencing it and binding its `payload_hash`, and both envelopes
/// carry the same `change_set_id`.
pub fn verify_pair(
    executor: Option<&SignatureRow>,
    verifier: Option<&SignatureRow>,
    store: &dyn CredentialStore,
    executor_registered_revision: &str,
    verifier_registered_revision: &str,
) -> PairVerification {
    let linkage_error = match (executor, verifier) {
        (Some(e), Some(v)) => check_linkage(e, v).err(),
        _ => None,
    };
    PairVerification {
        executor: verify(executor, store, executor_registered_revision),
        verifier: verify(verifier, store, verifier_registered_revision),
        linkage_error,
    }
}

fn check_linkage(e: &SignatureRow, v: &SignatureRow) -> Result<(), String> {
    if e.signature_kind() != SignatureKind::ExecutorCut {
        return Err(format!("the executor row is a {}", e.signature_kind()));
    }
    if v.signature_kind() != SignatureKind::VerifierCut {
        return Err(format!("the verifier row is a {}", v.signature_kind()));
    }
    if v.references != CrossRef::Signature(e.signature_id) {
        return Err(format!(
            "the verifier row references signature {}, not the executor signature {}",
            v.references.id(),
            e.signature_id
        ));
    }
    match (e.change_set_id(), v.change_set_id()) {
        (Some(a), Some(b)) if a == b => {}
        (a, b) => {
            return Err(format!(
                "change_set_id differs: executor {}, verifier {}",
                a.map_or_else(|| "none".to_string(), |u| u.to_string()),
                b.map_or_else(|| "none".to_string(), |u| u.to_string())
            ))
        }
    }
    let bound = v
        .payload_envelope
        .get("verified_payload_hash")
        .and_then(|h| h.as_str());
    if bound != Some(e.payload_hash.as_str()) {
        return Err("the verifier envelope does not bind the executor's payload_hash".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    /// A kind serializes as its name and parses back; an unknown name is refused.
    #[test]
    fn kinds_round_trip_through_serde() {
        for k in VerificationKind::iter() {
            let json = serde_json::to_string(&k).expect("serialize");
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(k.to_string(), k.as_str());
            let back: VerificationKind = serde_json::from_str(&json).expect("parse");
            assert_eq!(back, k);
        }
        assert!(serde_json::from_str::<VerificationKind>("\"tamperd_payload\"").is_err());
    }

    /// Every outcome's name is its kind's name and the `outcome` tag it serializes with.
    #[test]
    fn outcome_names_are_their_kinds() {
        let s = || String::from("x");
        let all = [
            Verification::Valid,
            Verification::MissingSignature,
            Verification::UnsupportedScheme { scheme: s() },
            Verification::TamperedPayload {
                stored: s(),
                recomputed: s(),
            },
            Verification::KeyUnavailable {
                credential_ref: s(),
                reason: s(),
            },
            Verification::WrongKey,
            Verification::InconsistentRow { reason: s() },
            Verification::ToolRevisionMismatch {
                registered: s(),
                signed: s(),
            },
        ];
        for (v, k) in all.iter().zip(VerificationKind::iter()) {
            assert_eq!(v.kind(), k);
            assert_eq!(v.name(), k.as_str());
            let tag = serde_json::to_value(v).expect("serialize")["outcome"].clone();
            assert_eq!(tag, serde_json::json!(k.as_str()));
        }
    }
}

//! The signed payload: the `dot-pair-signature/v0.1` envelope, its RFC 8785 (JCS)
//! bytes and `payload_hash`. Owns envelope validation (integers and strings only).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{SignatureKind, SigningError, ENVELOPE_SCHEMA};

/// Largest integer allowed in an envelope (2^53 − 1): JCS serializes numbers as
/// IEEE-754 doubles, so larger integers would not round-trip between implementations.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// One cut unit: an inclusive range of token positions of the canonical source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Unit {
    /// First token position of the unit.
    pub start_token_position: u64,
    /// Last token position of the unit (inclusive).
    pub end_token_position: u64,
}

/// The JSON object that is signed (`payload_envelope`).
///
/// Serialized field names are the JSON keys; unknown keys are ignored when parsing
/// (the envelope has "at least" these fields; the hash always covers the stored JSON). `verified_signature_id` and
/// `verified_payload_hash` are present exactly on `verifier_cut` envelopes: they
/// bind the verifier's signature to the executor signature it verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadEnvelope {
    /// Always `"dot-pair-signature/v0.1"`.
    pub schema: String,
    /// `executor_cut` or `verifier_cut`.
    pub signature_kind: SignatureKind,
    /// The change set (the same in the executor and the verifier envelope).
    pub change_set_id: Uuid,
    /// Canonicalization rule of the source, e.g. `canon-md-v0.1.0`.
    pub canonicalization_rule_used: String,
    /// Lowercase hex SHA-256 of the source's canonical bytes.
    pub canonical_sha256: String,
    /// The cut units.
    pub units: Vec<Unit>,
    /// Revision of the signing tool (equals the row's `signer_tool_revision`).
    pub tool_revision: String,
    /// `verifier_cut` only: the executor signature verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_signature_id: Option<Uuid>,
    /// `verifier_cut` only: the `payload_hash` of the executor signature verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_payload_hash: Option<String>,
}

pub(crate) fn is_lower_hex_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl PayloadEnvelope {
    /// Checks the envelope against the v0.1 rules: schema, lowercase hex digests,
    /// non-empty rule and revision, units in order and within [`MAX_SAFE_INTEGER`],
    /// verifier fields present exactly on `verifier_cut`.
    pub fn validate(&self) -> Result<(), SigningError> {
        let bad = |m: String| Err(SigningError::InvalidEnvelope(m));
        if self.schema != ENVELOPE_SCHEMA {
            return bad(format!(
                "schema is {:?}, expected {ENVELOPE_SCHEMA:?}",
                self.schema
            ));
        }
        if self.canonicalization_rule_used.is_empty() {
            return bad("canonicalization_rule_used is empty".into());
        }
        if !is_lower_hex_sha256(&self.canonical_sha256) {
            return bad("canonical_sha256 is not 64 lowercase hex digits".into());
        }
        if self.tool_revision.is_empty() {
            return bad("tool_revision is empty".into());
        }
        for (i, u) in self.units.iter().enumerate() {
            if u.start_token_position > u.end_token_position {
                return bad(format!(
                    "units[{i}]: start_token_position {} > end_token_position {}",
                    u.start_token_position, u.end_token_position
                ));
            }
            if u.end_token_position > MAX_SAFE_INTEGER {
                return bad(format!("units[{i}]: token position above 2^53-1"));
            }
        }
        match (
            self.signature_kind,
            self.verified_signature_id,
            &self.verified_payload_hash,
        ) {
            (SignatureKind::ExecutorCut, None, None) => Ok(()),
            (SignatureKind::ExecutorCut, _, _) => bad(
                "an executor_cut envelope has no verified_signature_id / verified_payload_hash"
                    .into(),
            ),
            (SignatureKind::VerifierCut, Some(_), Some(h)) if is_lower_hex_sha256(h) => Ok(()),
            (SignatureKind::VerifierCut, Some(_), Some(_)) => {
                bad("verified_payload_hash is not 64 lowercase hex digits".into())
            }
            (SignatureKind::VerifierCut, _, _) => bad(
                "a verifier_cut envelope needs verified_signature_id and verified_payload_hash"
                    .into(),
            ),
        }
    }

    /// The envelope as a JSON value (what the `payload_envelope` column stores).
    pub fn to_value(&self) -> Result<Value, SigningError> {
        serde_json::to_value(self).map_err(|e| SigningError::Canonicalization(e.to_string()))
    }

    /// Parses and validates a stored `payload_envelope` value.
    pub fn from_value(value: &Value) -> Result<PayloadEnvelope, SigningError> {
        check_value_types(value).map_err(SigningError::InvalidEnvelope)?;
        let env: PayloadEnvelope = serde_json::from_value(value.clone())
            .map_err(|e| SigningError::InvalidEnvelope(e.to_string()))?;
        env.validate()?;
        Ok(env)
    }

    /// Canonical payload bytes: RFC 8785 (JCS) serialization.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, SigningError> {
        jcs_bytes(&self.to_value()?)
    }

    /// `payload_hash`: lowercase hex SHA-256 of the canonical payload bytes.
    pub fn payload_hash(&self) -> Result<String, SigningError> {
        Ok(hex::encode(Sha256::digest(self.canonical_bytes()?)))
    }
}

/// RFC 8785 (JCS) serialization of a JSON value: keys sorted by UTF-16 code units,
/// no insignificant whitespace, ECMAScript number formatting.
pub fn jcs_bytes(value: &Value) -> Result<Vec<u8>, SigningError> {
    serde_json_canonicalizer::to_vec(value)
        .map_err(|e| SigningError::Canonicalization(e.to_string()))
}

/// `payload_hash` of a stored envelope value: lowercase hex SHA-256 of its JCS bytes.
pub fn payload_hash_of(value: &Value) -> Result<String, SigningError> {
    Ok(hex::encode(Sha256::digest(jcs_bytes(value)?)))
}

/// "Integers and strings only": objects, arrays, strings and integers within
/// ±[`MAX_SAFE_INTEGER`]; no floats, booleans or nulls.
pub(crate) fn check_value_types(value: &Value) -> Result<(), String> {
    fn walk(v: &Value, at: &mut String) -> Result<(), String> {
        match v {
            Value::String(_) => Ok(()),
            Value::Number(n) => {
                let ok = n.as_u64().is_some_and(|u| u <= MAX_SAFE_INTEGER)
                    || n.as_i64()
                        .is_some_and(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER);
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "{at}: number {n} is not an integer within ±(2^53-1)"
                    ))
                }
            }
            Value::Bool(_) => Err(format!("{at}: booleans are not allowed")),
            Value::Null => Err(format!("{at}: null is not allowed")),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("[{i}]"));
                    walk(item, at)?;
                    at.truncate(len);
                }
                Ok(())
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let len = at.len();
                    at.push('.');
                    at.push_str(k);
                    walk(item, at)?;
                    at.truncate(len);
                }
                Ok(())
            }
        }
    }
    if !value.is_object() {
        return Err("payload_envelope is not a JSON object".into());
    }
    walk(value, &mut String::from("payload_envelope"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_within_the_safe_range_pass_both_signs() {
        let max = MAX_SAFE_INTEGER as i64;
        for ok in [json!(0), json!(5), json!(-5), json!(max), json!(-max)] {
            check_value_types(&json!({ "n": ok })).expect("safe integer");
        }
        for bad in [json!(max + 1), json!(-max - 1), json!(0.5)] {
            let err = check_value_types(&json!({ "n": bad })).expect_err("outside ±(2^53-1)");
            assert!(err.starts_with("payload_envelope.n: number"), "{err}");
        }
    }

    #[test]
    fn the_walk_reaches_nested_values_and_names_them() {
        let err = check_value_types(&json!({ "a": [1, { "b": [true] }] })).expect_err("bool");
        assert_eq!(err, "payload_envelope.a[1].b[0]: booleans are not allowed");
        let err = check_value_types(&json!({ "a": null })).expect_err("null");
        assert_eq!(err, "payload_envelope.a: null is not allowed");
        assert!(check_value_types(&json!([1])).is_err(), "not an object");
    }
}

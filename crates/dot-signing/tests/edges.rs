//! Boundaries and accessors the round-trip tests do not pin: inclusive unit bounds, the 2^53-1
//! limit, the verifier's hash format, cross-reference accessors, row/envelope consistency and
//! pair linkage. Each test closes a `cargo mutants` survivor (README, "Mutation testing").

use chrono::{TimeZone, Utc};
use dot_signing::*;
use serde_json::json;
use uuid::Uuid;

const EXEC_KEY: &[u8] = b"executor-key-992";
const VERIF_KEY: &[u8] = b"verifier-key-991";
const SHA: &str = "f9b55cbac8f5a43833e469f589b6af0c8c84e561eba978034ca867912cbad6f0";

fn exec_ref() -> CredentialRef {
    CredentialRef::parse("env:DOT_992_KEY").expect("ref")
}
fn verif_ref() -> CredentialRef {
    CredentialRef::parse("file:/run/secrets/dot_991.key").expect("ref")
}
fn store() -> MemoryStore {
    MemoryStore::new()
        .with(&exec_ref(), EXEC_KEY)
        .with(&verif_ref(), VERIF_KEY)
}
fn uuid(n: u8) -> Uuid {
    Uuid::parse_str(&format!("00000000-0000-4000-8000-0000000000{n:02x}")).expect("uuid")
}
fn cut(units: Vec<Unit>) -> CutPayload {
    CutPayload {
        change_set_id: uuid(1),
        canonicalization_rule_used: "canon-md-v0.1.0".into(),
        canonical_sha256: SHA.into(),
        units,
    }
}
fn unit(start: u64, end: u64) -> Unit {
    Unit {
        start_token_position: start,
        end_token_position: end,
    }
}
fn executor_row() -> SignatureRow {
    sign_executor_at(
        &cut(vec![unit(0, 1)]),
        &Signer::executor("0.1.0", exec_ref()),
        &store(),
        uuid(0xe1),
        Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
            .single()
            .expect("time"),
    )
    .expect("sign")
}
fn verifier_row(e: &SignatureRow) -> SignatureRow {
    sign_verifier(
        e,
        &cut(vec![unit(0, 1)]),
        &Signer::verifier("0.1.0-verify", verif_ref()),
        &store(),
    )
    .expect("sign verifier")
}
fn resign(row: &mut SignatureRow, key: &[u8]) {
    row.payload_hash = payload_hash_of(&row.payload_envelope).expect("hash");
    row.signature_payload =
        compute_signature_payload(&SecretKey::new(key.to_vec()), &row.payload_hash).expect("hmac");
}

#[test]
fn max_safe_integer_is_two_to_the_53_minus_one() {
    assert_eq!(MAX_SAFE_INTEGER, 9_007_199_254_740_991);
}

#[test]
fn unit_bounds_are_inclusive_up_to_the_limit() {
    let signer = Signer::executor("0.1.0", exec_ref());
    // A one-token unit (start == end) and a unit ending exactly at 2^53-1 are valid.
    sign_executor(&cut(vec![unit(3, 3)]), &signer, &store()).expect("start == end is valid");
    sign_executor(&cut(vec![unit(0, MAX_SAFE_INTEGER)]), &signer, &store())
        .expect("end == 2^53-1 is valid");
}

#[test]
fn a_verifier_hash_must_be_lowercase_hex() {
    let e = executor_row();
    let v = verifier_row(&e);
    let mut value = v.payload_envelope.clone();
    PayloadEnvelope::from_value(&value).expect("the signed verifier envelope is valid");
    let upper = value["verified_payload_hash"]
        .as_str()
        .expect("hash")
        .to_uppercase();
    value["verified_payload_hash"] = json!(upper);
    let err = PayloadEnvelope::from_value(&value).expect_err("uppercase hash refused");
    assert_eq!(err.name(), "invalid_envelope");
}

#[test]
fn envelope_values_are_integers_and_strings_only() {
    let good = executor_row().payload_envelope;
    for (what, bad) in [
        ("a float", json!(0.5)),
        ("a boolean", json!(true)),
        ("a null", json!(null)),
        ("2^53", json!(MAX_SAFE_INTEGER + 1)),
        ("a float inside an array", json!([[1.5]])),
    ] {
        let mut value = good.clone();
        value["units"][0]["x_extra"] = bad;
        let err = PayloadEnvelope::from_value(&value).expect_err(what);
        assert_eq!(err.name(), "invalid_envelope", "{what}");
        assert!(
            err.to_string().contains("x_extra"),
            "{what}: the type check names the field: {err}"
        );
    }
}

#[test]
fn cross_reference_accessors() {
    let id = uuid(7);
    assert_eq!(CrossRef::ChangeSet(id).id(), id);
    assert_eq!(CrossRef::Signature(id).id(), id);
    assert_eq!(CrossRef::ChangeSet(id).target_name(), "change_set");
    assert_eq!(CrossRef::Signature(id).target_name(), "signature");
    assert_eq!(SignatureKind::ExecutorCut.to_string(), "executor_cut");
    assert_eq!(SignatureKind::VerifierCut.to_string(), "verifier_cut");
}

#[test]
fn only_valid_is_valid() {
    assert!(Verification::Valid.is_valid());
    assert!(!Verification::WrongKey.is_valid());
    assert!(!Verification::MissingSignature.is_valid());
}

#[test]
fn a_row_must_reference_what_its_envelope_signs() {
    let store = store();
    // Executor row pointing at another change set than its envelope's.
    let mut e = executor_row();
    assert_eq!(verify(Some(&e), &store, "0.1.0"), Verification::Valid);
    e.references = CrossRef::ChangeSet(uuid(2));
    let got = verify(Some(&e), &store, "0.1.0");
    assert_eq!(got.name(), "inconsistent_row", "{got:?}");

    // Verifier row pointing at another signature than the one its envelope verifies.
    let e = executor_row();
    let mut v = verifier_row(&e);
    assert_eq!(
        verify(Some(&v), &store, "0.1.0-verify"),
        Verification::Valid
    );
    v.references = CrossRef::Signature(uuid(0xe2));
    let got = verify(Some(&v), &store, "0.1.0-verify");
    assert_eq!(got.name(), "inconsistent_row", "{got:?}");
}

#[test]
fn a_pair_must_share_its_change_set() {
    let store = store();
    let e = executor_row();
    let mut v = verifier_row(&e);
    let p = verify_pair(Some(&e), Some(&v), &store, "0.1.0", "0.1.0-verify");
    assert!(p.is_valid(), "{p:?}");
    // The verifier's envelope names another change set, correctly re-signed: each row is
    // valid on its own, the pair is not.
    v.payload_envelope["change_set_id"] = json!(uuid(3).to_string());
    resign(&mut v, VERIF_KEY);
    let p = verify_pair(Some(&e), Some(&v), &store, "0.1.0", "0.1.0-verify");
    assert!(p.executor.is_valid() && p.verifier.is_valid(), "{p:?}");
    let why = p.linkage_error.as_deref().expect("linkage error");
    assert!(why.contains("change_set_id differs"), "{why}");
}

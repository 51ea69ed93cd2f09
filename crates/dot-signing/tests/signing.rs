//! Scheme v0.1 end to end: known answers, round trip, every failure outcome,
//! the exactly-one cross reference, and that keys never show up in output.

use chrono::{TimeZone, Utc};
use dot_signing::*;
use serde_json::json;
use uuid::Uuid;

const EXEC_KEY: &[u8] = b"executor-key-992";
const VERIF_KEY: &[u8] = b"verifier-key-991";
const SHA: &str = "f9b55cbac8f5a43833e469f589b6af0c8c84e561eba978034ca867912cbad6f0";

fn exec_ref() -> CredentialRef {
    CredentialRef::parse("env:DOT_992_KEY").unwrap()
}
fn verif_ref() -> CredentialRef {
    CredentialRef::parse("file:/run/secrets/dot_991.key").unwrap()
}
fn store() -> MemoryStore {
    MemoryStore::new()
        .with(&exec_ref(), EXEC_KEY)
        .with(&verif_ref(), VERIF_KEY)
}
fn change_set() -> Uuid {
    Uuid::parse_str("00000000-0000-4000-8000-000000000001").unwrap()
}
fn cut(change_set_id: Uuid) -> CutPayload {
    CutPayload {
        change_set_id,
        canonicalization_rule_used: "canon-md-v0.1.0".into(),
        canonical_sha256: SHA.into(),
        units: vec![
            Unit {
                start_token_position: 0,
                end_token_position: 1,
            },
            Unit {
                start_token_position: 2,
                end_token_position: 3,
            },
        ],
    }
}
fn executor_signer() -> Signer {
    Signer::executor("0.1.0", exec_ref())
}
fn verifier_signer() -> Signer {
    Signer::verifier("0.1.0-verify", verif_ref())
}
fn executor_row() -> SignatureRow {
    sign_executor_at(
        &cut(change_set()),
        &executor_signer(),
        &store(),
        Uuid::parse_str("00000000-0000-4000-8000-0000000000e1").unwrap(),
        Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
    )
    .unwrap()
}
fn verifier_row(e: &SignatureRow) -> SignatureRow {
    sign_verifier(e, &cut(change_set()), &verifier_signer(), &store()).unwrap()
}

// ---------------------------------------------------------------------------
// Known answers (computed independently with Python's json/hashlib/hmac)
// ---------------------------------------------------------------------------

#[test]
fn executor_known_answer() {
    let row = executor_row();
    let jcs = String::from_utf8(jcs_bytes(&row.payload_envelope).unwrap()).unwrap();
    assert_eq!(
        jcs,
        r#"{"canonical_sha256":"f9b55cbac8f5a43833e469f589b6af0c8c84e561eba978034ca867912cbad6f0","canonicalization_rule_used":"canon-md-v0.1.0","change_set_id":"00000000-0000-4000-8000-000000000001","schema":"dot-pair-signature/v0.1","signature_kind":"executor_cut","tool_revision":"0.1.0","units":[{"end_token_position":1,"start_token_position":0},{"end_token_position":3,"start_token_position":2}]}"#
    );
    assert_eq!(
        row.payload_hash,
        "25afa7447534b4e0769376cf8f78661c8903b6148468458a55df1b1e1ce52953"
    );
    assert_eq!(
        row.signature_payload,
        "v0.1:hmac-sha256:ee45fb98d1704a2a5fd1423cf6588949423fa51f988e3b61c4e621ef54a8de83"
    );
    assert_eq!(
        row.envelope().unwrap().payload_hash().unwrap(),
        row.payload_hash
    );
    assert_eq!(row.signature_kind(), SignatureKind::ExecutorCut);
    assert_eq!(row.references, CrossRef::ChangeSet(change_set()));
    assert_eq!(row.signer_dot_id, 992);
    assert_eq!(row.credential_ref.as_str(), "env:DOT_992_KEY");
}

#[test]
fn jcs_sorts_keys_by_utf16_and_has_no_whitespace() {
    // RFC 8785 §3.2.3 sorting example.
    let v: serde_json::Value = serde_json::from_str(
        r#"{ "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
             "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis" }"#,
    )
    .unwrap();
    let got = String::from_utf8(jcs_bytes(&v).unwrap()).unwrap();
    assert_eq!(
        got,
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
    );
    let nested = json!({"b": [ {"z": 1, "a": "x"} ], "a": {"d": -2, "c": "é"}});
    assert_eq!(
        String::from_utf8(jcs_bytes(&nested).unwrap()).unwrap(),
        r#"{"a":{"c":"é","d":-2},"b":[{"a":"x","z":1}]}"#
    );
}

// ---------------------------------------------------------------------------
// Round trip
// ---------------------------------------------------------------------------

#[test]
fn executor_and_verifier_round_trip() {
    let store = store();
    let e = executor_row();
    let v = verifier_row(&e);
    assert_eq!(v.signature_kind(), SignatureKind::VerifierCut);
    assert_eq!(v.references, CrossRef::Signature(e.signature_id));
    assert_eq!(v.signer_dot_id, 991);
    assert_eq!(e.change_set_id(), Some(change_set()));
    assert_eq!(v.change_set_id(), Some(change_set()));
    let venv = v.envelope().unwrap();
    assert_eq!(venv.verified_signature_id, Some(e.signature_id));
    assert_eq!(
        venv.verified_payload_hash.as_deref(),
        Some(e.payload_hash.as_str())
    );
    assert!(v.signature_payload.starts_with(SCHEME_PREFIX));
    assert_eq!(
        v.signed_at.timestamp_subsec_nanos() % 1000,
        0,
        "microsecond precision"
    );

    assert_eq!(verify(Some(&e), &store, "0.1.0"), Verification::Valid);
    assert_eq!(
        verify(Some(&v), &store, "0.1.0-verify"),
        Verification::Valid
    );
    assert_eq!(Verification::Valid.signal_kind(), None);
    assert_eq!(Verification::Valid.tool_revision_match(), Some(true));

    let pair = verify_pair(Some(&e), Some(&v), &store, "0.1.0", "0.1.0-verify");
    assert!(pair.is_valid(), "{pair:?}");
    assert!(pair.signal_kinds().is_empty());

    // Database columns and JSON both round-trip, and still verify.
    let cols = v.to_columns();
    assert_eq!(cols.signature_kind, "verifier_cut");
    assert_eq!(cols.change_set_id, None);
    assert_eq!(cols.verifies_signature_id, Some(e.signature_id));
    let back = SignatureRow::from_columns(cols).unwrap();
    assert_eq!(back, v);
    let json = serde_json::to_string(&e).unwrap();
    let back: SignatureRow = serde_json::from_str(&json).unwrap();
    assert_eq!(back, e);
    assert_eq!(verify(Some(&back), &store, "0.1.0"), Verification::Valid);
}

#[test]
fn dry_run_stores_env_and_file() {
    let dir = std::env::temp_dir().join(format!("dot-signing-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("dot_991.key");
    std::fs::write(&key_file, b"verifier-key-991\n").unwrap();
    // A variable name used by this test only.
    let var = format!("DOT_992_KEY_TEST_{}", std::process::id());
    std::env::set_var(&var, "executor-key-992");

    let store = ChainStore::dry_run();
    let exec = Signer::executor("0.1.0", CredentialRef::env(&var).unwrap());
    let verif = Signer::verifier("0.1.0-verify", CredentialRef::file(&key_file).unwrap());
    let e = sign_executor(&cut(change_set()), &exec, &store).unwrap();
    let v = sign_verifier(&e, &cut(change_set()), &verif, &store).unwrap();
    // Same keys as the memory store: the same signature over the same payload hash.
    let mem = MemoryStore::new()
        .with(&exec.credential_ref, EXEC_KEY)
        .with(&verif.credential_ref, VERIF_KEY);
    assert_eq!(verify(Some(&e), &mem, "0.1.0"), Verification::Valid);
    assert_eq!(verify(Some(&v), &mem, "0.1.0-verify"), Verification::Valid);
    assert_eq!(
        verify(Some(&v), &store, "0.1.0-verify"),
        Verification::Valid
    );

    // Relative file reference with a base directory.
    let rooted = FileStore::with_base_dir(&dir);
    let key = rooted
        .resolve(&CredentialRef::parse("file:dot_991.key").unwrap())
        .unwrap();
    assert_eq!(key.expose_secret(), VERIF_KEY);

    // Missing env var / file: NotFound through the chain.
    std::env::remove_var(&var);
    let err = store
        .resolve(&CredentialRef::env(&var).unwrap())
        .unwrap_err();
    assert!(matches!(err, CredentialError::NotFound { .. }), "{err:?}");
    std::fs::write(&key_file, b"").unwrap();
    let err = store
        .resolve(&CredentialRef::file(&key_file).unwrap())
        .unwrap_err();
    assert!(matches!(err, CredentialError::Empty { .. }), "{err:?}");
    let err = store
        .resolve(&CredentialRef::memory("x").unwrap())
        .unwrap_err();
    assert!(
        matches!(err, CredentialError::Unsupported { .. }),
        "{err:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// Failure outcomes
// ---------------------------------------------------------------------------

fn resign(row: &mut SignatureRow, key: &[u8]) {
    row.payload_hash = payload_hash_of(&row.payload_envelope).unwrap();
    row.signature_payload =
        compute_signature_payload(&SecretKey::new(key.to_vec()), &row.payload_hash).unwrap();
}

#[test]
fn each_failure_is_distinguished() {
    let store = store();
    let e = executor_row();
    let rev = "0.1.0";

    // Missing: no row, or an empty signature.
    let missing = verify(None, &store, rev);
    assert_eq!(missing, Verification::MissingSignature);
    let mut empty = e.clone();
    empty.signature_payload.clear();
    assert_eq!(
        verify(Some(&empty), &store, rev),
        Verification::MissingSignature
    );

    // Tampered envelope: hash mismatch.
    let mut tampered = e.clone();
    tampered.payload_envelope["units"][0]["end_token_position"] = json!(2);
    let t = verify(Some(&tampered), &store, rev);
    assert!(matches!(t, Verification::TamperedPayload { .. }), "{t:?}");

    // Envelope and hash rewritten together: the HMAC catches it.
    tampered.payload_hash = payload_hash_of(&tampered.payload_envelope).unwrap();
    assert_eq!(verify(Some(&tampered), &store, rev), Verification::WrongKey);

    // Wrong key.
    let other = MemoryStore::new().with(&exec_ref(), b"not-the-key".to_vec());
    let wrong = verify(Some(&e), &other, rev);
    assert_eq!(wrong, Verification::WrongKey);

    // Key not resolvable.
    let none = verify(Some(&e), &MemoryStore::new(), rev);
    assert!(
        matches!(none, Verification::KeyUnavailable { .. }),
        "{none:?}"
    );

    // Another scheme.
    let mut ed = e.clone();
    ed.signature_payload = "v0.2:ed25519:abcdef".into();
    assert_eq!(
        verify(Some(&ed), &store, rev),
        Verification::UnsupportedScheme {
            scheme: "v0.2:ed25519".into()
        }
    );

    // Tool revision drift.
    let drift = verify(Some(&e), &store, "0.2.0");
    assert_eq!(
        drift,
        Verification::ToolRevisionMismatch {
            registered: "0.2.0".into(),
            signed: "0.1.0".into()
        }
    );
    assert_eq!(drift.tool_revision_match(), Some(false));
    assert_eq!(drift.change_set_state(), Some("invalid_drift"));

    // Editing the (unsigned) revision column to dodge drift is caught.
    let mut dodge = e.clone();
    dodge.signer_tool_revision = "0.2.0".into();
    let d = verify(Some(&dodge), &store, "0.2.0");
    assert!(matches!(d, Verification::InconsistentRow { .. }), "{d:?}");

    // Signer column not matching the kind.
    let mut signer = e.clone();
    signer.signer_dot_id = 991;
    let s = verify(Some(&signer), &store, rev);
    assert!(matches!(s, Verification::InconsistentRow { .. }), "{s:?}");

    // A validly signed envelope that breaks "integers and strings only".
    let mut float = e.clone();
    float.payload_envelope["units"][0]["end_token_position"] = json!(1.5);
    resign(&mut float, EXEC_KEY);
    let f = verify(Some(&float), &store, rev);
    assert!(matches!(f, Verification::InconsistentRow { .. }), "{f:?}");

    // All outcomes are distinct, and map to the right signal.
    let outcomes = [
        &missing,
        &t,
        &wrong,
        &none,
        &drift,
        &d,
        &Verification::Valid,
    ];
    let names: std::collections::HashSet<&str> = outcomes.iter().map(|v| v.name()).collect();
    assert_eq!(names.len(), outcomes.len());
    for v in [&missing, &t, &wrong, &none, &d, &f] {
        assert_eq!(v.signal_kind(), Some("signature_failure"), "{v:?}");
        assert_eq!(v.tool_revision_match(), None);
        assert_eq!(v.change_set_state(), None);
    }
    assert_eq!(drift.signal_kind(), Some("dot_pair_drift"));
    assert_eq!(
        verify(Some(&ed), &store, rev).signal_kind(),
        Some("signature_failure")
    );
    let json = serde_json::to_value(&drift).unwrap();
    assert_eq!(json["outcome"], "tool_revision_mismatch");
}

#[test]
fn pair_failures() {
    let store = store();
    let e = executor_row();
    let v = verifier_row(&e);

    // Missing verifier signature.
    let p = verify_pair(Some(&e), None, &store, "0.1.0", "0.1.0-verify");
    assert_eq!(p.verifier, Verification::MissingSignature);
    assert_eq!(p.signal_kinds(), vec!["signature_failure"]);

    // Verifier of another executor signature.
    let other = sign_executor(&cut(change_set()), &executor_signer(), &store).unwrap();
    let p = verify_pair(Some(&other), Some(&v), &store, "0.1.0", "0.1.0-verify");
    assert!(p.executor.is_valid() && p.verifier.is_valid());
    assert!(p.linkage_error.is_some());
    assert!(!p.is_valid());

    // Drift on one side.
    let p = verify_pair(Some(&e), Some(&v), &store, "0.1.0", "verify-9");
    assert_eq!(p.signal_kinds(), vec!["dot_pair_drift"]);
    assert_eq!(p.change_set_state(), Some("invalid_drift"));

    // Both.
    let p = verify_pair(
        Some(&e),
        Some(&v),
        &MemoryStore::new().with(&verif_ref(), VERIF_KEY),
        "x",
        "verify-9",
    );
    assert_eq!(
        p.signal_kinds(),
        vec!["signature_failure", "dot_pair_drift"]
    );
}

// ---------------------------------------------------------------------------
// Cross reference: exactly one
// ---------------------------------------------------------------------------

#[test]
fn exactly_one_reference() {
    let a = Uuid::new_v4();
    let b = Uuid::new_v4();
    assert_eq!(
        CrossRef::from_columns(Some(a), None).unwrap(),
        CrossRef::ChangeSet(a)
    );
    assert_eq!(
        CrossRef::from_columns(None, Some(b)).unwrap(),
        CrossRef::Signature(b)
    );
    let zero = CrossRef::from_columns(None, None).unwrap_err();
    assert_eq!(zero.name(), "cross_reference_missing");
    let two = CrossRef::from_columns(Some(a), Some(b)).unwrap_err();
    assert_eq!(two.name(), "cross_reference_ambiguous");
    assert!(two.to_string().contains("exactly one"));
    assert_eq!(
        CrossRef::for_kind(SignatureKind::ExecutorCut, None, Some(b))
            .unwrap_err()
            .name(),
        "cross_reference_kind_mismatch"
    );
    assert_eq!(
        CrossRef::for_kind(SignatureKind::VerifierCut, Some(a), None)
            .unwrap_err()
            .name(),
        "cross_reference_kind_mismatch"
    );

    // Rows read back from a database with zero or two references are rejected.
    let e = executor_row();
    let mut cols = e.to_columns();
    cols.change_set_id = None;
    assert_eq!(
        SignatureRow::from_columns(cols.clone()).unwrap_err().name(),
        "cross_reference_missing"
    );
    cols.change_set_id = Some(a);
    cols.verifies_signature_id = Some(b);
    assert_eq!(
        SignatureRow::from_columns(cols.clone()).unwrap_err().name(),
        "cross_reference_ambiguous"
    );
    cols.change_set_id = None;
    assert_eq!(
        SignatureRow::from_columns(cols.clone()).unwrap_err().name(),
        "cross_reference_kind_mismatch"
    );
    cols.signature_kind = "auditor_cut".into();
    assert_eq!(
        SignatureRow::from_columns(cols).unwrap_err().name(),
        "unknown_signature_kind"
    );

    // Also through serde.
    let mut v = serde_json::to_value(&e).unwrap();
    v["verifies_signature_id"] = json!(b.to_string());
    let err = serde_json::from_value::<SignatureRow>(v).unwrap_err();
    assert!(
        err.to_string().contains("cross_reference_ambiguous"),
        "{err}"
    );
    assert!(
        SQL_CHECK_CONSTRAINTS.contains("num_nonnulls(change_set_id, verifies_signature_id) = 1")
    );
}

#[test]
fn verifier_must_share_change_set_and_reference_an_executor() {
    let store = store();
    let e = executor_row();
    let other_cs = Uuid::new_v4();
    let err = sign_verifier(&e, &cut(other_cs), &verifier_signer(), &store).unwrap_err();
    assert_eq!(err.name(), "change_set_mismatch");
    assert!(
        matches!(err, SigningError::ChangeSetMismatch { executor, verifier } if executor == change_set() && verifier == other_cs)
    );

    let v = verifier_row(&e);
    let err = sign_verifier(&v, &cut(change_set()), &verifier_signer(), &store).unwrap_err();
    assert_eq!(err.name(), "not_an_executor_signature");

    // Wrong DOT for the kind.
    let err = sign_executor(&cut(change_set()), &verifier_signer(), &store).unwrap_err();
    assert_eq!(err.name(), "wrong_signer");
    let err = sign_verifier(&e, &cut(change_set()), &executor_signer(), &store).unwrap_err();
    assert_eq!(err.name(), "wrong_signer");
}

#[test]
fn invalid_cuts_are_rejected() {
    let store = store();
    let mut c = cut(change_set());
    c.units.push(Unit {
        start_token_position: 5,
        end_token_position: 4,
    });
    assert_eq!(
        sign_executor(&c, &executor_signer(), &store)
            .unwrap_err()
            .name(),
        "invalid_envelope"
    );
    let mut c = cut(change_set());
    c.units = vec![Unit {
        start_token_position: 0,
        end_token_position: MAX_SAFE_INTEGER + 1,
    }];
    assert_eq!(
        sign_executor(&c, &executor_signer(), &store)
            .unwrap_err()
            .name(),
        "invalid_envelope"
    );
    let mut c = cut(change_set());
    c.canonical_sha256 = SHA.to_uppercase();
    assert_eq!(
        sign_executor(&c, &executor_signer(), &store)
            .unwrap_err()
            .name(),
        "invalid_envelope"
    );
    let err =
        sign_executor(&cut(change_set()), &executor_signer(), &MemoryStore::new()).unwrap_err();
    assert_eq!(err.name(), "credential_error");
}

// ---------------------------------------------------------------------------
// Keys never show
// ---------------------------------------------------------------------------

#[test]
fn keys_never_appear_in_debug_display_or_errors() {
    let secret = "s3cr3t-KEY-material-0123456789";
    let r = CredentialRef::parse("env:DOT_992_KEY").unwrap();
    let store = MemoryStore::new().with(&r, secret.as_bytes().to_vec());
    let key = store.resolve(&r).unwrap();
    let chain = ChainStore::new().with(MemoryStore::new().with(&r, secret.as_bytes().to_vec()));

    let mut texts = vec![
        format!("{store:?}"),
        format!("{store:#?}"),
        format!("{key:?}"),
        format!("{chain:?}"),
        format!("{r:?} {r}"),
        format!("{:?}", EnvStore),
        format!("{:?}", FileStore::new()),
    ];
    // Signing and verification outputs.
    let cut = cut(change_set());
    let e = sign_executor(&cut, &Signer::executor("rev", r.clone()), &store).unwrap();
    texts.push(format!("{e:?}"));
    texts.push(serde_json::to_string(&e).unwrap());
    let other = MemoryStore::new().with(&r, b"another-key".to_vec());
    texts.push(format!("{:?}", verify(Some(&e), &other, "rev")));
    texts.push(format!(
        "{:?}",
        verify(Some(&e), &MemoryStore::new(), "rev")
    ));
    // Errors, including a reference string into which a key was pasted by mistake.
    for bad in [
        format!("DOT_992_KEY={secret}"),
        format!("env:{secret} x"),
        format!("vault:{secret}"),
    ] {
        let err = CredentialRef::parse(&bad).unwrap_err();
        texts.push(format!("{err} {err:?}"));
    }
    let err = sign_executor(
        &cut,
        &Signer::executor("rev", r.clone()),
        &MemoryStore::new(),
    )
    .unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let empty = MemoryStore::new().with(&r, Vec::new());
    let err = empty.resolve(&r).unwrap_err();
    texts.push(format!("{err} {err:?}"));

    for t in &texts {
        assert!(!t.contains(secret), "key leaked in: {t}");
        assert!(!t.contains("s3cr3t"), "key leaked in: {t}");
    }
    assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
    assert!(texts[0].contains("env:DOT_992_KEY"), "{}", texts[0]);
}

#[test]
fn credential_refs() {
    for ok in [
        "env:DOT_992_KEY",
        "file:/run/secrets/k",
        "file:relative/k.key",
        "mem:test",
    ] {
        let r = CredentialRef::parse(ok).unwrap();
        assert_eq!(r.as_str(), ok);
        assert_eq!(r.to_string(), ok);
    }
    assert_eq!(
        CredentialRef::parse("env:A").unwrap().source(),
        CredentialSource::Env("A")
    );
    for bad in [
        "",
        "env:",
        "DOT_992_KEY",
        "http://x",
        "env:A B",
        "file:a\nb",
        "env:ä",
    ] {
        assert!(CredentialRef::parse(bad).is_err(), "{bad:?}");
    }
    let json = serde_json::to_string(&CredentialRef::parse("env:K").unwrap()).unwrap();
    assert_eq!(json, "\"env:K\"");
    assert!(serde_json::from_str::<CredentialRef>("\"nope\"").is_err());
}

#[test]
fn dot_pair_registry() {
    assert_eq!(DOT_IU_CUTTER.id, 992);
    assert_eq!(DOT_IU_CUTTER.code, "DOT-IU-CUTTER");
    assert_eq!(DOT_IU_CUTTER.tier, "A");
    assert_eq!(DOT_IU_CUTTER.paired_with, 991);
    assert_eq!(DOT_IU_CUTTER_VERIFY.id, 991);
    assert_eq!(DOT_IU_CUTTER_VERIFY.code, "DOT-IU-CUTTER-VERIFY");
    assert_eq!(DOT_IU_CUTTER_VERIFY.tier, "B");
    assert_eq!(DOT_IU_CUTTER_VERIFY.paired_with, 992);
    assert_eq!(DotIdentity::by_id(991), Some(&DOT_IU_CUTTER_VERIFY));
    assert_eq!(DotIdentity::by_id(1), None);
    assert_eq!(SignatureKind::ExecutorCut.signer().id, 992);
    assert_eq!(SignatureKind::VerifierCut.signer().id, 991);
    assert_eq!(
        SignatureKind::parse("verifier_cut"),
        Some(SignatureKind::VerifierCut)
    );
    assert_eq!(
        serde_json::to_value(SignatureKind::ExecutorCut).unwrap(),
        "executor_cut"
    );
}

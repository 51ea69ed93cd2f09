//! Signing and signal steps (CTE-04, CTE-02): change sets, DOT signatures, the cross-reference
//! rule, verification, the signals it routes and their acknowledgement.

use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::scenario::env::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};
use crate::scenario::suite::random_key;

/// `change_set`: a change set of canonicalized units, registered.
pub struct ChangeSetKind;

impl StepKind for ChangeSetKind {
    const NAME: &'static str = "change_set";
    const READS_ONLY: bool = false;
    type Params = ChangeSetStep;
    type Observation = Value;

    async fn run(p: &ChangeSetStep, ctx: &mut Ctx<'_>) -> std::result::Result<Value, StepError> {
        Ok(ctx.change_set(p).await?)
    }
}

/// `sign`: a DOT signature of a change set.
pub struct SignKind;

impl StepKind for SignKind {
    const NAME: &'static str = "sign";
    const READS_ONLY: bool = false;
    type Params = SignStep;
    type Observation = Value;

    async fn run(p: &SignStep, ctx: &mut Ctx<'_>) -> std::result::Result<Value, StepError> {
        Ok(ctx.sign(p).await?)
    }
}

/// `broken_reference`: a signature row that breaks the cross-reference rule.
pub struct BrokenReferenceKind;

impl StepKind for BrokenReferenceKind {
    const NAME: &'static str = "broken_reference";
    const READS_ONLY: bool = false;
    type Params = BrokenReferenceStep;
    type Observation = Value;

    async fn run(
        p: &BrokenReferenceStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<Value, StepError> {
        Ok(ctx.broken_reference(p).await?)
    }
}

/// `verify`: verification of a change set's signatures, its verdict as expected.
pub struct VerifyKind;

impl StepKind for VerifyKind {
    const NAME: &'static str = "verify";
    const READS_ONLY: bool = false;
    type Params = VerifyStep;
    type Observation = Value;

    async fn run(p: &VerifyStep, ctx: &mut Ctx<'_>) -> std::result::Result<Value, StepError> {
        Ok(ctx.verify(p).await?)
    }
}

/// `await_signal`: the NOTIFY of a routed signal, received by the listener.
pub struct AwaitSignalKind;

impl StepKind for AwaitSignalKind {
    const NAME: &'static str = "await_signal";
    const READS_ONLY: bool = false;
    type Params = AwaitSignalStep;
    type Observation = SignalObservation;

    async fn run(
        p: &AwaitSignalStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<SignalObservation, StepError> {
        let cs = ctx.cs(&p.change_set)?.id;
        let kind: cutter_signals::SignalKind = p
            .kind
            .parse()
            .map_err(|e: cutter_signals::Error| e.to_string())?;
        let l = ctx
            .listener
            .as_mut()
            .ok_or("no listener: a verify step must run first")?;
        let n = l
            .await_signal(kind, cs, Duration::from_secs(10))
            .await
            .map_err(|e| format!("no {} signal observed: {e}", p.kind))?;
        Ok(SignalObservation {
            kind: n.kind.as_str(),
            routed_to: n.routed_to,
            emitter_dot_id: n.emitter_dot_id,
            channel: cutter_signals::CHANNEL,
        })
    }
}

/// The notification received on the signal channel for the change set.
#[derive(Debug, serde::Serialize)]
pub struct SignalObservation {
    pub kind: &'static str,
    pub routed_to: String,
    pub emitter_dot_id: i32,
    pub channel: &'static str,
}

/// `acknowledge`: a routed signal acknowledged by its receiver.
pub struct AcknowledgeKind;

impl StepKind for AcknowledgeKind {
    const NAME: &'static str = "acknowledge";
    const READS_ONLY: bool = false;
    type Params = AcknowledgeStep;
    type Observation = Value;

    async fn run(p: &AcknowledgeStep, ctx: &mut Ctx<'_>) -> std::result::Result<Value, StepError> {
        Ok(ctx.acknowledge(p).await?)
    }
}

impl Ctx<'_> {
    fn cs(&self, name: &str) -> std::result::Result<&ChangeSetState, String> {
        self.change_sets
            .get(name)
            .ok_or_else(|| format!("no change set named {name}"))
    }

    async fn change_set(&mut self, c: &ChangeSetStep) -> StepResult {
        let client = self.client()?;
        let body: String = client
            .query_one(c.source_sql.as_str(), &[])
            .await
            .map_err(|e| err_any(&e))?
            .try_get(0)
            .map_err(|e| err_any(&e))?;
        let canon = canon_md::canonicalize(body.as_bytes()).map_err(|e| err_any(&e))?;
        let toks = canon.tokens();
        if toks.len() < c.units || c.units == 0 {
            return Err(format!(
                "source has {} tokens, cannot make {} units",
                toks.len(),
                c.units
            ));
        }
        let id = Uuid::new_v4();
        client
            .execute(
                "INSERT INTO cutter_governance.cut_change_set (id, state, source_ref, source_canonical_sha256) VALUES ($1, 'draft', $2, $3)",
                &[&id, &c.source_sql, &canon.sha256_hex()],
            )
            .await
            .map_err(|e| err_any(&e))?;
        let per = toks.len() / c.units;
        let mut units = Vec::new();
        let mut spans = Vec::new();
        for u in 0..c.units {
            let first = &toks[u * per];
            let last = if u + 1 == c.units {
                &toks[toks.len() - 1]
            } else {
                &toks[(u + 1) * per - 1]
            };
            let span = canon
                .span_to_tokens(first.byte_start, last.byte_end)
                .map_err(|e| err_any(&e))?;
            client
                .execute(
                    "INSERT INTO cutter_governance.cut_unit (change_set_id, byte_start, byte_end, start_token_position, end_token_position) VALUES ($1, $2, $3, $4, $5)",
                    &[&id, &(first.byte_start as i64), &(last.byte_end as i64), &(span.start_token_position as i32), &(span.end_token_position as i32)],
                )
                .await
                .map_err(|e| err_any(&e))?;
            units.push(dot_signing::Unit {
                start_token_position: span.start_token_position as u64,
                end_token_position: span.end_token_position as u64,
            });
            spans.push(json!([span.start_token_position, span.end_token_position]));
        }
        let sha = canon.sha256_hex();
        self.change_sets.insert(
            c.name.clone(),
            ChangeSetState {
                id,
                canonical_sha256: sha.clone(),
                units,
                executor: None,
            },
        );
        Ok(
            json!({ "name": c.name, "canonical_sha256": sha, "tokens": toks.len(), "units": spans, "state": "draft" }),
        )
    }

    fn cut_payload(&self, cs: &ChangeSetState) -> dot_signing::CutPayload {
        dot_signing::CutPayload {
            change_set_id: cs.id,
            canonicalization_rule_used: canon_md::RULE.into(),
            canonical_sha256: cs.canonical_sha256.clone(),
            units: cs.units.clone(),
        }
    }

    async fn registered_revision(&self, dot: i32) -> std::result::Result<String, String> {
        let row = self
            .client()?
            .query_one("SELECT tool_revision FROM cutter_governance.dot_tool_revision WHERE dot_id = $1 ORDER BY registered_at DESC LIMIT 1", &[&dot])
            .await
            .map_err(|e| e.to_string())?;
        row.try_get(0).map_err(|e| e.to_string())
    }

    async fn insert_signature(
        &self,
        row: &dot_signing::SignatureRow,
    ) -> std::result::Result<(), tokio_postgres::Error> {
        let c = row.to_columns();
        self.client
            .as_ref()
            .expect("checked by caller")
            .execute(
                "INSERT INTO cutter_governance.dot_pair_signature (id, signature_kind, payload_envelope, payload_hash, signature_payload, signed_at, signer_dot_id, signer_tool_revision, credential_ref, change_set_id, verifies_signature_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
                &[&c.id, &c.signature_kind, &c.payload_envelope, &c.payload_hash, &c.signature_payload, &c.signed_at, &c.signer_dot_id, &c.signer_tool_revision, &c.credential_ref, &c.change_set_id, &c.verifies_signature_id],
            )
            .await
            .map(|_| ())
    }

    async fn sign(&mut self, s: &SignStep) -> StepResult {
        self.client()?;
        let (dot, cref) = match s.kind {
            SignatureKind::ExecutorCut => (992, "mem:dot-992"),
            SignatureKind::VerifierCut => (991, "mem:dot-991"),
        };
        let registered = self.registered_revision(dot).await?;
        let rev = s.signer_tool_revision.clone().unwrap_or(registered);
        let cref = dot_signing::CredentialRef::parse(cref).map_err(|e| e.to_string())?;
        let cs = self.cs(&s.change_set)?;
        let payload = self.cut_payload(cs);
        let row = match s.kind {
            SignatureKind::ExecutorCut => dot_signing::sign_executor(
                &payload,
                &dot_signing::Signer::executor(rev.clone(), cref),
                &self.suite.keys,
            ),
            SignatureKind::VerifierCut => {
                let exec = cs.executor.as_ref().ok_or("sign the executor_cut first")?;
                dot_signing::sign_verifier(
                    exec,
                    &payload,
                    &dot_signing::Signer::verifier(rev.clone(), cref),
                    &self.suite.keys,
                )
            }
        }
        .map_err(|e| e.to_string())?;
        self.insert_signature(&row)
            .await
            .map_err(|e| format!("the database rejected the {:?} signature: {e}", s.kind))?;
        let same_cs = row.change_set_id() == Some(self.cs(&s.change_set)?.id);
        if s.kind == SignatureKind::ExecutorCut {
            if let Some(c) = self.change_sets.get_mut(&s.change_set) {
                c.executor = Some(row.clone());
            }
        }
        let (cs_col, sig_col) = row.references.to_columns();
        Ok(json!({
            "kind": s.kind,
            "signer_dot_id": row.signer_dot_id,
            "accepted_by_database": true,
            "envelope_change_set_matches": same_cs,
            "references": if cs_col.is_some() { "change_set" } else if sig_col.is_some() { "signature" } else { "none" },
            "scheme": row.signature_payload.split(':').take(2).collect::<Vec<_>>().join(":"),
            "payload_hash_hex_len": row.payload_hash.len(),
        }))
    }

    async fn broken_reference(&mut self, b: &BrokenReferenceStep) -> StepResult {
        let cs = self.cs(&b.change_set)?;
        let exec = cs.executor.clone().ok_or("sign the executor_cut first")?;
        let (csid, sig) = match b.references {
            BrokenReferences::None => (None, None),
            BrokenReferences::Both => (Some(cs.id), Some(exec.signature_id)),
        };
        let lib = match dot_signing::CrossRef::from_columns(csid, sig) {
            Ok(_) => return Err("the library accepted a broken cross reference".into()),
            Err(e) => e.name(),
        };
        let mut cols = exec.to_columns();
        cols.id = Uuid::new_v4();
        cols.change_set_id = csid;
        cols.verifies_signature_id = sig;
        let db = self
            .client()?
            .execute(
                "INSERT INTO cutter_governance.dot_pair_signature (id, signature_kind, payload_envelope, payload_hash, signature_payload, signed_at, signer_dot_id, signer_tool_revision, credential_ref, change_set_id, verifies_signature_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
                &[&cols.id, &cols.signature_kind, &cols.payload_envelope, &cols.payload_hash, &cols.signature_payload, &cols.signed_at, &cols.signer_dot_id, &cols.signer_tool_revision, &cols.credential_ref, &cols.change_set_id, &cols.verifies_signature_id],
            )
            .await;
        let constraint = match db {
            Ok(_) => return Err("the database accepted a broken cross reference".into()),
            Err(e) => e
                .as_db_error()
                .map(|d| {
                    (
                        d.code().code().to_string(),
                        d.constraint().unwrap_or("").to_string(),
                    )
                })
                .unwrap_or_default(),
        };
        Ok(
            json!({ "references": b.references, "library": { "rejected": true, "error": lib }, "database": { "rejected": true, "sqlstate": constraint.0, "constraint": constraint.1 } }),
        )
    }

    async fn ensure_listener(&mut self) -> std::result::Result<(), String> {
        if self.listener.is_none() {
            let cfg = self.config().map_err(|e| err_text(&e))?;
            self.listener = Some(
                cutter_signals::Listener::connect(&cfg)
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(())
    }

    async fn load_signatures(
        &self,
        cs: Uuid,
    ) -> std::result::Result<Vec<dot_signing::SignatureRow>, String> {
        let rows = self
            .client()?
            .query(
                "SELECT s.id, s.signature_kind, s.payload_envelope, s.payload_hash, s.signature_payload, s.signed_at, s.signer_dot_id, s.signer_tool_revision, s.credential_ref, s.change_set_id, s.verifies_signature_id \
                 FROM cutter_governance.dot_pair_signature s \
                 WHERE s.change_set_id = $1 OR s.verifies_signature_id IN (SELECT id FROM cutter_governance.dot_pair_signature WHERE change_set_id = $1) \
                 ORDER BY s.signature_kind",
                &[&cs],
            )
            .await
            .map_err(|e| e.to_string())?;
        rows.iter()
            .map(|r| {
                let cols = dot_signing::SignatureColumns {
                    id: r.get(0),
                    signature_kind: r.get(1),
                    payload_envelope: r.get(2),
                    payload_hash: r.get(3),
                    signature_payload: r.get(4),
                    signed_at: r.get(5),
                    signer_dot_id: r.get(6),
                    signer_tool_revision: r.get(7),
                    credential_ref: r.get(8),
                    change_set_id: r.get(9),
                    verifies_signature_id: r.get(10),
                };
                dot_signing::SignatureRow::from_columns(cols).map_err(|e| e.to_string())
            })
            .collect()
    }

    async fn verify(&mut self, v: &VerifyStep) -> StepResult {
        self.ensure_listener().await?;
        let cs_id = self.cs(&v.change_set)?.id;
        let client = self.client()?;
        if v.tamper_payload {
            client
                .execute(
                    "UPDATE cutter_governance.dot_pair_signature SET payload_envelope = jsonb_set(payload_envelope, '{canonical_sha256}', to_jsonb(repeat('0', 64))) WHERE change_set_id = $1",
                    &[&cs_id],
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        if v.drop_signature {
            client
                .execute("DELETE FROM cutter_governance.dot_pair_signature WHERE verifies_signature_id IN (SELECT id FROM cutter_governance.dot_pair_signature WHERE change_set_id = $1)", &[&cs_id])
                .await
                .map_err(|e| e.to_string())?;
        }
        let rows = self.load_signatures(cs_id).await?;
        let exec = rows.iter().find(|r| r.signer_dot_id == 992);
        let verif = rows.iter().find(|r| r.signer_dot_id == 991);
        let mut outcomes = Vec::new();
        let mut signals = Vec::new();
        let mut drift = false;
        // Other keys than the signers': every present signature must fail as wrong_key.
        let other_keys = v.wrong_key.then(|| {
            let mut s = dot_signing::MemoryStore::new();
            for name in ["dot-992", "dot-991"] {
                if let Ok(r) = dot_signing::CredentialRef::memory(name) {
                    s.insert(&r, random_key());
                }
            }
            s
        });
        let keys = match &other_keys {
            Some(k) if !crate::fault::sabotaged("wrong_key_ignored") => k,
            _ => &self.suite.keys,
        };
        for (dot, row) in [(992, exec), (991, verif)] {
            let registered = self.registered_revision(dot).await?;
            let res = dot_signing::verify(row, keys, &registered);
            outcomes.push(res.name().to_string());
            if let Some(kind) = res.signal_kind() {
                let k: cutter_signals::SignalKind = kind
                    .parse()
                    .map_err(|e: cutter_signals::Error| e.to_string())?;
                if k == cutter_signals::SignalKind::DotPairDrift {
                    drift = true;
                }
                let sig = cutter_signals::emit(
                    self.client()?,
                    k,
                    cs_id,
                    dot,
                    json!({ "outcome": res.name(), "signer_dot_id": dot }),
                )
                .await
                .map_err(|e| e.to_string())?;
                signals.push(json!({ "kind": sig.kind.as_str(), "routed_to": sig.routed_to, "emitter_dot_id": sig.emitter_dot_id }));
            }
        }
        let state = if drift {
            self.client()?
                .execute("UPDATE cutter_governance.cut_change_set SET state = 'invalid_drift', tool_revision_match = false, updated_at = now() WHERE id = $1", &[&cs_id])
                .await
                .map_err(|e| e.to_string())?;
            "invalid_drift"
        } else if outcomes.iter().all(|o| o == "valid") {
            self.client()?
                .execute("UPDATE cutter_governance.cut_change_set SET state = 'verified', tool_revision_match = true, updated_at = now() WHERE id = $1", &[&cs_id])
                .await
                .map_err(|e| e.to_string())?;
            "verified"
        } else {
            "draft"
        };
        let db_state: String = self
            .client()?
            .query_one(
                "SELECT state FROM cutter_governance.cut_change_set WHERE id = $1",
                &[&cs_id],
            )
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        if outcomes != v.expect {
            return Err(format!(
                "verification of change set {} gave {}, expected {}",
                v.change_set,
                outcomes.join(", "),
                v.expect.join(", ")
            ));
        }
        Ok(
            json!({ "outcomes": outcomes, "signals_emitted": signals, "change_set_state": db_state, "expected_state": state }),
        )
    }

    async fn acknowledge(&mut self, a: &AcknowledgeStep) -> StepResult {
        let cs = self.cs(&a.change_set)?.id;
        let kind: cutter_signals::SignalKind = a
            .kind
            .parse()
            .map_err(|e: cutter_signals::Error| e.to_string())?;
        let id = if a.expect == "unknown_signal" {
            Uuid::new_v4()
        } else {
            let f = cutter_signals::SignalFilter {
                kind: Some(kind),
                change_set_id: Some(cs),
                acknowledged: None,
                limit: Some(1),
            };
            let list = cutter_signals::list(self.client()?, &f)
                .await
                .map_err(|e| e.to_string())?;
            list.first()
                .map(|s| s.id)
                .ok_or_else(|| format!("no {} signal stored for {}", a.kind, a.change_set))?
        };
        let res = cutter_signals::acknowledge(self.client()?, id, &a.by).await;
        let got = match &res {
            Ok(_) => "ok",
            Err(cutter_signals::Error::AlreadyAcknowledged { .. }) => "already_acknowledged",
            Err(cutter_signals::Error::UnknownSignal(_)) => "unknown_signal",
            Err(_) => "error",
        };
        if got != a.expect {
            return Err(format!(
                "acknowledge gave {got}, expected {}: {:?}",
                a.expect,
                res.err().map(|e| e.to_string())
            ));
        }
        Ok(
            json!({ "kind": a.kind, "by": a.by, "result": got, "acknowledged_by": res.ok().and_then(|s| s.acknowledged_by) }),
        )
    }
}

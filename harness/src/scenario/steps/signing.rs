//! Signing and signal steps (CTE-04, CTE-02): change sets, DOT signatures, the cross-reference
//! rule, verification, the signals it routes and their acknowledgement.

use std::time::Duration;

use cutter_signals::{Acknowledgement, SignalKind};
use dot_signing::{sql, VerificationKind};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};
use crate::scenario::suite::random_key;

/// `change_set`: a change set of canonicalized units, registered.
pub struct ChangeSetKind;

impl StepKind for ChangeSetKind {
    const NAME: &'static str = "change_set";
    const READS_ONLY: bool = false;
    type Params = ChangeSetStep;
    type Observation = ChangeSetObservation;

    async fn run(
        p: &ChangeSetStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<ChangeSetObservation, StepError> {
        ctx.change_set(p).await
    }
}

/// A registered change set, by name: the step failed unless it registered `units` units and
/// the database holds it as `draft` (read back); its source's hash, token count and the
/// units' spans depend on the database's documents (evidence).
#[derive(Debug, Serialize)]
pub struct ChangeSetObservation {
    pub name: String,
}

/// `sign`: a DOT signature of a change set.
pub struct SignKind;

impl StepKind for SignKind {
    const NAME: &'static str = "sign";
    const READS_ONLY: bool = false;
    type Params = SignStep;
    type Observation = SignObservation;

    async fn run(
        p: &SignStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<SignObservation, StepError> {
        ctx.sign(p).await
    }
}

/// A signature the database accepted (the step fails when it refuses the row, when the
/// signed envelope names another change set, or when the payload hash is not 64 lowercase
/// hex digits).
#[derive(Debug, Serialize)]
pub struct SignObservation {
    pub kind: SignatureKind,
    pub signer_dot_id: i32,
    /// What the row references: `change_set` or `signature`.
    pub references: &'static str,
    /// The signature's scheme prefix (`v0.1:hmac-sha256`).
    pub scheme: String,
}

/// `broken_reference`: a signature row that breaks the cross-reference rule.
pub struct BrokenReferenceKind;

impl StepKind for BrokenReferenceKind {
    const NAME: &'static str = "broken_reference";
    const READS_ONLY: bool = false;
    type Params = BrokenReferenceStep;
    type Observation = BrokenReferenceObservation;

    async fn run(
        p: &BrokenReferenceStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<BrokenReferenceObservation, StepError> {
        ctx.broken_reference(p).await
    }
}

/// A broken cross reference, rejected by the library and by the database.
#[derive(Debug, Serialize)]
pub struct BrokenReferenceObservation {
    pub references: BrokenReferences,
    pub library: LibraryRejection,
    pub database: DatabaseRejection,
}

/// The library's refusal of a cross reference (the step fails unless it refuses).
#[derive(Debug, Serialize)]
pub struct LibraryRejection {
    /// The signing error's name (`cross_reference_missing`, ...).
    pub error: &'static str,
}

/// The database's refusal of a row (the step fails unless it refuses); the constraint's name
/// is the plan's own (evidence).
#[derive(Debug, Serialize)]
pub struct DatabaseRejection {
    pub sqlstate: String,
}

/// `verify`: verification of a change set's signatures, its verdict as expected.
pub struct VerifyKind;

impl StepKind for VerifyKind {
    const NAME: &'static str = "verify";
    const READS_ONLY: bool = false;
    type Params = VerifyStep;
    type Observation = VerifyObservation;

    async fn run(
        p: &VerifyStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<VerifyObservation, StepError> {
        ctx.verify(p).await
    }
}

/// The verdict on a change set's signatures, the signals it emitted and the state it left.
#[derive(Debug, Serialize)]
pub struct VerifyObservation {
    /// Executor's, then verifier's.
    pub outcomes: Vec<VerificationKind>,
    pub signals_emitted: Vec<EmittedSignal>,
}

/// A signal stored for a failed verification.
#[derive(Debug, Serialize)]
pub struct EmittedSignal {
    pub kind: SignalKind,
    pub routed_to: String,
    pub emitter_dot_id: i32,
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
        let l = ctx
            .listener
            .as_mut()
            .ok_or("no listener: a verify step must run first")?;
        let n = l
            .await_signal(p.kind, cs, Duration::from_secs(10))
            .await
            .map_err(|e| StepError::Failed(format!("no {} signal observed: {e}", p.kind)))?;
        Ok(SignalObservation {
            kind: n.kind,
            routed_to: n.routed_to,
            emitter_dot_id: n.emitter_dot_id,
        })
    }
}

/// The notification received on the signal channel (`cutter_signals::CHANNEL`, the only one
/// the listener hears) for the change set: its kind, where it is routed and who emitted it.
#[derive(Debug, Serialize)]
pub struct SignalObservation {
    pub kind: SignalKind,
    pub routed_to: String,
    pub emitter_dot_id: i32,
}

/// `acknowledge`: a routed signal acknowledged by its receiver.
pub struct AcknowledgeKind;

impl StepKind for AcknowledgeKind {
    const NAME: &'static str = "acknowledge";
    const READS_ONLY: bool = false;
    type Params = AcknowledgeStep;
    type Observation = AcknowledgeObservation;

    async fn run(
        p: &AcknowledgeStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<AcknowledgeObservation, StepError> {
        ctx.acknowledge(p).await
    }
}

/// An acknowledgement as expected.
#[derive(Debug, Serialize)]
pub struct AcknowledgeObservation {
    pub kind: SignalKind,
    /// The verdict of the call (the step failed unless it is the expected one; when `ok`, the
    /// signal read back must name the acknowledger).
    pub result: Acknowledgement,
}

/// A database error as a step failure: its server message and SQLSTATE.
fn db_failed(e: &tokio_postgres::Error) -> StepError {
    StepError::Failed(err_any(e))
}

/// The parameters of a signature row, in [`sql::SIGNATURE_COLUMNS`] order.
fn signature_params(
    c: &dot_signing::SignatureColumns,
) -> [&(dyn tokio_postgres::types::ToSql + Sync); 11] {
    [
        &c.id,
        &c.signature_kind,
        &c.payload_envelope,
        &c.payload_hash,
        &c.signature_payload,
        &c.signed_at,
        &c.signer_dot_id,
        &c.signer_tool_revision,
        &c.credential_ref,
        &c.change_set_id,
        &c.verifies_signature_id,
    ]
}

impl Ctx<'_> {
    fn cs(&self, name: &str) -> std::result::Result<&ChangeSetState, StepError> {
        self.change_sets
            .get(name)
            .ok_or_else(|| StepError::Failed(format!("no change set named {name}")))
    }

    async fn change_set(
        &mut self,
        c: &ChangeSetStep,
    ) -> std::result::Result<ChangeSetObservation, StepError> {
        let client = self.client()?;
        let body: String = client
            .query_one(c.source_sql.as_str(), &[])
            .await
            .map_err(|e| db_failed(&e))?
            .try_get(0)
            .map_err(|e| db_failed(&e))?;
        let canon = canon_md::canonicalize(body.as_bytes()).map_err(|e| err_any(&e))?;
        let toks = canon.tokens();
        if toks.len() < c.units || c.units == 0 {
            return Err(StepError::Failed(format!(
                "source has {} tokens, cannot make {} units",
                toks.len(),
                c.units
            )));
        }
        let id = Uuid::new_v4();
        client
            .execute(
                sql::INSERT_CHANGE_SET,
                &[&id, &c.source_sql, &canon.sha256_hex()],
            )
            .await
            .map_err(|e| db_failed(&e))?;
        let per = toks.len() / c.units;
        let mut units = Vec::new();
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
                    sql::INSERT_UNIT,
                    &[
                        &id,
                        &(first.byte_start as i64),
                        &(last.byte_end as i64),
                        &(span.start_token_position as i32),
                        &(span.end_token_position as i32),
                    ],
                )
                .await
                .map_err(|e| db_failed(&e))?;
            units.push(dot_signing::Unit {
                start_token_position: span.start_token_position as u64,
                end_token_position: span.end_token_position as u64,
            });
        }
        // What the database holds now (registered as `draft`), read back, not assumed.
        let state: String = client
            .query_one(sql::SELECT_CHANGE_SET_STATE, &[&id])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| db_failed(&e))?;
        let sha = canon.sha256_hex();
        let spans: Vec<[u64; 2]> = units
            .iter()
            .map(|u| [u.start_token_position, u.end_token_position])
            .collect();
        if state != "draft" {
            return Err(StepError::Failed(format!(
                "change set {} is {state} in the database after registration, expected draft",
                c.name
            )));
        }
        if spans.len() != c.units {
            return Err(StepError::Failed(format!(
                "change set {} registered {} unit(s), expected {}",
                c.name,
                spans.len(),
                c.units
            )));
        }
        self.change_sets.insert(
            c.name.clone(),
            ChangeSetState {
                id,
                canonical_sha256: sha.clone(),
                units,
                executor: None,
            },
        );
        self.evidence(serde_json::json!({
            "name": c.name,
            "canonical_sha256": sha,
            "tokens": toks.len(),
            "units": spans,
        }));
        Ok(ChangeSetObservation {
            name: c.name.clone(),
        })
    }

    fn cut_payload(&self, cs: &ChangeSetState) -> dot_signing::CutPayload {
        dot_signing::CutPayload {
            change_set_id: cs.id,
            canonicalization_rule_used: canon_md::RULE.into(),
            canonical_sha256: cs.canonical_sha256.clone(),
            units: cs.units.clone(),
        }
    }

    async fn registered_revision(&self, dot: i32) -> std::result::Result<String, StepError> {
        let row = self
            .client()?
            .query_one(sql::SELECT_REGISTERED_TOOL_REVISION, &[&dot])
            .await
            .map_err(|e| db_failed(&e))?;
        row.try_get(0).map_err(|e| db_failed(&e))
    }

    async fn insert_signature(
        client: &tokio_postgres::Client,
        cols: &dot_signing::SignatureColumns,
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        client
            .execute(sql::INSERT_SIGNATURE, &signature_params(cols))
            .await
    }

    async fn sign(&mut self, s: &SignStep) -> std::result::Result<SignObservation, StepError> {
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
        Self::insert_signature(self.client()?, &row.to_columns())
            .await
            .map_err(|e| {
                StepError::Failed(format!(
                    "the database rejected the {:?} signature: {e}",
                    s.kind
                ))
            })?;
        let want_cs = self.cs(&s.change_set)?.id;
        if row.change_set_id() != Some(want_cs) {
            return Err(StepError::Failed(format!(
                "the {:?} signature's envelope names change set {}, not {} ({want_cs})",
                s.kind,
                row.change_set_id()
                    .map_or_else(|| "none".to_string(), |u| u.to_string()),
                s.change_set
            )));
        }
        if s.kind == SignatureKind::ExecutorCut {
            if let Some(c) = self.change_sets.get_mut(&s.change_set) {
                c.executor = Some(row.clone());
            }
        }
        let hash = &row.payload_hash;
        if hash.len() != 64
            || !hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(StepError::Failed(format!(
                "the {:?} signature's payload_hash {hash:?} is not 64 lowercase hex digits",
                s.kind
            )));
        }
        Ok(SignObservation {
            kind: s.kind,
            signer_dot_id: row.signer_dot_id,
            references: row.references.target_name(),
            scheme: row
                .signature_payload
                .split(':')
                .take(2)
                .collect::<Vec<_>>()
                .join(":"),
        })
    }

    async fn broken_reference(
        &mut self,
        b: &BrokenReferenceStep,
    ) -> std::result::Result<BrokenReferenceObservation, StepError> {
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
        let (sqlstate, constraint) = match Self::insert_signature(self.client()?, &cols).await {
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
        self.evidence(serde_json::json!({
            "references": b.references,
            "constraint": constraint,
        }));
        Ok(BrokenReferenceObservation {
            references: b.references,
            library: LibraryRejection { error: lib },
            database: DatabaseRejection { sqlstate },
        })
    }

    async fn ensure_listener(&mut self) -> std::result::Result<(), StepError> {
        if self.listener.is_none() {
            let cfg = self.config()?;
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
    ) -> std::result::Result<Vec<dot_signing::SignatureRow>, StepError> {
        let rows = self
            .client()?
            .query(sql::SELECT_SIGNATURES_OF_CHANGE_SET, &[&cs])
            .await
            .map_err(|e| db_failed(&e))?;
        rows.iter()
            .map(|r| {
                let cols = dot_signing::SignatureColumns {
                    id: r.try_get(0)?,
                    signature_kind: r.try_get(1)?,
                    payload_envelope: r.try_get(2)?,
                    payload_hash: r.try_get(3)?,
                    signature_payload: r.try_get(4)?,
                    signed_at: r.try_get(5)?,
                    signer_dot_id: r.try_get(6)?,
                    signer_tool_revision: r.try_get(7)?,
                    credential_ref: r.try_get(8)?,
                    change_set_id: r.try_get(9)?,
                    verifies_signature_id: r.try_get(10)?,
                };
                Ok(cols)
            })
            .map(|c: std::result::Result<_, tokio_postgres::Error>| {
                let cols = c.map_err(|e| db_failed(&e))?;
                dot_signing::SignatureRow::from_columns(cols)
                    .map_err(|e| StepError::Failed(e.to_string()))
            })
            .collect()
    }

    async fn verify(
        &mut self,
        v: &VerifyStep,
    ) -> std::result::Result<VerifyObservation, StepError> {
        self.ensure_listener().await?;
        let cs_id = self.cs(&v.change_set)?.id;
        let client = self.client()?;
        if v.tamper_payload {
            client
                .execute(sql::TAMPER_ENVELOPES_OF_CHANGE_SET, &[&cs_id])
                .await
                .map_err(|e| db_failed(&e))?;
        }
        if v.drop_signature {
            client
                .execute(sql::DELETE_VERIFIER_SIGNATURES_OF_CHANGE_SET, &[&cs_id])
                .await
                .map_err(|e| db_failed(&e))?;
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
            Some(k) if !crate::fault::sabotaged!("wrong_key_ignored") => k,
            _ => &self.suite.keys,
        };
        for (dot, row) in [(992, exec), (991, verif)] {
            let registered = self.registered_revision(dot).await?;
            let res = dot_signing::verify(row, keys, &registered);
            outcomes.push(res.kind());
            if let Some(kind) = res.signal_kind() {
                let k: SignalKind = kind
                    .parse()
                    .map_err(|e: cutter_signals::Error| e.to_string())?;
                if k == SignalKind::DotPairDrift {
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
                signals.push(EmittedSignal {
                    kind: sig.kind,
                    routed_to: sig.routed_to,
                    emitter_dot_id: sig.emitter_dot_id,
                });
            }
        }
        let state = if drift {
            self.client()?
                .execute(sql::MARK_CHANGE_SET_INVALID_DRIFT, &[&cs_id])
                .await
                .map_err(|e| db_failed(&e))?;
            "invalid_drift"
        } else if outcomes.iter().all(|o| *o == VerificationKind::Valid) {
            self.client()?
                .execute(sql::MARK_CHANGE_SET_VERIFIED, &[&cs_id])
                .await
                .map_err(|e| db_failed(&e))?;
            "verified"
        } else {
            "draft"
        };
        let db_state: String = self
            .client()?
            .query_one(sql::SELECT_CHANGE_SET_STATE, &[&cs_id])
            .await
            .map_err(|e| db_failed(&e))?
            .try_get(0)
            .map_err(|e| db_failed(&e))?;
        if outcomes != v.expect {
            let names = |o: &[VerificationKind]| {
                o.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            };
            return Err(StepError::Failed(format!(
                "verification of change set {} gave {}, expected {}",
                v.change_set,
                names(&outcomes),
                names(&v.expect)
            )));
        }
        // The state read back must be the one the verdict calls for, and the scenario's.
        if db_state != state {
            return Err(StepError::Failed(format!(
                "change set {} is {db_state} in the database after verification, the verdict calls for {state}",
                v.change_set
            )));
        }
        if let Some(want) = v.state {
            if db_state != want.as_str() {
                return Err(StepError::Failed(format!(
                    "change set {} is {db_state} in the database after verification, expected {want}",
                    v.change_set
                )));
            }
        }
        Ok(VerifyObservation {
            outcomes,
            signals_emitted: signals,
        })
    }

    async fn acknowledge(
        &mut self,
        a: &AcknowledgeStep,
    ) -> std::result::Result<AcknowledgeObservation, StepError> {
        let cs = self.cs(&a.change_set)?.id;
        let id = if a.expect == Acknowledgement::UnknownSignal {
            Uuid::new_v4()
        } else {
            let f = cutter_signals::SignalFilter {
                kind: Some(a.kind),
                change_set_id: Some(cs),
                acknowledged: None,
                limit: Some(1),
            };
            let list = cutter_signals::list(self.client()?, &f)
                .await
                .map_err(|e| e.to_string())?;
            list.first().map(|s| s.id).ok_or_else(|| {
                StepError::Failed(format!("no {} signal stored for {}", a.kind, a.change_set))
            })?
        };
        let res = cutter_signals::acknowledge(self.client()?, id, &a.by).await;
        let got = Acknowledgement::of(&res);
        if got != Some(a.expect) {
            return Err(StepError::Failed(format!(
                "acknowledge gave {}, expected {}: {:?}",
                got.map_or("error", Acknowledgement::as_str),
                a.expect,
                res.err().map(|e| e.to_string())
            )));
        }
        let by = res.ok().and_then(|s| s.acknowledged_by);
        if a.expect == Acknowledgement::Ok && by.as_deref() != Some(a.by.as_str()) {
            return Err(StepError::Failed(format!(
                "the {} signal of change set {} is acknowledged by {}, expected {}",
                a.kind,
                a.change_set,
                by.as_deref().unwrap_or("nobody"),
                a.by
            )));
        }
        Ok(AcknowledgeObservation {
            kind: a.kind,
            result: a.expect,
        })
    }
}

//! Migration steps: fingerprints (`snapshot`, `compare`), the P0 runner (`deploy`, `revert`)
//! and the Đ32 approval of a retry (`approve_retry`).

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use crate::fingerprint::{self, ChangeKind, Fingerprint};
use crate::migrate::{self, FailureKind, Injection, Limits, Phase, Status};
use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};

/// `snapshot: NAME`: schema and data fingerprints of the database, kept under NAME.
pub struct SnapshotKind;

impl StepKind for SnapshotKind {
    const NAME: &'static str = "snapshot";
    const READS_ONLY: bool = true;
    type Params = String;
    type Observation = SnapshotObservation;

    async fn run(
        p: &String,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<SnapshotObservation, StepError> {
        let fp = ctx.fingerprint_now().await?;
        ctx.evidence(serde_json::json!({
            "name": p,
            "schema_objects": fp.schema.len(),
            "tables": fp.data.len(),
        }));
        ctx.snapshots.insert(p.clone(), fp);
        Ok(SnapshotObservation { name: p.clone() })
    }
}

/// `deploy`: the P0 plan forward (optionally with an injected failure), its stop as expected.
pub struct DeployKind;

impl StepKind for DeployKind {
    const NAME: &'static str = "deploy";
    const READS_ONLY: bool = false;
    type Params = DeployStep;
    type Observation = DeployObservation;

    async fn run(
        p: &DeployStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<DeployObservation, StepError> {
        ctx.deploy(p).await
    }
}

/// `approve_retry: NAME`: the Đ32 sign-off that lets a failed step be retried.
pub struct ApproveRetryKind;

impl StepKind for ApproveRetryKind {
    const NAME: &'static str = "approve_retry";
    const READS_ONLY: bool = true;
    type Params = String;
    type Observation = ApprovalObservation;

    async fn run(
        p: &String,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<ApprovalObservation, StepError> {
        ctx.runner.approve_retry(p)?;
        // What the runner recorded, read back (not the scenario's words).
        let approved_by = ctx
            .runner
            .approvals()
            .last()
            .map(|a| a.approved_by.clone())
            .ok_or("the runner recorded no approval")?;
        Ok(ApprovalObservation { approved_by })
    }
}

/// `revert`: the P0 plan backwards.
pub struct RevertKind;

impl StepKind for RevertKind {
    const NAME: &'static str = "revert";
    const READS_ONLY: bool = false;
    type Params = RevertStep;
    type Observation = RevertObservation;

    async fn run(
        p: &RevertStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<RevertObservation, StepError> {
        ctx.revert(p).await
    }
}

/// `compare`: two fingerprints (or one and now), their difference as expected.
pub struct CompareKind;

impl StepKind for CompareKind {
    const NAME: &'static str = "compare";
    const READS_ONLY: bool = true;
    type Params = CompareStep;
    type Observation = CompareObservation;

    async fn run(
        p: &CompareStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<CompareObservation, StepError> {
        ctx.compare(p).await
    }
}

/// One phase of one step of a runner call, as the report shows it (evidence: step numbers
/// and names belong to the plan, not to the snapshot).
#[derive(Debug, Serialize)]
pub struct EventEvidence {
    /// The 1-based step.
    pub step: usize,
    pub name: String,
    pub phase: Phase,
    pub status: Status,
    /// The failure's kind, only when the phase failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<FailureKind>,
    pub elapsed_ms: u64,
}

impl EventEvidence {
    fn of(e: &migrate::StepEvent) -> Self {
        EventEvidence {
            step: e.index,
            name: e.step.clone(),
            phase: e.phase,
            status: e.status,
            cause: e.error.as_ref().map(|f| f.kind),
            elapsed_ms: e.elapsed_ms,
        }
    }
}

/// Where and why a deploy stopped, relative to the plan.
#[derive(Debug, Serialize)]
pub struct StopObservation {
    /// The stopped step by its role (`k`, `last`, `first naming …`) when it is the expected
    /// one, else `first`, `last` or `step i of n`.
    pub at: String,
    pub phase: Phase,
    pub cause: FailureKind,
    pub sqlstate: Option<String>,
}

/// What a deploy did: refused before running, or ran (to the end or to a failure-stop).
#[derive(Debug, Serialize)]
pub struct DeployObservation {
    pub outcome: DeployOutcomeKind,
    /// The refusal's error kind (only when refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<&'static str>,
    /// Where it stopped (only when it stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopObservation>,
    /// The server's record (only when the scenario asks for it): how many times the server
    /// ran the stopped step's verify (the runner's events say once; a silent retry shows 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_record: Option<ServerRecordObservation>,
}

/// The server's own record of a deploy, as far as it holds for every plan.
#[derive(Debug, Serialize)]
pub struct ServerRecordObservation {
    pub stopped_step_verify_runs: usize,
}

/// What a revert did, as far as it holds for every plan: the no-op verdict and the archive
/// only when the scenario asserts them (whether a plan's step leaves rows is the plan's own).
#[derive(Debug, Serialize)]
pub struct RevertObservation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noop: Option<bool>,
}

/// Two fingerprints compared: equal or different (the lists of what changed are evidence),
/// and how each table the scenario itself changed differs.
#[derive(Debug, Serialize)]
pub struct CompareObservation {
    pub with: String,
    /// `equal` or `differs`.
    pub schema: Equality,
    /// `equal`, `differs` or `ignore`.
    pub data: Equality,
    /// Only when the scenario asks for it: `equal` or `differs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_objects: Option<Equality>,
    /// Only for the tables the scenario names in `data_changed`: how each differs
    /// (`rows equal, content differs`, `rows +1`, ...).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub data_changed: BTreeMap<String, String>,
}

fn equality(eq: bool) -> Equality {
    if eq {
        Equality::Equal
    } else {
        Equality::Differs
    }
}

impl Ctx<'_> {
    /// With writers running: the server clock before a deploy or revert (its window's start).
    async fn window_start(&self) -> std::result::Result<Option<i64>, StepError> {
        match (&self.writers, &self.client) {
            (Some(_), Some(c)) => Ok(Some(super::writers::clock_us(c).await?)),
            _ => Ok(None),
        }
    }

    /// With writers running: record the window from `start` to the server clock now.
    async fn window_end(
        &mut self,
        phase: WindowPhase,
        start: Option<i64>,
    ) -> std::result::Result<(), StepError> {
        if let (Some(start), Some(c)) = (start, &self.client) {
            let end = super::writers::clock_us(c).await?;
            if let Some(w) = self.writers.as_mut() {
                w.window(phase, start, end);
            }
        }
        Ok(())
    }

    async fn deploy(
        &mut self,
        d: &DeployStep,
    ) -> std::result::Result<DeployObservation, StepError> {
        let mut limits = Limits::default();
        if let Some(l) = d.lock_timeout_ms {
            limits.lock_timeout_ms = l;
        }
        if let Some(s) = d.statement_timeout_ms {
            limits.statement_timeout_ms = s;
        }
        match &d.limits_step {
            Some(r) => {
                let k = self.resolve_step(r)?;
                self.runner.limits = Limits::default();
                self.runner.step_limits = Some((k, limits));
            }
            None => {
                self.runner.limits = limits;
                self.runner.step_limits = None;
            }
        }
        let inj = d.inject.as_ref().map(|i| self.injection(i)).transpose()?;
        let upto = d.upto.as_ref().map(|r| self.resolve(r)).transpose()?;
        let want_stop = d
            .expect
            .stop_step
            .as_ref()
            .map(|r| self.resolve_step(r).map(|k| (r, k)))
            .transpose()?;
        let n = self.plan_len();
        let start = self.window_start().await?;
        let client = self.client.as_ref().ok_or("deploy needs a database")?;
        let since = chrono::Utc::now().timestamp() - 1;
        let res = self.runner.deploy(client, upto, inj.as_ref()).await;
        self.window_end(WindowPhase::Deploy, start).await?;
        // The server's own record of what this deploy ran must match its events (CTE-01).
        let record = self.server_record(since).await?;
        let events_of = res.as_ref().map(|o| o.events.as_slice()).unwrap_or(&[]);
        crate::serverlog::check(events_of, &record)?;
        // Readable events for a failure message: `step 4 04_cut_unit deploy: noop`.
        let events_text = match &res {
            Ok(o) => o
                .events
                .iter()
                .map(|e| format!("step {} {} {}: {}", e.index, e.step, e.phase, e.status))
                .collect::<Vec<_>>()
                .join("; "),
            Err(e) => err_text(e),
        };
        let mut obs = DeployObservation {
            outcome: DeployOutcomeKind::Refused,
            error_kind: None,
            stop: None,
            server_record: None,
        };
        let mut stop_index = None;
        match res {
            Err(e) => obs.error_kind = Some(e.kind.as_str()),
            Ok(o) => {
                if let Some(s) = &o.stopped {
                    self.extra.failure_stops.push(s.to_string());
                }
                obs.outcome = if o.stopped.is_some() {
                    DeployOutcomeKind::Stopped
                } else {
                    DeployOutcomeKind::Applied
                };
                self.evidence(serde_json::json!({
                    "applied": o.applied,
                    "stop": o.stopped.as_ref().map(|s| format!("step {} {} {}: {}", s.index, s.step, s.phase, s.cause.kind)),
                    "events": o.events.iter().map(EventEvidence::of).collect::<Vec<_>>(),
                    "server_record": record.iter().map(|s| s.label()).collect::<Vec<_>>(),
                }));
                obs.stop = o.stopped.map(|s| {
                    stop_index = Some(s.index);
                    StopObservation {
                        at: crate::scenario::stepref::relative(s.index, n, want_stop),
                        phase: s.phase,
                        cause: s.cause.kind,
                        sqlstate: s.cause.sqlstate,
                    }
                });
            }
        }
        if d.server_record {
            let runs = stop_index.map_or(0, |k| {
                record
                    .iter()
                    .filter(|r| {
                        r.index == k && r.part == 1 && r.run == crate::serverlog::Run::Verify
                    })
                    .count()
            });
            obs.server_record = Some(ServerRecordObservation {
                stopped_step_verify_runs: runs,
            });
        }
        let want = d.expect.outcome;
        // The stop's own words first (step, phase, cause, server message), then the events.
        let stop_text = self
            .runner
            .stopped()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "no failure-stop".into());
        if obs.outcome != want {
            return Err(StepError::Failed(format!(
                "deploy {}, expected {want}: {stop_text}; events: {events_text}",
                obs.outcome
            )));
        }
        if let Some((r, k)) = want_stop {
            if stop_index != Some(k) {
                let at = stop_index.map_or("none".to_string(), |s| format!("step {s}"));
                return Err(StepError::Failed(format!(
                    "deploy stopped at {at}, expected `{r}` = step {k} of {n}: {stop_text}"
                )));
            }
        }
        if let Some(c) = d.expect.cause {
            let got = obs.stop.as_ref().map(|s| s.cause);
            if got != Some(c) {
                let got = got.map_or("none", |g| g.as_str());
                return Err(StepError::Failed(format!(
                    "failure cause {got}, expected {c}: {stop_text}"
                )));
            }
        }
        // An applied deploy leaves every step up to its limit applied (and verified).
        if obs.outcome == DeployOutcomeKind::Applied {
            let ledger = self.runner.applied();
            let names = self.runner.plan.step_names();
            let missing: Vec<&String> = names
                .iter()
                .take(upto.unwrap_or(n))
                .filter(|s| !ledger.contains(s))
                .collect();
            if !missing.is_empty() {
                return Err(StepError::Failed(format!(
                    "deploy applied, but these steps are not applied and verified: {missing:?}; events: {events_text}"
                )));
            }
        }
        Ok(obs)
    }

    /// A scenario's injection with its step resolved against the plan.
    fn injection(&self, i: &Inject) -> std::result::Result<Injection, String> {
        let k = self.resolve_step(i.step())?;
        Ok(match i {
            Inject::FailBefore(_) => Injection::FailBefore(k),
            Inject::FailInside(_) => Injection::FailInside(k),
            Inject::VerifyFails(_) => Injection::VerifyFails(k),
            Inject::SleepInside { seconds, .. } => Injection::SleepInside {
                step: k,
                seconds: *seconds,
            },
        })
    }

    /// The server's record of the runner's latest call: its end marker logged, the server log
    /// read back up to it ([`crate::serverlog`]).
    async fn server_record(
        &self,
        since: i64,
    ) -> std::result::Result<Vec<crate::serverlog::ServerStatement>, StepError> {
        let client = self.client()?;
        let pg = match (&self.own, self.suite.baseline.get()) {
            (Some(p), _) => p,
            (None, Some(b)) => &b.pg,
            (None, None) => return Err(StepError::from("no server for this scenario")),
        };
        let marker = self.runner.mark_server_log(client).await?;
        let log = pg
            .log_until(since, &marker, std::time::Duration::from_secs(120))
            .await?;
        Ok(crate::serverlog::parse(&log, &self.runner.call_tag()))
    }

    async fn revert(
        &mut self,
        r: &RevertStep,
    ) -> std::result::Result<RevertObservation, StepError> {
        let archive = self.tmp.path().join(format!(
            "governance-archive-{}.jsonl",
            Uuid::new_v4().simple()
        ));
        let start = self.window_start().await?;
        let client = self.client.as_ref().ok_or("revert needs a database")?;
        let since = chrono::Utc::now().timestamp() - 1;
        let o = self.runner.revert(client, Some(&archive)).await;
        self.window_end(WindowPhase::Revert, start).await?;
        let o = o?;
        let record = self.server_record(since).await?;
        crate::serverlog::check(&o.events, &record)?;
        if let Some(s) = &o.stopped {
            return Err(StepError::Failed(format!("revert stopped: {s}")));
        }
        if let Some(n) = r.expect_noop {
            if o.noop != n {
                return Err(StepError::Failed(format!(
                    "revert noop = {}, expected {n}",
                    o.noop
                )));
            }
        }
        if let Some(a) = &o.archive {
            self.extra.artefacts.push((
                format!("governance archive ({})", self.file.scenario.id),
                a.sha256.clone(),
            ));
        }
        self.evidence(serde_json::json!({
            "noop": o.noop,
            "archive_rows": o.archive.as_ref().map(|a| a.tables.clone()),
            "archive_sha256": o.archive.as_ref().map(|a| a.sha256.clone()),
            "events": o.events.iter().map(EventEvidence::of).collect::<Vec<_>>(),
        }));
        // Asked for: an archive written, its SHA-256 (listed among the artefacts) 64 hex digits.
        match (&o.archive, r.archive) {
            (None, true) => return Err("expected governance rows to be archived before the drop, but no archive was written".into()),
            (Some(a), true) => {
                let hex = a.sha256.len() == 64 && a.sha256.bytes().all(|b| b.is_ascii_hexdigit());
                if !hex {
                    return Err(StepError::Failed(format!(
                        "the governance archive's SHA-256 {:?} is not 64 hex digits",
                        a.sha256
                    )));
                }
            }
            (_, false) => {}
        }
        Ok(RevertObservation {
            noop: r.expect_noop.map(|_| o.noop),
        })
    }

    async fn compare(
        &mut self,
        c: &CompareStep,
    ) -> std::result::Result<CompareObservation, StepError> {
        let base = self
            .snapshots
            .get(&c.with)
            .ok_or_else(|| format!("no snapshot named {}", c.with))?
            .clone();
        let now = self.fingerprint_now().await?;
        let own = self.runner.plan.schema.clone();
        let keep = |s: &str, t: &str| {
            let name = format!("{s}.{t}");
            let plan_own = c.data_except_plan && s == own;
            !plan_own
                && !c.data_except.contains(&name)
                && (c.data_schemas.is_empty() || c.data_schemas.iter().any(|x| x == s))
        };
        // Negative control (fault.rs): compare row counts only.
        let counts_only = |mut d: fingerprint::DataFingerprint| {
            if crate::fault::sabotaged!("content_counts_only") {
                d.tables.values_mut().for_each(|t| t.content_sha256 = None);
            }
            d
        };
        let a = Fingerprint {
            schema: base.schema.clone(),
            data: counts_only(base.data.restrict(keep)),
        };
        let b = Fingerprint {
            schema: now.schema.clone(),
            data: counts_only(now.data.restrict(keep)),
        };
        let diff = a.diff(&b);
        let schema_eq = diff.schema.is_empty();
        let data_eq = diff.data.is_empty();
        let check = |want: Equality, eq: bool, what: &str| -> std::result::Result<(), String> {
            match (want, eq) {
                (Equality::Equal, false) => Err(format!(
                    "{what} fingerprint differs from snapshot {}:\n{}",
                    c.with, diff
                )),
                (Equality::Differs, true) => Err(format!(
                    "{what} fingerprint equals snapshot {}, expected a difference",
                    c.with
                )),
                _ => Ok(()),
            }
        };
        let undetected: Vec<&str> = c
            .data_changed
            .iter()
            .map(String::as_str)
            .filter(|t| {
                !diff
                    .data
                    .iter()
                    .any(|d| format!("{}.{}", d.schema, d.table) == *t)
            })
            .collect();
        if !undetected.is_empty() {
            return Err(StepError::Failed(format!(
                "the data fingerprint comparison did not detect the change of {} since snapshot {}",
                undetected.join(", "),
                c.with
            )));
        }
        check(c.schema, schema_eq, "schema")?;
        check(c.data, data_eq, "data")?;
        let existing = match c.existing_objects {
            None => None,
            Some(want) => Some(existing_objects(c, want, &base, &now, &diff)?),
        };
        let sigil = |k: ChangeKind| match k {
            ChangeKind::Added => "+",
            ChangeKind::Removed => "-",
            ChangeKind::Changed => "~",
        };
        let schema_changes: Vec<String> = diff
            .schema
            .iter()
            .map(|s| format!("{} {} {}", sigil(s.kind), s.object_kind, s.identity))
            .collect();
        // Row counts of a changed table as a delta, so the line is the same fact at every
        // scale; a table that appeared or went keeps its count.
        let rows = |d: &fingerprint::DataChange| match (&d.before, &d.after) {
            (Some(b), Some(a)) if a.row_count == b.row_count => {
                "rows equal, content differs".to_string()
            }
            (Some(b), Some(a)) => format!("rows {:+}", a.row_count - b.row_count),
            (None, Some(a)) => format!("rows {}", a.row_count),
            (Some(b), None) => format!("rows {}", b.row_count),
            (None, None) => "rows -".to_string(),
        };
        let data_changes: Vec<String> = diff
            .data
            .iter()
            .map(|d| format!("{} {}.{} {}", sigil(d.kind), d.schema, d.table, rows(d)))
            .collect();
        let data_changed: BTreeMap<String, String> = diff
            .data
            .iter()
            .filter_map(|d| {
                let name = format!("{}.{}", d.schema, d.table);
                c.data_changed.contains(&name).then(|| (name, rows(d)))
            })
            .collect();
        self.evidence(serde_json::json!({
            "with": c.with,
            "schema_changes": schema_changes,
            "data_changes": data_changes,
        }));
        Ok(CompareObservation {
            with: c.with.clone(),
            schema: equality(schema_eq),
            data: if c.data == Equality::Ignore {
                Equality::Ignore
            } else {
                equality(data_eq)
            },
            existing_objects: existing,
            data_changed,
        })
    }
}

/// `existing_objects` of a compare: the schema changes outside the schemas that are new since
/// the snapshot (objects of pre-existing schemas, and unqualified ones such as extensions).
/// `equal` fails naming each such object; returns [`Equality::Equal`] or [`Equality::Differs`].
fn existing_objects(
    c: &CompareStep,
    want: Equality,
    base: &Fingerprint,
    now: &Fingerprint,
    diff: &fingerprint::FingerprintDiff,
) -> std::result::Result<Equality, String> {
    let schemas = |f: &Fingerprint| -> std::collections::BTreeSet<String> {
        f.schema
            .objects
            .keys()
            .filter(|(k, _)| k == "schema")
            .map(|(_, i)| i.clone())
            .collect()
    };
    let new: Vec<String> = schemas(now).difference(&schemas(base)).cloned().collect();
    // An object is in a new schema when its identity is the schema itself or is qualified by
    // it (`s.x`, or `table s.x` for comments, privileges and other objects).
    let in_new = |ident: &str| {
        new.iter().any(|s| {
            ident == s
                || ident.starts_with(&format!("{s}."))
                || ident.ends_with(&format!(" {s}"))
                || ident.contains(&format!(" {s}."))
        })
    };
    let outside: Vec<String> = diff
        .schema
        .iter()
        .filter(|ch| !in_new(&ch.identity))
        .map(|ch| {
            let sigil = match ch.kind {
                ChangeKind::Added => "added",
                ChangeKind::Removed => "removed",
                ChangeKind::Changed => "changed",
            };
            format!("{sigil} {} {}", ch.object_kind, ch.identity)
        })
        .collect();
    let eq = outside.is_empty();
    match (want, eq) {
        (Equality::Equal, false) => Err(format!(
            "{} object(s) outside the new schema(s) [{}] changed since snapshot {} (a pre-existing object was altered):\n{}",
            outside.len(),
            new.join(", "),
            c.with,
            outside.join("\n")
        )),
        (Equality::Differs, true) => Err(format!(
            "no object outside the new schema(s) changed since snapshot {}, expected a difference",
            c.with
        )),
        _ => Ok(equality(eq)),
    }
}

/// A named fingerprint was taken (its sizes are evidence).
#[derive(Debug, Serialize)]
pub struct SnapshotObservation {
    pub name: String,
}

/// A retry approval as the runner recorded it (the step fails when the runner refuses it).
#[derive(Debug, Serialize)]
pub struct ApprovalObservation {
    pub approved_by: String,
}

//! Migration steps: fingerprints (`snapshot`, `compare`), the P0 runner (`deploy`, `revert`)
//! and the Đ32 approval of a retry (`approve_retry`).

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use crate::fingerprint::{self, ChangeKind, Fingerprint};
use crate::migrate::{self, FailureKind, Injection, Limits, Phase, Status};
use crate::scenario::env::*;
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
        let v = SnapshotObservation {
            name: p.clone(),
            schema_objects: fp.schema.len(),
            tables: fp.data.len(),
        };
        ctx.snapshots.insert(p.clone(), fp);
        Ok(v)
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
        Ok(ApprovalObservation {
            approved_by: p.clone(),
            recorded: true,
        })
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

/// One phase of one step of a runner call, as the snapshot shows it.
#[derive(Debug, Serialize)]
pub struct EventObservation {
    /// The 1-based step.
    pub step: usize,
    pub phase: Phase,
    pub status: Status,
    /// The failure's kind, only when the phase failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<FailureKind>,
}

impl EventObservation {
    fn of(e: &migrate::StepEvent) -> Self {
        EventObservation {
            step: e.index,
            phase: e.phase,
            status: e.status,
            cause: e.error.as_ref().map(|f| f.kind),
        }
    }
}

/// Where and why a deploy stopped.
#[derive(Debug, Serialize)]
pub struct StopObservation {
    /// The 1-based step.
    pub step: usize,
    pub name: String,
    pub phase: Phase,
    pub cause: FailureKind,
    pub sqlstate: Option<String>,
}

/// What a deploy did: refused before running, or ran (to the end or to a failure-stop).
#[derive(Debug, Serialize)]
pub struct DeployObservation {
    pub outcome: DeployOutcomeKind,
    #[serde(flatten)]
    pub result: DeployResult,
    /// The server's record of the statements it ran (only when the scenario asks for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_record: Option<Vec<String>>,
}

/// The part of a [`DeployObservation`] that depends on whether the runner ran at all.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum DeployResult {
    /// Refused before running anything, with the refusal's error kind.
    Refused { error_kind: &'static str },
    /// Ran: its events, the steps it applied, and its stop (none when applied).
    Ran {
        events: Vec<EventObservation>,
        applied: Vec<String>,
        stop: Option<StopObservation>,
    },
}

impl DeployResult {
    fn stop(&self) -> Option<&StopObservation> {
        match self {
            DeployResult::Refused { .. } => None,
            DeployResult::Ran { stop, .. } => stop.as_ref(),
        }
    }
}

/// The governance archive a revert wrote before dropping the schema.
#[derive(Debug, Serialize)]
pub struct ArchiveObservation {
    /// Rows per table.
    pub tables: BTreeMap<String, usize>,
    pub sha256_recorded: bool,
}

/// What a revert did.
#[derive(Debug, Serialize)]
pub struct RevertObservation {
    pub noop: bool,
    pub events: Vec<EventObservation>,
    pub archive: Option<ArchiveObservation>,
}

/// The data changes of a compare: listed, or `ignored` when the scenario ignores data.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataChanges {
    Ignored,
    #[serde(untagged)]
    Listed(Vec<String>),
}

/// Two fingerprints compared: equal or different, and what changed.
#[derive(Debug, Serialize)]
pub struct CompareObservation {
    pub with: String,
    /// `equal` or `differs`.
    pub schema: Equality,
    /// `equal` or `differs`.
    pub data: Equality,
    pub schema_changes: Vec<String>,
    pub data_changes: DataChanges,
    /// Only when the scenario asks for it: `equal` or `differs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_objects: Option<Equality>,
}

fn equality(eq: bool) -> Equality {
    if eq {
        Equality::Equal
    } else {
        Equality::Differs
    }
}

impl Ctx<'_> {
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
        match d.limits_step {
            Some(k) => {
                self.runner.limits = Limits::default();
                self.runner.step_limits = Some((k, limits));
            }
            None => {
                self.runner.limits = limits;
                self.runner.step_limits = None;
            }
        }
        let inj = d.inject.as_ref().map(to_injection);
        let client = self.client.as_ref().ok_or("deploy needs a database")?;
        let since = chrono::Utc::now().timestamp() - 1;
        let res = self.runner.deploy(client, d.upto, inj.as_ref()).await;
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
        let (outcome, result) = match res {
            Err(e) => (
                DeployOutcomeKind::Refused,
                DeployResult::Refused { error_kind: e.kind },
            ),
            Ok(o) => {
                if let Some(s) = &o.stopped {
                    self.extra.failure_stops.push(s.to_string());
                }
                let outcome = if o.stopped.is_some() {
                    DeployOutcomeKind::Stopped
                } else {
                    DeployOutcomeKind::Applied
                };
                let stop = o.stopped.map(|s| StopObservation {
                    step: s.index,
                    name: s.step,
                    phase: s.phase,
                    cause: s.cause.kind,
                    sqlstate: s.cause.sqlstate,
                });
                (
                    outcome,
                    DeployResult::Ran {
                        events: o.events.iter().map(EventObservation::of).collect(),
                        applied: o.applied,
                        stop,
                    },
                )
            }
        };
        let obs = DeployObservation {
            outcome,
            result,
            server_record: d
                .server_record
                .then(|| record.iter().map(|s| s.label()).collect()),
        };
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
        let stop = obs.result.stop();
        if let Some(k) = d.expect.stop_step {
            if stop.map(|s| s.step) != Some(k) {
                let at = stop.map_or("none".to_string(), |s| s.step.to_string());
                return Err(StepError::Failed(format!(
                    "deploy stopped at step {at}, expected {k}: {stop_text}"
                )));
            }
        }
        if let Some(c) = d.expect.cause {
            if stop.map(|s| s.cause) != Some(c) {
                let got = stop.map_or("none", |s| s.cause.as_str());
                return Err(StepError::Failed(format!(
                    "failure cause {got}, expected {c}: {stop_text}"
                )));
            }
        }
        Ok(obs)
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
        let client = self.client.as_ref().ok_or("revert needs a database")?;
        let since = chrono::Utc::now().timestamp() - 1;
        let o = self.runner.revert(client, Some(&archive)).await?;
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
        let archive_obs = o.archive.as_ref().map(|a| {
            self.extra.artefacts.push((
                format!("governance archive ({})", self.file.scenario.id),
                a.sha256.clone(),
            ));
            ArchiveObservation {
                tables: a.tables.clone(),
                sha256_recorded: a.sha256.len() == 64,
            }
        });
        if r.archive && archive_obs.is_none() {
            return Err("expected governance rows to be archived before the drop, but no archive was written".into());
        }
        Ok(RevertObservation {
            noop: o.noop,
            events: o.events.iter().map(EventObservation::of).collect(),
            archive: archive_obs,
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
        let keep = |s: &str, t: &str| {
            let name = format!("{s}.{t}");
            !c.data_except.contains(&name)
                && (c.data_schemas.is_empty() || c.data_schemas.iter().any(|x| x == s))
        };
        // Negative control (fault.rs): compare row counts only.
        let counts_only = |mut d: fingerprint::DataFingerprint| {
            if crate::fault::sabotaged("content_counts_only") {
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
        let data_changes: Vec<String> = diff
            .data
            .iter()
            .map(|d| {
                // Row counts of a changed table as a delta, so the line is the same fact at
                // every fixture scale; a table that appeared or went keeps its count.
                let rows = match (&d.before, &d.after) {
                    (Some(b), Some(a)) if a.row_count == b.row_count => {
                        "rows equal, content differs".to_string()
                    }
                    (Some(b), Some(a)) => {
                        format!("rows {:+}", a.row_count - b.row_count)
                    }
                    (None, Some(a)) => format!("rows {}", a.row_count),
                    (Some(b), None) => format!("rows {}", b.row_count),
                    (None, None) => "rows -".to_string(),
                };
                format!("{} {}.{} {rows}", sigil(d.kind), d.schema, d.table)
            })
            .collect();
        Ok(CompareObservation {
            with: c.with.clone(),
            schema: equality(schema_eq),
            data: equality(data_eq),
            schema_changes,
            data_changes: if c.data == Equality::Ignore {
                DataChanges::Ignored
            } else {
                DataChanges::Listed(data_changes)
            },
            existing_objects: existing,
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

fn to_injection(i: &Inject) -> Injection {
    match i {
        Inject::FailBefore(k) => Injection::FailBefore(*k),
        Inject::FailInside(k) => Injection::FailInside(*k),
        Inject::VerifyFails(k) => Injection::VerifyFails(*k),
        Inject::SleepInside { step, seconds } => Injection::SleepInside {
            step: *step,
            seconds: *seconds,
        },
    }
}

/// The size of a named fingerprint.
#[derive(Debug, Serialize)]
pub struct SnapshotObservation {
    pub name: String,
    pub schema_objects: usize,
    pub tables: usize,
}

/// A retry approval, recorded by the runner (the step fails when the runner refuses it).
#[derive(Debug, Serialize)]
pub struct ApprovalObservation {
    pub approved_by: String,
    pub recorded: bool,
}

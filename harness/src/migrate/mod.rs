//! Sqitch-shaped runner of migration P0 (`migrations/p0`): deploy / verify / revert per step.
//! Owns failure-stop (CTE-01): the first failure stops the run with its cause; only an approval resumes.

pub mod events;
pub mod plan;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use tokio_postgres::Client;

use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::fingerprint::sha256_hex;
use crate::serverlog::{self, Run};

pub use events::*;
use events::{as_verify_failure, INJECT_BEFORE, INJECT_INSIDE, INJECT_VERIFY};
pub use plan::*;

#[derive(Clone, Copy, PartialEq, Eq)]
enum TxMode {
    ReadWrite,
    ReadOnly,
}

/// Runs the plan step by step with failure-stop.
///
/// * **Deploy** applies steps in plan order. A step is *already applied* when this runner's
///   ledger says so, or, when the ledger does not know it (fresh runner, or a previous
///   process), when its verify passes at the start of the step; such steps get status
///   `NoOp`. Otherwise the step runs as `BEGIN; SET LOCAL lock_timeout; SET LOCAL
///   statement_timeout; <deploy>; COMMIT`, then its verify in a read-only transaction.
/// * **Failure-stop**: the first failure ends the call with its cause (`stopped`); later
///   steps are `Skipped`. While a stop is active `deploy` refuses (`failure_stop_active`)
///   until [`Runner::approve_retry`] records a named approval. Nothing retries on its own.
/// * **Revert** runs every step's revert in reverse plan order (all of them: they are
///   idempotent), after archiving any governance rows. It is allowed after a deploy
///   failure-stop (it is the way back), but not after a failed revert without approval.
pub struct Runner {
    pub plan: Plan,
    pub limits: Limits,
    /// Limits for one 1-based step's deploy transaction instead of `limits` (a scenario that
    /// makes one step time out leaves the other steps, and every verify, at `limits`).
    pub step_limits: Option<(usize, Limits)>,
    approvals: Vec<Approval>,
    events: Vec<StepEvent>,
    stopped: Option<FailureStop>,
    /// Ledger: `applied[i]` = step i+1 deployed and verified (or verified at start).
    applied: Vec<bool>,
    /// Random per runner: tags its statements in the server log ([`serverlog`]).
    nonce: String,
    /// Deploy and revert calls so far (the tag's `<call>`).
    calls: u64,
}

impl Runner {
    pub fn new(plan: Plan, limits: Limits) -> Runner {
        let n = plan.steps.len();
        Runner {
            plan,
            limits,
            step_limits: None,
            approvals: Vec::new(),
            events: Vec::new(),
            stopped: None,
            applied: vec![false; n],
            nonce: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            calls: 0,
        }
    }

    /// The tag's `<nonce>.<call>` of the latest deploy or revert call (also of a refused one:
    /// the server then has no statement of it).
    pub fn call_tag(&self) -> String {
        format!("{}.{}", self.nonce, self.calls)
    }

    fn next_call(&mut self) {
        self.calls += 1;
    }

    /// Log the end marker of the latest call through `client` (after everything the call ran)
    /// and return the text to wait for in the server log.
    pub async fn mark_server_log(&self, client: &Client) -> Result<String> {
        let (sql, text) = serverlog::end_marker(&self.call_tag());
        let r = async {
            client
                .batch_execute("BEGIN READ ONLY; SET LOCAL log_statement = 'all'")
                .await?;
            client.batch_execute(&sql).await?;
            client.batch_execute("COMMIT").await
        }
        .await;
        if let Err(e) = r {
            let f = classify_db_error(&e);
            if !e.is_closed() {
                let _ = client.batch_execute("ROLLBACK").await;
            }
            return Err(Error::new(
                ErrorKind::ServerLogMarker,
                format!("Logging the end marker of the runner's call failed: {f}."),
            ));
        }
        Ok(text)
    }

    /// Every event of every call, in order.
    pub fn events(&self) -> &[StepEvent] {
        &self.events
    }
    pub fn approvals(&self) -> &[Approval] {
        &self.approvals
    }
    pub fn stopped(&self) -> Option<&FailureStop> {
        self.stopped.as_ref()
    }
    /// Names of the steps the ledger considers applied, in plan order.
    pub fn applied(&self) -> Vec<String> {
        self.plan
            .steps
            .iter()
            .zip(&self.applied)
            .filter(|(_, a)| **a)
            .map(|(s, _)| s.name.clone())
            .collect()
    }
    /// Re-establish a failure-stop recorded by an earlier process (e.g. from a state file),
    /// so that this runner also refuses until approved.
    pub fn restore_stop(&mut self, stop: FailureStop) {
        self.stopped = Some(stop);
    }

    /// Record `approved_by`'s approval to retry the stopped step and clear the stop. The retry
    /// itself only happens when the caller runs `deploy` (or `revert`) again.
    pub fn approve_retry(&mut self, approved_by: &str) -> Result<()> {
        let who = approved_by.trim();
        if who.is_empty() {
            return Err(Error::new(
                ErrorKind::ApprovalRequiresName,
                "A retry approval needs the name of the person approving it; an empty name was given.",
            )
            .with_hint("Pass --retry-approved-by <name>."));
        }
        let Some(stop) = self.stopped.take() else {
            return Err(Error::new(
                ErrorKind::NoFailureStop,
                format!("There is no failure-stop to approve (approval by {who} not recorded)."),
            ));
        };
        tracing::info!(step = %stop.step, approved_by = who, "retry approved after failure-stop");
        self.approvals.push(Approval {
            step: stop.step,
            approved_by: who.to_string(),
        });
        Ok(())
    }

    fn refuse(stop: &FailureStop, action: &str) -> Error {
        Error::new(
            ErrorKind::FailureStopActive,
            format!("Refusing to {action}: the previous run stopped at {stop}."),
        )
        .with_hint(
            "Investigate the cause, then approve the retry by name (--retry-approved-by <name>).",
        )
    }

    /// Run `parts` as one transaction with the limits. On error: roll back (errors of the
    /// rollback itself are ignored: the first error is the cause) and return the error.
    async fn exec_tx(
        &self,
        client: &Client,
        mode: TxMode,
        (index, run): (usize, Run),
        parts: &[&str],
    ) -> std::result::Result<(), tokio_postgres::Error> {
        self.exec_tx_limited(client, mode, (index, run), parts, self.limits)
            .await
    }

    /// The limits of step `index`'s deploy transaction.
    fn deploy_limits(&self, index: usize) -> Limits {
        match self.step_limits {
            Some((k, l)) if k == index => l,
            _ => self.limits,
        }
    }

    /// [`Runner::exec_tx`] with explicit limits. Each part goes to the server with its tag
    /// (step `index`, `run`, part i of n) and is logged there (`log_statement = 'all'` for this
    /// transaction only): the server's own record of what ran ([`serverlog`]).
    async fn exec_tx_limited(
        &self,
        client: &Client,
        mode: TxMode,
        (index, run): (usize, Run),
        parts: &[&str],
        limits: Limits,
    ) -> std::result::Result<(), tokio_postgres::Error> {
        let begin = match mode {
            TxMode::ReadWrite => "BEGIN",
            TxMode::ReadOnly => "BEGIN READ ONLY",
        };
        let head = format!(
            "{begin}; SET LOCAL lock_timeout = '{}ms'; SET LOCAL statement_timeout = '{}ms'; \
             SET LOCAL log_statement = 'all'",
            limits.lock_timeout_ms, limits.statement_timeout_ms
        );
        let call = self.call_tag();
        let mut result = client.batch_execute(&head).await;
        if result.is_ok() {
            for (k, p) in parts.iter().enumerate() {
                let tagged = format!(
                    "{}{p}",
                    serverlog::tag(&call, index, run, k + 1, parts.len())
                );
                result = client.batch_execute(&tagged).await;
                if result.is_err() {
                    break;
                }
            }
        }
        if result.is_ok() {
            result = client.batch_execute("COMMIT").await;
        }
        if let Err(e) = &result {
            if !e.is_closed() {
                if let Err(rb) = client.batch_execute("ROLLBACK").await {
                    tracing::debug!(error = %rb, "rollback after a failed step also failed");
                }
            }
        }
        result
    }

    fn event(
        step: &Step,
        index: usize,
        phase: Phase,
        status: Status,
        error: Option<DbFailure>,
        started: Option<Instant>,
    ) -> StepEvent {
        StepEvent {
            step: step.name.clone(),
            index,
            phase,
            status,
            error,
            elapsed_ms: started.map_or(0, |t| t.elapsed().as_millis() as u64),
        }
    }

    /// Record a failed phase of a step: a log line (info), a `Failed` event and the failure-stop.
    fn fail(
        step: &Step,
        index: usize,
        phase: Phase,
        cause: DbFailure,
        started: Instant,
        events: &mut Vec<StepEvent>,
    ) -> FailureStop {
        // A result, not a warning: scenarios provoke failure-stops on purpose, and the report
        // and the console carry any unexpected one as a failed scenario.
        tracing::info!(step = %step.name, ?phase, cause = %cause, "failure-stop");
        events.push(Self::event(
            step,
            index,
            phase,
            Status::Failed,
            Some(cause.clone()),
            Some(started),
        ));
        FailureStop {
            step: step.name.clone(),
            index,
            phase,
            cause,
        }
    }

    fn check_injection(&self, injection: Option<&Injection>) -> Result<()> {
        let Some(inj) = injection else { return Ok(()) };
        let n = self.plan.steps.len();
        let k = inj.step();
        if k == 0 || k > n {
            return Err(Error::new(
                ErrorKind::BadInjection,
                format!("Injection {inj:?} targets step {k}, but the plan has steps 1..={n}."),
            ));
        }
        if let Injection::SleepInside { seconds, .. } = inj {
            if !seconds.is_finite() || *seconds < 0.0 {
                return Err(Error::new(
                    ErrorKind::BadInjection,
                    format!("Injection {inj:?}: seconds must be a finite number >= 0."),
                ));
            }
        }
        Ok(())
    }

    /// Deploy steps 1..=`upto` (all when `None`) that are not applied yet; stop at the first
    /// failure. Returns `Err` only when the call is refused or its arguments are invalid; a
    /// database failure is a failure-stop in the outcome.
    pub async fn deploy(
        &mut self,
        client: &Client,
        upto: Option<usize>,
        injection: Option<&Injection>,
    ) -> Result<DeployOutcome> {
        self.next_call();
        if let Some(stop) = &self.stopped {
            return Err(Self::refuse(stop, "deploy"));
        }
        let total = self.plan.steps.len();
        let upto = match upto {
            None => total,
            Some(n) if n <= total => n,
            Some(n) => {
                return Err(Error::new(
                    ErrorKind::BadStep,
                    format!("Cannot deploy up to step {n}: the plan has {total} steps."),
                ))
            }
        };
        self.check_injection(injection)?;
        let inj_here = |index: usize| injection.filter(|i| i.step() == index);

        let mut events = Vec::new();
        let mut applied = Vec::new();
        let mut stopped: Option<FailureStop> = None;
        for i in 0..upto {
            let index = i + 1;
            let step = self.plan.steps[i].clone();
            if stopped.is_some() {
                events.push(Self::event(
                    &step,
                    index,
                    Phase::Deploy,
                    Status::Skipped,
                    None,
                    None,
                ));
                continue;
            }
            if self.applied[i] {
                events.push(Self::event(
                    &step,
                    index,
                    Phase::Deploy,
                    Status::NoOp,
                    None,
                    None,
                ));
                continue;
            }

            // Quiet pre-check: a step whose verify already passes is applied; a failing verify
            // means "not in place" as the plan's verify convention says.
            let t = Instant::now();
            match self
                .exec_tx(
                    client,
                    TxMode::ReadOnly,
                    (index, Run::Precheck),
                    &[&step.verify],
                )
                .await
            {
                Ok(()) => {
                    tracing::info!(step = %step.name, "already applied (verify passes): no-op");
                    self.applied[i] = true;
                    events.push(Self::event(
                        &step,
                        index,
                        Phase::Deploy,
                        Status::NoOp,
                        None,
                        Some(t),
                    ));
                    continue;
                }
                Err(e) => {
                    let f = classify_db_error(&e);
                    let not_in_place = match self.plan.verify_convention {
                        VerifyConvention::RaisesP0001 => {
                            f.sqlstate.as_deref()
                                == Some(tokio_postgres::error::SqlState::RAISE_EXCEPTION.code())
                        }
                        // Sqitch: any error of the verify means "not in place"; a timeout or a
                        // lost connection says nothing about the step and still stops.
                        VerifyConvention::AnyError => !matches!(
                            f.kind,
                            FailureKind::LockTimeout
                                | FailureKind::StatementTimeout
                                | FailureKind::QueryCanceled
                                | FailureKind::ConnectionLost
                        ),
                    };
                    if !not_in_place {
                        let f = as_verify_failure(f);
                        stopped = Some(Self::fail(&step, index, Phase::Verify, f, t, &mut events));
                        continue;
                    }
                }
            }

            // Deploy in its own transaction.
            let sleep;
            let parts: Vec<&str> = match inj_here(index) {
                Some(Injection::FailBefore(_)) => vec![INJECT_BEFORE],
                Some(Injection::FailInside(_)) => vec![&step.deploy, INJECT_INSIDE],
                Some(Injection::SleepInside { seconds, .. }) => {
                    sleep = format!("SELECT pg_catalog.pg_sleep({seconds})");
                    vec![&step.deploy, &sleep]
                }
                _ => vec![&step.deploy],
            };
            let t = Instant::now();
            tracing::info!(step = %step.name, index, "deploy");
            let limits = self.deploy_limits(index);
            if let Err(e) = self
                .exec_tx_limited(
                    client,
                    TxMode::ReadWrite,
                    (index, Run::Deploy),
                    &parts,
                    limits,
                )
                .await
            {
                let f = classify_db_error(&e);
                stopped = Some(Self::fail(&step, index, Phase::Deploy, f, t, &mut events));
                continue;
            }
            events.push(Self::event(
                &step,
                index,
                Phase::Deploy,
                Status::Ok,
                None,
                Some(t),
            ));

            // Verify in its own read-only transaction.
            let verify: &str = match inj_here(index) {
                Some(Injection::VerifyFails(_)) => INJECT_VERIFY,
                _ => &step.verify,
            };
            let t = Instant::now();
            let mut verified = self
                .exec_tx(client, TxMode::ReadOnly, (index, Run::Verify), &[verify])
                .await;
            if verified.is_err() && crate::fault::sabotaged!("verify_retry_once") {
                // Negative control: a silent retry that the events do not show.
                verified = self
                    .exec_tx(client, TxMode::ReadOnly, (index, Run::Verify), &[verify])
                    .await;
            }
            match verified {
                Ok(()) => {
                    self.applied[i] = true;
                    applied.push(step.name.clone());
                    events.push(Self::event(
                        &step,
                        index,
                        Phase::Verify,
                        Status::Ok,
                        None,
                        Some(t),
                    ));
                }
                Err(e) => {
                    let f = as_verify_failure(classify_db_error(&e));
                    stopped = Some(Self::fail(&step, index, Phase::Verify, f, t, &mut events));
                }
            }
        }
        self.events.extend(events.iter().cloned());
        self.stopped = stopped.clone();
        Ok(DeployOutcome {
            events,
            applied,
            stopped,
        })
    }

    /// Revert every step in reverse plan order, archiving governance rows first.
    /// See [`Runner::revert_with`].
    pub async fn revert(
        &mut self,
        client: &Client,
        archive: Option<&Path>,
    ) -> Result<RevertOutcome> {
        self.revert_with(client, archive, None).await
    }

    /// Revert with an optional injection, numbered by plan step (`FailBefore`, `FailInside`
    /// and `SleepInside` apply to that step's revert; `VerifyFails` has no effect).
    ///
    /// Before anything is dropped, every row of every table in the plan's schema is exported
    /// with `archive.sql` to `archive` as JSON lines `{"table": <name>, "row": <row_to_json>}`
    /// (temp file + rename; an existing file is never overwritten). If there are rows and no
    /// archive path, the revert is refused and nothing is dropped. The P0 seed rows of
    /// `dot_tool_revision` count as rows.
    pub async fn revert_with(
        &mut self,
        client: &Client,
        archive: Option<&Path>,
        injection: Option<&Injection>,
    ) -> Result<RevertOutcome> {
        self.next_call();
        if let Some(stop) = self.stopped.as_ref().filter(|s| s.phase == Phase::Revert) {
            return Err(Self::refuse(stop, "revert"));
        }
        self.check_injection(injection)?;
        let schema = self.plan.schema.clone();
        let exists = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
                &[&schema],
            )
            .await?;
        let exists: bool = exists.try_get(0)?;

        let mut artefact = None;
        if exists {
            let dump = self.read_archive(client).await?;
            let total: usize = dump.iter().map(|(_, rows)| rows.len()).sum();
            if total > 0 {
                let summary = dump
                    .iter()
                    .map(|(t, rows)| format!("{t}: {}", rows.len()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let Some(path) = archive else {
                    return Err(Error::new(
                        ErrorKind::ArchiveRequired,
                        format!("Refusing to revert: schema {schema} holds {total} rows ({summary}); the revert would drop them. Nothing was dropped."),
                    )
                    .with_hint("Give an archive path so the rows are exported as JSON lines first."));
                };
                artefact = Some(write_archive(path, &dump)?);
                tracing::info!(path = %path.display(), rows = total, "governance rows archived");
            }
        }

        let inj_here = |index: usize| injection.filter(|i| i.step() == index);
        let mut events = Vec::new();
        let mut stopped: Option<FailureStop> = None;
        for i in (0..self.plan.steps.len()).rev() {
            let index = i + 1;
            let step = self.plan.steps[i].clone();
            if stopped.is_some() {
                events.push(Self::event(
                    &step,
                    index,
                    Phase::Revert,
                    Status::Skipped,
                    None,
                    None,
                ));
                continue;
            }
            let sleep;
            let parts: Vec<&str> = match inj_here(index) {
                Some(Injection::FailBefore(_)) => vec![INJECT_BEFORE],
                Some(Injection::FailInside(_)) => vec![&step.revert, INJECT_INSIDE],
                Some(Injection::SleepInside { seconds, .. }) => {
                    sleep = format!("SELECT pg_catalog.pg_sleep({seconds})");
                    vec![&step.revert, &sleep]
                }
                _ => vec![&step.revert],
            };
            let t = Instant::now();
            tracing::info!(step = %step.name, index, "revert");
            match self
                .exec_tx(client, TxMode::ReadWrite, (index, Run::Revert), &parts)
                .await
            {
                Ok(()) => {
                    self.applied[i] = false;
                    let status = if exists { Status::Ok } else { Status::NoOp };
                    events.push(Self::event(
                        &step,
                        index,
                        Phase::Revert,
                        status,
                        None,
                        Some(t),
                    ));
                }
                Err(e) => {
                    let f = classify_db_error(&e);
                    stopped = Some(Self::fail(&step, index, Phase::Revert, f, t, &mut events));
                }
            }
        }
        self.events.extend(events.iter().cloned());
        if stopped.is_some() {
            self.stopped = stopped.clone();
        }
        Ok(RevertOutcome {
            events,
            archive: artefact,
            noop: !exists,
            stopped,
        })
    }

    /// Run `archive.sql` and each generated query in one read-only snapshot:
    /// `(table, rows as JSON text)` in revert order.
    async fn read_archive(&self, client: &Client) -> Result<Vec<(String, Vec<String>)>> {
        let head = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL TimeZone = 'UTC'; \
             SET LOCAL search_path = pg_catalog; SET LOCAL row_security = off; \
             SET LOCAL lock_timeout = '{}ms'; SET LOCAL statement_timeout = '{}ms'",
            self.limits.lock_timeout_ms, self.limits.statement_timeout_ms
        );
        client.batch_execute(&head).await.map_err(archive_error)?;
        let result = async {
            let gen = client
                .query(self.plan.archive_sql.as_str(), &[])
                .await
                .map_err(archive_error)?;
            let mut out = Vec::with_capacity(gen.len());
            for g in gen {
                let table: String = g.try_get(0).map_err(archive_error)?;
                let sql: String = g.try_get(1).map_err(archive_error)?;
                let rows = client
                    .query(sql.as_str(), &[])
                    .await
                    .map_err(archive_error)?;
                let mut lines = Vec::with_capacity(rows.len());
                for r in rows {
                    let json: String = r.try_get(1).map_err(archive_error)?;
                    lines.push(json);
                }
                out.push((table, lines));
            }
            Ok::<_, Error>(out)
        }
        .await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        if let Err(e) = client.batch_execute(end).await {
            if result.is_ok() {
                return Err(archive_error(e));
            }
        }
        result
    }
}

fn archive_error(e: tokio_postgres::Error) -> Error {
    let f = classify_db_error(&e);
    Error::new(
        ErrorKind::ArchiveFailed,
        format!(
            "Exporting the governance rows before the revert failed, so nothing was dropped: {f}."
        ),
    )
}

/// Write the archive as JSON lines through a temp file, refusing to overwrite.
fn write_archive(path: &Path, dump: &[(String, Vec<String>)]) -> Result<ArchiveArtefact> {
    if path.exists() {
        return Err(Error::new(
            ErrorKind::ArchiveExists,
            format!(
                "The archive {} already exists; it is never overwritten. Nothing was dropped.",
                path.display()
            ),
        )
        .with_hint("Choose a new archive path."));
    }
    let mut bytes = Vec::new();
    let mut tables = BTreeMap::new();
    for (table, rows) in dump {
        let name = serde_json::to_string(table)
            .map_err(|e| Error::new(ErrorKind::ArchiveEncode, e.to_string()))?;
        for row in rows {
            bytes.extend_from_slice(b"{\"table\":");
            bytes.extend_from_slice(name.as_bytes());
            bytes.extend_from_slice(b",\"row\":");
            bytes.extend_from_slice(row.as_bytes());
            bytes.extend_from_slice(b"}\n");
        }
        tables.insert(table.clone(), rows.len());
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).at(dir, "create directory")?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).at(dir, "create a temporary file in")?;
    tmp.write_all(&bytes).at(path, "write")?;
    tmp.as_file().sync_all().at(path, "sync")?;
    tmp.persist_noclobber(path)
        .map_err(|e| Error::io(path, "rename into place", e.error))?;
    Ok(ArchiveArtefact {
        path: path.to_path_buf(),
        sha256: sha256_hex(&bytes),
        tables,
    })
}

#[cfg(test)]
mod tests;

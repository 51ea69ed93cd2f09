//! What a run of the plan is made of besides the plan: the timeouts of every step, the
//! injected faults, the phases and statuses of its events, and how a database failure is read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Timeouts set with `SET LOCAL` in every step's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub lock_timeout_ms: u64,
    pub statement_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            lock_timeout_ms: 5000,
            statement_timeout_ms: 60000,
        }
    }
}

/// A deliberate fault for the scenarios. Steps are numbered from 1 in plan order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Injection {
    /// Step k raises (P0001 `injected failure ...`) inside its transaction, before its DDL.
    FailBefore(usize),
    /// Step k's DDL runs, then an injected error in the same transaction (so it rolls back).
    FailInside(usize),
    /// Step k's verify is replaced by a statement raising P0001 `injected verify failure`.
    VerifyFails(usize),
    /// After step k's DDL, `SELECT pg_sleep(seconds)` in the same transaction: lets
    /// `statement_timeout` fire, or leaves time to kill the server / cut the connection.
    SleepInside { step: usize, seconds: f64 },
}

impl Injection {
    /// The 1-based step the injection targets.
    pub fn step(&self) -> usize {
        match self {
            Injection::FailBefore(k) | Injection::FailInside(k) | Injection::VerifyFails(k) => *k,
            Injection::SleepInside { step, .. } => *step,
        }
    }
}

pub(super) const INJECT_BEFORE: &str =
    "DO $inject$ BEGIN RAISE EXCEPTION 'injected failure before the step''s DDL'; END $inject$";
pub(super) const INJECT_INSIDE: &str =
    "DO $inject$ BEGIN RAISE EXCEPTION 'injected failure after the step''s DDL, in its transaction'; END $inject$";
pub(super) const INJECT_VERIFY: &str =
    "DO $inject$ BEGIN RAISE EXCEPTION 'injected verify failure'; END $inject$";

/// What a step was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Phase {
    Deploy,
    Verify,
    Revert,
}

/// How a step's phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    /// It ran and succeeded.
    Ok,
    /// It failed; the run stopped here (failure-stop).
    Failed,
    /// Not run, because an earlier step failed.
    Skipped,
    /// Nothing to do: already applied (deploy), or the schema was absent (revert).
    #[serde(rename = "noop")]
    #[strum(serialize = "noop")]
    NoOp,
}

/// The classification of a database failure (the closed set [`classify_db_error`] and the
/// verify phase report); serialized snake_case, as snapshots and scenario files name it.
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
pub enum FailureKind {
    /// SQLSTATE 55P03.
    LockTimeout,
    /// SQLSTATE 57014 with "statement timeout".
    StatementTimeout,
    /// Any other 57014.
    QueryCanceled,
    /// Connection closed, an I/O error, class 08, 57P01-57P03.
    ConnectionLost,
    /// P0001 "injected ..." (a failure the scenario injected).
    Injected,
    /// A verify raised (or failed with any SQL error).
    VerifyFailed,
    /// Anything else.
    SqlError,
}

impl FailureKind {
    /// The kind's name (`lock_timeout`, ...), as serialized.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A database failure with its classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbFailure {
    pub sqlstate: Option<String>,
    /// What kind of failure it is (see [`FailureKind`]).
    pub kind: FailureKind,
    pub message: String,
    /// The server's DETAIL, e.g. which object depends on the one being dropped.
    pub detail: Option<String>,
}

impl std::fmt::Display for DbFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(s) = &self.sqlstate {
            write!(f, " (SQLSTATE {s})")?;
        }
        if let Some(d) = &self.detail {
            write!(f, "; {d}")?;
        }
        Ok(())
    }
}

/// Classify a tokio-postgres error (see [`DbFailure::kind`]).
pub fn classify_db_error(e: &tokio_postgres::Error) -> DbFailure {
    if let Some(db) = e.as_db_error() {
        use tokio_postgres::error::SqlState;
        let state = db.code();
        let code = state.code();
        let message = db.message().to_string();
        let kind = if *state == SqlState::LOCK_NOT_AVAILABLE {
            FailureKind::LockTimeout
        } else if *state == SqlState::QUERY_CANCELED {
            if message.contains("statement timeout") {
                FailureKind::StatementTimeout
            } else {
                FailureKind::QueryCanceled
            }
        } else if [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(state)
            || code.starts_with("08")
        {
            // class 08: connection exception
            FailureKind::ConnectionLost
        } else if *state == SqlState::RAISE_EXCEPTION && message.starts_with("injected") {
            FailureKind::Injected
        } else {
            FailureKind::SqlError
        };
        return DbFailure {
            sqlstate: Some(code.to_string()),
            kind,
            message,
            detail: db.detail().map(str::to_string),
        };
    }
    let io =
        std::error::Error::source(e).is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some());
    DbFailure {
        sqlstate: None,
        kind: if e.is_closed() || io {
            FailureKind::ConnectionLost
        } else {
            FailureKind::SqlError
        },
        message: e.to_string(),
        detail: None,
    }
}

/// In the verify phase a raised error (or any SQL error) means "verify failed"; timeouts and
/// a lost connection keep their own kind.
pub(super) fn as_verify_failure(mut f: DbFailure) -> DbFailure {
    if matches!(f.kind, FailureKind::SqlError | FailureKind::Injected) {
        f.kind = FailureKind::VerifyFailed;
    }
    f
}

/// One phase of one step. No timestamps or pids, so it can go into snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepEvent {
    pub step: String,
    /// 1-based position in the plan.
    pub index: usize,
    pub phase: Phase,
    pub status: Status,
    pub error: Option<DbFailure>,
    /// Wall time of the phase (not serialized: snapshots must be stable).
    #[serde(skip)]
    pub elapsed_ms: u64,
}

/// Where and why a run stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureStop {
    pub step: String,
    /// 1-based position in the plan.
    pub index: usize,
    pub phase: Phase,
    pub cause: DbFailure,
}

impl std::fmt::Display for FailureStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {} {} ({}) failed: {}",
            self.index, self.step, self.phase, self.cause
        )
    }
}

/// A human approval to resume after a failure-stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub step: String,
    pub approved_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployOutcome {
    pub events: Vec<StepEvent>,
    /// Steps deployed and verified by this call.
    pub applied: Vec<String>,
    pub stopped: Option<FailureStop>,
}

/// The archive of governance rows written before a revert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveArtefact {
    pub path: PathBuf,
    pub sha256: String,
    /// Rows per table (every table that existed, including empty ones).
    pub tables: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevertOutcome {
    pub events: Vec<StepEvent>,
    pub archive: Option<ArchiveArtefact>,
    /// The schema did not exist when the revert started (every step still ran, as a no-op).
    pub noop: bool,
    pub stopped: Option<FailureStop>,
}

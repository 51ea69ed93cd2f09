//! Errors of the signal routing crate.
//! Database failures, acknowledgement misuse, malformed data, listener timeouts and mirror I/O.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while emitting, acknowledging, listing or listening.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A database call failed (connection, SQL, constraint violation, ...).
    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),

    /// No signal has this id.
    #[error("unknown signal {0}")]
    UnknownSignal(Uuid),

    /// The signal was acknowledged before; acknowledging twice is an error.
    #[error("signal {id} already acknowledged by {by} at {at}")]
    AlreadyAcknowledged {
        /// Signal id.
        id: Uuid,
        /// Who acknowledged it first.
        by: String,
        /// When it was first acknowledged.
        at: DateTime<Utc>,
    },

    /// `acknowledge` needs a non-blank acknowledger.
    #[error("acknowledged_by must not be blank")]
    BlankAcknowledger,

    /// A kind string that is neither `dot_pair_drift` nor `signature_failure`.
    #[error("unknown signal kind {0:?}")]
    UnknownKind(String),

    /// A row read back from `cutter_governance.signal` breaks an invariant.
    #[error("inconsistent signal row {id}: {reason}")]
    InconsistentRow {
        /// Signal id.
        id: Uuid,
        /// What is wrong.
        reason: String,
    },

    /// A notification on the channel whose payload cannot be parsed.
    #[error("malformed notification payload {payload:?}: {reason}")]
    MalformedNotification {
        /// The raw payload.
        payload: String,
        /// Why it was rejected.
        reason: String,
    },

    /// No (matching) notification arrived in time.
    #[error("no matching notification within {0:?}")]
    Timeout(Duration),

    /// The listener's connection is gone; no more notifications will arrive.
    #[error("listener connection closed")]
    ListenerClosed,

    /// Writing the JSON-lines mirror failed.
    #[error("mirror I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// Encoding or decoding JSON failed.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
}

//! Emitting, acknowledging and listing signals in `cutter_governance.signal`.
//! Works on a `Client` or a `Transaction`; the table's trigger does the NOTIFY at commit.

use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::mirror::JsonlMirror;
use crate::schema::{self, col, ROUTED_TO};
use crate::signal::{Signal, SignalKind};

/// Which signals [`list`] returns; `Default` means all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalFilter {
    /// Only this kind.
    pub kind: Option<SignalKind>,
    /// Only signals about this change set.
    pub change_set_id: Option<Uuid>,
    /// `Some(false)`: only open ones (the G-2 backlog); `Some(true)`: only acknowledged ones.
    pub acknowledged: Option<bool>,
    /// At most this many (oldest first).
    pub limit: Option<i64>,
}

impl SignalFilter {
    /// The open G-2 backlog: every unacknowledged signal.
    pub fn open() -> Self {
        SignalFilter {
            acknowledged: Some(false),
            ..SignalFilter::default()
        }
    }

    /// Signals about one change set.
    pub fn for_change_set(change_set_id: Uuid) -> Self {
        SignalFilter {
            change_set_id: Some(change_set_id),
            ..SignalFilter::default()
        }
    }
}

/// Stores one signal routed to G-2 and returns it as stored (id and `emitted_at` from the
/// database). The AFTER INSERT trigger announces it on [`schema::CHANNEL`] when the
/// surrounding transaction commits (immediately for a plain `Client`).
pub async fn emit<C>(
    client: &C,
    kind: SignalKind,
    change_set_id: Uuid,
    emitter_dot_id: i32,
    payload: serde_json::Value,
) -> Result<Signal>
where
    C: GenericClient + Sync,
{
    let row = client
        .query_one(
            schema::insert_sql().as_str(),
            &[
                &kind.as_str(),
                &change_set_id,
                &emitter_dot_id,
                &ROUTED_TO,
                &payload,
            ],
        )
        .await?;
    let signal = Signal::from_row(&row)?;
    tracing::info!(
        id = %signal.id,
        kind = %signal.kind,
        change_set_id = %signal.change_set_id,
        emitter_dot_id = signal.emitter_dot_id,
        "signal emitted to {ROUTED_TO}"
    );
    Ok(signal)
}

/// [`emit`], then (if a mirror is given) appends the stored signal to the JSON-lines mirror.
/// Inside a transaction the line is written before commit: a later rollback leaves it behind.
pub async fn emit_mirrored<C>(
    client: &C,
    mirror: Option<&JsonlMirror>,
    kind: SignalKind,
    change_set_id: Uuid,
    emitter_dot_id: i32,
    payload: serde_json::Value,
) -> Result<Signal>
where
    C: GenericClient + Sync,
{
    let signal = emit(client, kind, change_set_id, emitter_dot_id, payload).await?;
    if let Some(mirror) = mirror {
        mirror.append(&signal)?;
    }
    Ok(signal)
}

/// What an [`acknowledge`] call came to, as a scenario expects it and a report names it:
/// acknowledged now, acknowledged before, or no such signal. Serialized snake_case.
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
pub enum Acknowledgement {
    /// Acknowledged by this call.
    Ok,
    /// [`Error::AlreadyAcknowledged`].
    AlreadyAcknowledged,
    /// [`Error::UnknownSignal`].
    UnknownSignal,
}

impl Acknowledgement {
    /// The outcome of an [`acknowledge`] result; `None` for any other error (the database,
    /// a blank acknowledger, an inconsistent row): that is a failure, not an outcome.
    pub fn of(result: &Result<Signal>) -> Option<Acknowledgement> {
        match result {
            Ok(_) => Some(Acknowledgement::Ok),
            Err(Error::AlreadyAcknowledged { .. }) => Some(Acknowledgement::AlreadyAcknowledged),
            Err(Error::UnknownSignal(_)) => Some(Acknowledgement::UnknownSignal),
            Err(_) => None,
        }
    }

    /// The outcome's name, as serialized.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Marks a signal acknowledged by `by` (at the database's `now()`) and returns it.
///
/// Errors: [`Error::UnknownSignal`] if no signal has this id, [`Error::AlreadyAcknowledged`]
/// if it was acknowledged before, [`Error::BlankAcknowledger`] if `by` is blank.
pub async fn acknowledge<C>(client: &C, id: Uuid, by: &str) -> Result<Signal>
where
    C: GenericClient + Sync,
{
    if by.trim().is_empty() {
        return Err(Error::BlankAcknowledger);
    }
    if let Some(row) = client
        .query_opt(schema::acknowledge_sql().as_str(), &[&id, &by])
        .await?
    {
        let signal = Signal::from_row(&row)?;
        tracing::info!(id = %signal.id, by, "signal acknowledged");
        return Ok(signal);
    }
    // Nothing updated: tell an unknown id from a second acknowledgement.
    match get(client, id).await? {
        None => Err(Error::UnknownSignal(id)),
        Some(Signal {
            acknowledged_by: Some(first_by),
            acknowledged_at: Some(at),
            ..
        }) => Err(Error::AlreadyAcknowledged {
            id,
            by: first_by,
            at,
        }),
        // Acknowledged and un-acknowledged concurrently is impossible through this API.
        Some(_) => Err(Error::InconsistentRow {
            id,
            reason: format!(
                "{} is NULL but the acknowledging UPDATE matched no row",
                col::ACKNOWLEDGED_AT
            ),
        }),
    }
}

/// One signal by id, or `None`.
pub async fn get<C>(client: &C, id: Uuid) -> Result<Option<Signal>>
where
    C: GenericClient + Sync,
{
    client
        .query_opt(schema::select_by_id_sql().as_str(), &[&id])
        .await?
        .map(|row| Signal::from_row(&row))
        .transpose()
}

/// Signals matching `filter`, oldest first (`emitted_at`, then `id`).
pub async fn list<C>(client: &C, filter: &SignalFilter) -> Result<Vec<Signal>>
where
    C: GenericClient + Sync,
{
    let kind = filter.kind.map(SignalKind::as_str);
    client
        .query(
            schema::list_sql().as_str(),
            &[
                &kind,
                &filter.change_set_id,
                &filter.acknowledged,
                &filter.limit,
            ],
        )
        .await?
        .iter()
        .map(Signal::from_row)
        .collect()
}

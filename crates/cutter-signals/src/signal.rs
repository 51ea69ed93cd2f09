//! Signal kinds and the stored signal record.
//! `SignalKind` maps to the `kind` CHECK of `cutter_governance.signal`; `Signal` is one row.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::IntoEnumIterator;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::schema::{col, ROUTED_TO};

/// What went wrong in the DOT pair.
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
pub enum SignalKind {
    /// Executor and verifier tool revisions disagree.
    DotPairDrift,
    /// A DOT pair signature did not verify.
    SignatureFailure,
}

impl SignalKind {
    /// The value stored in `signal.kind`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl FromStr for SignalKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        SignalKind::iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::UnknownKind(s.to_owned()))
    }
}

/// One row of `cutter_governance.signal`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Primary key.
    pub id: Uuid,
    /// Kind of signal.
    pub kind: SignalKind,
    /// Change set the signal is about.
    pub change_set_id: Uuid,
    /// `public.dot_tools.id` of the emitter.
    pub emitter_dot_id: i32,
    /// Routing target, always `G-2`.
    pub routed_to: String,
    /// Free-form JSON details.
    pub payload: serde_json::Value,
    /// When it was stored.
    pub emitted_at: DateTime<Utc>,
    /// Who acknowledged it, once acknowledged.
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged, once acknowledged.
    pub acknowledged_at: Option<DateTime<Utc>>,
}

impl Signal {
    /// Whether someone acknowledged the signal.
    pub fn is_acknowledged(&self) -> bool {
        self.acknowledged_at.is_some()
    }

    /// Decodes a row selected with every column of [`col::ALL`]; checks the row's invariants.
    pub fn from_row(row: &Row) -> Result<Signal> {
        let id: Uuid = row.try_get(col::ID)?;
        let kind_text: String = row.try_get(col::KIND)?;
        let signal = Signal {
            id,
            kind: kind_text.parse()?,
            change_set_id: row.try_get(col::CHANGE_SET_ID)?,
            emitter_dot_id: row.try_get(col::EMITTER_DOT_ID)?,
            routed_to: row.try_get(col::ROUTED_TO)?,
            payload: row.try_get(col::PAYLOAD)?,
            emitted_at: row.try_get(col::EMITTED_AT)?,
            acknowledged_by: row.try_get(col::ACKNOWLEDGED_BY)?,
            acknowledged_at: row.try_get(col::ACKNOWLEDGED_AT)?,
        };
        signal.check()?;
        Ok(signal)
    }

    /// Checks the invariants the table's CHECK constraints also enforce.
    pub fn check(&self) -> Result<()> {
        if self.routed_to != ROUTED_TO {
            return Err(self.inconsistent(format!(
                "routed_to is {:?}, not {ROUTED_TO}",
                self.routed_to
            )));
        }
        if self.acknowledged_by.is_some() != self.acknowledged_at.is_some() {
            return Err(self
                .inconsistent("acknowledged_by and acknowledged_at must be set together".into()));
        }
        Ok(())
    }

    fn inconsistent(&self, reason: String) -> Error {
        Error::InconsistentRow {
            id: self.id,
            reason,
        }
    }
}

//! Database-session steps: extra sessions (`session`, `commit`) and a scalar query (`scalar`);
//! the concurrent writers are `writers.rs`.

use crate::scenario::env::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};

/// `session`: a second connection running SQL, its transaction left open if asked.
pub struct SessionKind;

impl StepKind for SessionKind {
    const NAME: &'static str = "session";
    const READS_ONLY: bool = false;
    type Params = SessionStep;
    type Observation = SessionObservation;

    async fn run(
        p: &SessionStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<SessionObservation, StepError> {
        let c = ctx.connect_db().await?;
        if p.keep_open {
            c.batch_execute(&format!("BEGIN; {}", p.sql))
                .await
                .map_err(|e| format!("session {}: {e}", p.name))?;
        } else {
            c.batch_execute(&p.sql)
                .await
                .map_err(|e| format!("session {}: {e}", p.name))?;
        }
        ctx.sessions.insert(p.name.clone(), c);
        Ok(SessionObservation {
            name: p.name.clone(),
            transaction_open: p.keep_open,
        })
    }
}

/// `commit: NAME`: commit the open transaction of session NAME.
pub struct CommitKind;

impl StepKind for CommitKind {
    const NAME: &'static str = "commit";
    const READS_ONLY: bool = false;
    type Params = String;
    type Observation = CommitObservation;

    async fn run(
        p: &String,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<CommitObservation, StepError> {
        let c = ctx
            .sessions
            .get(p)
            .ok_or_else(|| format!("no session named {p}"))?;
        c.batch_execute("COMMIT")
            .await
            .map_err(|e| format!("commit of session {p}: {e}"))?;
        Ok(CommitObservation {
            name: p.clone(),
            committed: true,
        })
    }
}

/// `scalar`: one text value of a query, equal to the expected one.
pub struct ScalarKind;

impl StepKind for ScalarKind {
    const NAME: &'static str = "scalar";
    const READS_ONLY: bool = false;
    type Params = ScalarExpect;
    type Observation = ScalarObservation;

    async fn run(
        p: &ScalarExpect,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<ScalarObservation, StepError> {
        let row = ctx
            .client()?
            .query_one(p.sql.as_str(), &[])
            .await
            .map_err(|e| format!("{}: {e}", p.sql))?;
        let v: Option<String> = row.try_get(0).map_err(|e| {
            format!(
                "{}: the query must return text (cast with ::text): {e}",
                p.sql
            )
        })?;
        let v = v.unwrap_or_else(|| "NULL".into());
        if v != p.equals {
            return Err(StepError::from(format!(
                "scalar {:?} returned {v:?}, expected {:?}",
                p.sql, p.equals
            )));
        }
        Ok(ScalarObservation {
            sql: p.sql.clone(),
            value: v,
        })
    }
}

/// A session opened (its transaction left open or not).
#[derive(Debug, serde::Serialize)]
pub struct SessionObservation {
    pub name: String,
    pub transaction_open: bool,
}

/// A session's transaction committed.
#[derive(Debug, serde::Serialize)]
pub struct CommitObservation {
    pub name: String,
    pub committed: bool,
}

/// The text value a query returned (equal to the expected one, else the step failed).
#[derive(Debug, serde::Serialize)]
pub struct ScalarObservation {
    pub sql: String,
    pub value: String,
}

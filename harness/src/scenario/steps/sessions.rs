//! Database-session steps: extra sessions (`session`, `commit`) and a scalar query (`scalar`);
//! the concurrent writers are `writers.rs`.

use crate::scenario::context::*;
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
            let pid: i32 = c
                .query_one("SELECT pg_backend_pid()", &[])
                .await
                .map_err(|e| format!("session {}: {e}", p.name))?
                .get(0);
            c.batch_execute(&format!("BEGIN; {}", p.sql))
                .await
                .map_err(|e| format!("session {}: {e}", p.name))?;
            // The server's view of the session, not ours: its transaction is open.
            let state: Option<String> = ctx
                .client()?
                .query_opt("SELECT state FROM pg_stat_activity WHERE pid = $1", &[&pid])
                .await
                .map_err(|e| format!("session {}: {e}", p.name))?
                .and_then(|r| r.get(0));
            if state.as_deref() != Some("idle in transaction") {
                return Err(StepError::Failed(format!(
                    "session {}: the server shows it {}, expected its transaction open (idle in transaction)",
                    p.name,
                    state.as_deref().unwrap_or("gone")
                )));
            }
        } else {
            c.batch_execute(&p.sql)
                .await
                .map_err(|e| format!("session {}: {e}", p.name))?;
        }
        ctx.sessions.insert(p.name.clone(), c);
        Ok(SessionObservation {
            name: p.name.clone(),
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
        // COMMIT of an aborted transaction succeeds as a rollback: a statement first, which
        // an aborted transaction refuses.
        c.query_one("SELECT 1", &[]).await.map_err(|e| {
            StepError::Failed(format!(
                "session {p}: its transaction cannot commit (its COMMIT would roll back): {}",
                err_any(&e)
            ))
        })?;
        c.batch_execute("COMMIT")
            .await
            .map_err(|e| format!("commit of session {p}: {e}"))?;
        Ok(CommitObservation { name: p.clone() })
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
        Ok(ScalarObservation {})
    }
}

/// A session opened, by name (with `keep_open`, the step failed unless the server shows its
/// transaction open).
#[derive(Debug, serde::Serialize)]
pub struct SessionObservation {
    pub name: String,
}

/// A session's transaction committed, by name (the step fails when COMMIT does).
#[derive(Debug, serde::Serialize)]
pub struct CommitObservation {
    pub name: String,
}

/// A query returned the expected text value (else the step failed, with both values).
#[derive(Debug, serde::Serialize)]
pub struct ScalarObservation {}

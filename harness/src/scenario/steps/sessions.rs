//! Database-session steps: extra sessions (`session`, `commit`), a scalar query (`scalar`) and
//! concurrent writers (`writers_start`, `writers_stop`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::Error;

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

/// `writers_start`: concurrent writers committing rows until stopped.
pub struct WritersStartKind;

impl StepKind for WritersStartKind {
    const NAME: &'static str = "writers_start";
    const READS_ONLY: bool = false;
    type Params = WritersStep;
    type Observation = WritersStartObservation;

    async fn run(
        p: &WritersStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<WritersStartObservation, StepError> {
        ctx.writers_start(p).await
    }
}

/// `writers_stop`: stop the writers; every acknowledged commit must be there.
pub struct WritersStopKind;

impl StepKind for WritersStopKind {
    const NAME: &'static str = "writers_stop";
    const READS_ONLY: bool = false;
    type Params = WritersStep;
    type Observation = WritersStopObservation;

    async fn run(
        p: &WritersStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<WritersStopObservation, StepError> {
        let _ = p;
        ctx.writers_stop().await
    }
}

impl Ctx<'_> {
    async fn writers_start(
        &mut self,
        w: &WritersStep,
    ) -> std::result::Result<WritersStartObservation, StepError> {
        let stop = Arc::new(AtomicBool::new(false));
        let committed = Arc::new(Mutex::new(Vec::new()));
        let failed = Arc::new(Mutex::new(0usize));
        let mut handles = Vec::new();
        for i in 0..w.count {
            let c = self.connect_db().await?;
            let (stop, committed, failed) = (stop.clone(), committed.clone(), failed.clone());
            handles.push(tokio::spawn(async move {
                // Bounded: at most 5000 writes or until stopped; explicit ids leave the sequence alone.
                for n in 0..5000u32 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let r = c
                        .query_one(
                            "INSERT INTO public.universal_edges (id, src_kind, src_id, dst_kind, dst_id, edge_type, created_at) \
                             VALUES ($3, 'writer', $1, 'probe', $2, 'dry_run_write', now()) RETURNING id",
                            &[&format!("w{i}"), &format!("n{n}"), &(900_000_000i64 + (i as i64) * 100_000 + n as i64)],
                        )
                        .await;
                    match r.and_then(|row| row.try_get::<_, i64>(0)) {
                        Ok(id) => {
                            if let Ok(mut v) = committed.lock() {
                                v.push(id)
                            }
                        }
                        Err(_) => {
                            if let Ok(mut f) = failed.lock() {
                                *f += 1
                            }
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
        self.writers = Some(Writers {
            stop,
            committed,
            failed,
            handles,
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(WritersStartObservation { writers: w.count })
    }

    async fn writers_stop(&mut self) -> std::result::Result<WritersStopObservation, StepError> {
        let w = self.writers.take().ok_or("no writers running")?;
        w.stop.store(true, Ordering::SeqCst);
        for h in w.handles {
            h.await.map_err(|e| {
                Error::internal("writer_task", format!("a writer task failed: {e}"))
            })?;
        }
        let ids = w.committed.lock().map(|v| v.clone()).unwrap_or_default();
        let failed = w.failed.lock().map(|f| *f).unwrap_or(0);
        let found: i64 = self
            .client()?
            .query_one(
                "SELECT count(*) FROM public.universal_edges WHERE id = ANY($1)",
                &[&ids],
            )
            .await
            .map_err(Error::from)?
            .get(0);
        let missing = ids.len() as i64 - found;
        if ids.is_empty() {
            return Err("the writers committed nothing".into());
        }
        if missing != 0 {
            return Err(StepError::Failed(format!(
                "{missing} of {} committed writes are missing",
                ids.len()
            )));
        }
        self.evidence(serde_json::json!({
            "committed_writes": ids.len(),
            "failed_writes": failed,
        }));
        Ok(WritersStopObservation { missing })
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

/// Writers started (each on its own connection).
#[derive(Debug, serde::Serialize)]
pub struct WritersStartObservation {
    pub writers: usize,
}

/// Writers stopped: how many acknowledged commits are missing (the step fails unless none);
/// how many they committed and how many writes failed while they ran are evidence.
#[derive(Debug, serde::Serialize)]
pub struct WritersStopObservation {
    pub missing: i64,
}

//! Fault steps: the server killed or restarted under a running step (`crash`).
//! Its own server only (`environment: container`).

use crate::error::ErrorKind;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::Error;

use crate::migrate::{Injection, Runner};
use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};

/// `crash`: kill the server (mid-step if asked), restart it, observe what survived.
pub struct CrashKind;

impl StepKind for CrashKind {
    const NAME: &'static str = "crash";
    const READS_ONLY: bool = false;
    type Params = CrashStep;
    type Observation = CrashObservation;

    async fn run(
        p: &CrashStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<CrashObservation, StepError> {
        ctx.crash(p).await
    }
}

/// What a crash did: how the server was hit and where the deploy stopped (relative to the
/// plan). The step fails unless the deploy stopped at the step the crash hit and the
/// scenario's connection came back (after a restart of the server for `kill_server`).
#[derive(Debug, Serialize)]
pub struct CrashObservation {
    pub mode: CrashMode,
    pub stop: CrashStop,
}

/// The deploy's failure-stop under the crash: the step by its role and the cause's kind.
#[derive(Debug, Serialize)]
pub struct CrashStop {
    pub at: String,
    pub cause: crate::migrate::FailureKind,
}

impl Ctx<'_> {
    async fn crash(&mut self, c: &CrashStep) -> std::result::Result<CrashObservation, StepError> {
        let cfg = self.config()?;
        // The deploy runs on its own connection whose task we hold, so the client side can be cut.
        let (client, conn) = cfg
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(Error::from)?;
        let conn_task = tokio::spawn(async move {
            let _ = conn.await;
        });
        if c.mode == CrashMode::CutConnection {
            // Let the server notice a vanished client while a statement runs.
            client
                .batch_execute("SET client_connection_check_interval = '100ms'")
                .await
                .map_err(Error::from)?;
        }
        let during = self.resolve_step(&c.during_step)?;
        let n = self.plan_len();
        let plan = self.runner.plan.clone();
        let mut runner = Runner::new(plan, self.runner.limits);
        let inj = Injection::SleepInside {
            step: during,
            seconds: 30.0,
        };
        let deploy = tokio::spawn(async move {
            let r = runner.deploy(&client, None, Some(&inj)).await;
            (runner, r)
        });
        // Wait until the step sleeps inside its transaction.
        let watcher = self.connect_db().await?;
        until_sleeping(&watcher, true, "the step never reached its sleep").await?;
        match c.mode {
            CrashMode::KillServer => {
                drop(watcher);
                let pg = self
                    .own
                    .as_ref()
                    .ok_or("kill_server needs environment: container (its own server)")?;
                pg.kill().await?;
            }
            CrashMode::CutConnection => {
                conn_task.abort();
                // The server must end the orphaned backend and roll its transaction back.
                until_sleeping(
                    &watcher,
                    false,
                    "the server kept the cut connection's backend",
                )
                .await?;
            }
        }
        let (runner, res) = deploy.await.map_err(|e| {
            Error::new(
                ErrorKind::DeployTask,
                format!("the deploy task failed: {e}"),
            )
        })?;
        let outcome = res?;
        let stop = outcome
            .stopped
            .clone()
            .ok_or("the deploy did not stop although its connection was lost")?;
        self.extra.failure_stops.push(stop.to_string());
        if stop.index != during {
            return Err(StepError::Failed(format!(
                "the crash hit step `{}` = step {during} of {n}, but the deploy stopped at {stop}",
                c.during_step
            )));
        }
        if c.mode == CrashMode::KillServer {
            self.client = None;
            self.sessions.clear();
            let pg = self.own.as_mut().ok_or("no own container")?;
            pg.restart_after_kill().await?;
        }
        let client = self.connect_db().await?;
        client.query_one("SELECT 1", &[]).await.map_err(|e| {
            format!(
                "the scenario's connection did not come back: {}",
                err_any(&e)
            )
        })?;
        self.client = Some(client);
        self.evidence(serde_json::json!({
            "during_step": during,
            "stop": stop.to_string(),
        }));
        // The stop stays recorded: a later deploy needs an explicit approval.
        self.runner = runner;
        Ok(CrashObservation {
            mode: c.mode,
            stop: CrashStop {
                at: crate::scenario::stepref::relative(
                    stop.index,
                    n,
                    Some((&c.during_step, during)),
                ),
                cause: stop.cause.kind,
            },
        })
    }
}

/// Polls (every 50 ms, at most 20 s) until a backend of this database sleeps in `pg_sleep`
/// (`sleeping`) or none does; `failure` is the step's failure when the deadline passes first.
async fn until_sleeping(
    watcher: &tokio_postgres::Client,
    sleeping: bool,
    failure: &str,
) -> std::result::Result<(), StepError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n: i64 = watcher
            .query_one("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()", &[])
            .await
            .map_err(Error::from)?
            .get(0);
        if (n > 0) == sleeping {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(StepError::Failed(failure.to_string()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

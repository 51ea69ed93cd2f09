//! The commands of `dryrun`, one module per subcommand: each takes its parsed options and
//! returns the exit code; [`with_interrupt`] removes a run's resources on Ctrl-C or a panic.

pub mod backup;
pub mod canon;
pub mod env;
pub mod fixture;
pub mod gc;
pub mod image;
pub mod impact;
pub mod preflight;
pub mod restore_test;
pub mod run;

use harness::error::ErrorKind;
use harness::error::{Error, Result};

use super::cli;

/// Run `fut`, but on SIGINT/SIGTERM drop it (its containers remove themselves) and on a
/// panic catch it; either way sweep the run's labelled resources before reporting.
pub async fn with_interrupt<T>(
    run: &harness::docker::RunIdentity,
    fut: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    use futures_util::FutureExt;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::new(ErrorKind::Signal, e.to_string()))?;
    let guarded = std::panic::AssertUnwindSafe(fut).catch_unwind();
    let res = tokio::select! {
        r = guarded => match r {
            Ok(r) => r,
            Err(p) => {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(Error::new(ErrorKind::Panic, format!("Internal error (panic: {what}); the run's containers and volumes were removed.")))
            }
        },
        _ = tokio::signal::ctrl_c() => Err(Error::new(ErrorKind::Interrupted, "Interrupted by SIGINT; the run's containers and volumes were removed.")),
        _ = term.recv() => Err(Error::new(ErrorKind::Interrupted, "Interrupted by SIGTERM; the run's containers and volumes were removed.")),
    };
    if res.is_err() {
        match harness::docker::connect().await {
            Ok(docker) => {
                if let Err(e) = harness::docker::sweep_run(&docker, &run.run_id).await {
                    tracing::warn!(error = %e.message, run = %run.run_id, "sweep after the interruption failed; `dryrun gc` removes the rest");
                }
            }
            Err(e) => tracing::warn!(error = %e.message, "cannot reach Docker to sweep the run"),
        }
    }
    res
}

//! `dryrun preflight`: the execution day's go/no-go gate (`harness::preflight::cli`); only
//! `--run-restore-test` provisions anything, and then Ctrl-C removes what it made.

use harness::error::Result;

use super::with_interrupt;

pub async fn command(a: harness::preflight::cli::PreflightArgs) -> Result<u8> {
    // Only --run-restore-test provisions anything: then Ctrl-C removes what it made.
    let run = harness::docker::RunIdentity::new();
    if a.run_restore_test {
        with_interrupt(&run, harness::preflight::cli::command(a, &run)).await
    } else {
        harness::preflight::cli::command(a, &run).await
    }
}

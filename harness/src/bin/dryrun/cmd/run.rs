//! `dryrun run`: the HB-05 scenarios and the closure report, with the console's progress and
//! summary; exit 0 only when the last attempt passed.

use harness::error::ErrorKind;
use std::path::PathBuf;

use harness::error::{exit, Error, Result};

use super::cli::RunArgs;
use super::with_interrupt;

pub async fn command(args: RunArgs, quiet: bool) -> Result<u8> {
    let RunArgs {
        report,
        retry_approved_by,
        image,
        jobs,
        fixtures,
        env,
        repo,
        plan,
        scenarios,
    } = args;
    let home = harness::checkout::resolve_suite(repo.as_deref())?;
    // Outside a checkout the report goes under the current directory, not the cache.
    let report = report.unwrap_or_else(|| match &home {
        harness::checkout::SuiteHome::Checkout(r) => r.join("out").join("report"),
        harness::checkout::SuiteHome::Bundled(_) => PathBuf::from("out").join("report"),
    });
    let repo = home.root().to_path_buf();
    if let harness::checkout::SuiteHome::Bundled(r) = &home {
        tracing::info!(suite = %r.display(), "no checkout here: running the suite built into dryrun");
    }
    let run = harness::docker::RunIdentity::new();
    let console = std::sync::Arc::new(harness::console::Console::new(quiet));
    let opts = harness::hb05::RunOptions {
        repo,
        report: report.clone(),
        retry_approved_by,
        image,
        jobs,
        fixtures,
        run: run.clone(),
        env,
        progress: Some(console.clone()),
        plan,
        selection: scenarios,
    };
    let r = with_interrupt(&run, harness::hb05::run(&opts)).await;
    console.finish();
    let r = r?;
    let a = r
        .attempts
        .last()
        .ok_or_else(|| Error::new(ErrorKind::NoAttempt, "no attempt recorded"))?;
    console.print(&harness::console::summary(a, &report));
    Ok(if a.is_pass() {
        exit::OK
    } else {
        exit::CHECK_FAILED
    })
}

//! `dryrun restore-test`: the verified restore test of a dump (inputs checked before the
//! engine is contacted), its report written and printed, the failure named on stderr.

use harness::error::{exit, Result};

use super::cli::RestoreTestArgs;
use super::with_interrupt;

pub async fn command(args: RestoreTestArgs) -> Result<u8> {
    let RestoreTestArgs {
        dump,
        sums,
        rowcounts,
        content,
        report,
        keep,
        jobs,
        durable,
        image,
        checks,
    } = args;
    let opts = harness::restore::RestoreTestOptions {
        dump,
        sums,
        rowcounts,
        content,
        image,
        keep,
        keep_as: None,
        jobs,
        durable,
        role: "restore-test".into(),
        checks: checks.unwrap_or(harness::checks::ChecksChoice::Bundled),
    };
    // Inputs are verified before the engine is even contacted.
    let started = std::time::Instant::now();
    let inputs = harness::restore::preflight_inputs(&opts)?;
    if let Some(p) = &opts.rowcounts {
        if inputs.counts.as_ref().is_some_and(|c| !c.kind_stated) {
            eprintln!("note: {}", harness::rowcounts::headerless_note(p));
        }
    }
    let docker = harness::docker::connect().await?;
    let run = harness::docker::RunIdentity::new();
    let _ = harness::docker::sweep(&docker, None, false).await;
    let r = with_interrupt(
        &run,
        harness::restore::restore_test_verified(&docker, &run, &opts, inputs, started),
    )
    .await?;
    if let Some(dir) = &report {
        harness::report::write_json(&dir.join("restore-test.json"), &r)?;
        harness::report::write_text(
            &dir.join("restore-test.md"),
            &harness::report::restore_markdown(&r),
        )?;
    }
    print!("{}", harness::report::restore_markdown(&r));
    if !r.verdict.is_pass() {
        let stage = r.stopped_at.map_or("unknown", |s| s.as_str());
        eprintln!(
            "error[{stage}_failed]: the restore test of {} FAILED at stage {stage}: {}\n  hint: {}",
            opts.dump.display(),
            r.reason.as_deref().unwrap_or("see the report"),
            match (&report, &r.kept) {
                (Some(d), None) => format!(
                    "read {}/restore-test.md; the container was removed.",
                    d.display()
                ),
                (None, None) =>
                    "the report above says what differs; the container was removed.".into(),
                (Some(d), Some(k)) => format!(
                    "read {}/restore-test.md; the container {} was kept (connect: {}).",
                    d.display(),
                    k.container,
                    k.connect
                ),
                (None, Some(k)) => format!(
                    "the report above says what differs; the container {} was kept (connect: {}).",
                    k.container, k.connect
                ),
            }
        );
    }
    Ok(if r.verdict.is_pass() {
        exit::OK
    } else {
        exit::CHECK_FAILED
    })
}

//! `dryrun impact`: what the plan does to the database while it runs (lint, then each statement
//! profiled on a restored copy), judged against the rule set; the console gets the verdict.

use harness::error::ErrorKind;
use harness::error::{exit, Error, Result};

use super::cli::ImpactArgs;
use super::with_interrupt;

pub async fn command(args: ImpactArgs) -> Result<u8> {
    let ImpactArgs {
        plan,
        fixtures,
        env,
        rules,
        report,
        repo,
        image,
        load,
    } = args;
    if !(0.0..=10_000.0).contains(&load) {
        return Err(Error::new(
            ErrorKind::BadLoad,
            format!("--load {load}: the writes per second must be between 0 and 10000."),
        )
        .with_hint(
            "e.g. --load 50 (two writers, 25 writes per second each); 0 runs without traffic.",
        ));
    }
    let home = harness::checkout::resolve_suite(repo.as_deref())?;
    let opts = harness::impact::ImpactOptions {
        repo: home.root().to_path_buf(),
        plan,
        fixtures,
        rules,
        image,
        load,
        env,
    };
    let docker = harness::docker::connect().await?;
    let run = harness::docker::RunIdentity::new();
    let _ = harness::docker::sweep(&docker, None, false).await;
    let r = with_interrupt(&run, harness::impact::run(&docker, &run, &opts)).await?;
    if let Some(dir) = &report {
        harness::impact::write(dir, &r)?;
    }
    let md = harness::impact::report::markdown(&r);
    // The console gets the verdict and the rule table; the report has the rest.
    let head = md.split("\n## ").next().unwrap_or(&md);
    print!("{head}");
    if let Some(dir) = &report {
        println!(
            "impact report: {}/impact.md (+ impact.json, impact-junit.xml)",
            dir.display()
        );
    }
    Ok(if r.passed {
        exit::OK
    } else {
        exit::CHECK_FAILED
    })
}

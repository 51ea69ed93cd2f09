//! `dryrun env up/ls/down`: persistent dry-run environments (HB-09), a verified restore kept
//! as a named server, listed, and removed.

use harness::error::{exit, Result};

use super::cli::EnvCmd;
use super::with_interrupt;

pub async fn command(cmd: EnvCmd) -> Result<u8> {
    match cmd {
        EnvCmd::Up {
            dump,
            sums,
            rowcounts,
            checks,
            name,
            report,
            jobs,
            image,
        } => {
            let name = name.unwrap_or_else(harness::environments::default_name);
            harness::environments::validate_name(&name)?;
            let opts = harness::restore::RestoreTestOptions {
                dump,
                sums,
                rowcounts,
                content: None,
                image,
                keep: false,
                keep_as: None,
                jobs,
                durable: true,
                role: harness::environments::ROLE.into(),
                checks: checks.unwrap_or(harness::checks::ChecksChoice::Bundled),
            };
            // Inputs are verified before the engine is even contacted.
            let started = std::time::Instant::now();
            let inputs = harness::restore::preflight_inputs(&opts)?;
            let docker = harness::docker::connect().await?;
            let run = harness::docker::RunIdentity::new();
            let _ = harness::docker::sweep(&docker, None, false).await;
            let r = with_interrupt(
                &run,
                harness::environments::up(&docker, &run, &opts, &name, inputs, started),
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
            match &r.kept {
                Some(k) if r.verdict.is_pass() => {
                    println!(
                        "\nenvironment {} is up\n  connect: {}\n  run the scenarios in it: dryrun run --env {}\n  remove it: {}",
                        k.container, k.connect, k.container, k.remove
                    );
                    Ok(exit::OK)
                }
                _ => {
                    let stage = r.stopped_at.map_or("unknown", |s| s.as_str());
                    eprintln!(
                        "error[{stage}_failed]: the restore test of {} FAILED at stage {stage}: {}; no environment was kept.\n  hint: fix the backup set, then run `dryrun env up` again.",
                        opts.dump.display(),
                        r.reason.as_deref().unwrap_or("see the report"),
                    );
                    Ok(exit::CHECK_FAILED)
                }
            }
        }
        EnvCmd::Ls => {
            let docker = harness::docker::connect().await?;
            let envs = harness::environments::list(&docker).await?;
            if envs.is_empty() {
                println!(
                    "no dry-run environments (make one with `dryrun env up --dump F --sums S`)"
                );
            }
            for e in &envs {
                println!(
                    "{}\n  image {} · dump {} ({}) · created {} · {}\n  connect: {}",
                    e.name,
                    e.image,
                    e.short_digest(),
                    e.dump_name,
                    e.created,
                    e.state,
                    e.connect
                );
            }
            Ok(exit::OK)
        }
        EnvCmd::Down { name } => {
            let docker = harness::docker::connect().await?;
            let removed = harness::environments::down(&docker, &name).await?;
            for r in &removed {
                println!("removed {} {}", r.kind, r.id);
            }
            println!("environment {name} removed");
            Ok(exit::OK)
        }
    }
}

//! The HB-05 rollback suite as a custom test harness (libtest-mimic): one trial per scenario
//! file in `scenarios/`, each run through `run::run_checked` (the CLI's path) and insta.
//!
//! Conventions (as datatest-stable / nextest expect): a malformed scenario file fails its own
//! trial and the others still run; only what the selected trials need is prepared (under
//! `--exact NAME` a library scenario needs no Docker Engine at all, a clone scenario starts
//! no baseline copy).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use harness::scenario::parser::{self, ScenarioFile};
use harness::scenario::run::{run_checked, SnapshotCheck};
use harness::scenario::suite::{self, DumpSet, Suite, SuiteOptions};
use libtest_mimic::{Arguments, Failed, Trial};

fn repo() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Trial name of a scenario file: its stem (the snapshot's name), also for a malformed file.
fn trial_name(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| path.display().to_string())
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    // Logs go to stderr, off unless asked for (`DRYRUN_LOG=harness=debug` or the same in
    // RUST_LOG shows step timings).
    if let Some(filter) = std::env::var("DRYRUN_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
    {
        harness::logging::init(&filter);
    }
    let repo = repo();
    let found = match parser::discover_each(&repo.join("scenarios")) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{}", e.report());
            return ExitCode::from(e.exit_code());
        }
    };
    // The trials, unfiltered (libtest-mimic filters them): a malformed file is a trial that
    // fails with the parser's message (file:line:column and what to do).
    let named: Vec<(String, Result<ScenarioFile, String>)> = found
        .into_iter()
        .map(|(path, f)| (trial_name(&path), f.map_err(|e| e.report())))
        .collect();
    let kind = |f: &Result<ScenarioFile, String>| match f {
        Ok(f) => format!("{:?}", f.scenario.environment).to_lowercase(),
        Err(_) => "malformed".to_string(),
    };
    let probe: Vec<Trial> = named
        .iter()
        .map(|(n, f)| Trial::test(n.clone(), || Ok(())).with_kind(kind(f)))
        .collect();
    let selected: Vec<&ScenarioFile> = named
        .iter()
        .zip(&probe)
        .filter(|(_, t)| !args.list && !args.is_filtered_out(t))
        .filter_map(|((_, f), _)| f.as_ref().ok())
        .collect();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(70);
        }
    };
    // Listing (or a selection of malformed files only) needs no Docker, nor do library
    // scenarios; any other selected trial needs the engine, and a missing one fails every
    // selected trial loudly.
    let suite: Option<Result<Arc<Suite>, String>> = if selected.is_empty() {
        None
    } else {
        Some(
            rt.block_on(Suite::open(SuiteOptions {
                repo: repo.clone(),
                run: harness::docker::RunIdentity::new(),
                image: std::env::var("PG_IMAGE").ok(),
                dumps: DumpSet::bundled(&repo),
                plan_dir: None,
                needs_engine: suite::needs_engine(&selected),
            }))
            .map(Arc::new)
            .map_err(|e| e.report()),
        )
    };
    if let Some(Ok(s)) = &suite {
        // No engine (library scenarios only): nothing of the run to sweep on a signal.
        let (docker, run_id) = (s.docker().ok().cloned(), s.run.run_id.clone());
        rt.spawn(async move {
            // Watchdog: on Ctrl-C / SIGTERM remove this run's containers and volumes, then exit.
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return,
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            if let Some(docker) = &docker {
                let _ = harness::docker::sweep_run(docker, &run_id).await;
            }
            eprintln!("interrupted: containers and volumes of run {run_id} removed");
            // Trials are still running on other threads and cannot be cancelled; every
            // resource they hold was just removed, so leaving now drops nothing of value.
            std::process::exit(130);
        });
        // What the selected trials share (the baseline restore, its physical copy) starts at
        // once, beside the trials that do not need it; nothing when none of them does.
        let s = s.clone();
        let selected: Vec<ScenarioFile> = selected.iter().map(|f| (*f).clone()).collect();
        rt.spawn(async move {
            let refs: Vec<&ScenarioFile> = selected.iter().collect();
            s.warm_up_for(&refs).await
        });
    }
    let handle = rt.handle().clone();
    // By name (the CLI orders by cost over its own slots; here the warm-up restores the
    // baseline while the restore-phase trials, first by name, run).
    let mut ordered: Vec<(String, Result<ScenarioFile, String>)> = named;
    ordered.sort_by(|a, b| a.0.cmp(&b.0));
    let trials: Vec<Trial> = ordered
        .into_iter()
        .map(|(name, file)| {
            let suite = suite.clone();
            let handle = handle.clone();
            let k = kind(&file);
            Trial::test(name, move || {
                let file = file.map_err(Failed::from)?;
                let suite = match suite {
                    Some(Ok(s)) => s,
                    Some(Err(e)) => {
                        return Err(Failed::from(format!("environment unavailable: {e}")))
                    }
                    None => return Err(Failed::from("no suite")),
                };
                let checked = handle.block_on(run_checked(&suite, &file, SnapshotCheck::Insta));
                match checked.failure {
                    None => Ok(()),
                    Some(why) => Err(Failed::from(why)),
                }
            })
            .with_kind(k)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if let Some(Ok(s)) = &suite {
        if let Err(e) = rt.block_on(s.shutdown()) {
            eprintln!("{}", e.report());
        }
    }
    drop(suite);
    conclusion.exit_code()
}

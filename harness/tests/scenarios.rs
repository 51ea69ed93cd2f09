//! The HB-05 rollback suite as a custom test harness (libtest-mimic): one trial per scenario
//! file in `scenarios/`, each run against real PostgreSQL 16 containers and an insta snapshot.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use harness::scenario::engine::{self, DumpSet, Suite};
use harness::scenario::parser;
use libtest_mimic::{Arguments, Failed, Trial};

fn repo() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

async fn make_suite(repo: PathBuf) -> Result<Suite, String> {
    let docker = harness::docker::connect().await.map_err(|e| e.report())?;
    // Leftovers of killed runs are removed first (only runs whose owner is gone).
    harness::docker::sweep(&docker, None, false)
        .await
        .map_err(|e| e.report())?;
    let image = harness::image::resolve(&docker, std::env::var("PG_IMAGE").ok().as_deref())
        .await
        .map_err(|e| e.report())?;
    let run = harness::docker::RunIdentity::new();
    Ok(Suite::new(
        docker,
        run,
        repo.clone(),
        image,
        DumpSet::bundled(&repo),
    ))
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
    let files = match parser::discover(&repo.join("scenarios")) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{}", e.report());
            return ExitCode::from(e.exit_code());
        }
    };
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
    // Listing needs no Docker; running does, and a missing engine fails every trial loudly.
    let suite: Option<Result<Arc<Suite>, String>> = if args.list {
        None
    } else {
        Some(rt.block_on(make_suite(repo.clone())).map(Arc::new))
    };
    if let Some(Ok(s)) = &suite {
        let (docker, run_id) = (s.docker.clone(), s.run.run_id.clone());
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
            let _ = harness::docker::sweep_run(&docker, &run_id).await;
            eprintln!("interrupted: containers and volumes of run {run_id} removed");
            // Trials are still running on other threads and cannot be cancelled; every
            // resource they hold was just removed, so leaving now drops nothing of value.
            std::process::exit(130);
        });
    }
    // A whole-suite run starts the baseline restore at once, beside the restore-phase trials.
    if let Some(Ok(s)) = &suite {
        if args.filter.is_none() && args.skip.is_empty() && !args.exact {
            let shared = s.plan_shared(&files);
            let s = s.clone();
            rt.spawn(async move { s.warm_up(shared).await });
        }
    }
    let handle = rt.handle().clone();
    let snapshots = repo.join("snapshots");
    let mut trials: Vec<Trial> = files
        .into_iter()
        .map(|file| {
            let name = harness::scenario::snapshot::snapshot_name(&file);
            let suite = suite.clone();
            let handle = handle.clone();
            let snapshots = snapshots.clone();
            let kind = format!("{:?}", file.scenario.environment).to_lowercase();
            Trial::test(name, move || {
                let suite = match suite {
                    Some(Ok(s)) => s,
                    Some(Err(e)) => {
                        return Err(Failed::from(format!("environment unavailable: {e}")))
                    }
                    None => return Err(Failed::from("no suite")),
                };
                let outcome = handle
                    .block_on(engine::run(&suite, &file))
                    .map_err(|f| Failed::from(f.to_string()))?;
                harness::scenario::snapshot::check(&snapshots, &file, &outcome)
                    .map_err(Failed::from)
            })
            .with_kind(kind)
        })
        .collect();
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    let conclusion = libtest_mimic::run(&args, trials);
    if let Some(Ok(s)) = &suite {
        if let Err(e) = rt.block_on(s.shutdown()) {
            eprintln!("{}", e.report());
        }
    }
    drop(suite);
    conclusion.exit_code()
}

//! A library scenario needs no Docker Engine: with `DOCKER_HOST` pointing at a socket that does
//! not exist, a suite of library scenarios opens and S20 passes its snapshot; any other fails.

use std::path::PathBuf;

use harness::scenario::parser;
use harness::scenario::run::{run_checked, SnapshotCheck};
use harness::scenario::suite::{self, DumpSet, Suite, SuiteOptions};

fn repo() -> PathBuf {
    let m = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    m.parent().map(PathBuf::from).unwrap_or(m)
}

fn options(needs_engine: bool) -> SuiteOptions {
    let repo = repo();
    SuiteOptions {
        repo: repo.clone(),
        run: harness::docker::RunIdentity::new(),
        image: None,
        dumps: DumpSet::bundled(&repo),
        plan_dir: None,
        needs_engine,
    }
}

/// The only test of this binary: it sets `DOCKER_HOST` for the whole process.
#[tokio::test]
async fn a_library_scenario_runs_without_an_engine_and_a_server_scenario_does_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("no-engine.sock");
    std::env::set_var("DOCKER_HOST", format!("unix://{}", socket.display()));

    let files = parser::discover(&repo().join("scenarios")).expect("scenarios parse");
    let s20: Vec<_> = files.iter().filter(|f| f.scenario.id == "S20").collect();
    assert_eq!(s20.len(), 1, "S20 is the library scenario");
    let all: Vec<_> = files.iter().collect();
    assert!(!suite::needs_engine(&s20), "S20 alone needs no engine");
    assert!(suite::needs_engine(&all), "the whole suite does");

    // The engine really is unreachable here: a suite that needs it refuses to open.
    let err = match Suite::open(options(true)).await {
        Ok(_) => panic!("a suite needing the engine opened without one"),
        Err(e) => e,
    };
    assert_eq!(
        err.kind,
        harness::error::ErrorKind::DockerUnreachable,
        "{}",
        err.message
    );

    // Library scenarios only: opens, runs, matches its snapshot, and closes without the engine.
    let s = Suite::open(options(false))
        .await
        .expect("a library-only suite opens without an engine");
    let checked = run_checked(&s, s20[0], SnapshotCheck::Diff).await;
    assert_eq!(checked.failure, None, "S20 without an engine");
    s.shutdown().await.expect("nothing to sweep");
}

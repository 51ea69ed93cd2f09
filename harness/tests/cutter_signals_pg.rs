//! The database tests of `cutter-signals` (`crates/cutter-signals/tests/pg.rs`: emit, acknowledge,
//! rolled-back emit, other notifications kept, the JSON-lines mirror) run in every `make test`
//! against a PostgreSQL 16 container the harness provisions (`CUTTER_SIGNALS_PG` set to it), and
//! must all run and pass: a run of fewer tests than the file holds fails.

mod common;

use std::process::Command;

use harness::container::{PgContainer, PgSpec, DB_NAME, DB_USER};
use harness::docker::RunIdentity;

/// How many `#[ignore]` database tests `crates/cutter-signals/tests/pg.rs` holds (counted from
/// its source, so a new test is expected to run too).
fn database_tests_in_source() -> usize {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/cutter-signals/tests/pg.rs");
    let src =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    src.lines()
        .filter(|l| l.trim_start().starts_with("#[ignore"))
        .count()
}

#[test]
fn cutter_signals_database_tests_pass_against_a_harness_container() {
    let expected = database_tests_in_source();
    assert!(expected >= 4, "pg.rs holds {expected} database tests");
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let pg = rt.block_on(async {
        let (docker, image) = common::docker_and_image().await;
        PgContainer::start(
            &docker,
            &RunIdentity::new(),
            &PgSpec::new(&image, "cutter-signals"),
        )
        .await
        .unwrap_or_else(|e| panic!("starting the container: {}", e.report()))
    });
    let port = pg
        .host_port
        .expect("the container publishes 5432 on 127.0.0.1");
    let conninfo = format!(
        "host=127.0.0.1 port={port} user={DB_USER} dbname={DB_NAME} password={}",
        pg.password().expose()
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            // `--workspace`: the features `make test` resolved, so the binary it built is reused
            // (`-p cutter-signals` alone would resolve other features and rebuild the crates).
            "test",
            "--quiet",
            "--workspace",
            "--test",
            "pg",
            "--",
            "--ignored",
            "--test-threads=2",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CUTTER_SIGNALS_PG", &conninfo)
        .output()
        .expect("run cargo test -p cutter-signals");
    rt.block_on(pg.remove())
        .unwrap_or_else(|e| panic!("removing the container: {}", e.report()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).replace(pg_password_marker(&conninfo), "***");
    assert!(
        out.status.success(),
        "cutter-signals database tests failed:\n{stdout}\n{stderr}"
    );
    let passed: usize = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|r| r.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(
        passed, expected,
        "every database test of pg.rs must run and pass:\n{stdout}"
    );
}

/// The password part of the conninfo, kept out of a failure message.
fn pg_password_marker(conninfo: &str) -> &str {
    conninfo
        .rsplit_once("password=")
        .map(|(_, p)| p)
        .unwrap_or("\u{0}")
}

//! The `pg-docker` crate (PostgreSQL in Docker, the harness's layers 0 and 2) stays below the
//! operations: its manifest, and what it reaches in `Cargo.lock`, name neither the harness nor a
//! crate only its operations, scenarios, reports, terminal or command line use.

use crate::backup_set::{lock_closure, manifest_dependencies};
use crate::graph::{crates, repo};

/// Crates of the harness's upper layers that PostgreSQL in Docker must never depend on: the
/// harness itself, its terminal (`logging`, `progress`), command line, test runner, scenario
/// snapshots, reports, impact analysis, migration plans and the cutter's own crates.
pub const NOT_IN_PG_DOCKER: &[&str] = &[
    "dryrun-harness",
    "indicatif",
    "tracing-subscriber",
    "clap",
    "libtest-mimic",
    "insta",
    "similar",
    "quick-junit",
    "squawk-linter",
    "squawk-syntax",
    "plotters",
    "sqlparser",
    "include_dir",
    "canon-md",
    "dot-signing",
    "cutter-signals",
    "fixture-gen",
];

#[test]
fn the_pg_docker_crate_reaches_no_upper_layer() {
    assert!(
        crates().iter().any(|(n, _)| n == "pg-docker"),
        "crates/pg-docker is not among the crates checked for cycles"
    );
    let manifest = std::fs::read_to_string(repo().join("crates/pg-docker/Cargo.toml"))
        .expect("crates/pg-docker/Cargo.toml");
    let deps = manifest_dependencies(&manifest);
    assert!(deps.iter().any(|d| d == "bollard"), "parsed: {deps:?}");
    let bad: Vec<&String> = deps
        .iter()
        .filter(|d| NOT_IN_PG_DOCKER.contains(&d.as_str()))
        .collect();
    assert!(
        bad.is_empty(),
        "crates/pg-docker/Cargo.toml depends on {bad:?}: PostgreSQL in Docker must not reach the layers above it"
    );
    // Nor through another crate.
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).expect("Cargo.lock");
    let reached = lock_closure(&lock, "pg-docker");
    assert!(
        reached.contains("bollard") && reached.contains("backup-set"),
        "Cargo.lock not read: {reached:?}"
    );
    assert!(
        lock_closure(&lock, "dryrun-harness").contains("indicatif"),
        "the closure misses what the harness reaches"
    );
    let bad: Vec<&str> = NOT_IN_PG_DOCKER
        .iter()
        .copied()
        .filter(|n| reached.contains(*n))
        .collect();
    assert!(
        bad.is_empty(),
        "pg-docker reaches {bad:?} through its dependencies (Cargo.lock)"
    );
}

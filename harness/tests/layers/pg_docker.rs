//! The `pg-docker` crate (PostgreSQL in Docker, the harness's layers 0 and 2) stays below the
//! operations: its manifest, and what it reaches in `Cargo.lock`, name neither the harness nor a
//! crate only its operations, scenarios, reports, terminal or command line use.

use crate::backup_set::assert_boundary;

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
    assert_boundary(
        "pg-docker",
        "bollard",
        NOT_IN_PG_DOCKER,
        "PostgreSQL in Docker must not reach the layers above it",
    );
    // it stands on the backup set, and only on it of the workspace's crates
    let lock =
        std::fs::read_to_string(crate::graph::repo().join("Cargo.lock")).expect("Cargo.lock");
    assert!(crate::backup_set::lock_closure(&lock, "pg-docker").contains("backup-set"));
}

//! The dry run's PostgreSQL in Docker: engine connection and guard, offline image, labelled
//! containers and volumes, fingerprints and cluster state, and the harness's error type.

// The layer below the harness's operations, scenarios, reports and command line, which it
// cannot reach: it draws nothing (byte progress goes through `byte_progress`, which the
// harness connects to its terminal). Its log lines keep the targets they had inside the
// harness (`harness::docker`, `harness::container`, …), so log filters such as
// `DRYRUN_LOG=harness=debug` and the lines printed are unchanged.

pub mod byte_progress;
pub mod cluster_state;
pub mod container;
pub mod copyhash;
pub mod docker;
pub mod engine_ledger;
pub mod engine_watch;
pub mod error;
pub mod fault;
pub mod fingerprint;
pub mod guard;
pub mod image;

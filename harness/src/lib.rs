//! dot-iu-cutter P0 dry-run harness: isolated PostgreSQL 16 containers driven through the
//! Docker API, checksum-verified restores, the P0 migration runner and the HB-05 scenarios.

pub mod backup;
pub mod bundle;
pub mod checkout;
// The backup set is a crate of its own (`crates/backup-set`: pure, synchronous); its modules keep
// their paths here. `checksum` wraps its hashing with the byte progress of a terminal.
pub use backup_set::{checks, dumpinfo, fsutil, rowcounts};
pub mod checksum;
// PostgreSQL in Docker (engine, image, containers, guard, fingerprints, cluster state) and the
// base it stands on (error, fault points, engine ledger, COPY hashing) are the crate `pg-docker`
// (`crates/pg-docker`), which cannot reach up into the operations, scenarios, reports or CLI;
// its modules keep their paths here.
pub use pg_docker::{
    cluster_state, container, copyhash, docker, engine_ledger, engine_watch, error, fault,
    fingerprint, guard, image,
};
pub mod console;
pub mod environments;
pub mod fixture;
pub mod hb05;
pub mod impact;
pub mod logging;
pub mod migrate;
pub mod preflight;
pub mod progress;
pub mod report;
pub mod restore;
pub mod scenario;
pub mod serverlog;

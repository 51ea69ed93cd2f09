//! dot-iu-cutter P0 dry-run harness: isolated PostgreSQL 16 containers driven through the
//! Docker API, checksum-verified restores, the P0 migration runner and the HB-05 scenarios.

pub mod backup;
pub mod bundle;
pub mod checkout;
// The backup set is a crate of its own (`crates/backup-set`: pure, synchronous); its modules keep
// their paths here. `checksum` wraps its hashing with the byte progress of a terminal.
pub use backup_set::{checks, dumpinfo, fsutil, rowcounts};
pub mod checksum;
pub mod closure;
pub mod cluster_state;
pub mod console;
pub mod container;
pub mod copyhash;
pub mod docker;
pub mod engine_ledger;
pub mod engine_watch;
pub mod envs;
pub mod error;
pub mod fault;
pub mod fingerprint;
pub mod fixture;
pub mod guard;
pub mod image;
pub mod impact;
pub mod logging;
pub mod migrate;
pub mod preflight;
pub mod progress;
pub mod report;
pub mod restore;
pub mod scenario;
pub mod serverlog;

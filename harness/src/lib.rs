//! dot-iu-cutter P0 dry-run harness: isolated PostgreSQL 16 containers driven through the
//! Docker API, checksum-verified restores, the P0 migration runner and the HB-05 scenarios.

pub mod checksum;
pub mod docker;
pub mod error;
pub mod fsutil;
pub mod container;
pub mod image;
pub mod dumpinfo;
pub mod rowcounts;
pub mod backup;
pub mod restore;
pub mod fixture;
pub mod report;
pub mod fingerprint;
pub mod migrate;
pub mod scenario;
pub mod guard;
pub mod preflight;
pub mod closure;

//! The dry run's backup set, read and verified before any container exists: `SHA256SUMS` with
//! `sha256sum -c` semantics, the dump's header and table of contents, the row-count snapshot,
//! the smoke checks and what they need of the dump, the backup's age. Pure and synchronous: no
//! async runtime, no Docker, no database connection, no terminal (byte progress goes through
//! [`checksum::Progress`]); [`BackupSet::verify`] is the one front door.

pub mod age;
pub mod checks;
pub mod checksum;
pub mod dumpinfo;
pub mod error;
pub mod fsutil;
pub mod psql_csv;
pub mod rowcounts;
pub mod set;

pub use error::{Category, Error, ErrorKind, IoContext, Result};
pub use set::{BackupSet, Needs, VerifiedSet};

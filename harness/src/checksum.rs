//! `SHA256SUMS` and streaming SHA-256 as the backup set reads them (`backup_set::checksum`),
//! with the harness's byte progress on a terminal ([`crate::progress::ByteBars`]): the hashing
//! functions here are the crate's, given that progress; everything else is re-exported as is.

use std::path::{Path, PathBuf};

pub use backup_set::checksum::*;

use crate::error::Result;
use crate::progress::ByteBars;

/// SHA-256 of a file, read in 1 MiB chunks; byte progress on a terminal (`progress::bytes_bar`).
pub fn sha256_file(path: &Path) -> Result<String> {
    Ok(backup_set::checksum::sha256_file(path, &ByteBars)?)
}

/// Verify `file` against its entry (by file name, or a unique digest for a renamed copy).
pub fn verify_listed(file: &Path, sums_path: &Path, entries: &[SumEntry]) -> Result<Verified> {
    Ok(backup_set::checksum::verify_listed(
        file, sums_path, entries, &ByteBars,
    )?)
}

/// `sha256sum -c --ignore-missing` over the whole sums file ([`backup_set::checksum::verify_set`]).
pub fn verify_set(
    sums_path: &Path,
    entries: &[SumEntry],
    dump: &Path,
    rowcounts: Option<&Path>,
) -> Result<SumsCheck> {
    Ok(backup_set::checksum::verify_set(
        sums_path, entries, dump, rowcounts, &ByteBars,
    )?)
}

/// Write a SHA256SUMS for the given files (names relative to `dir`), atomically.
pub fn write_sums(dir: &Path, names: &[String]) -> Result<PathBuf> {
    Ok(backup_set::checksum::write_sums(dir, names, &ByteBars)?)
}

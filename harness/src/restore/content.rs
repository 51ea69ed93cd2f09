//! The content proof of a restore: every table's count and content hash against the backup's
//! content file (`dryrun backup`), when there is one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::checksum::{self};
use crate::container::{PgContainer, DB_NAME, DB_USER};
use crate::error::Result;

#[allow(unused_imports)]
use super::*;

/// The content proof of a restore (HB-08 "unchanged rows"): every table's row count and
/// content hash in the restored database against the backup's content-hash file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContentProof {
    /// The content-hash file compared with.
    pub file: String,
    pub tables_expected: usize,
    pub tables_identical: usize,
    /// One line per table that differs, is missing or was not in the backup.
    pub differing: Vec<String>,
    pub passed: bool,
    pub ms: u128,
}

/// The content-hash file of this restore test and its checksum verdict: `--content`, else the
/// `*_content_<stamp>.json` next to the dump when SHA256SUMS lists it. A listed file must
/// match its digest (`checksum_mismatch`); an explicit file that is not listed is used with a
/// note.
pub fn resolve_content(
    o: &RestoreTestOptions,
) -> Result<Option<(PathBuf, crate::fingerprint::ContentFile, Option<String>)>> {
    let entries = checksum::parse_sums(&o.sums)?;
    let listed = |p: &Path| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        entries.iter().any(|e| e.name == name)
    };
    let path = match &o.content {
        Some(p) => p.clone(),
        None => {
            let dir = o.dump.parent().unwrap_or(Path::new("."));
            let name = o
                .dump
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let derived = name
                .strip_suffix(".dump")
                .and_then(|stem| stem.split_once("_full_"))
                .map(|(prefix, stamp)| dir.join(format!("{prefix}_content_{stamp}.json")));
            match derived {
                Some(p) if p.is_file() && listed(&p) => p,
                _ => return Ok(None),
            }
        }
    };
    let note = if listed(&path) {
        checksum::verify_listed(&path, &o.sums, &entries)?;
        None
    } else {
        Some(format!(
            "content-hash file {} is not listed in {}: used, but its checksum was not verified",
            path.display(),
            o.sums.display()
        ))
    };
    let file = crate::fingerprint::ContentFile::read(&path)?;
    Ok(Some((path, file, note)))
}

/// Hash every table of the restored database inside its container (the scenarios' data
/// fingerprint, over `docker exec`) and compare with `expected`.
pub async fn content_proof(
    pg: &PgContainer,
    path: &Path,
    expected: &crate::fingerprint::ContentFile,
) -> Result<ContentProof> {
    let t = Instant::now();
    let restored =
        crate::fingerprint::data_via_exec(pg.docker(), &pg.name, DB_USER, DB_NAME, None, &[])
            .await?;
    let want = expected.data();
    let diff = crate::fingerprint::diff_data(&want, &restored);
    let differing: Vec<String> = diff
        .iter()
        .map(|d| match d.kind {
            crate::fingerprint::ChangeKind::Removed => {
                format!(
                    "{}.{}: absent from the restored database",
                    d.schema, d.table
                )
            }
            crate::fingerprint::ChangeKind::Added => {
                format!(
                    "{}.{}: restored but not in the backup's content hashes",
                    d.schema, d.table
                )
            }
            crate::fingerprint::ChangeKind::Changed => {
                d.to_string().trim_start_matches("~ table ").to_string()
            }
        })
        .collect();
    let identical = want
        .tables
        .iter()
        .filter(|(k, v)| restored.tables.get(*k) == Some(*v))
        .count();
    Ok(ContentProof {
        file: path.display().to_string(),
        tables_expected: want.len(),
        tables_identical: identical,
        passed: differing.is_empty(),
        differing,
        ms: t.elapsed().as_millis(),
    })
}

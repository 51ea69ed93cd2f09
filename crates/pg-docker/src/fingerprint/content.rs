//! The content file (`ContentFile`): a backup set's per-table counts and content hashes as
//! written by `dryrun backup` and read by the restore's content proof.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

#[allow(unused_imports)]
use super::*;

/// One table of a content-hash file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentEntry {
    pub schema: String,
    pub table: String,
    pub row_count: i64,
    pub content_sha256: Option<String>,
}

/// `directus_content_<stamp>.json`, written by `backup`: every table's row count and content
/// hash in the backup's snapshot, by the definition named in `definition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentFile {
    pub definition: String,
    pub tables: Vec<ContentEntry>,
}

impl ContentFile {
    pub fn from_data(d: &DataFingerprint) -> ContentFile {
        ContentFile {
            definition: crate::copyhash::DEFINITION.to_string(),
            tables: d
                .tables
                .iter()
                .map(|((schema, table), t)| ContentEntry {
                    schema: schema.clone(),
                    table: table.clone(),
                    row_count: t.row_count,
                    content_sha256: t.content_sha256.clone(),
                })
                .collect(),
        }
    }
    /// Pretty JSON, one table per entry, newline-terminated.
    pub fn render(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
    /// Read and check a content-hash file (bad input names the file).
    pub fn read(path: &std::path::Path) -> Result<ContentFile> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::io(path, "read the content-hash file", e)
                .with_hint("Pass --content with a file written by `dryrun backup`.")
        })?;
        let file: ContentFile = serde_json::from_slice(&bytes).map_err(|e| {
            Error::new(
                ErrorKind::ContentMalformed,
                format!(
                    "{} is not a content-hash file written by `dryrun backup`: {e}.",
                    path.display()
                ),
            )
            .with_hint("Pass the directus_content_<stamp>.json of the same backup set, or leave --content out.")
        })?;
        if file.definition != crate::copyhash::DEFINITION {
            return Err(Error::new(
                ErrorKind::ContentDefinition,
                format!(
                    "{} holds content hashes of definition {:?}; this harness computes {:?}, so they cannot be compared.",
                    path.display(),
                    file.definition,
                    crate::copyhash::DEFINITION
                ),
            )
            .with_hint("Take the backup again with this version of `dryrun backup`, or leave --content out."));
        }
        Ok(file)
    }
    pub fn data(&self) -> DataFingerprint {
        DataFingerprint {
            tables: self
                .tables
                .iter()
                .map(|e| {
                    (
                        (e.schema.clone(), e.table.clone()),
                        TableData {
                            row_count: e.row_count,
                            content_sha256: e.content_sha256.clone(),
                        },
                    )
                })
                .collect(),
        }
    }
}

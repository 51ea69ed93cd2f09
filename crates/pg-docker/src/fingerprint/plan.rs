//! The catalog of a database's tables (`tables.sql`) and the copy plan of a data fingerprint:
//! which tables are read, in which order, on which connection, and which are taken over.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

#[allow(unused_imports)]
use super::*;

/// `(schema, table)`.
pub type TableKey = (String, String);

/// One row of `migrations/fingerprint/tables.sql`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogTable {
    pub schema: String,
    pub name: String,
    pub relkind: String,
    pub populated: bool,
    pub oid: i64,
    pub relfilenode: i64,
    pub bytes: i64,
    pub descriptor: String,
    pub builtin_types: bool,
    /// A permanent relation (`relpersistence = 'p'`): every change to it is in the WAL.
    #[serde(default)]
    pub logged: bool,
    pub leaves: Option<Vec<i64>>,
    pub leaves_plain: Option<bool>,
}

impl CatalogTable {
    pub fn key(&self) -> TableKey {
        (self.schema.clone(), self.name.clone())
    }
    pub(super) fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

/// `"name"` with embedded quotes doubled (`postgres_protocol::escape::escape_identifier`):
/// the harness's one way to write an identifier into SQL.
pub fn quote_ident(s: &str) -> String {
    postgres_protocol::escape::escape_identifier(s)
}

/// Parse the JSON lines of `tables.sql`.
pub fn parse_catalog(lines: &[String]) -> Result<Vec<CatalogTable>> {
    lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<CatalogTable>(l).map_err(|e| {
                Error::new(
                    ErrorKind::FingerprintBadRow,
                    format!("Data fingerprint: unexpected catalog row {l:?}: {e}"),
                )
            })
        })
        .collect()
}

/// One binary COPY the data fingerprint needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyJob {
    pub key: TableKey,
    /// `COPY (…) TO STDOUT (FORMAT binary)`.
    pub sql: String,
    /// Heap size (largest first).
    pub bytes: i64,
}

/// What one data fingerprint reads: the catalog, the tables whose data is taken over from an
/// earlier fingerprint, and the COPY jobs for the rest.
#[derive(Debug, Clone)]
pub struct CopyPlan {
    pub tables: Vec<CatalogTable>,
    only: Option<Vec<TableKey>>,
    pub jobs: Vec<CopyJob>,
    /// Partitioned tables whose count is the sum of their (plain) leaf partitions.
    derived: Vec<TableKey>,
}

impl CopyPlan {
    /// COPY jobs for every table in `tables` (restricted to `only`) except those in `reused`.
    pub fn new(
        tables: Vec<CatalogTable>,
        only: Option<&[TableKey]>,
        reused: &BTreeMap<TableKey, TableData>,
    ) -> CopyPlan {
        let wanted = |k: &TableKey| only.is_none_or(|o| o.contains(k));
        let mut jobs = Vec::new();
        let mut derived = Vec::new();
        for t in &tables {
            let key = t.key();
            if !wanted(&key) || reused.contains_key(&key) {
                continue;
            }
            match t.relkind.as_str() {
                "p" => {
                    // the sum of the leaves, when they are all plain tables this plan reads
                    let plain = t.leaves_plain.unwrap_or(false) && only.is_none();
                    if plain {
                        derived.push(key);
                    } else {
                        jobs.push(CopyJob {
                            key,
                            sql: format!(
                                "COPY (SELECT FROM {}) TO STDOUT (FORMAT binary)",
                                t.quoted()
                            ),
                            bytes: 0,
                        });
                    }
                }
                "m" if !t.populated => {}
                _ => jobs.push(CopyJob {
                    key,
                    sql: format!(
                        "COPY (SELECT * FROM ONLY {}) TO STDOUT (FORMAT binary)",
                        t.quoted()
                    ),
                    bytes: t.bytes,
                }),
            }
        }
        jobs.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.key.cmp(&b.key)));
        CopyPlan {
            tables,
            only: only.map(<[TableKey]>::to_vec),
            jobs,
            derived,
        }
    }

    /// The fingerprint from the reused data and the COPY results.
    pub fn assemble(
        &self,
        reused: &BTreeMap<TableKey, TableData>,
        hashed: &BTreeMap<TableKey, crate::copyhash::TableDigest>,
    ) -> Result<DataFingerprint> {
        let mut tables = BTreeMap::new();
        let by_oid: BTreeMap<i64, TableKey> =
            self.tables.iter().map(|t| (t.oid, t.key())).collect();
        for t in &self.tables {
            let key = t.key();
            if self.only.as_ref().is_some_and(|o| !o.contains(&key)) {
                continue;
            }
            let d = if let Some(d) = reused.get(&key) {
                d.clone()
            } else if t.relkind == "m" && !t.populated {
                TableData {
                    row_count: -1,
                    content_sha256: Some("unpopulated".into()),
                }
            } else if t.relkind == "p" {
                let rows = if self.derived.contains(&key) {
                    let mut sum = 0i64;
                    for leaf in t.leaves.iter().flatten() {
                        let lk = by_oid.get(leaf).ok_or_else(|| missing(&key))?;
                        let n = match (hashed.get(lk), reused.get(lk)) {
                            (Some(h), _) => h.rows,
                            (None, Some(r)) => r.row_count,
                            (None, None) => return Err(missing(lk)),
                        };
                        sum += n;
                    }
                    sum
                } else {
                    hashed.get(&key).ok_or_else(|| missing(&key))?.rows
                };
                TableData {
                    row_count: rows,
                    content_sha256: None,
                }
            } else {
                let h = hashed.get(&key).ok_or_else(|| missing(&key))?;
                TableData {
                    row_count: h.rows,
                    content_sha256: Some(h.content_sha256.clone()),
                }
            };
            tables.insert(key, d);
        }
        Ok(DataFingerprint { tables })
    }
}

pub(super) fn missing(key: &TableKey) -> Error {
    Error::new(
        ErrorKind::FingerprintBadRow,
        format!(
            "Data fingerprint: no result for {}.{} (a partition outside the fingerprint?)",
            key.0, key.1
        ),
    )
}

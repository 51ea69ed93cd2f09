//! The exact "unchanged" proof (module doc of `fingerprint`): a fingerprint's stamp, the
//! snapshot horizon, and the query that takes a table over without reading its heap.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use crate::error::{Error, ErrorKind, Result};

#[allow(unused_imports)]
use super::*;

/// What a later data fingerprint of the same database needs to prove tables unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// `datname/oid` of the database the fingerprint was taken in.
    pub database: String,
    /// `xmin` of the fingerprint's snapshot (64-bit): every transaction below it had ended.
    pub horizon: u64,
    pub tables: BTreeMap<TableKey, TableStamp>,
}

impl Stamp {
    /// The stamp of an untouched clone of the same template, re-targeted at another clone
    /// `database` (`datname/oid`) created by `CREATE DATABASE … TEMPLATE` after `horizon` (the
    /// xmin of a snapshot taken just before that CREATE DATABASE). Sound because the template
    /// no longer changes: the new clone starts as a byte copy of it (same relfilenodes, same
    /// xmins, same rows as the untouched clone this stamp was taken in), and every row version
    /// written in the new clone afterwards has an xid at or above `horizon`. So a table of the
    /// new clone passing the proof with `horizon` holds exactly the template's rows.
    ///
    /// `wal_mark`: the clone's WAL insert position read once `CREATE DATABASE` had returned
    /// and before anything connected to the clone. Every change to the clone is in the WAL
    /// after it (the template had no transaction in progress: `CREATE DATABASE` refuses a
    /// template with connections), so it is each table's mark for the WAL proof.
    pub fn for_clone(&self, database: String, horizon: u64, wal_mark: Option<u64>) -> Stamp {
        Stamp {
            database,
            horizon,
            tables: self
                .tables
                .iter()
                .map(|(k, t)| {
                    let mut t = t.clone();
                    t.wal_since = wal_mark;
                    (k.clone(), t)
                })
                .collect(),
        }
    }
}

/// `datname/oid` of the connected database, as a [`Stamp`] records it.
pub async fn database_id(client: &Client) -> Result<String> {
    let row = client
        .query_one(
            "SELECT pg_catalog.current_database()::text || '/' || \
             (SELECT d.oid::text FROM pg_catalog.pg_database AS d WHERE d.datname = pg_catalog.current_database())",
            &[],
        )
        .await
        .map_err(|e| db_error("data", e))?;
    row.try_get(0).map_err(|e| db_error("data", e))
}

/// xmin of a fresh snapshot (64-bit): every transaction below it has ended.
pub async fn snapshot_xmin(client: &Client) -> Result<u64> {
    let row = client
        .query_one(
            "SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text",
            &[],
        )
        .await
        .map_err(|e| db_error("data", e))?;
    let s: String = row.try_get(0).map_err(|e| db_error("data", e))?;
    s.parse().map_err(|_| {
        Error::new(
            ErrorKind::FingerprintBadRow,
            format!("snapshot xmin {s:?} is not an integer"),
        )
    })
}

/// One table as a [`Stamp`] saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStamp {
    pub oid: i64,
    pub relfilenode: i64,
    pub descriptor: String,
    pub data: TableData,
    /// A WAL position since which the table's content is `data`, when one is known (module
    /// doc, "Proving a table unchanged from the WAL").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_since: Option<u64>,
}

/// How a data fingerprint was obtained (logs, reports, benchmarks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataStats {
    pub tables: usize,
    /// Tables proven unchanged since the earlier fingerprint (not read).
    pub proven_unchanged: usize,
    /// Of those, proven from the WAL (no heap page read).
    #[serde(default)]
    pub proven_by_wal: usize,
    /// WAL records read for that proof.
    #[serde(default)]
    pub wal_records: u64,
    /// Tables read by binary COPY and hashed.
    pub hashed: usize,
    pub rows_hashed: i64,
    pub bytes_hashed: u64,
    pub connections: usize,
    pub prove_ms: u64,
    pub hash_ms: u64,
    pub total_ms: u64,
}

/// A data fingerprint with its stamp and statistics.
#[derive(Debug, Clone)]
pub struct DataRun {
    pub data: DataFingerprint,
    /// The tables taken over from the earlier fingerprint without being read.
    pub proven: Vec<TableKey>,
    pub stamp: Stamp,
    pub stats: DataStats,
}

/// Tables whose identity, storage file and column list are those of `prev`, with built-in
/// column types only (leaf tables and populated materialized views).
pub(super) fn proof_candidates(
    catalog: &[CatalogTable],
    prev: &Stamp,
    only: Option<&[TableKey]>,
) -> Vec<(CatalogTable, TableData)> {
    catalog
        .iter()
        .filter(|t| only.is_none_or(|o| o.contains(&t.key())))
        .filter(|t| t.relkind == "r" || (t.relkind == "m" && t.populated))
        .filter(|t| t.builtin_types)
        .filter_map(|t| {
            let p = prev.tables.get(&t.key())?;
            (p.oid == t.oid
                && p.relfilenode == t.relfilenode
                && p.relfilenode != 0
                && p.descriptor == t.descriptor
                && p.data.row_count >= 0
                && p.data.content_sha256.is_some())
            .then(|| (t.clone(), p.data.clone()))
        })
        .collect()
}

/// The proof query of one table, one pass with one `age()` per row: the count, and the least
/// `age(xmin) % INT_MAX` (the youngest row version's age relative to now; a special xmin, whose
/// age is INT_MAX, maps to 0 and so can never pass), with the earlier snapshot's xmin's age, all
/// in this connection's transaction. (It replaced `min(age(xmin)), max(age(xmin))`: one aggregate
/// and one function call less per row.)
pub(super) fn proof_sql(t: &CatalogTable, horizon32: u32) -> String {
    format!(
        "SELECT count(*), pg_catalog.min(pg_catalog.age(xmin) % 2147483647), \
         pg_catalog.age('{horizon32}'::xid) FROM ONLY {}",
        t.quoted()
    )
}

/// The 32-bit xid of a 64-bit one (`txid_snapshot_xmin`'s epoch dropped): what `age(xid)`
/// takes. Any other value would move the horizon and could prove a changed table unchanged.
pub(super) fn xid32(xid64: u64) -> u32 {
    (xid64 & 0xffff_ffff) as u32
}

/// The candidates proven unchanged, with the data of `prev`.
pub(super) async fn prove_unchanged<'a>(
    clients: &[&'a Client],
    candidates: &[(CatalogTable, TableData)],
    prev: Option<&Stamp>,
) -> Result<BTreeMap<TableKey, TableData>> {
    let Some(prev) = prev else {
        return Ok(BTreeMap::new());
    };
    let horizon32 = xid32(prev.horizon);
    let queue = std::sync::Mutex::new(candidates.iter().collect::<std::collections::VecDeque<_>>());
    let proven = std::sync::Mutex::new(BTreeMap::new());
    let worker = |c: &'a Client| {
        let (queue, proven) = (&queue, &proven);
        async move {
            loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some((t, before)) = next else {
                    return Ok::<(), Error>(());
                };
                let row = c
                    .query_one(&proof_sql(t, horizon32), &[])
                    .await
                    .map_err(|e| db_error("data", e))?;
                let count: i64 = row.try_get(0).map_err(|e| db_error("data", e))?;
                let youngest: Option<i32> = row.try_get(1).map_err(|e| db_error("data", e))?;
                let horizon_age: i32 = row.try_get(2).map_err(|e| db_error("data", e))?;
                if unchanged(before.row_count, count, youngest, horizon_age) {
                    if let Ok(mut p) = proven.lock() {
                        p.insert(t.key(), before.clone());
                    }
                }
            }
        }
    };
    futures_util::future::try_join_all(clients.iter().map(|c| worker(c))).await?;
    Ok(proven.into_inner().unwrap_or_default())
}

/// The proof (module doc): same count, and every visible row version was created by a
/// transaction that had ended before the earlier snapshot was taken (its xmin precedes that
/// snapshot's xmin: `age(xmin) > age(horizon)`), none with a special xmin. `youngest` is the
/// least `age(xmin) % INT_MAX` over the rows (`None`: no rows); a special xmin's age is
/// INT_MAX, which the modulo turns into 0, below any `horizon_age >= 0`.
pub fn unchanged(before: i64, count: i64, youngest: Option<i32>, horizon_age: i32) -> bool {
    if count != before {
        return false;
    }
    match youngest {
        None => count == 0,
        Some(lo) => lo > horizon_age && horizon_age >= 0,
    }
}

//! Schema and data fingerprints of a PostgreSQL database (runs `migrations/fingerprint/*.sql`).
//! Owns the proof of "exactly the original state": canonical hashes and a diff that names objects.
//!
//! # Data fingerprint
//! Every leaf table, partitioned table and materialized view: its row count and the
//! order-independent content hash of its rows ([`crate::copyhash`]: a multiset hash over the
//! tuples of `COPY (SELECT * FROM ONLY t) TO STDOUT (FORMAT binary)`). A partitioned table
//! reports the count of all its partitions and no hash (the partitions carry them); an
//! unpopulated materialized view reports `-1, "unpopulated"`. The same definition serves
//! the scenarios ([`data_with`]: COPY over tokio-postgres, tables spread over several
//! connections that all import ONE exported snapshot, so the result is one instant) and
//! `backup` / `restore-test` ([`data_via_exec`]: the same COPY statements run by psql inside
//! the container, the concatenated streams hashed from `docker exec` stdout).
//!
//! # Proving a table unchanged without reading it (work proportional to what changed)
//! Given the [`Stamp`] of an earlier fingerprint F1 of the same database (same
//! `datname/oid`), taken in snapshot S1 with `xmin` H, a table is taken over from F1 when, in
//! the new snapshot S2: (a) its OID, `relfilenode` and column descriptor (names, types,
//! typmods, dropped columns, fast-default values; for an enum column, the type's labels with
//! their OIDs) equal F1's; (b) every column has a built-in type (OID < 16384) or an enum type:
//! its binary output cannot change under the table (an enum stores label OIDs and sends their
//! labels, so a label rename changes the descriptor of (a); a composite type's new attribute,
//! a domain or an array of a user type is never taken over); (c) `count(*)` equals F1's; (d) every visible
//! row version has an xmin that precedes H (`age(xmin) > age(H)`) and is a normal xid.
//! Argument: heap tuples are never updated in place (UPDATE and DELETE write or expire
//! versions; in-place updates exist only for catalogs). A version visible in S2 whose xmin
//! precedes H was created by a transaction that had ended before S1; it is committed now, so
//! it was committed then, and it was not deleted before S1 (it would be invisible now), so it
//! was visible in S1 too. Hence the rows of S2 are a sub-multiset of the rows of S1, and with
//! equal counts they are the same multiset: F1's hash holds. How each change is caught:
//! insert or update → a version with a new xmin (d); delete → count (c); delete + insert,
//! even of the same row → new xmin (d); TRUNCATE, VACUUM FULL, CLUSTER, a rewriting ALTER
//! TABLE, plain REFRESH MATERIALIZED VIEW → new relfilenode (a) (rewrites keep xmins, so (a)
//! is needed); ADD/DROP COLUMN without rewrite → descriptor (a); a rolled-back change → its
//! versions are invisible, so nothing changed and nothing is claimed; VACUUM FREEZE keeps the
//! raw xmin (PostgreSQL ≥ 9.4), so a frozen new row still fails (d); xids are compared
//! modulo 2^32 through `age()`, sound while fewer than 2^31 transactions separate S1 and S2
//! (PostgreSQL itself forbids more without freezing). Sequences are not table data: their
//! state is in the schema fingerprint. Not covered: TRUNCATE is not MVCC-safe (a TRUNCATE
//! committing *during* a fingerprint is seen by no proof), so fingerprints are taken while
//! nothing truncates, as before. Every table not proven is read and hashed in full; the
//! proof never uses statistics counters, sampling or timestamps.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use crate::error::{Error, Result};

/// `migrations/fingerprint/schema.sql`: one read-only query, `(object_kind, object_identity, definition)`.
pub const SCHEMA_SQL: &str = include_str!("../../migrations/fingerprint/schema.sql");
/// `migrations/fingerprint/tables.sql`: the tables of the data fingerprint, as JSON lines.
pub const TABLES_SQL: &str = include_str!("../../migrations/fingerprint/tables.sql");

/// Session settings required by `schema.sql` (README of `migrations/fingerprint`).
const SCHEMA_SETTINGS: &str = "SET LOCAL search_path = pg_catalog";
/// SHA-256 of a file or text, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Schema fingerprint: every object in scope of `schema.sql`, keyed by `(object_kind, object_identity)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaFingerprint {
    /// `(object_kind, object_identity) -> definition`. If the query ever returned two rows with
    /// the same key, the later ones get ` #2`, ` #3`, ... appended to the identity.
    pub objects: BTreeMap<(String, String), String>,
    /// The server's cluster-global state (`cluster.sql`, [`crate::cluster_state`]), same keys;
    /// only on a server of the scenario's own (empty otherwise: on a shared server the suite
    /// checks it per scenario instead). Compared and hashed with the objects, not counted by
    /// [`SchemaFingerprint::len`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cluster: BTreeMap<(String, String), String>,
}

impl SchemaFingerprint {
    /// SHA-256 over the canonical serialization: one JSON array `[kind, identity, definition]`
    /// per object, in key order (byte order, like `COLLATE "C"`), joined with `\n`; then, when
    /// there is cluster-global state, a line `"cluster"` and its rows the same way.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for (i, ((kind, ident), def)) in self.objects.iter().enumerate() {
            if i > 0 {
                h.update(b"\n");
            }
            h.update(json_line(&[kind.as_str(), ident.as_str(), def.as_str()]).as_bytes());
        }
        if !self.cluster.is_empty() {
            h.update(b"\n\"cluster\"");
            for ((kind, ident), def) in &self.cluster {
                h.update(b"\n");
                h.update(json_line(&[kind.as_str(), ident.as_str(), def.as_str()]).as_bytes());
            }
        }
        hex::encode(h.finalize())
    }
    /// Number of objects of the database (cluster-global rows not counted).
    pub fn len(&self) -> usize {
        self.objects.len()
    }
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
    /// Number of objects per kind (for reports).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for (kind, _) in self.objects.keys() {
            *m.entry(kind.clone()).or_insert(0) += 1;
        }
        m
    }
}

/// One table's row count and content hash (its binary COPY stream through `copyhash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableData {
    /// Row count; `-1` for an unpopulated materialized view (whose `content_sha256` is
    /// `"unpopulated"`).
    pub row_count: i64,
    /// Multiset hash of the rows; `None` for a partitioned parent (rows are hashed under
    /// the partitions).
    pub content_sha256: Option<String>,
}

/// Data fingerprint: every table, partition and materialized view, keyed by `(schema, table)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFingerprint {
    pub tables: BTreeMap<(String, String), TableData>,
}

impl DataFingerprint {
    /// SHA-256 over one JSON array `[schema, table, row_count, content_sha256|null]` per table,
    /// in key order, joined with `\n`.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for (i, ((schema, table), d)) in self.tables.iter().enumerate() {
            if i > 0 {
                h.update(b"\n");
            }
            let line = serde_json::json!([schema, table, d.row_count, d.content_sha256]);
            h.update(line.to_string().as_bytes());
        }
        hex::encode(h.finalize())
    }
    pub fn len(&self) -> usize {
        self.tables.len()
    }
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
    /// Total number of rows (unpopulated materialized views and partitioned parents excluded,
    /// so partition rows are not counted twice).
    pub fn total_rows(&self) -> i64 {
        self.tables
            .values()
            .filter(|d| d.content_sha256.is_some() && d.row_count > 0)
            .map(|d| d.row_count)
            .sum()
    }
    /// The tables for which `pred(schema, table)` holds.
    pub fn restrict(&self, pred: impl Fn(&str, &str) -> bool) -> DataFingerprint {
        DataFingerprint {
            tables: self
                .tables
                .iter()
                .filter(|((s, t), _)| pred(s, t))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
    /// Everything except the tables of `schema` (e.g. `cutter_governance`, whose
    /// `dot_tool_revision.registered_at` differs between deployments).
    pub fn without_schema(&self, schema: &str) -> DataFingerprint {
        self.restrict(|s, _| s != schema)
    }
}

/// Both fingerprints of one database, taken one after the other.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub schema: SchemaFingerprint,
    pub data: DataFingerprint,
}

impl Fingerprint {
    /// Differences from `self` (the base) to `other`.
    pub fn diff(&self, other: &Fingerprint) -> FingerprintDiff {
        FingerprintDiff {
            schema: diff_schema(&self.schema, &other.schema),
            data: diff_data(&self.data, &other.data),
        }
    }
}

/// Runs `f` inside `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY` with the given `SET LOCAL`s,
/// so the caller's session settings are untouched afterwards, every statement sees one snapshot
/// and nothing can be written. Rolls back on error (ignoring a failed rollback: the original
/// error is the one worth reporting). The client must not already be inside a transaction.
pub(crate) async fn in_read_only_snapshot<T>(
    client: &Client,
    settings: &str,
    what: &str,
    f: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    client
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {settings}"
        ))
        .await
        .map_err(|e| db_error(what, e))?;
    match f.await {
        Ok(v) => {
            client
                .batch_execute("COMMIT")
                .await
                .map_err(|e| db_error(what, e))?;
            Ok(v)
        }
        Err(e) => {
            if let Err(rb) = client.batch_execute("ROLLBACK").await {
                tracing::debug!(error = %rb, "rollback after a failed {what} also failed");
            }
            Err(e)
        }
    }
}

pub(crate) fn db_error(what: &str, e: tokio_postgres::Error) -> Error {
    let base = Error::from(e);
    Error::check(
        "fingerprint_failed",
        format!("Taking the {what} fingerprint failed: {}", base.message),
    )
    .with_hint("Run as a superuser (or the owner of every object) on a reachable database.")
}

/// The schema fingerprint (`migrations/fingerprint/schema.sql` with `search_path = pg_catalog`).
pub async fn schema(client: &Client) -> Result<SchemaFingerprint> {
    in_read_only_snapshot(client, SCHEMA_SETTINGS, "schema", schema_inner(client)).await
}

async fn schema_inner(client: &Client) -> Result<SchemaFingerprint> {
    let rows = client
        .query(SCHEMA_SQL, &[])
        .await
        .map_err(|e| db_error("schema", e))?;
    let mut objects = BTreeMap::new();
    for row in rows {
        let kind: String = row.try_get(0).map_err(|e| db_error("schema", e))?;
        let ident: String = row.try_get(1).map_err(|e| db_error("schema", e))?;
        let def: Option<String> = row.try_get(2).map_err(|e| db_error("schema", e))?;
        insert_unique(&mut objects, kind, ident, def.unwrap_or_default());
    }
    Ok(SchemaFingerprint {
        objects,
        cluster: BTreeMap::new(),
    })
}

pub(crate) fn insert_unique(
    objects: &mut BTreeMap<(String, String), String>,
    kind: String,
    ident: String,
    def: String,
) {
    let mut key = (kind, ident.clone());
    let mut n = 2usize;
    while objects.contains_key(&key) {
        key.1 = format!("{ident} #{n}");
        n += 1;
    }
    objects.insert(key, def);
}

/// The data fingerprint of every table, on one connection (no reuse).
pub async fn data(client: &Client) -> Result<DataFingerprint> {
    Ok(data_with(client, &[], None, None).await?.data)
}

/// The data fingerprint of the listed `(schema, table)` pairs only; tables that do not exist
/// are simply absent from the result.
pub async fn data_for(client: &Client, tables: &[(String, String)]) -> Result<DataFingerprint> {
    Ok(data_with(client, &[], None, Some(tables)).await?.data)
}

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
    pub leaves: Option<Vec<i64>>,
    pub leaves_plain: Option<bool>,
}

impl CatalogTable {
    pub fn key(&self) -> TableKey {
        (self.schema.clone(), self.name.clone())
    }
    fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

/// `"name"` with embedded quotes doubled.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Parse the JSON lines of `tables.sql`.
pub fn parse_catalog(lines: &[String]) -> Result<Vec<CatalogTable>> {
    lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<CatalogTable>(l).map_err(|e| {
                Error::internal(
                    "fingerprint_bad_row",
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
pub struct Plan {
    pub tables: Vec<CatalogTable>,
    only: Option<Vec<TableKey>>,
    pub jobs: Vec<CopyJob>,
    /// Partitioned tables whose count is the sum of their (plain) leaf partitions.
    derived: Vec<TableKey>,
}

impl Plan {
    /// COPY jobs for every table in `tables` (restricted to `only`) except those in `reused`.
    pub fn new(
        tables: Vec<CatalogTable>,
        only: Option<&[TableKey]>,
        reused: &BTreeMap<TableKey, TableData>,
    ) -> Plan {
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
        Plan {
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

fn missing(key: &TableKey) -> Error {
    Error::internal(
        "fingerprint_bad_row",
        format!(
            "Data fingerprint: no result for {}.{} (a partition outside the fingerprint?)",
            key.0, key.1
        ),
    )
}

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
    pub fn for_clone(&self, database: String, horizon: u64) -> Stamp {
        Stamp {
            database,
            horizon,
            tables: self.tables.clone(),
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
        Error::internal(
            "fingerprint_bad_row",
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
}

/// How a data fingerprint was obtained (logs, reports, benchmarks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataStats {
    pub tables: usize,
    /// Tables proven unchanged since the earlier fingerprint (not read).
    pub proven_unchanged: usize,
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

/// Open `n` extra connections for [`data_with`] (127.0.0.1 configs only, like every config
/// the harness builds).
pub async fn connect_helpers(cfg: &tokio_postgres::Config, n: usize) -> Result<Vec<Client>> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let (client, conn) = cfg
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| db_error("data", e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        v.push(client);
    }
    Ok(v)
}

/// Settings of every fingerprint transaction: RLS errors instead of silently hiding rows.
const DATA_TX: &str = "SET LOCAL row_security = off; SET LOCAL search_path = pg_catalog";

/// The data fingerprint in one snapshot: `leader` opens a read-only REPEATABLE READ
/// transaction and exports its snapshot, every helper imports it, and the tables are spread
/// over all connections (largest first). With `prev` (a stamp of an earlier fingerprint of the
/// same database), tables proven unchanged (module doc) are taken over without being read.
pub async fn data_with(
    leader: &Client,
    helpers: &[Client],
    prev: Option<&Stamp>,
    only: Option<&[TableKey]>,
) -> Result<DataRun> {
    let t0 = std::time::Instant::now();
    leader
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {DATA_TX}"
        ))
        .await
        .map_err(|e| db_error("data", e))?;
    let res = data_in_leader_tx(leader, helpers, prev, only, t0).await;
    for h in helpers {
        if let Err(e) = h.batch_execute("ROLLBACK").await {
            tracing::debug!(error = %e, "ending a fingerprint helper transaction failed");
        }
    }
    match res {
        Ok(v) => {
            leader
                .batch_execute("COMMIT")
                .await
                .map_err(|e| db_error("data", e))?;
            Ok(v)
        }
        Err(e) => {
            if let Err(rb) = leader.batch_execute("ROLLBACK").await {
                tracing::debug!(error = %rb, "rollback after a failed data fingerprint also failed");
            }
            Err(e)
        }
    }
}

async fn data_in_leader_tx(
    leader: &Client,
    helpers: &[Client],
    prev: Option<&Stamp>,
    only: Option<&[TableKey]>,
    t0: std::time::Instant,
) -> Result<DataRun> {
    let head = leader
        .query_one(
            "SELECT CASE WHEN $1 THEN pg_catalog.pg_export_snapshot() ELSE '' END, \
             pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text, \
             pg_catalog.current_database()::text || '/' || \
             (SELECT d.oid::text FROM pg_catalog.pg_database AS d WHERE d.datname = pg_catalog.current_database())",
            &[&!helpers.is_empty()],
        )
        .await
        .map_err(|e| db_error("data", e))?;
    let snapshot: String = head.try_get(0).map_err(|e| db_error("data", e))?;
    let horizon: String = head.try_get(1).map_err(|e| db_error("data", e))?;
    let database: String = head.try_get(2).map_err(|e| db_error("data", e))?;
    let horizon: u64 = horizon.parse().map_err(|_| {
        Error::internal(
            "fingerprint_bad_row",
            format!("Data fingerprint: snapshot xmin {horizon:?} is not an integer."),
        )
    })?;
    let rows = leader
        .query(TABLES_SQL, &[])
        .await
        .map_err(|e| db_error("data", e))?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        lines.push(r.try_get::<_, String>(0).map_err(|e| db_error("data", e))?);
    }
    let catalog = parse_catalog(&lines)?;
    for h in helpers {
        h.batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{snapshot}'; {DATA_TX}"
        ))
        .await
        .map_err(|e| db_error("data", e))?;
    }
    let clients: Vec<&Client> = std::iter::once(leader).chain(helpers.iter()).collect();

    // 1. tables that cannot have changed since `prev`
    let t1 = std::time::Instant::now();
    let candidates = prev
        .filter(|p| p.database == database)
        .map(|p| proof_candidates(&catalog, p, only))
        .unwrap_or_default();
    let reused = prove_unchanged(&clients, &candidates, prev).await?;
    let prove_ms = t1.elapsed().as_millis() as u64;

    // 2. everything else, by binary COPY
    let t2 = std::time::Instant::now();
    let plan = Plan::new(catalog.clone(), only, &reused);
    let hashed = run_copy_jobs(&clients, &plan.jobs).await?;
    let hash_ms = t2.elapsed().as_millis() as u64;
    let data = plan.assemble(&reused, &hashed)?;
    let stamp = Stamp {
        database,
        horizon,
        tables: catalog
            .iter()
            .filter_map(|t| {
                data.tables.get(&t.key()).map(|d| {
                    (
                        t.key(),
                        TableStamp {
                            oid: t.oid,
                            relfilenode: t.relfilenode,
                            descriptor: t.descriptor.clone(),
                            data: d.clone(),
                        },
                    )
                })
            })
            .collect(),
    };
    let stats = DataStats {
        tables: data.len(),
        proven_unchanged: reused.len(),
        hashed: hashed.len(),
        rows_hashed: hashed.values().map(|h| h.rows).sum(),
        bytes_hashed: hashed.values().map(|h| h.bytes).sum(),
        connections: clients.len(),
        prove_ms,
        hash_ms,
        total_ms: t0.elapsed().as_millis() as u64,
    };
    tracing::debug!(?stats, "data fingerprint");
    Ok(DataRun {
        data,
        proven: reused.keys().cloned().collect(),
        stamp,
        stats,
    })
}

/// Tables whose identity, storage file and column list are those of `prev`, with built-in
/// column types only (leaf tables and populated materialized views).
fn proof_candidates(
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
fn proof_sql(t: &CatalogTable, horizon32: u32) -> String {
    format!(
        "SELECT count(*), pg_catalog.min(pg_catalog.age(xmin) % 2147483647), \
         pg_catalog.age('{horizon32}'::xid) FROM ONLY {}",
        t.quoted()
    )
}

/// The 32-bit xid of a 64-bit one (`txid_snapshot_xmin`'s epoch dropped): what `age(xid)`
/// takes. Any other value would move the horizon and could prove a changed table unchanged.
fn xid32(xid64: u64) -> u32 {
    (xid64 & 0xffff_ffff) as u32
}

/// The candidates proven unchanged, with the data of `prev`.
async fn prove_unchanged<'a>(
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

/// Run the COPY jobs spread over `clients`; each result keyed by table.
async fn run_copy_jobs<'a>(
    clients: &[&'a Client],
    jobs: &[CopyJob],
) -> Result<BTreeMap<TableKey, crate::copyhash::TableDigest>> {
    use futures_util::StreamExt;
    let queue = std::sync::Mutex::new(jobs.iter().collect::<std::collections::VecDeque<_>>());
    let done = std::sync::Mutex::new(BTreeMap::new());
    let worker = |c: &'a Client| {
        let (queue, done) = (&queue, &done);
        async move {
            loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some(job) = next else {
                    return Ok::<(), Error>(());
                };
                let stream = c
                    .copy_out(job.sql.as_str())
                    .await
                    .map_err(|e| db_error("data", e))?;
                let mut stream = std::pin::pin!(stream);
                let mut h = crate::copyhash::StreamHasher::new(1);
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| db_error("data", e))?;
                    h.feed(&chunk).map_err(format_error)?;
                }
                let mut d = h.finish().map_err(format_error)?;
                if let (Some(d), Ok(mut m)) = (d.pop(), done.lock()) {
                    m.insert(job.key.clone(), d);
                }
            }
        }
    };
    futures_util::future::try_join_all(clients.iter().map(|c| worker(c))).await?;
    Ok(done.into_inner().unwrap_or_default())
}

pub(crate) fn format_error(e: crate::copyhash::FormatError) -> Error {
    Error::internal("fingerprint_bad_stream", format!("Data fingerprint: {e}."))
}

/// Schema then data fingerprint (two snapshots; take it while nothing else writes).
pub async fn take(client: &Client) -> Result<Fingerprint> {
    let schema = schema(client).await?;
    let data = data(client).await?;
    Ok(Fingerprint { schema, data })
}

/// Schema then data fingerprint with helpers and an earlier stamp (see [`data_with`]).
pub async fn take_with(
    client: &Client,
    helpers: &[Client],
    prev: Option<&Stamp>,
) -> Result<(Fingerprint, DataRun)> {
    let schema = schema(client).await?;
    let run = data_with(client, helpers, prev, None).await?;
    Ok((
        Fingerprint {
            schema,
            data: run.data.clone(),
        },
        run,
    ))
}

/// `AsyncWrite` end of a `docker exec`: feeds psql's stdout (concatenated binary COPY
/// streams) into the hasher.
struct HashSink(crate::copyhash::StreamHasher);

impl tokio::io::AsyncWrite for HashSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(
            self.0
                .feed(buf)
                .map(|()| buf.len())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        )
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

fn exec_failed(container: &str, what: &str, code: i64, stderr: &str) -> Error {
    Error::check(
        "fingerprint_failed",
        format!(
            "Taking the data fingerprint in {container} failed: {what} exited {code}: {}",
            stderr.trim()
        ),
    )
    .with_hint("Run as a superuser (or the owner of every object) on a reachable database.")
}

/// The data fingerprint computed inside a container: psql reads the catalog, then runs every
/// COPY of the [`Plan`] in one transaction and writes the binary streams to stdout, which are
/// hashed here as they arrive (same definition as [`data_with`]). With `snapshot`, both
/// sessions import that exported snapshot (it must stay open meanwhile); `env` is added to
/// psql's environment (e.g. `PGOPTIONS=-c default_transaction_read_only=on`).
pub async fn data_via_exec(
    docker: &bollard::Docker,
    container: &str,
    user: &str,
    db: &str,
    snapshot: Option<&str>,
    env: &[String],
) -> Result<DataFingerprint> {
    let begin = match snapshot {
        Some(id) => {
            if !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
                return Err(Error::internal(
                    "fingerprint_bad_snapshot",
                    format!("not a snapshot id: {id:?}"),
                ));
            }
            format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSET TRANSACTION SNAPSHOT '{id}';\n{DATA_TX};\n"
            )
        }
        None => format!("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n{DATA_TX};\n"),
    };
    let script = format!("{begin}{TABLES_SQL};\nCOMMIT;\n");
    let cmd = crate::container::psql_script(user, db, &["-tA"]);
    let mut out = Vec::new();
    let (code, err) = crate::container::exec_in(
        docker,
        container,
        &cmd,
        env,
        Some(std::io::Cursor::new(script.into_bytes())),
        &mut out,
    )
    .await?;
    if code != 0 {
        return Err(exec_failed(container, "psql (catalog)", code, &err));
    }
    let lines: Vec<String> = String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_string)
        .collect();
    let plan = Plan::new(parse_catalog(&lines)?, None, &BTreeMap::new());
    let mut script = begin;
    for j in &plan.jobs {
        script.push_str(&j.sql);
        script.push_str(";\n");
    }
    script.push_str("COMMIT;\n");
    let mut sink = HashSink(crate::copyhash::StreamHasher::new(plan.jobs.len()));
    let cmd = crate::container::psql_script(user, db, &[]);
    let (code, err) = crate::container::exec_in(
        docker,
        container,
        &cmd,
        env,
        Some(std::io::Cursor::new(script.into_bytes())),
        &mut sink,
    )
    .await?;
    if code != 0 {
        return Err(exec_failed(container, "psql (COPY)", code, &err));
    }
    let digests = sink.0.finish().map_err(format_error)?;
    let hashed: BTreeMap<TableKey, crate::copyhash::TableDigest> = plan
        .jobs
        .iter()
        .map(|j| j.key.clone())
        .zip(digests)
        .collect();
    plan.assemble(&BTreeMap::new(), &hashed)
}

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
            Error::bad_input(
                "content_malformed",
                format!(
                    "{} is not a content-hash file written by `dryrun backup`: {e}.",
                    path.display()
                ),
            )
            .with_hint("Pass the directus_content_<stamp>.json of the same backup set, or leave --content out.")
        })?;
        if file.definition != crate::copyhash::DEFINITION {
            return Err(Error::bad_input(
                "content_definition",
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

// ---------------------------------------------------------------------------------------------
// Diff

/// How an object or table differs from the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    fn sigil(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        }
    }
}

/// One schema object that was added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaChange {
    pub kind: ChangeKind,
    pub object_kind: String,
    pub identity: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One table whose row count or content differs, or that appeared / disappeared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataChange {
    pub kind: ChangeKind,
    pub schema: String,
    pub table: String,
    pub before: Option<TableData>,
    pub after: Option<TableData>,
}

/// All differences between two fingerprints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintDiff {
    pub schema: Vec<SchemaChange>,
    pub data: Vec<DataChange>,
}

impl FingerprintDiff {
    pub fn is_empty(&self) -> bool {
        self.schema.is_empty() && self.data.is_empty()
    }
}

impl fmt::Display for FingerprintDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "no differences");
        }
        let mut first = true;
        for c in &self.schema {
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(f, "{c}")?;
        }
        for c in &self.data {
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Schema objects added, removed or changed from `base` to `other`, in key order, then the
/// cluster-global rows that differ (both sides' `cluster`; empty on a shared server).
pub fn diff_schema(base: &SchemaFingerprint, other: &SchemaFingerprint) -> Vec<SchemaChange> {
    let mut out = diff_rows(&base.objects, &other.objects);
    out.extend(diff_rows(&base.cluster, &other.cluster));
    out
}

/// Rows `(kind, identity) -> definition` added, removed or changed from `base` to `other`.
pub fn diff_rows(
    base: &BTreeMap<(String, String), String>,
    other: &BTreeMap<(String, String), String>,
) -> Vec<SchemaChange> {
    diff_maps(base, other)
        .into_iter()
        .map(
            |(kind, (object_kind, identity), before, after)| SchemaChange {
                kind,
                object_kind,
                identity,
                before,
                after,
            },
        )
        .collect()
}

/// Tables added, removed or changed (row count or content) from `base` to `other`, in key order.
pub fn diff_data(base: &DataFingerprint, other: &DataFingerprint) -> Vec<DataChange> {
    diff_maps(&base.tables, &other.tables)
        .into_iter()
        .map(|(kind, (schema, table), before, after)| DataChange {
            kind,
            schema,
            table,
            before,
            after,
        })
        .collect()
}

type MapChange<K, V> = (ChangeKind, K, Option<V>, Option<V>);

fn diff_maps<K: Ord + Clone, V: PartialEq + Clone>(
    base: &BTreeMap<K, V>,
    other: &BTreeMap<K, V>,
) -> Vec<MapChange<K, V>> {
    let mut out = Vec::new();
    let mut keys: Vec<&K> = base.keys().chain(other.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        match (base.get(k), other.get(k)) {
            (Some(b), Some(a)) if b == a => {}
            (Some(b), Some(a)) => out.push((
                ChangeKind::Changed,
                k.clone(),
                Some(b.clone()),
                Some(a.clone()),
            )),
            (Some(b), None) => out.push((ChangeKind::Removed, k.clone(), Some(b.clone()), None)),
            (None, Some(a)) => out.push((ChangeKind::Added, k.clone(), None, Some(a.clone()))),
            (None, None) => {}
        }
    }
    out
}

/// Display width of a definition.
const SHOWN_CHARS: usize = 160;

/// One line: whitespace runs (newlines of function or view bodies) become one space.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Both sides of a changed definition, cut to [`SHOWN_CHARS`] around the first difference.
fn around_difference(before: &str, after: &str) -> (String, String) {
    let b: Vec<char> = before.chars().collect();
    let a: Vec<char> = after.chars().collect();
    let common = b.iter().zip(a.iter()).take_while(|(x, y)| x == y).count();
    let start = common.saturating_sub(40);
    let show = |v: &[char]| -> String {
        let tail: String = v[start.min(v.len())..].iter().collect();
        let cut = truncate(&tail, SHOWN_CHARS);
        if start > 0 {
            format!("…{cut}")
        } else {
            cut
        }
    };
    (show(&b), show(&a))
}

fn show_definition(def: &str) -> String {
    if def.is_empty() {
        "(no definition)".to_string()
    } else {
        truncate(&one_line(def), SHOWN_CHARS)
    }
}

impl fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sigil = self.kind.sigil();
        let head = format!("{sigil} {} {}", self.object_kind, self.identity);
        match (self.kind, &self.before, &self.after) {
            (ChangeKind::Changed, Some(b), Some(a)) => {
                let (b, a) = around_difference(&one_line(b), &one_line(a));
                write!(f, "{head}: {b} -> {a}")
            }
            (ChangeKind::Added, _, Some(a)) => write!(f, "{head}: {}", show_definition(a)),
            (ChangeKind::Removed, Some(b), _) => write!(f, "{head}: {}", show_definition(b)),
            _ => write!(f, "{head}"),
        }
    }
}

fn show_rows(d: &TableData) -> String {
    if d.row_count < 0 {
        "unpopulated".to_string()
    } else {
        d.row_count.to_string()
    }
}

fn show_hash(h: &Option<String>) -> String {
    match h {
        None => "-".to_string(),
        Some(h) if h.len() > 12 && h.is_ascii() => format!("{}..", &h[..12]),
        Some(h) => h.clone(),
    }
}

impl fmt::Display for DataChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sigil = self.kind.sigil();
        let head = format!("{sigil} table {}.{}", self.schema, self.table);
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => {
                let mut parts = Vec::new();
                if b.row_count != a.row_count {
                    parts.push(format!("rows {} -> {}", show_rows(b), show_rows(a)));
                } else {
                    parts.push(format!("rows {}", show_rows(a)));
                }
                if b.content_sha256 != a.content_sha256 {
                    parts.push(format!(
                        "content {} -> {}",
                        show_hash(&b.content_sha256),
                        show_hash(&a.content_sha256)
                    ));
                }
                write!(f, "{head}: {}", parts.join(", "))
            }
            (None, Some(d)) | (Some(d), None) => write!(
                f,
                "{head}: rows {}, content {}",
                show_rows(d),
                show_hash(&d.content_sha256)
            ),
            (None, None) => write!(f, "{head}"),
        }
    }
}

fn json_line(fields: &[&str]) -> String {
    serde_json::Value::from(fields.to_vec()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_horizon_keeps_the_xid_and_drops_the_epoch() {
        assert_eq!(xid32(800), 800);
        assert_eq!(xid32((3 << 32) | 800), 800);
        assert_eq!(xid32(u64::from(u32::MAX)), u32::MAX);
    }

    #[test]
    fn the_proof_takes_only_older_rows_with_the_same_count() {
        // Every row older than the earlier snapshot's xmin (age 50 there), same count: proven.
        assert!(unchanged(3, 3, Some(51), 50));
        // A row as young as the horizon or younger (written at or after it): not proven.
        assert!(!unchanged(3, 3, Some(50), 50));
        assert!(!unchanged(3, 3, Some(7), 50));
        // A special xmin (age INT_MAX, modulo INT_MAX = 0) never passes.
        assert!(!unchanged(3, 3, Some(i32::MAX % i32::MAX), 50));
        // A different count (a delete) is never taken over.
        assert!(!unchanged(3, 2, Some(51), 50));
        // No rows: proven only if there were none before either.
        assert!(unchanged(0, 0, None, 50));
        assert!(!unchanged(1, 0, None, 50));
        // A negative horizon age (the horizon is in the future: a bug or wraparound): never.
        assert!(!unchanged(3, 3, Some(51), -1));
    }

    fn cat(name: &str, relkind: &str) -> CatalogTable {
        CatalogTable {
            schema: "public".into(),
            name: name.into(),
            relkind: relkind.into(),
            populated: true,
            oid: 100,
            relfilenode: 200,
            bytes: 8192,
            descriptor: "id int4".into(),
            builtin_types: true,
            leaves: None,
            leaves_plain: None,
        }
    }

    fn stamp_of(tables: &[CatalogTable]) -> Stamp {
        Stamp {
            database: "d/1".into(),
            horizon: 1000,
            tables: tables
                .iter()
                .map(|t| {
                    let st = TableStamp {
                        oid: t.oid,
                        relfilenode: t.relfilenode,
                        descriptor: t.descriptor.clone(),
                        data: TableData {
                            row_count: 3,
                            content_sha256: Some("h".into()),
                        },
                    };
                    (t.key(), st)
                })
                .collect(),
        }
    }

    fn names(c: &[(CatalogTable, TableData)]) -> Vec<String> {
        c.iter().map(|(t, _)| t.name.clone()).collect()
    }

    #[test]
    fn only_tables_with_the_same_identity_storage_and_columns_are_candidates() {
        let base = cat("t", "r");
        let prev = stamp_of(std::slice::from_ref(&base));
        let got = proof_candidates(std::slice::from_ref(&base), &prev, None);
        assert_eq!(names(&got), ["t"]);
        assert_eq!(got[0].1, prev.tables[&base.key()].data, "the earlier data");
        // Each way the table may have been replaced or rewritten drops it.
        let mut changed = Vec::new();
        for (why, f) in [
            (
                "another oid (dropped and re-created)",
                (|t: &mut CatalogTable| t.oid += 1) as fn(&mut CatalogTable),
            ),
            (
                "another relfilenode (TRUNCATE, VACUUM FULL, CLUSTER, rewrite)",
                |t| t.relfilenode += 1,
            ),
            ("another column list", |t| t.descriptor.push_str(", x text")),
            ("a non-built-in column type", |t| t.builtin_types = false),
            ("a partitioned parent", |t| t.relkind = "p".into()),
            ("a view", |t| t.relkind = "v".into()),
            ("an unpopulated materialized view", |t| {
                t.relkind = "m".into();
                t.populated = false;
            }),
            ("not in the earlier stamp", |t| t.name = "u".into()),
        ] {
            let mut t = base.clone();
            f(&mut t);
            if !proof_candidates(&[t], &prev, None).is_empty() {
                changed.push(why);
            }
        }
        assert!(changed.is_empty(), "taken as candidates: {changed:?}");
        // A populated materialized view with an unchanged identity is one.
        let mut mv = base.clone();
        mv.relkind = "m".into();
        assert_eq!(names(&proof_candidates(&[mv], &prev, None)), ["t"]);
        // Earlier data that cannot be taken over: relfilenode 0 (mapped catalog), an
        // unpopulated view's -1 count, no content hash.
        for g in [
            (|s: &mut TableStamp| s.relfilenode = 0) as fn(&mut TableStamp),
            |s| s.data.row_count = -1,
            |s| s.data.content_sha256 = None,
        ] {
            let mut t = base.clone();
            let mut p = prev.clone();
            if let Some(s) = p.tables.get_mut(&base.key()) {
                g(s);
                t.relfilenode = s.relfilenode;
            }
            assert!(proof_candidates(&[t], &p, None).is_empty());
        }
        // An empty table is a candidate like any other (its proof is the count 0, no rows).
        let mut empty = prev.clone();
        if let Some(s) = empty.tables.get_mut(&base.key()) {
            s.data.row_count = 0;
        }
        assert_eq!(
            names(&proof_candidates(std::slice::from_ref(&base), &empty, None)),
            ["t"]
        );
        // `only` restricts the candidates to the tables named.
        let other = cat("o", "r");
        let prev2 = stamp_of(&[base.clone(), other.clone()]);
        let both = [base.clone(), other.clone()];
        assert_eq!(names(&proof_candidates(&both, &prev2, None)), ["t", "o"]);
        let only = [other.key()];
        assert_eq!(names(&proof_candidates(&both, &prev2, Some(&only))), ["o"]);
    }

    fn schema_fp(items: &[(&str, &str, &str)]) -> SchemaFingerprint {
        SchemaFingerprint {
            objects: items
                .iter()
                .map(|(k, i, d)| ((k.to_string(), i.to_string()), d.to_string()))
                .collect(),
            cluster: BTreeMap::new(),
        }
    }

    #[test]
    fn embedded_sql_is_present() {
        assert!(SCHEMA_SQL.contains("schema fingerprint requires search_path"));
        assert!(TABLES_SQL.contains("row_to_json"));
    }

    #[test]
    fn schema_hash_is_canonical_and_sensitive() {
        let a = schema_fp(&[
            ("table", "public.a", "x"),
            ("index", "public.i", "CREATE INDEX"),
        ]);
        let b = schema_fp(&[
            ("index", "public.i", "CREATE INDEX"),
            ("table", "public.a", "x"),
        ]);
        assert_eq!(a.sha256(), b.sha256());
        let c = schema_fp(&[
            ("table", "public.a", "y"),
            ("index", "public.i", "CREATE INDEX"),
        ]);
        assert_ne!(a.sha256(), c.sha256());
        // field boundaries matter: ("ab","c") differs from ("a","bc")
        let d = schema_fp(&[("t", "ab", "c")]);
        let e = schema_fp(&[("t", "a", "bc")]);
        assert_ne!(d.sha256(), e.sha256());
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn schema_diff_names_objects() {
        let base = schema_fp(&[
            ("table", "public.a", "relkind=r"),
            ("view", "s.v", "SELECT 1"),
        ]);
        let other = schema_fp(&[
            ("table", "public.a", "relkind=p"),
            (
                "index",
                "cutter_governance.cut_unit_logical_unit_idx",
                "CREATE INDEX cut_unit_logical_unit_idx ON cutter_governance.cut_unit\n USING btree (logical_unit_id)",
            ),
        ]);
        let d = diff_schema(&base, &other);
        let text: Vec<String> = d.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "+ index cutter_governance.cut_unit_logical_unit_idx: CREATE INDEX cut_unit_logical_unit_idx ON cutter_governance.cut_unit USING btree (logical_unit_id)",
                "~ table public.a: relkind=r -> relkind=p",
                "- view s.v: SELECT 1",
            ]
        );
        assert!(diff_schema(&base, &base).is_empty());
    }

    #[test]
    fn long_definitions_are_cut_around_the_difference() {
        let prefix = "x".repeat(500);
        let base = schema_fp(&[("function", "s.f()", &format!("{prefix} AAA tail"))]);
        let other = schema_fp(&[("function", "s.f()", &format!("{prefix} BBB tail"))]);
        let line = diff_schema(&base, &other)[0].to_string();
        assert!(line.contains("AAA"), "{line}");
        assert!(line.contains("BBB"), "{line}");
        assert!(line.chars().count() < 2 * SHOWN_CHARS + 40, "{line}");
        let added = SchemaChange {
            kind: ChangeKind::Added,
            object_kind: "function".into(),
            identity: "s.f()".into(),
            before: None,
            after: Some(prefix),
        }
        .to_string();
        assert!(added.chars().count() <= "+ function s.f(): ".len() + SHOWN_CHARS);
    }

    #[test]
    fn data_diff_display() {
        let mk = |n: i64, h: &str| TableData {
            row_count: n,
            content_sha256: Some(h.to_string()),
        };
        let mut base = DataFingerprint::default();
        base.tables.insert(
            ("public".into(), "tac_publication".into()),
            mk(2938, "a1b2c3d4e5f6a7b8c9d0"),
        );
        base.tables
            .insert(("cutter_governance".into(), "signal".into()), mk(0, "e3b0"));
        let mut other = base.clone();
        other.tables.insert(
            ("public".into(), "tac_publication".into()),
            mk(2939, "c3d4e5f6a7b8c9d0e1f2"),
        );
        let d = diff_data(&base, &other);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].to_string(),
            "~ table public.tac_publication: rows 2938 -> 2939, content a1b2c3d4e5f6.. -> c3d4e5f6a7b8.."
        );
        let without = other.without_schema("cutter_governance");
        assert_eq!(without.len(), 1);
        let d = diff_data(&other, &without);
        assert_eq!(
            d[0].to_string(),
            "- table cutter_governance.signal: rows 0, content e3b0"
        );
        assert_ne!(base.sha256(), other.sha256());
    }

    #[test]
    fn embedded_sql_covers_the_database_state() {
        for kind in [
            "'database'",
            "'database_setting'",
            "'large_object'",
            "'publication'",
            "'publication_table'",
            "'subscription'",
            "'event_trigger'",
            "'comment', 'database current_database()'",
        ] {
            assert!(SCHEMA_SQL.contains(kind), "{kind}");
        }
        // the database's name is never output: only compared with
        let code: String = SCHEMA_SQL
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect();
        assert_eq!(code.matches("current_database()").count(), 4, "{code}");
        assert_eq!(
            code.matches("pg_catalog.current_database()").count(),
            1,
            "compared in cur only"
        );
        // a subscription's connection string only as a hash (it may hold a password)
        assert!(SCHEMA_SQL.contains("pg_catalog.sha256(pg_catalog.convert_to(su.subconninfo"));
    }

    #[test]
    fn cluster_rows_are_compared_and_hashed_but_not_counted() {
        let base = schema_fp(&[("schema", "public", "")]);
        let plain_hash = base.sha256();
        let mut with = base.clone();
        with.cluster
            .insert(("role".into(), "postgres".into()), "superuser=true".into());
        // no cluster rows: the hash is the one it always was
        assert_eq!(
            plain_hash,
            sha256_hex(json_line(&["schema", "public", ""]).as_bytes())
        );
        assert_ne!(with.sha256(), plain_hash);
        assert_eq!(with.len(), 1);
        let mut after = with.clone();
        after.cluster.insert(
            ("role".into(), "p0_sabotage_role".into()),
            "superuser=false".into(),
        );
        after.objects.insert(
            ("database_setting".into(), "for=* lock_timeout".into()),
            "3s".into(),
        );
        let lines: Vec<String> = diff_schema(&with, &after)
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "+ database_setting for=* lock_timeout: 3s",
                "+ role p0_sabotage_role: superuser=false"
            ]
        );
    }

    #[test]
    fn duplicate_keys_are_kept() {
        let mut m = BTreeMap::new();
        insert_unique(&mut m, "other".into(), "x".into(), "1".into());
        insert_unique(&mut m, "other".into(), "x".into(), "2".into());
        assert_eq!(m.len(), 2);
        assert_eq!(m[&("other".to_string(), "x #2".to_string())], "2");
    }
}

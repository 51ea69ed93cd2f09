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
//!
//! # Proving a table unchanged from the WAL (no heap page read)
//! The proof above still reads every row version's `xmin`: a scan of every heap page. When
//! the fingerprint knows the server's container, a candidate (conditions (a) and (b) above)
//! is first proven from the WAL ([`wal`]): its stamp entry carries a *mark* `M`, a WAL
//! position since which its content is the stamp's, and no WAL record from `M` to `E` (the
//! insert position read after the new snapshot S2 was taken) references a block of its
//! relfilenode's main fork in this database, other than the records that change no tuple
//! (a hint-bit page image, the all-visible bit). Argument: the WAL is written before the data
//! (a page is changed only under a record that names the block; crash recovery and replicas
//! rebuild every page from those records), so no page of the table changed after `M`. The
//! content a snapshot sees on unchanged pages can still change when a transaction that wrote
//! them before `M` commits after it; a mark is only given where none can: (1) a clone's
//! mark is read right after `CREATE DATABASE … FILE_COPY` returned, before anything connects
//! to it (the template had no connection, so nothing in progress wrote it;
//! [`Stamp::for_clone`]); (2) a fingerprint's own mark `M` is read *before* its snapshot is
//! taken, then a fresh xid `X` is handed out, and the mark is given only when every xid up
//! to `X` had ended before the snapshot (its xmin is above `X`): a transaction the snapshot
//! does not see then got its xid, and so wrote, after `M` ([`wal::own_mark`]; the snapshot's
//! list of running xids cannot tell, it omits those above its xmax). A commit visible in S2
//! wrote its records before its commit record, before `E`; a connection outside the snapshot
//! commits synchronously once `E` is read, so the WAL files hold everything before `E`. A table
//! proven this way keeps its mark; every other table of a fingerprint with its own mark gets
//! that one. Only permanent relations (`relpersistence = 'p'`) and only with `wal_level`
//! above `minimal` (which may skip the WAL of a relfilenode new in the transaction; (a)
//! catches those anyway). The range is read by the server's own `pg_waldump` in its
//! container, which checks each page's address and each record's back-link and CRC: a range
//! it cannot read whole (a recycled segment, a new timeline, WAL not yet written) proves
//! nothing and the tables go to the proof above, then to the full read. What is read costs
//! what was written since the mark, not the size of the database.

mod content;
mod diff;
mod exec;
mod plan;
mod proof;
#[cfg(test)]
mod tests;
mod wal;

pub use content::*;
use diff::json_line;
pub use diff::*;
pub use exec::*;
pub use plan::*;
pub use proof::*;
use proof::{proof_candidates, prove_unchanged};
use std::collections::BTreeMap;
pub use wal::{format_lsn, insert_mark, parse_lsn, parse_waldump, Touched};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use crate::error::{Error, ErrorKind, Result};

/// `migrations/fingerprint/schema.sql`: one read-only query, `(object_kind, object_identity, definition)`.
pub const SCHEMA_SQL: &str = include_str!("../../../../migrations/fingerprint/schema.sql");
/// `migrations/fingerprint/tables.sql`: the tables of the data fingerprint, as JSON lines.
pub const TABLES_SQL: &str = include_str!("../../../../migrations/fingerprint/tables.sql");

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
                tracing::debug!(
                    target: "harness::fingerprint",
                    error = %rb, "rollback after a failed {what} also failed"
                );
            }
            Err(e)
        }
    }
}

pub(crate) fn db_error(what: &str, e: tokio_postgres::Error) -> Error {
    let base = Error::from(e);
    Error::new(
        ErrorKind::FingerprintFailed,
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
    Ok(data_with(client, &[], None, None, None).await?.data)
}

/// The data fingerprint of the listed `(schema, table)` pairs only; tables that do not exist
/// are simply absent from the result.
pub async fn data_for(client: &Client, tables: &[(String, String)]) -> Result<DataFingerprint> {
    Ok(data_with(client, &[], None, Some(tables), None).await?.data)
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
///
/// With `wal` (the container of the server), tables are also proven from the WAL (module doc,
/// "Proving a table unchanged from the WAL"), and the stamp carries WAL marks for the next one.
pub async fn data_with(
    leader: &Client,
    helpers: &[Client],
    prev: Option<&Stamp>,
    only: Option<&[TableKey]>,
    wal: Option<&crate::container::PgContainer>,
) -> Result<DataRun> {
    let t0 = std::time::Instant::now();
    // read before the snapshot exists: every change the snapshot does not see is after it
    let mark = match wal {
        Some(_) => wal::mark_before_snapshot(leader).await?,
        None => None,
    };
    leader
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {DATA_TX}"
        ))
        .await
        .map_err(|e| db_error("data", e))?;
    let res = data_in_leader_tx(leader, helpers, prev, only, t0, wal.map(|pg| (pg, mark))).await;
    for h in helpers {
        if let Err(e) = h.batch_execute("ROLLBACK").await {
            tracing::debug!(
                target: "harness::fingerprint",
                error = %e, "ending a fingerprint helper transaction failed"
            );
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
                tracing::debug!(
                    target: "harness::fingerprint",
                    error = %rb, "rollback after a failed data fingerprint also failed"
                );
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
    wal: Option<(&crate::container::PgContainer, Option<(u64, u64)>)>,
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
        Error::new(
            ErrorKind::FingerprintBadRow,
            format!("Data fingerprint: snapshot xmin {horizon:?} is not an integer."),
        )
    })?;
    // the fingerprint's own WAL mark, when it holds for this snapshot (module doc)
    let own_mark = wal::own_mark(wal.and_then(|(_, m)| m), horizon);
    let rows = leader
        .query(TABLES_SQL, &[])
        .await
        .map_err(|e| db_error("data", e))?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        lines.push(r.try_get::<_, String>(0).map_err(|e| db_error("data", e))?);
    }
    let catalog = parse_catalog(&lines)?;
    // a WAL position after the snapshot, written to the files before a helper imports it
    let wal_end = match (wal, prev) {
        (Some(_), Some(p))
            if p.database == database && p.tables.values().any(|t| t.wal_since.is_some()) =>
        {
            wal::end_after_snapshot(leader, helpers.first()).await?
        }
        _ => None,
    };
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
    let (by_wal, wal_records) = match (wal, prev, wal_end) {
        (Some((pg, _)), Some(p), Some(end)) => {
            wal::prove_from_wal(pg, leader, &candidates, p, &database, end).await?
        }
        _ => (BTreeMap::new(), 0),
    };
    let rest: Vec<_> = candidates
        .iter()
        .filter(|(t, _)| !by_wal.contains_key(&t.key()))
        .cloned()
        .collect();
    let mut reused = prove_unchanged(&clients, &rest, prev).await?;
    reused.extend(by_wal.iter().map(|(k, (d, _))| (k.clone(), d.clone())));
    let prove_ms = t1.elapsed().as_millis() as u64;

    // 2. everything else, by binary COPY
    let t2 = std::time::Instant::now();
    let plan = CopyPlan::new(catalog.clone(), only, &reused);
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
                            // this fingerprint's mark, else the one a WAL proof kept
                            wal_since: if t.logged {
                                own_mark.or_else(|| by_wal.get(&t.key()).map(|(_, m)| *m))
                            } else {
                                None
                            },
                        },
                    )
                })
            })
            .collect(),
    };
    let stats = DataStats {
        tables: data.len(),
        proven_unchanged: reused.len(),
        proven_by_wal: by_wal.len(),
        wal_records,
        hashed: hashed.len(),
        rows_hashed: hashed.values().map(|h| h.rows).sum(),
        bytes_hashed: hashed.values().map(|h| h.bytes).sum(),
        connections: clients.len(),
        prove_ms,
        hash_ms,
        total_ms: t0.elapsed().as_millis() as u64,
    };
    tracing::debug!(target: "harness::fingerprint", ?stats, "data fingerprint");
    Ok(DataRun {
        data,
        proven: reused.keys().cloned().collect(),
        stamp,
        stats,
    })
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
    Error::new(
        ErrorKind::FingerprintBadStream,
        format!("Data fingerprint: {e}."),
    )
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
    wal: Option<&crate::container::PgContainer>,
) -> Result<(Fingerprint, DataRun)> {
    let schema = schema(client).await?;
    let run = data_with(client, helpers, prev, None, wal).await?;
    Ok((
        Fingerprint {
            schema,
            data: run.data.clone(),
        },
        run,
    ))
}

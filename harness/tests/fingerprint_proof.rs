//! The fast data fingerprint against a real PostgreSQL 16 container: every way a table can
//! change, proven-unchanged reuse checked against a full hash, and both transports equal.

use std::collections::BTreeMap;

use harness::container::{PgContainer, PgSpec, DB_NAME, DB_USER};
use harness::docker::RunIdentity;
use harness::fingerprint::{self, DataFingerprint, Stamp, TableKey};
use tokio_postgres::Client;

mod common;
use common::{docker_and_image, SweepOnDrop};

const SETUP_SQL: &str = "
CREATE SCHEMA s;
CREATE TYPE s.mood AS ENUM ('calm', 'busy');
CREATE SEQUENCE s.counter;
CREATE TABLE s.calm (id int PRIMARY KEY, v text, f float8, ts timestamptz, j jsonb, b bytea);
INSERT INTO s.calm SELECT g, 'v' || g, g / 3.0, '2024-01-01'::timestamptz + g * interval '1 hour',
    jsonb_build_object('g', g), decode(md5(g::text), 'hex') FROM generate_series(1, 300) g;
INSERT INTO s.calm VALUES (0, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE s.dups (v int);
INSERT INTO s.dups VALUES (1), (1), (2);
CREATE TABLE s.moods (id int PRIMARY KEY, m s.mood);
INSERT INTO s.moods VALUES (1, 'calm'), (2, 'busy');
CREATE TABLE s.parted (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE s.parted_a PARTITION OF s.parted FOR VALUES FROM (0) TO (100);
CREATE TABLE s.parted_b PARTITION OF s.parted FOR VALUES FROM (100) TO (200);
INSERT INTO s.parted SELECT g, g FROM generate_series(0, 199) g;
CREATE MATERIALIZED VIEW s.mv AS SELECT id, v FROM s.calm WHERE id < 50;
CREATE MATERIALIZED VIEW s.mv_empty AS SELECT 1 AS x WITH NO DATA;
CREATE TABLE s.empty (id int);
";

/// One way a table can change: its name, the statements, whether the content changes.
struct Change {
    table: &'static str,
    sql: &'static str,
    content_changes: bool,
}

const CHANGES: &[Change] = &[
    Change { table: "s.t_insert", sql: "INSERT INTO s.t_insert VALUES (1000, 'new')", content_changes: true },
    Change { table: "s.t_update", sql: "UPDATE s.t_update SET v = 'changed' WHERE id = 5", content_changes: true },
    Change { table: "s.t_update_same", sql: "UPDATE s.t_update_same SET v = v WHERE id = 5", content_changes: false },
    Change { table: "s.t_delete", sql: "DELETE FROM s.t_delete WHERE id = 5", content_changes: true },
    Change { table: "s.t_delins", sql: "DELETE FROM s.t_delins WHERE id = 5; INSERT INTO s.t_delins VALUES (5, 'r5')", content_changes: false },
    Change { table: "s.t_swap_freeze", sql: "DELETE FROM s.t_swap_freeze WHERE id = 5; INSERT INTO s.t_swap_freeze VALUES (5000, 'other'); VACUUM (FREEZE) s.t_swap_freeze", content_changes: true },
    Change { table: "s.t_truncate", sql: "TRUNCATE s.t_truncate", content_changes: true },
    Change { table: "s.t_truncate_refill", sql: "CREATE TEMP TABLE keep AS SELECT * FROM s.t_truncate_refill; TRUNCATE s.t_truncate_refill; INSERT INTO s.t_truncate_refill SELECT * FROM keep; DROP TABLE keep", content_changes: false },
    Change { table: "s.t_alter_rewrite", sql: "ALTER TABLE s.t_alter_rewrite SET UNLOGGED; ALTER TABLE s.t_alter_rewrite SET LOGGED", content_changes: false },
    Change { table: "s.t_alter_type", sql: "ALTER TABLE s.t_alter_type ALTER COLUMN id TYPE bigint", content_changes: true },
    Change { table: "s.t_add_column", sql: "ALTER TABLE s.t_add_column ADD COLUMN z int DEFAULT 7", content_changes: true },
    Change { table: "s.t_drop_column", sql: "ALTER TABLE s.t_drop_column DROP COLUMN v", content_changes: true },
    Change { table: "s.t_vacuum_full", sql: "VACUUM FULL s.t_vacuum_full", content_changes: false },
    Change { table: "s.t_cluster", sql: "CLUSTER s.t_cluster USING t_cluster_pkey", content_changes: false },
    Change { table: "s.t_rollback", sql: "BEGIN; UPDATE s.t_rollback SET v = 'x'; DELETE FROM s.t_rollback WHERE id < 3; INSERT INTO s.t_rollback VALUES (999, 'y'); ROLLBACK", content_changes: false },
    Change { table: "s.t_sequence", sql: "SELECT nextval('s.counter'); SELECT setval('s.counter', 42)", content_changes: false },
    Change { table: "s.moods", sql: "ALTER TYPE s.mood RENAME VALUE 'busy' TO 'hectic'", content_changes: true },
    Change { table: "s.parted_a", sql: "INSERT INTO s.parted VALUES (7, 7)", content_changes: true },
    Change { table: "s.mv", sql: "UPDATE s.calm SET v = v WHERE id = 1; REFRESH MATERIALIZED VIEW s.mv", content_changes: false },
];

fn key(t: &str) -> TableKey {
    let (s, n) = t.split_once('.').unwrap_or(("public", t));
    (s.to_string(), n.to_string())
}

async fn full(c: &Client) -> DataFingerprint {
    fingerprint::data(c)
        .await
        .unwrap_or_else(|e| panic!("full fingerprint: {}", e.report()))
}

async fn incremental(c: &Client, helpers: &[Client], prev: Option<&Stamp>) -> fingerprint::DataRun {
    fingerprint::data_with(c, helpers, prev, None, None)
        .await
        .unwrap_or_else(|e| panic!("incremental fingerprint: {}", e.report()))
}

/// The same with the WAL proof (the server's container given).
async fn with_wal(
    c: &Client,
    helpers: &[Client],
    prev: Option<&Stamp>,
    pg: &PgContainer,
) -> fingerprint::DataRun {
    fingerprint::data_with(c, helpers, prev, None, Some(pg))
        .await
        .unwrap_or_else(|e| panic!("fingerprint with the WAL proof: {}", e.report()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_seen_and_untouched_tables_are_proven() {
    let (docker, image) = docker_and_image().await;
    let run = RunIdentity::new();
    let _sweep = SweepOnDrop {
        docker: docker.clone(),
        run_id: run.run_id.clone(),
    };
    let pg = PgContainer::start(&docker, &run, &PgSpec::new(&image, "test-fingerprint"))
        .await
        .unwrap_or_else(|e| panic!("start: {}", e.report()));
    let c = pg.connect(DB_NAME).await.expect("connect");
    c.batch_execute(SETUP_SQL).await.expect("setup");
    for ch in CHANGES {
        if ch.table.starts_with("s.t_") {
            c.batch_execute(&format!(
                "CREATE TABLE {t} (id int PRIMARY KEY, v text); \
                 INSERT INTO {t} SELECT g, 'r' || g FROM generate_series(1, 50) g;",
                t = ch.table
            ))
            .await
            .expect("create change table");
        }
    }
    let cfg = pg.pg_config(DB_NAME).expect("config");
    let helpers = fingerprint::connect_helpers(&cfg, 2)
        .await
        .expect("helpers");

    // both transports and any number of connections give the same fingerprint
    let one = full(&c).await;
    let first = incremental(&c, &helpers, None).await;
    assert_eq!(first.data, one, "three connections vs one");
    assert!(first.proven.is_empty());
    let via_exec = fingerprint::data_via_exec(&docker, &pg.name, DB_USER, DB_NAME, None, &[])
        .await
        .unwrap_or_else(|e| panic!("via exec: {}", e.report()));
    assert_eq!(via_exec, one, "docker exec transport vs tokio-postgres");
    assert_eq!(one.tables[&key("s.parted")].row_count, 200);
    assert_eq!(one.tables[&key("s.parted")].content_sha256, None);
    assert_eq!(one.tables[&key("s.mv_empty")].row_count, -1);
    assert_eq!(one.tables[&key("s.dups")].row_count, 3);

    // nothing changed: every provable table is proven, and the result is the same
    let again = incremental(&c, &helpers, Some(&first.stamp)).await;
    assert_eq!(again.data, one);
    assert!(again.proven.contains(&key("s.calm")), "{:?}", again.proven);
    assert!(
        again.proven.contains(&key("s.moods")),
        "an enum-typed table is taken over while its labels are unchanged"
    );
    assert!(again.stats.proven_unchanged >= CHANGES.len());

    // the same with the WAL proof: every untouched table is proven without reading a page
    let marked = with_wal(&c, &helpers, Some(&again.stamp), &pg).await;
    assert_eq!(marked.data, one);
    assert!(
        marked.stamp.tables.values().all(|t| t.wal_since.is_some()),
        "a quiet fingerprint gives every table its own WAL mark"
    );
    let by_wal = with_wal(&c, &helpers, Some(&marked.stamp), &pg).await;
    assert_eq!(by_wal.data, one);
    assert_eq!(
        by_wal.stats.proven_by_wal, by_wal.stats.proven_unchanged,
        "nothing was written: every proven table is proven from the WAL ({:?})",
        by_wal.stats
    );
    assert!(by_wal.stats.proven_by_wal >= CHANGES.len());

    let mut prev = by_wal;
    let mut schema_before = fingerprint::schema(&c).await.expect("schema fp");
    for ch in CHANGES {
        let before = full(&c).await;
        // one statement at a time: VACUUM and CLUSTER refuse an implicit transaction block
        for stmt in ch.sql.split("; ") {
            c.batch_execute(stmt)
                .await
                .unwrap_or_else(|e| panic!("{}: {stmt}: {e:?}", ch.table));
        }
        let inc = with_wal(&c, &helpers, Some(&prev.stamp), &pg).await;
        let now = full(&c).await;
        assert_eq!(
            inc.data, now,
            "{}: incremental fingerprint differs from the full hash",
            ch.table
        );
        let k = key(ch.table);
        let changed = before.tables.get(&k) != now.tables.get(&k);
        assert_eq!(
            changed,
            ch.content_changes,
            "{}: full hash before {:?} after {:?}",
            ch.table,
            before.tables.get(&k),
            now.tables.get(&k)
        );
        if ch.content_changes {
            assert!(!inc.proven.contains(&k), "{}: changed but proven", ch.table);
        }
        let others: BTreeMap<_, _> = now.tables.iter().filter(|(t, _)| **t != k).collect();
        let others_before: BTreeMap<_, _> =
            before.tables.iter().filter(|(t, _)| **t != k).collect();
        if ch.table != "s.parted_a" && ch.table != "s.mv" {
            assert_eq!(others, others_before, "{}: other tables changed", ch.table);
        }
        assert!(
            inc.proven.contains(&key("s.calm")) || ch.table == "s.mv",
            "{}: an untouched table was not proven",
            ch.table
        );
        assert!(
            inc.stats.proven_by_wal > 0,
            "{}: no table proven from the WAL ({:?})",
            ch.table,
            inc.stats
        );
        if ch.table == "s.t_sequence" {
            let schema_now = fingerprint::schema(&c).await.expect("schema fp");
            assert_ne!(
                schema_now, schema_before,
                "sequence advance is in the schema fingerprint"
            );
            schema_before = schema_now;
        }
        prev = inc;
    }
    // a transaction in progress when a stamp's snapshot is taken, committed after: the stamp
    // gets no WAL mark of its own (its records are before it), and the commit is seen
    let writer = pg.connect(DB_NAME).await.expect("connect writer");
    writer
        .batch_execute("BEGIN; INSERT INTO s.calm VALUES (7777, 'late')")
        .await
        .expect("open writer");
    let during = with_wal(&c, &helpers, Some(&prev.stamp), &pg).await;
    assert_eq!(
        during.data,
        full(&c).await,
        "the open insert is not seen yet"
    );
    assert_eq!(
        during.stamp.tables[&key("s.calm")].wal_since,
        None,
        "a fingerprint taken while a transaction was in progress gives s.calm no mark"
    );
    writer.batch_execute("COMMIT").await.expect("commit writer");
    let after = with_wal(&c, &helpers, Some(&during.stamp), &pg).await;
    assert_eq!(after.data, full(&c).await);
    assert!(!after.proven.contains(&key("s.calm")), "{:?}", after.proven);
    assert_ne!(
        after.data.tables[&key("s.calm")],
        during.data.tables[&key("s.calm")]
    );
    drop(writer);
    prev = after;

    // a stamp of another database is never used
    let mut foreign = prev.stamp.clone();
    foreign.database = "elsewhere/1".into();
    let other = with_wal(&c, &helpers, Some(&foreign), &pg).await;
    assert!(other.proven.is_empty());
    drop(helpers);
    drop(c);
    pg.remove().await.expect("remove");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_proves_its_tables_against_an_untouched_sibling() {
    let (docker, image) = docker_and_image().await;
    let run = RunIdentity::new();
    let _sweep = SweepOnDrop {
        docker: docker.clone(),
        run_id: run.run_id.clone(),
    };
    let pg = PgContainer::start(&docker, &run, &PgSpec::new(&image, "test-fingerprint"))
        .await
        .unwrap_or_else(|e| panic!("start: {}", e.report()));
    let admin = pg.connect("postgres").await.expect("connect");
    let tpl = pg.connect(DB_NAME).await.expect("connect");
    tpl.batch_execute(
        "CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 100) g;
         CREATE TABLE b (id int PRIMARY KEY, v text); INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, 100) g;",
    )
    .await
    .expect("template tables");
    drop(tpl);
    // c1: the untouched clone whose fingerprint every clone shares
    admin
        .batch_execute(&format!(
            "CREATE DATABASE c1 TEMPLATE \"{DB_NAME}\" STRATEGY FILE_COPY"
        ))
        .await
        .expect("c1");
    let c1 = pg.connect("c1").await.expect("c1");
    let pristine = incremental(&c1, &[], None).await;
    // c2 is written BEFORE its stamp exists, then fingerprinted with c1's re-targeted stamp
    let horizon = fingerprint::snapshot_xmin(&admin).await.expect("horizon");
    admin
        .batch_execute(&format!(
            "CREATE DATABASE c2 TEMPLATE \"{DB_NAME}\" STRATEGY FILE_COPY"
        ))
        .await
        .expect("c2");
    let c2 = pg.connect("c2").await.expect("c2");
    c2.batch_execute("DELETE FROM b WHERE id = 1; INSERT INTO b VALUES (1000, 'other')")
        .await
        .expect("change b");
    let db = fingerprint::database_id(&c2).await.expect("db id");
    let stamp = pristine.stamp.for_clone(db.clone(), horizon, None);
    let inc = incremental(&c2, &[], Some(&stamp)).await;
    let now = full(&c2).await;
    assert_eq!(
        inc.data, now,
        "clone fingerprint differs from the full hash"
    );
    assert!(inc.proven.contains(&key("public.a")), "{:?}", inc.proven);
    assert!(!inc.proven.contains(&key("public.b")), "{:?}", inc.proven);
    assert_eq!(inc.stats.proven_by_wal, 0, "no mark, no WAL proof");

    // c3: the clone's WAL mark is read right after CREATE DATABASE; a change to the clone
    // is in the WAL after it, an untouched table is proven from the WAL alone
    let horizon = fingerprint::snapshot_xmin(&admin).await.expect("horizon");
    admin
        .batch_execute(&format!(
            "CREATE DATABASE c3 TEMPLATE \"{DB_NAME}\" STRATEGY FILE_COPY"
        ))
        .await
        .expect("c3");
    let mark = fingerprint::insert_mark(&admin).await.expect("mark");
    assert!(mark.is_some(), "wal_level replica: a mark");
    let c3 = pg.connect("c3").await.expect("c3");
    let c3_helpers = fingerprint::connect_helpers(&pg.pg_config("c3").expect("config"), 1)
        .await
        .expect("helpers");
    c3.batch_execute("UPDATE b SET v = 'changed' WHERE id = 50")
        .await
        .expect("change b in c3");
    // the same relfilenode written in another database (c2 is a byte copy too): not c3's
    c2.batch_execute("UPDATE a SET v = 'c2 only' WHERE id = 1")
        .await
        .expect("change a in c2");
    let db3 = fingerprint::database_id(&c3).await.expect("db id");
    let stamp3 = pristine.stamp.for_clone(db3, horizon, mark);
    let inc3 = with_wal(&c3, &c3_helpers, Some(&stamp3), &pg).await;
    assert_eq!(inc3.data, full(&c3).await, "c3: differs from the full hash");
    assert!(inc3.proven.contains(&key("public.a")), "{:?}", inc3.proven);
    assert!(!inc3.proven.contains(&key("public.b")), "{:?}", inc3.proven);
    assert_eq!(inc3.stats.proven_by_wal, 1, "{:?}", inc3.stats);
    drop((c3, c3_helpers));
    assert_ne!(
        now.tables[&key("public.b")],
        pristine.data.tables[&key("public.b")]
    );
    // the untargeted stamp of c1 is refused in c2 (another database)
    let other = incremental(&c2, &[], Some(&pristine.stamp)).await;
    assert!(other.proven.is_empty());
    drop((c1, c2, admin));
    // a connection that is gone is the environment (exit 4), not a failed check (exit 1)
    let probe = pg.connect(DB_NAME).await.expect("probe");
    pg.kill().await.expect("kill the server");
    let e = probe
        .simple_query("SELECT 1")
        .await
        .expect_err("the server is gone");
    let he = harness::error::Error::from(e);
    assert_eq!(
        (he.category(), he.kind),
        (
            harness::error::Category::Environment,
            harness::error::ErrorKind::DatabaseConnectionLost
        ),
        "{}",
        he.report()
    );
    pg.remove().await.expect("remove");
}

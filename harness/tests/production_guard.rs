//! Production guard: `dryrun backup` of a busy "production" container reads it in one exported
//! snapshot and writes nothing to it; `ensure_owned` refuses containers of another run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::Docker;
use harness::container::{PgContainer, PgSpec, DB_NAME};
use harness::docker::RunIdentity;
use harness::rowcounts::{CountKind, RowCounts};
use tokio_postgres::Client;

mod common;
use common::{docker_and_image, SweepOnDrop};

/// Tables of the "production" database: `hot` is written during the backup, the others not.
const HOT: &str = "public.hot";
const COLD: [&str; 2] = ["public.cold_a", "tac.cold_b"];

const SETUP_SQL: &str = "
CREATE TABLE public.hot (id bigserial PRIMARY KEY, v bigint NOT NULL, note text NOT NULL DEFAULT 'seed');
INSERT INTO public.hot (v) SELECT g FROM generate_series(1, 1000) g;
CREATE TABLE public.cold_a (id int PRIMARY KEY, name text NOT NULL, amount numeric(12,2) NOT NULL);
INSERT INTO public.cold_a SELECT g, 'a-' || g, g * 1.5 FROM generate_series(1, 500) g;
UPDATE public.cold_a SET amount = amount + 1 WHERE id <= 10;
CREATE SCHEMA tac;
CREATE TABLE tac.cold_b (id int PRIMARY KEY, payload jsonb NOT NULL);
INSERT INTO tac.cold_b SELECT g, jsonb_build_object('k', g) FROM generate_series(1, 300) g;
DELETE FROM tac.cold_b WHERE id > 290;
";

/// Counters of `pg_stat_user_tables` for one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct TupStats {
    ins: i64,
    upd: i64,
    del: i64,
    hot_upd: i64,
}

impl TupStats {
    fn minus(self, o: TupStats) -> TupStats {
        TupStats {
            ins: self.ins - o.ins,
            upd: self.upd - o.upd,
            del: self.del - o.del,
            hot_upd: self.hot_upd - o.hot_upd,
        }
    }
}

/// What the concurrent writer did, counted from the rows each statement reported.
#[derive(Debug, Clone, Copy, Default)]
struct WriterOps {
    statements: u64,
    inserted: i64,
    updated: i64,
    deleted: i64,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// No container or volume labelled with `run` is left on the engine.
async fn assert_run_left_nothing(docker: &Docker, run: &RunIdentity) {
    let left = harness::docker::count_labelled(docker, Some(&run.run_id))
        .await
        .expect("count labelled resources");
    assert_eq!(
        left,
        (0, 0),
        "containers and volumes of the run left behind"
    );
}

async fn start(docker: &Docker, run: &RunIdentity, image: &str, role: &str) -> PgContainer {
    PgContainer::start(docker, run, &PgSpec::new(image, role))
        .await
        .unwrap_or_else(|e| panic!("starting the {role} container: {}", e.report()))
}

async fn stats(c: &Client) -> BTreeMap<String, TupStats> {
    c.batch_execute("SELECT pg_stat_clear_snapshot()")
        .await
        .expect("pg_stat_clear_snapshot");
    let rows = c
        .query(
            "SELECT schemaname || '.' || relname, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd \
             FROM pg_stat_user_tables ORDER BY 1",
            &[],
        )
        .await
        .expect("read pg_stat_user_tables");
    rows.iter()
        .map(|r| {
            (
                r.get::<_, String>(0),
                TupStats {
                    ins: r.get(1),
                    upd: r.get(2),
                    del: r.get(3),
                    hot_upd: r.get(4),
                },
            )
        })
        .collect()
}

/// Statistics are flushed asynchronously: poll until `done` holds (or time out), then wait a
/// little longer and read once more, so late flushes would still show up.
async fn settled_stats(
    c: &Client,
    done: impl Fn(&BTreeMap<String, TupStats>) -> bool,
) -> BTreeMap<String, TupStats> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = stats(c).await;
        if done(&s) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stats(c).await
}

fn get(s: &BTreeMap<String, TupStats>, t: &str) -> TupStats {
    s.get(t).copied().unwrap_or_default()
}

async fn content_hash(c: &Client, table: &str) -> String {
    c.query_one(
        &format!("SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY id)), '') FROM {table} t"),
        &[],
    )
    .await
    .unwrap_or_else(|e| panic!("hash of {table}: {e}"))
    .get(0)
}

/// Objects a write could leave behind: relations per schema, schemas, roles, databases,
/// prepared transactions.
async fn catalog_fingerprint(c: &Client) -> Vec<String> {
    let q = "SELECT 'rel ' || n.nspname || ' ' || count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace GROUP BY n.nspname \
             UNION ALL SELECT 'schema ' || nspname FROM pg_namespace \
             UNION ALL SELECT 'role ' || rolname FROM pg_roles \
             UNION ALL SELECT 'database ' || datname FROM pg_database \
             UNION ALL SELECT 'prepared ' || count(*) FROM pg_prepared_xacts \
             ORDER BY 1";
    c.query(q, &[])
        .await
        .expect("catalog fingerprint")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

async fn live_count(c: &Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e}"))
        .get(0)
}

/// Insert, update and delete rows of `hot` until told to stop, one autocommit statement at a
/// time; then ask for this session's statistics to be flushed.
async fn write_continuously(
    c: Client,
    stop: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
) -> Result<WriterOps, tokio_postgres::Error> {
    let mut ops = WriterOps::default();
    let mut i: i64 = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let id: i64 = c
            .query_one(
                "INSERT INTO public.hot (v, note) VALUES ($1, 'writer') RETURNING id",
                &[&i],
            )
            .await?
            .get(0);
        ops.inserted += 1;
        ops.updated += c
            .execute("UPDATE public.hot SET v = v + 1 WHERE id = $1", &[&id])
            .await? as i64;
        if i % 5 == 0 {
            ops.deleted += c
                .execute(
                    "DELETE FROM public.hot WHERE id = (SELECT min(id) FROM public.hot)",
                    &[],
                )
                .await? as i64;
        }
        if i % 25 == 0 {
            ops.updated += c
                .execute(
                    "UPDATE public.hot SET note = 'bulk' WHERE id % 97 = $1",
                    &[&(i % 97)],
                )
                .await? as i64;
        }
        ops.statements = progress.fetch_add(1, Ordering::Relaxed) + 1;
    }
    c.batch_execute("SELECT pg_stat_force_next_flush()").await?;
    Ok(ops)
}

async fn wait_for_progress(progress: &AtomicU64, at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while progress.load(Ordering::Relaxed) < at_least {
        assert!(
            Instant::now() < deadline,
            "the writer did not make progress"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn only_file(dir: &Path, prefix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list the backup directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    assert_eq!(found.len(), 1, "one {prefix}* file expected: {found:?}");
    found[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_of_a_busy_source_is_one_read_only_snapshot() {
    init_tracing();
    let (docker, image) = docker_and_image().await;
    let run = RunIdentity::new();
    let _sweep = SweepOnDrop {
        docker: docker.clone(),
        run_id: run.run_id.clone(),
    };
    let source = start(&docker, &run, &image, "source").await;
    let obs = source
        .connect(DB_NAME)
        .await
        .expect("connect to the source");

    // The "production" database, its statistics flushed and settled.
    obs.batch_execute(SETUP_SQL).await.expect("create tables");
    obs.batch_execute("SELECT pg_stat_force_next_flush()")
        .await
        .expect("flush setup statistics");
    let before = settled_stats(&obs, |s| {
        get(s, HOT).ins == 1000 && get(s, COLD[0]).upd == 10 && get(s, COLD[1]).del == 10
    })
    .await;
    let setup = [
        (
            HOT,
            TupStats {
                ins: 1000,
                ..Default::default()
            },
        ),
        (
            COLD[0],
            TupStats {
                ins: 500,
                upd: 10,
                del: 0,
                hot_upd: get(&before, COLD[0]).hot_upd,
            },
        ),
        (
            COLD[1],
            TupStats {
                ins: 300,
                upd: 0,
                del: 10,
                hot_upd: 0,
            },
        ),
    ];
    for (t, want) in setup {
        assert_eq!(get(&before, t), want, "statistics of {t} after the setup");
    }
    let cold_hash_before = [
        content_hash(&obs, COLD[0]).await,
        content_hash(&obs, COLD[1]).await,
    ];
    let catalog_before = catalog_fingerprint(&obs).await;

    // A writer on its own loopback connection, busy before, during and after the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let writer_conn = source.connect(DB_NAME).await.expect("writer connection");
    let writer = tokio::spawn(write_continuously(
        writer_conn,
        stop.clone(),
        progress.clone(),
    ));
    wait_for_progress(&progress, 50).await;

    // The backup, through the real binary.
    let out = tempfile::tempdir().expect("temporary directory");
    let at_start = progress.load(Ordering::Relaxed);
    let t = Instant::now();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dryrun"))
        .args(["backup", "--source-container", &source.name, "--out"])
        .arg(out.path())
        .output()
        .await
        .expect("run dryrun backup");
    let backup_ms = t.elapsed().as_millis();
    let during = progress.load(Ordering::Relaxed) - at_start;
    wait_for_progress(&progress, at_start + during + 20).await;
    stop.store(true, Ordering::Relaxed);
    let ops = writer
        .await
        .expect("writer task")
        .expect("writer statements");
    assert!(
        child.status.success(),
        "dryrun backup failed ({}):\n{}",
        child.status,
        String::from_utf8_lossy(&child.stderr)
    );
    tracing::info!(
        backup_ms,
        writer_statements_during_backup = during,
        ?ops,
        "backup done, writer stopped"
    );
    assert!(during > 0, "the writer must be busy while the backup runs");

    // (a) The harness wrote nothing: table counters moved only by what the writer did.
    let want_hot = TupStats {
        ins: get(&before, HOT).ins + ops.inserted,
        upd: get(&before, HOT).upd + ops.updated,
        del: get(&before, HOT).del + ops.deleted,
        hot_upd: 0,
    };
    let after = settled_stats(&obs, |s| {
        let h = get(s, HOT);
        (h.ins, h.upd, h.del) == (want_hot.ins, want_hot.upd, want_hot.del)
    })
    .await;
    let hot_delta = get(&after, HOT).minus(get(&before, HOT));
    tracing::info!(
        ?before,
        ?after,
        ?hot_delta,
        ?ops,
        "pg_stat_user_tables before/after"
    );
    assert_eq!(
        (hot_delta.ins, hot_delta.upd, hot_delta.del),
        (ops.inserted, ops.updated, ops.deleted),
        "public.hot: counter increase (ins, upd, del) must equal what the writer did"
    );
    assert!(
        (0..=ops.updated).contains(&hot_delta.hot_upd),
        "public.hot: n_tup_hot_upd grew by {} for {} updates",
        hot_delta.hot_upd,
        ops.updated
    );
    for t in COLD {
        assert_eq!(get(&after, t), get(&before, t), "{t}: counters changed");
    }
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the set of user tables changed"
    );
    let cold_hash_after = [
        content_hash(&obs, COLD[0]).await,
        content_hash(&obs, COLD[1]).await,
    ];
    assert_eq!(cold_hash_after, cold_hash_before, "cold tables' content");
    assert_eq!(catalog_fingerprint(&obs).await, catalog_before, "catalog");

    // (c) SHA256SUMS verifies every file, and nothing else is in --out.
    let sums = out.path().join("SHA256SUMS");
    let entries = harness::checksum::parse_sums(&sums).unwrap_or_else(|e| panic!("{}", e.report()));
    for e in &entries {
        harness::checksum::verify_listed(&out.path().join(&e.name), &sums, &entries)
            .unwrap_or_else(|err| panic!("{}", err.report()));
    }
    let mut listed: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    listed.push("SHA256SUMS");
    listed.sort_unstable();
    let mut present: Vec<String> = std::fs::read_dir(out.path())
        .expect("list --out")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    present.sort_unstable();
    assert_eq!(
        present, listed,
        "--out holds exactly the listed files (no staging left)"
    );
    assert_eq!(
        entries.len(),
        5,
        "dump, schema, row counts, content hashes and log: {listed:?}"
    );

    // The log names the snapshot both pg_dump runs used and the transaction's isolation.
    let log = std::fs::read_to_string(only_file(out.path(), "directus_pg_dump_")).expect("log");
    let snapshot = log
        .strip_prefix("# snapshot ")
        .and_then(|r| r.split(':').next())
        .unwrap_or_else(|| panic!("the log starts with the snapshot id:\n{log}"));
    assert_eq!(
        log.matches(&format!("--snapshot={snapshot} (exit 0)"))
            .count(),
        2,
        "both pg_dump runs used snapshot {snapshot}:\n{log}"
    );
    assert!(
        log.contains("transaction_isolation=repeatable read")
            && log.contains("transaction_read_only=on"),
        "{log}"
    );

    // (b) The dump is consistent with the counts taken in the same snapshot.
    let psv = RowCounts::parse_file(&only_file(out.path(), "directus_rowcounts_"))
        .unwrap_or_else(|e| panic!("{}", e.report()));
    assert_eq!(psv.kind, CountKind::Exact);
    let key = |t: &str| {
        let (s, n) = t.split_once('.').unwrap_or(("public", t));
        (s.to_string(), n.to_string())
    };
    let psv_hot = psv.counts.get(&key(HOT)).copied();
    let live_hot = live_count(&obs, HOT).await;
    tracing::info!(
        ?psv_hot,
        live_hot,
        "public.hot rows: in the snapshot vs now"
    );
    assert!(
        psv_hot.is_some_and(|n| n != live_hot),
        "public.hot kept changing after the snapshot (snapshot {psv_hot:?}, now {live_hot})"
    );
    let restored = start(&docker, &run, &image, "restore-check").await;
    let dump = only_file(out.path(), "directus_full_");
    let (outcome, _, _) = harness::restore::restore_into(&restored, &dump, 1)
        .await
        .unwrap_or_else(|e| panic!("{}", e.report()));
    assert!(outcome.passed, "pg_restore: {:?}", outcome.messages);
    let counts = harness::restore::exact_counts(&restored)
        .await
        .unwrap_or_else(|e| panic!("{}", e.report()));
    let diffs = harness::rowcounts::compare(&psv, &counts);
    tracing::info!(psv = ?psv.counts, restored = ?counts.counts, "row counts: snapshot vs restored dump");
    assert!(
        diffs.is_empty(),
        "restored dump differs from the snapshot's counts: {}",
        diffs
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    );
    assert_eq!(counts.counts.len(), 3, "{:?}", counts.counts);
    let rclient = restored
        .connect(DB_NAME)
        .await
        .expect("connect to the restore");
    let cold_hash_restored = [
        content_hash(&rclient, COLD[0]).await,
        content_hash(&rclient, COLD[1]).await,
    ];
    assert_eq!(
        cold_hash_restored, cold_hash_before,
        "cold tables restored intact"
    );
    drop(rclient);
    drop(obs);

    restored
        .remove()
        .await
        .expect("remove the restore container");
    source.remove().await.expect("remove the source container");
    assert_run_left_nothing(&docker, &run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_owned_refuses_a_container_of_another_run() {
    init_tracing();
    let (docker, image) = docker_and_image().await;
    let run = RunIdentity::new();
    let _sweep = SweepOnDrop {
        docker: docker.clone(),
        run_id: run.run_id.clone(),
    };
    let source = start(&docker, &run, &image, "source").await;
    harness::guard::ensure_owned(&docker, &run, &source.id)
        .await
        .unwrap_or_else(|e| panic!("the run's own container was refused: {}", e.report()));

    let other = RunIdentity::new();
    assert_ne!(other.run_id, run.run_id);
    for target in [source.id.as_str(), source.name.as_str()] {
        let err = harness::guard::ensure_owned(&docker, &other, target)
            .await
            .expect_err("a container of another run must be refused");
        assert_eq!(
            err.kind,
            harness::error::ErrorKind::TargetNotOwned,
            "{}",
            err.report()
        );
        assert!(
            err.message.contains(&other.run_id) && err.message.contains(target),
            "{}",
            err.message
        );
    }
    let missing = format!("dryrun-no-such-container-{}", other.run_id.to_lowercase());
    let err = harness::guard::ensure_owned(&docker, &run, &missing)
        .await
        .expect_err("a missing container must be refused");
    assert_eq!(
        err.kind,
        harness::error::ErrorKind::TargetNotOwned,
        "{}",
        err.report()
    );

    source.remove().await.expect("remove the source container");
    assert_run_left_nothing(&docker, &run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_of_a_missing_database_fails_fast_and_writes_no_file() {
    init_tracing();
    let (docker, image) = docker_and_image().await;
    let run = RunIdentity::new();
    let _sweep = SweepOnDrop {
        docker: docker.clone(),
        run_id: run.run_id.clone(),
    };
    let source = start(&docker, &run, &image, "source").await;
    let out = tempfile::tempdir().expect("temporary directory");
    let t = Instant::now();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dryrun"))
        .args(["backup", "--source-container", &source.name])
        .args(["--db", "no_such_db", "--out"])
        .arg(out.path())
        .output()
        .await
        .expect("run dryrun backup");
    let took = t.elapsed();
    let stderr = String::from_utf8_lossy(&child.stderr);
    tracing::info!(?took, code = ?child.status.code(), stderr = %stderr.trim(), "backup of a missing database");
    assert_eq!(child.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("backup_failed") && stderr.contains("no_such_db"),
        "the error names the database psql could not open:\n{stderr}"
    );
    // The session ends as soon as psql exits, not after the snapshot timeout.
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let left: Vec<_> = std::fs::read_dir(out.path())
        .expect("list --out")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert!(left.is_empty(), "--out must stay empty: {left:?}");

    source.remove().await.expect("remove the source container");
    assert_run_left_nothing(&docker, &run).await;
}

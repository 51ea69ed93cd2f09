//! Database tests of cutter-signals against a real PostgreSQL 16 with migration P0 deployed.
//! Ignored by default: run `CUTTER_SIGNALS_PG='host=… user=…' cargo test -p cutter-signals -- --ignored`.
//!
//! Each test creates its own database `p0_cutter_signals_<pid>_<n>` on that server, applies every
//! `migrations/p0` deploy step (on a stand-in `public.dot_tools`) and drops it at the end.
//! Without `CUTTER_SIGNALS_PG` an explicitly requested run fails loudly instead of skipping.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cutter_signals::{
    acknowledge, emit, emit_mirrored, get, list, Error, JsonlMirror, Listener, SignalFilter,
    SignalKind,
};
use serde_json::json;
use tokio_postgres::{Client, Config, NoTls};
use uuid::Uuid;

const IGNORED: &str = "needs PostgreSQL 16: set CUTTER_SIGNALS_PG and run with --ignored";
const WAIT: Duration = Duration::from_secs(5);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct TestDb {
    admin: Client,
    name: String,
    config: Config,
    client: Client,
}

fn base_config() -> Result<Config, Box<dyn std::error::Error>> {
    let conninfo = std::env::var("CUTTER_SIGNALS_PG").map_err(|_| {
        format!("CUTTER_SIGNALS_PG is not set ({IGNORED}); e.g. CUTTER_SIGNALS_PG='host=127.0.0.1 port=55432 user=postgres dbname=postgres'")
    })?;
    Ok(conninfo.parse::<Config>()?)
}

async fn connect(config: &Config) -> Result<Client, Box<dyn std::error::Error>> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("test connection error: {e}");
        }
    });
    Ok(client)
}

fn p0_deploy_files() -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations/p0");
    let plan = std::fs::read_to_string(dir.join("plan.yaml"))?;
    let files: Vec<PathBuf> = plan
        .lines()
        .filter_map(|l| l.trim().strip_prefix("deploy:"))
        .map(|p| dir.join(p.trim()))
        .collect();
    if files.is_empty() {
        return Err("no deploy step in migrations/p0/plan.yaml".into());
    }
    Ok(files)
}

impl TestDb {
    async fn new() -> Result<TestDb, Box<dyn std::error::Error>> {
        let base = base_config()?;
        let admin = connect(&base).await?;
        let name = format!(
            "p0_cutter_signals_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        let mut config = base.clone();
        config.dbname(&name);
        let client = connect(&config).await?;
        client
            .batch_execute(
                "CREATE TABLE public.dot_tools (id integer PRIMARY KEY, code text NOT NULL, name text, \
                 tier text, paired_with integer, status text, tool_revision text); \
                 INSERT INTO public.dot_tools VALUES \
                 (992, 'DOT-IU-CUTTER', 'cutter', 'A', 991, 'active', '0.1.0'), \
                 (991, 'DOT-IU-CUTTER-VERIFY', 'verifier', 'B', 992, 'active', '0.1.0');",
            )
            .await?;
        for file in p0_deploy_files()? {
            let sql = std::fs::read_to_string(&file)?;
            client
                .batch_execute(&format!("BEGIN;\n{sql}\nCOMMIT;"))
                .await
                .map_err(|e| format!("deploy {}: {e}", file.display()))?;
        }
        Ok(TestDb {
            admin,
            name,
            config,
            client,
        })
    }

    async fn drop(self) -> TestResult {
        let TestDb {
            admin,
            name,
            client,
            ..
        } = self;
        drop(client);
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        Ok(())
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL 16: set CUTTER_SIGNALS_PG and run with --ignored"]
async fn emit_is_notified_listed_and_acknowledged_once() -> TestResult {
    let db = TestDb::new().await?;
    let mut listener = Listener::connect(&db.config).await?;
    let cs = Uuid::new_v4();

    let signal = emit(
        &db.client,
        SignalKind::DotPairDrift,
        cs,
        991,
        json!({"executor_revision": "0.1.0", "verifier_revision": "0.2.0"}),
    )
    .await?;
    assert_eq!(signal.kind, SignalKind::DotPairDrift);
    assert_eq!(signal.change_set_id, cs);
    assert_eq!(signal.emitter_dot_id, 991);
    assert_eq!(signal.routed_to, "G-2");
    assert!(!signal.is_acknowledged());

    let n = listener
        .await_signal(SignalKind::DotPairDrift, cs, WAIT)
        .await?;
    assert_eq!(n.id, signal.id);
    assert_eq!(n.emitter_dot_id, 991);
    assert_eq!(n.routed_to, "G-2");
    assert!(n.process_id > 0);

    let open = list(&db.client, &SignalFilter::open()).await?;
    assert_eq!(open, vec![signal.clone()]);
    assert_eq!(get(&db.client, signal.id).await?, Some(signal.clone()));

    assert!(matches!(
        acknowledge(&db.client, signal.id, "  ").await,
        Err(Error::BlankAcknowledger)
    ));
    let acked = acknowledge(&db.client, signal.id, "g2-operator").await?;
    assert_eq!(acked.acknowledged_by.as_deref(), Some("g2-operator"));
    let at = acked.acknowledged_at.ok_or("acknowledged_at missing")?;
    assert!(at >= signal.emitted_at);

    match acknowledge(&db.client, signal.id, "someone-else").await {
        Err(Error::AlreadyAcknowledged { id, by, at: first }) => {
            assert_eq!(id, signal.id);
            assert_eq!(by, "g2-operator");
            assert_eq!(first, at);
        }
        other => return Err(format!("second acknowledge: {other:?}").into()),
    }
    let unknown = Uuid::new_v4();
    match acknowledge(&db.client, unknown, "g2-operator").await {
        Err(Error::UnknownSignal(id)) => assert_eq!(id, unknown),
        other => return Err(format!("unknown acknowledge: {other:?}").into()),
    }

    assert!(list(&db.client, &SignalFilter::open()).await?.is_empty());
    let acked_list = list(
        &db.client,
        &SignalFilter {
            acknowledged: Some(true),
            ..SignalFilter::for_change_set(cs)
        },
    )
    .await?;
    assert_eq!(acked_list, vec![acked]);
    // the g2_backlog view agrees with the open filter
    let backlog: i64 = db
        .client
        .query_one("SELECT count(*) FROM cutter_governance.g2_backlog", &[])
        .await?
        .try_get(0)?;
    assert_eq!(backlog, 0);

    listener.close().await;
    db.drop().await
}

#[tokio::test]
#[ignore = "needs PostgreSQL 16: set CUTTER_SIGNALS_PG and run with --ignored"]
async fn rolled_back_emit_is_neither_stored_nor_notified() -> TestResult {
    let mut db = TestDb::new().await?;
    let mut listener = Listener::connect(&db.config).await?;
    let cs = Uuid::new_v4();

    let tx = db.client.transaction().await?;
    let ghost = emit(&tx, SignalKind::SignatureFailure, cs, 992, json!({"n": 1})).await?;
    tx.rollback().await?;
    match listener.next_within(Duration::from_millis(500)).await {
        Err(Error::Timeout(_)) => {}
        other => return Err(format!("expected a timeout, got {other:?}").into()),
    }
    assert_eq!(get(&db.client, ghost.id).await?, None);

    let tx = db.client.transaction().await?;
    let real = emit(&tx, SignalKind::SignatureFailure, cs, 992, json!({"n": 2})).await?;
    tx.commit().await?;
    let n = listener.next_within(WAIT).await?;
    assert_eq!(n.id, real.id);
    assert_eq!(n.kind, SignalKind::SignatureFailure);

    listener.close().await;
    db.drop().await
}

#[tokio::test]
#[ignore = "needs PostgreSQL 16: set CUTTER_SIGNALS_PG and run with --ignored"]
async fn await_signal_keeps_other_notifications() -> TestResult {
    let db = TestDb::new().await?;
    let mut listener = Listener::connect(&db.config).await?;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());

    let first = emit(&db.client, SignalKind::SignatureFailure, a, 991, json!({})).await?;
    let second = emit(&db.client, SignalKind::DotPairDrift, b, 992, json!({})).await?;
    // a foreign payload on the same channel is skipped by await_signal
    db.client
        .batch_execute("NOTIFY cutter_g2_backlog, 'not a signal'")
        .await?;
    let third = emit(&db.client, SignalKind::DotPairDrift, a, 991, json!({})).await?;

    let got = listener
        .await_signal(SignalKind::DotPairDrift, a, WAIT)
        .await?;
    assert_eq!(got.id, third.id);
    assert_eq!(listener.next_within(WAIT).await?.id, first.id);
    assert_eq!(listener.next_within(WAIT).await?.id, second.id);
    match listener
        .await_signal(SignalKind::DotPairDrift, a, Duration::from_millis(300))
        .await
    {
        Err(Error::Timeout(_)) => {}
        other => return Err(format!("expected a timeout, got {other:?}").into()),
    }
    // next_within reports a malformed payload instead of skipping it
    db.client
        .batch_execute("NOTIFY cutter_g2_backlog, '{\"id\": 1}'")
        .await?;
    assert!(matches!(
        listener.next_within(WAIT).await,
        Err(Error::MalformedNotification { .. })
    ));

    listener.close().await;
    db.drop().await
}

#[tokio::test]
#[ignore = "needs PostgreSQL 16: set CUTTER_SIGNALS_PG and run with --ignored"]
async fn dry_run_mirror_and_table_checks() -> TestResult {
    let db = TestDb::new().await?;
    let path = std::env::temp_dir().join(format!("{}.jsonl", db.name));
    let _ = std::fs::remove_file(&path);
    let mirror = JsonlMirror::open(&path)?;
    let cs = Uuid::new_v4();

    let s1 = emit_mirrored(
        &db.client,
        Some(&mirror),
        SignalKind::DotPairDrift,
        cs,
        992,
        json!({"a": 1}),
    )
    .await?;
    let s2 = emit_mirrored(
        &db.client,
        Some(&mirror),
        SignalKind::SignatureFailure,
        cs,
        991,
        json!([1, 2]),
    )
    .await?;
    let s3 = emit_mirrored(
        &db.client,
        None,
        SignalKind::SignatureFailure,
        cs,
        991,
        json!(null),
    )
    .await?;
    assert_eq!(JsonlMirror::read_all(&path)?, vec![s1.clone(), s2.clone()]);
    let by_kind = list(
        &db.client,
        &SignalFilter {
            kind: Some(SignalKind::SignatureFailure),
            limit: Some(1),
            ..SignalFilter::default()
        },
    )
    .await?;
    assert_eq!(by_kind, vec![s2]);
    assert_eq!(
        list(&db.client, &SignalFilter::for_change_set(cs))
            .await?
            .len(),
        3
    );
    assert_eq!(s3.payload, serde_json::Value::Null);

    // the table itself refuses what the API never produces
    for bad in [
        "INSERT INTO cutter_governance.signal (kind, change_set_id, emitter_dot_id, routed_to) VALUES ('dot_pair_drift', gen_random_uuid(), 991, 'G-1')",
        "INSERT INTO cutter_governance.signal (kind, change_set_id, emitter_dot_id) VALUES ('other', gen_random_uuid(), 991)",
        "INSERT INTO cutter_governance.signal (kind, change_set_id, emitter_dot_id, acknowledged_by) VALUES ('dot_pair_drift', gen_random_uuid(), 991, 'x')",
    ] {
        let err = db.client.batch_execute(bad).await.err().ok_or(format!("accepted: {bad}"))?;
        assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION), "{bad}");
    }

    std::fs::remove_file(&path)?;
    db.drop().await
}

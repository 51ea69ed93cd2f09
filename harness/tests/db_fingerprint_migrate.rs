//! Fingerprints and the P0 runner against a real PostgreSQL 16: one container of its own,
//! with the bundled fixture restored into it, and the nine checks below run one after another.
//!
//! Each check clones the restored database (the template) into its own `fm_*` database and
//! drops it at the end. One test starts the container, runs every check (a failing one does
//! not stop the others), removes the container and names each check that failed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::FutureExt;
use harness::fingerprint::{self, diff_data, diff_schema, Fingerprint, SchemaFingerprint};
use harness::migrate::{FailureKind, Injection, Limits, Phase, Plan, Runner, Status};
use tokio_postgres::Client;

mod common;
use common::fixture_db::{connect, start_restored, with_db};

fn plan() -> Plan {
    Plan::embedded().expect("embedded plan")
}

fn runner(limits: Limits) -> Runner {
    Runner::new(plan(), limits)
}

fn archive_path(dir: &Path, tag: &str) -> PathBuf {
    dir.join(format!("{tag}.jsonl"))
}

fn assert_same(base: &Fingerprint, now: &Fingerprint, what: &str) {
    let d = base.diff(now);
    assert!(
        d.is_empty(),
        "{what}: fingerprint differs from baseline:\n{d}"
    );
    assert_eq!(base.schema.sha256(), now.schema.sha256(), "{what}");
    assert_eq!(base.data.sha256(), now.data.sha256(), "{what}");
}

/// Schema fingerprints after deploying steps 1..=j, for j = 0..=7 (reverting in between).
async fn prefix_schemas(client: &Client, tmp: &Path) -> Vec<SchemaFingerprint> {
    let mut out = Vec::new();
    for j in 0..=7 {
        let mut r = runner(Limits::default());
        let o = r
            .deploy(client, Some(j), None)
            .await
            .expect("deploy prefix");
        assert!(o.stopped.is_none(), "prefix {j}: {:?}", o.stopped);
        assert_eq!(o.applied.len(), j);
        out.push(fingerprint::schema(client).await.expect("schema fp"));
        r.revert(client, Some(&archive_path(tmp, &format!("prefix{j}"))))
            .await
            .expect("revert prefix");
    }
    out
}

async fn deploy_all_verify_revert_to_baseline_twice() {
    with_db("fm", "t_deploy_revert", |db| async move {
        let c = connect(&db).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = fingerprint::take(&c).await.expect("baseline");
        assert!(
            base.schema.len() > 1000,
            "baseline has {} objects",
            base.schema.len()
        );
        assert!(!base.data.is_empty());

        let mut r = runner(Limits::default());
        let o = r.deploy(&c, None, None).await.expect("deploy");
        assert!(o.stopped.is_none(), "{:?}", o.stopped);
        assert_eq!(o.applied, plan().step_names());
        assert_eq!(o.events.len(), 14);
        assert!(o
            .events
            .iter()
            .all(|e| e.status == Status::Ok && e.error.is_none()));

        // a fresh runner sees every step applied (its verify passes): all no-op
        let mut fresh = runner(Limits::default());
        let again = fresh.deploy(&c, None, None).await.expect("redeploy");
        assert!(again.applied.is_empty());
        assert!(again
            .events
            .iter()
            .all(|e| e.status == Status::NoOp && e.phase == Phase::Deploy));

        let deployed = fingerprint::take(&c).await.expect("deployed fp");
        let added = diff_schema(&base.schema, &deployed.schema);
        assert!(added
            .iter()
            .all(|c| c.kind == fingerprint::ChangeKind::Added));
        let shown: Vec<String> = added.iter().map(|c| c.to_string()).collect();
        assert!(
            shown.iter().any(|l| l.starts_with(
                "+ index cutter_governance.cut_unit_logical_unit_id_idx: CREATE INDEX"
            )),
            "{shown:#?}"
        );
        // P0 touches nothing outside its schema
        assert_eq!(
            deployed.data.without_schema("cutter_governance"),
            base.data,
            "public data changed by deploy"
        );
        assert!(
            added
                .iter()
                .all(|c| c.identity.contains("cutter_governance")),
            "{shown:#?}"
        );

        // without an archive path the seed rows block the revert; nothing is dropped
        let err = r.revert(&c, None).await.expect_err("refused");
        assert_eq!(err.kind, harness::error::ErrorKind::ArchiveRequired);
        assert_eq!(fingerprint::schema(&c).await.expect("fp"), deployed.schema);

        let out = r
            .revert(&c, Some(&archive_path(tmp.path(), "a")))
            .await
            .expect("revert");
        assert!(!out.noop);
        assert!(out.stopped.is_none());
        assert_eq!(out.events.len(), 7);
        assert_eq!(out.events[0].step, "07_g2_backlog_view");
        let a = out.archive.expect("seed rows archived");
        assert_eq!(a.tables.get("dot_tool_revision"), Some(&2));
        assert_same(
            &base,
            &fingerprint::take(&c).await.expect("fp"),
            "after revert",
        );

        let second = r.revert(&c, None).await.expect("second revert");
        assert!(second.noop);
        assert!(second.archive.is_none());
        assert!(second.events.iter().all(|e| e.status == Status::NoOp));
        assert_same(
            &base,
            &fingerprint::take(&c).await.expect("fp"),
            "after second revert",
        );
    })
    .await;
}

async fn deploy_revert_deploy_equals_first_deploy() {
    with_db("fm", "t_redeploy", |db| async move {
        let c = connect(&db).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut r = runner(Limits::default());
        assert!(r
            .deploy(&c, None, None)
            .await
            .expect("deploy")
            .stopped
            .is_none());
        let first = fingerprint::take(&c).await.expect("fp");
        r.revert(&c, Some(&archive_path(tmp.path(), "a")))
            .await
            .expect("revert");
        let o = r.deploy(&c, None, None).await.expect("deploy again");
        assert_eq!(o.applied.len(), 7);
        let second = fingerprint::take(&c).await.expect("fp");
        assert_eq!(
            first.schema,
            second.schema,
            "{:#?}",
            diff_schema(&first.schema, &second.schema)
        );
        assert_eq!(
            first.data.without_schema("cutter_governance"),
            second.data.without_schema("cutter_governance")
        );
        // registered_at = now() differs between deployments: compare row counts only
        for (k, d) in first.data.restrict(|s, _| s == "cutter_governance").tables {
            assert_eq!(second.data.tables[&k].row_count, d.row_count, "{k:?}");
        }
        r.revert(&c, Some(&archive_path(tmp.path(), "b")))
            .await
            .expect("revert");
    })
    .await;
}

async fn fail_before_and_inside_leave_nothing_of_the_step() {
    with_db("fm", "t_fail_steps", |db| async move {
        let c = connect(&db).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = fingerprint::take(&c).await.expect("baseline");
        let prefixes = prefix_schemas(&c, tmp.path()).await;
        assert_eq!(prefixes[0], base.schema);
        for k in 1..=7usize {
            for inj in [Injection::FailBefore(k), Injection::FailInside(k)] {
                let mut r = runner(Limits::default());
                let o = r.deploy(&c, None, Some(&inj)).await.expect("deploy");
                let stop = o
                    .stopped
                    .clone()
                    .unwrap_or_else(|| panic!("{inj:?} did not stop"));
                assert_eq!((stop.index, stop.phase), (k, Phase::Deploy), "{inj:?}");
                assert_eq!(
                    stop.cause.kind,
                    FailureKind::Injected,
                    "{inj:?}: {}",
                    stop.cause
                );
                assert_eq!(stop.cause.sqlstate.as_deref(), Some("P0001"));
                assert_eq!(o.applied.len(), k - 1);
                // later steps are skipped, never attempted
                let skipped = o
                    .events
                    .iter()
                    .filter(|e| e.status == Status::Skipped)
                    .count();
                assert_eq!(skipped, 7 - k, "{inj:?}");
                let now = fingerprint::schema(&c).await.expect("fp");
                assert!(
                    now == prefixes[k - 1],
                    "{inj:?} left something of step {k}:\n{}",
                    diff_schema(&prefixes[k - 1], &now)
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                // the stop is active: no further deploy without approval
                let refused = r.deploy(&c, None, None).await.expect_err("refused");
                assert_eq!(refused.kind, harness::error::ErrorKind::FailureStopActive);
                // revert is the way back and is allowed
                let tag = format!("{k}_{}", matches!(inj, Injection::FailInside(_)));
                let out = r
                    .revert(&c, Some(&archive_path(tmp.path(), &tag)))
                    .await
                    .expect("revert");
                assert!(out.stopped.is_none());
                assert_same(
                    &base,
                    &fingerprint::take(&c).await.expect("fp"),
                    &format!("{inj:?}"),
                );
            }
        }
    })
    .await;
}

async fn verify_failure_stops_until_approved() {
    with_db("fm", "t_verify_fail", |db| async move {
        let c = connect(&db).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = fingerprint::take(&c).await.expect("baseline");
        let mut r = runner(Limits::default());
        let o = r
            .deploy(&c, None, Some(&Injection::VerifyFails(3)))
            .await
            .expect("deploy");
        let stop = o.stopped.clone().expect("stopped");
        assert_eq!((stop.index, stop.phase), (3, Phase::Verify));
        assert_eq!(stop.cause.kind, FailureKind::VerifyFailed);
        assert_eq!(stop.cause.sqlstate.as_deref(), Some("P0001"));
        assert_eq!(stop.cause.message, "injected verify failure");
        assert_eq!(o.applied, ["01_schema", "02_dot_tool_revision"]);

        let refused = r.deploy(&c, None, None).await.expect_err("refused");
        assert_eq!(refused.kind, harness::error::ErrorKind::FailureStopActive);
        assert_eq!(
            refused.category(),
            harness::error::Category::ApprovalRequired
        );
        assert_eq!(
            r.approve_retry("").expect_err("empty").kind,
            harness::error::ErrorKind::ApprovalRequiresName
        );

        r.approve_retry("alice").expect("approve");
        let o = r
            .deploy(&c, None, None)
            .await
            .expect("deploy after approval");
        assert!(o.stopped.is_none());
        let statuses: Vec<(usize, Phase, Status)> = o
            .events
            .iter()
            .map(|e| (e.index, e.phase, e.status))
            .collect();
        assert_eq!(
            &statuses[..3],
            &[
                (1, Phase::Deploy, Status::NoOp),
                (2, Phase::Deploy, Status::NoOp),
                (3, Phase::Deploy, Status::NoOp), // deployed before; its real verify passes now
            ]
        );
        assert_eq!(o.applied.len(), 4);
        assert_eq!(r.approvals().len(), 1);
        assert_eq!(r.approvals()[0].step, "03_cut_change_set");
        assert_eq!(r.approvals()[0].approved_by, "alice");
        r.revert(&c, Some(&archive_path(tmp.path(), "a")))
            .await
            .expect("revert");
        assert_same(
            &base,
            &fingerprint::take(&c).await.expect("fp"),
            "after revert",
        );
    })
    .await;
}

async fn statement_timeout_and_connection_loss_are_classified() {
    with_db("fm", "t_timeouts", |db| async move {
        let c = connect(&db).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = fingerprint::take(&c).await.expect("baseline");
        let mut r = runner(Limits {
            lock_timeout_ms: 5000,
            statement_timeout_ms: 500,
        });
        let inj = Injection::SleepInside {
            step: 4,
            seconds: 2.0,
        };
        let o = r.deploy(&c, None, Some(&inj)).await.expect("deploy");
        let stop = o.stopped.expect("stopped");
        assert_eq!((stop.index, stop.phase), (4, Phase::Deploy));
        eprintln!("--- statement timeout: {stop}");
        assert_eq!(
            stop.cause.kind,
            FailureKind::StatementTimeout,
            "{}",
            stop.cause
        );
        assert_eq!(stop.cause.sqlstate.as_deref(), Some("57014"));
        assert_eq!(o.applied.len(), 3);
        r.revert(&c, Some(&archive_path(tmp.path(), "a")))
            .await
            .expect("revert");
        assert_same(
            &base,
            &fingerprint::take(&c).await.expect("fp"),
            "after timeout",
        );

        // the backend is terminated while step 3 sleeps inside its transaction
        let victim = connect(&db).await;
        let pid: i32 = victim
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .expect("pid")
            .get(0);
        let killer = connect(&db).await;
        let kill = tokio::spawn(async move {
            // wait until the victim sleeps inside step 3's transaction, then terminate it
            for _ in 0..200 {
                let sleeping: bool = killer
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 \
                         AND state = 'active' AND query LIKE '%pg_sleep%')",
                        &[&pid],
                    )
                    .await
                    .expect("poll")
                    .get(0);
                if sleeping {
                    return killer
                        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
                        .await
                        .expect("terminate")
                        .get::<_, bool>(0);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        });
        let mut r = runner(Limits::default());
        let inj = Injection::SleepInside {
            step: 3,
            seconds: 10.0,
        };
        let o = r.deploy(&victim, None, Some(&inj)).await.expect("deploy");
        assert!(kill.await.expect("join"), "backend was not terminated");
        let stop = o.stopped.expect("stopped");
        assert_eq!((stop.index, stop.phase), (3, Phase::Deploy));
        eprintln!("--- terminated backend: {stop}");
        assert_eq!(
            stop.cause.kind,
            FailureKind::ConnectionLost,
            "{}",
            stop.cause
        );
        // step 3 rolled back with the connection; revert (new connection) gives the baseline
        r.revert(&c, Some(&archive_path(tmp.path(), "b")))
            .await
            .expect("revert");
        assert_same(
            &base,
            &fingerprint::take(&c).await.expect("fp"),
            "after kill",
        );
    })
    .await;
}

async fn lock_timeout_at_step_02() {
    with_db("fm", "t_lock", |db| async move {
        let c = connect(&db).await;
        let base = fingerprint::take(&c).await.expect("baseline");
        let holder = connect(&db).await;
        holder
            .batch_execute("BEGIN; LOCK TABLE public.dot_tools IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");
        let mut r = runner(Limits {
            lock_timeout_ms: 300,
            statement_timeout_ms: 60000,
        });
        let o = r.deploy(&c, None, None).await.expect("deploy");
        let stop = o.stopped.expect("stopped");
        assert_eq!((stop.index, stop.phase), (2, Phase::Deploy), "{stop}");
        eprintln!("--- lock timeout: {stop}");
        assert_eq!(stop.cause.kind, FailureKind::LockTimeout);
        assert_eq!(stop.cause.sqlstate.as_deref(), Some("55P03"));
        assert_eq!(o.applied, ["01_schema"]);
        holder.batch_execute("ROLLBACK").await.expect("release");
        let out = r
            .revert(&c, None)
            .await
            .expect("revert (only the empty schema exists)");
        assert!(out.archive.is_none());
        assert_same(
            &base,
            &fingerprint::take(&c).await.expect("fp"),
            "after lock timeout",
        );
    })
    .await;
}

async fn revert_archives_governance_rows() {
    with_db("fm", "t_archive", |db| async move {
        let c = connect(&db).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = fingerprint::take(&c).await.expect("baseline");
        let mut r = runner(Limits::default());
        assert!(r.deploy(&c, None, None).await.expect("deploy").stopped.is_none());
        c.batch_execute(
            "INSERT INTO cutter_governance.cut_change_set (id, source_canonical_sha256) VALUES
               ('00000000-0000-0000-0000-000000000001', repeat('a', 64));
             INSERT INTO cutter_governance.cut_unit (change_set_id, byte_start, byte_end, start_token_position, end_token_position)
               VALUES ('00000000-0000-0000-0000-000000000001', 0, 10, 0, 3),
                      ('00000000-0000-0000-0000-000000000001', 10, 20, 3, 5);
             INSERT INTO cutter_governance.dot_pair_signature (id, signature_kind, change_set_id, payload_envelope,
                 payload_hash, signature_payload, signer_dot_id, signer_tool_revision, credential_ref)
               VALUES ('00000000-0000-0000-0000-0000000000e1', 'executor_cut', '00000000-0000-0000-0000-000000000001',
                 '{}', repeat('b', 64), 'sig', 992, '0.1.0', 'vault:exec');
             INSERT INTO cutter_governance.dot_pair_signature (signature_kind, verifies_signature_id, payload_envelope,
                 payload_hash, signature_payload, signer_dot_id, signer_tool_revision, credential_ref)
               VALUES ('verifier_cut', '00000000-0000-0000-0000-0000000000e1', '{}', repeat('c', 64), 'sig2', 991, '0.1.0', 'vault:ver');
             INSERT INTO cutter_governance.signal (kind, change_set_id, emitter_dot_id)
               VALUES ('dot_pair_drift', '00000000-0000-0000-0000-000000000001', 991);",
        )
        .await
        .expect("insert governance rows");

        let err = r.revert(&c, None).await.expect_err("refused without archive");
        assert_eq!(err.kind, harness::error::ErrorKind::ArchiveRequired);
        assert!(err.message.contains("signal: 1"), "{}", err.message);
        let path = archive_path(tmp.path(), "governance");
        std::fs::write(&path, "precious").expect("write");
        let err = r.revert(&c, Some(&path)).await.expect_err("never overwrite");
        assert_eq!(err.kind, harness::error::ErrorKind::ArchiveExists);
        std::fs::remove_file(&path).expect("rm");
        assert!(fingerprint::schema(&c).await.expect("fp").objects.keys().any(|(k, i)| k == "table" && i == "cutter_governance.signal"));

        let out = r.revert(&c, Some(&path)).await.expect("revert");
        let a = out.archive.expect("archive");
        let expected: std::collections::BTreeMap<String, usize> = [
            ("signal", 1),
            ("dot_pair_signature", 2),
            ("cut_unit", 2),
            ("cut_change_set", 1),
            ("dot_tool_revision", 2),
        ]
        .into_iter()
        .map(|(t, n)| (t.to_string(), n))
        .collect();
        assert_eq!(a.tables, expected);
        let bytes = std::fs::read(&a.path).expect("read archive");
        assert_eq!(fingerprint::sha256_hex(&bytes), a.sha256);
        let text = String::from_utf8(bytes).expect("utf8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 8);
        assert_eq!(lines[0]["table"], "signal");
        assert_eq!(lines[0]["row"]["routed_to"], "G-2");
        assert_eq!(lines[7]["table"], "dot_tool_revision");
        assert!(lines[7]["row"]["registered_at"].as_str().is_some_and(|s| s.ends_with("+00:00")));
        eprintln!("archive {} sha256 {} tables {:?}", a.path.display(), a.sha256, a.tables);
        assert_same(&base, &fingerprint::take(&c).await.expect("fp"), "after archived revert");
    })
    .await;
}

fn copy_plan(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/p0");
    for sub in ["", "deploy", "verify", "revert"] {
        std::fs::create_dir_all(to.join(sub)).expect("mkdir");
        for e in std::fs::read_dir(from.join(sub)).expect("readdir") {
            let e = e.expect("entry");
            if e.file_type().expect("type").is_file() {
                std::fs::copy(e.path(), to.join(sub).join(e.file_name())).expect("copy");
            }
        }
    }
}

async fn broken_revert_is_named_by_the_diff() {
    with_db("fm", "t_broken_revert", |db| async move {
        let c = connect(&db).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = fingerprint::take(&c).await.expect("baseline");

        // (a) a deploy step that leaves an extra index on a public table its revert never drops
        let dir_a = tmp.path().join("p0_leftover_index");
        copy_plan(&dir_a);
        let deploy3 = dir_a.join("deploy/03_cut_change_set.sql");
        let mut text = std::fs::read_to_string(&deploy3).expect("read");
        text.push_str("\nCREATE INDEX dot_tools_code_leftover_idx ON public.dot_tools (code);\n");
        std::fs::write(&deploy3, text).expect("write");
        let plan_a = Plan::load(&dir_a).expect("load modified plan");
        assert_ne!(plan_a.steps[2].files[0].1, plan().steps[2].files[0].1, "sha256 of the modified file differs");
        let mut r = Runner::new(plan_a, Limits::default());
        assert!(r.deploy(&c, None, None).await.expect("deploy").stopped.is_none());
        let out = r.revert(&c, Some(&archive_path(tmp.path(), "a"))).await.expect("revert");
        assert!(out.stopped.is_none(), "the revert itself does not notice");
        let now = fingerprint::take(&c).await.expect("fp");
        let d = base.diff(&now);
        eprintln!("--- leftover index diff:\n{d}");
        assert_eq!(d.schema.len(), 1, "{d}");
        assert!(d.data.is_empty(), "{d}");
        let line = d.schema[0].to_string();
        assert!(
            line.starts_with("+ index public.dot_tools_code_leftover_idx: CREATE INDEX dot_tools_code_leftover_idx ON public.dot_tools"),
            "{line}"
        );
        c.batch_execute("DROP INDEX public.dot_tools_code_leftover_idx").await.expect("clean up");
        assert_same(&base, &fingerprint::take(&c).await.expect("fp"), "after cleanup");

        // (b) revert/07 forgets the view: revert/06 fails under RESTRICT, naming it
        let dir_b = tmp.path().join("p0_forgotten_view");
        copy_plan(&dir_b);
        std::fs::write(
            dir_b.join("revert/07_g2_backlog_view.sql"),
            "-- broken on purpose: forgets DROP VIEW cutter_governance.g2_backlog\nSELECT 1;\n",
        )
        .expect("write");
        let mut r = Runner::new(Plan::load(&dir_b).expect("load"), Limits::default());
        assert!(r.deploy(&c, None, None).await.expect("deploy").stopped.is_none());
        let out = r.revert(&c, Some(&archive_path(tmp.path(), "b"))).await.expect("revert");
        let stop = out.stopped.expect("revert stops");
        eprintln!("--- forgotten view stop: {stop}");
        assert_eq!((stop.index, stop.phase), (6, Phase::Revert));
        assert_eq!(stop.cause.sqlstate.as_deref(), Some("2BP01"));
        assert!(stop.cause.detail.as_deref().unwrap_or("").contains("g2_backlog"), "{stop}");
        let refused = r.revert(&c, None).await.expect_err("revert again needs approval");
        assert_eq!(refused.kind, harness::error::ErrorKind::FailureStopActive);
        let now = fingerprint::take(&c).await.expect("fp");
        let schema_diff = diff_schema(&base.schema, &now.schema);
        let text: Vec<String> = schema_diff.iter().map(|c| c.to_string()).collect();
        eprintln!("--- forgotten view diff ({} lines), view lines:", text.len());
        for l in text.iter().filter(|l| l.contains("g2_backlog")) {
            eprintln!("{l}");
        }
        assert!(
            text.iter().any(|l| l.starts_with("+ view cutter_governance.g2_backlog: ")),
            "{text:#?}"
        );
        let data_diff = diff_data(&base.data, &now.data);
        assert!(data_diff.iter().all(|d| d.schema == "cutter_governance"));

        // the correct plan's revert (a new runner) repairs it
        let mut fixer = runner(Limits::default());
        let out = fixer.revert(&c, Some(&archive_path(tmp.path(), "c"))).await.expect("revert");
        assert!(out.stopped.is_none());
        assert_same(&base, &fingerprint::take(&c).await.expect("fp"), "after repair");
    })
    .await;
}

async fn data_fingerprint_names_the_changed_table_and_keeps_the_session() {
    with_db("fm", "t_data_diff", |db| async move {
        let c = connect(&db).await;
        c.batch_execute("SET search_path = public; SET TimeZone = 'Europe/Berlin'")
            .await
            .expect("session settings");
        let base = fingerprint::take(&c).await.expect("baseline");
        // the fingerprint used SET LOCAL inside its own transaction: the session is untouched
        let sp: String = c
            .query_one("SHOW search_path", &[])
            .await
            .expect("show")
            .get(0);
        let tz: String = c
            .query_one("SHOW TimeZone", &[])
            .await
            .expect("show")
            .get(0);
        assert_eq!((sp.as_str(), tz.as_str()), ("public", "Europe/Berlin"));
        // the same database under other session settings gives the same fingerprint
        let again = fingerprint::take(&c).await.expect("again");
        assert_same(&base, &again, "repeat");

        let table = base
            .data
            .tables
            .keys()
            .find(|(s, t)| s == "public" && t == "dot_tools")
            .cloned()
            .expect("public.dot_tools in the data fingerprint");
        c.batch_execute(
            "CREATE TEMP TABLE t AS SELECT * FROM public.dot_tools WHERE id = 992; \
             UPDATE t SET id = 9992, code = 'COPY-OF-992'; \
             INSERT INTO public.dot_tools SELECT * FROM t",
        )
        .await
        .expect("insert a row");
        let only = fingerprint::data_for(&c, std::slice::from_ref(&table))
            .await
            .expect("data_for");
        assert_eq!(only.len(), 1);
        let now = fingerprint::take(&c).await.expect("after insert");
        assert_eq!(
            now.schema, base.schema,
            "a temp table is outside the fingerprint"
        );
        let d = diff_data(&base.data, &now.data);
        assert_eq!(d.len(), 1, "{d:?}");
        let line = d[0].to_string();
        eprintln!("--- data diff: {line}");
        let before = base.data.tables[&table].row_count;
        assert!(
            line.starts_with(&format!(
                "~ table public.dot_tools: rows {before} -> {}, content ",
                before + 1
            )),
            "{line}"
        );
        assert_eq!(only.tables[&table], now.data.tables[&table]);
    })
    .await;
}

/// The one test: a container with the bundled fixture restored, every check in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p0_runner_and_fingerprints_on_a_restored_fixture() {
    let (_sweep, pg) = start_restored("test-fingerprint-migrate").await;
    let checks: Vec<(&str, futures_util::future::BoxFuture<'static, ()>)> = vec![
        (
            "deploy_all_verify_revert_to_baseline_twice",
            deploy_all_verify_revert_to_baseline_twice().boxed(),
        ),
        (
            "deploy_revert_deploy_equals_first_deploy",
            deploy_revert_deploy_equals_first_deploy().boxed(),
        ),
        (
            "fail_before_and_inside_leave_nothing_of_the_step",
            fail_before_and_inside_leave_nothing_of_the_step().boxed(),
        ),
        (
            "verify_failure_stops_until_approved",
            verify_failure_stops_until_approved().boxed(),
        ),
        (
            "statement_timeout_and_connection_loss_are_classified",
            statement_timeout_and_connection_loss_are_classified().boxed(),
        ),
        ("lock_timeout_at_step_02", lock_timeout_at_step_02().boxed()),
        (
            "revert_archives_governance_rows",
            revert_archives_governance_rows().boxed(),
        ),
        (
            "broken_revert_is_named_by_the_diff",
            broken_revert_is_named_by_the_diff().boxed(),
        ),
        (
            "data_fingerprint_names_the_changed_table_and_keeps_the_session",
            data_fingerprint_names_the_changed_table_and_keeps_the_session().boxed(),
        ),
    ];
    let mut failed = Vec::new();
    for (name, check) in checks {
        if std::panic::AssertUnwindSafe(check)
            .catch_unwind()
            .await
            .is_err()
        {
            failed.push(name);
        }
    }
    pg.remove()
        .await
        .unwrap_or_else(|e| panic!("{}", e.report()));
    assert!(
        failed.is_empty(),
        "failed checks (their panics are above): {failed:?}"
    );
}

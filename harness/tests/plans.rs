//! The test plans of `harness/tests/plans/` (more-steps, fewer-steps, sqitch) through the P0
//! runner on the restored bundled fixture, in one container of its own: each deploys to the
//! stand-in's final schema (more-steps: plus exactly its cut_note), reverts to the baseline
//! (schema and data fingerprints), and a failure injected at each step of the Sqitch plan
//! stops there with nothing of the step left.
//!
//! Each check clones the restored database (the template) into its own `pl_*` database and
//! drops it at the end. One test starts the container, runs every check (a failing one does
//! not stop the others), removes the container and names each check that failed.

use std::path::{Path, PathBuf};

use futures_util::FutureExt;
use harness::fingerprint::{self, diff_schema, ChangeKind, Fingerprint, SchemaFingerprint};
use harness::migrate::{
    FailureKind, Injection, Limits, Phase, Plan, PlanFormat, Runner, Status, VerifyConvention,
};

mod common;
use common::fixture_db::{connect, start_restored, with_db};

/// The baseline and the stand-in's deployed schema, taken once by the first check.
static REFERENCE: tokio::sync::OnceCell<(Fingerprint, SchemaFingerprint)> =
    tokio::sync::OnceCell::const_new();

fn test_plan(name: &str) -> Plan {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/plans")
        .join(name);
    Plan::load(&dir).unwrap_or_else(|e| panic!("{}", e.report()))
}

fn archive_path(dir: &Path, tag: &str) -> PathBuf {
    dir.join(format!("{tag}.jsonl"))
}

fn shown(base: &SchemaFingerprint, now: &SchemaFingerprint) -> String {
    diff_schema(base, now)
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_baseline(base: &Fingerprint, now: &Fingerprint, what: &str) {
    let d = base.diff(now);
    assert!(
        d.is_empty(),
        "{what}: fingerprint differs from baseline:\n{d}"
    );
    assert_eq!(base.schema.sha256(), now.schema.sha256(), "{what}");
    assert_eq!(base.data.sha256(), now.data.sha256(), "{what}");
}

/// The baseline fingerprint and the schema fingerprint after the stand-in (migrations/p0) is
/// deployed, on a clone of its own.
async fn reference() -> &'static (Fingerprint, SchemaFingerprint) {
    REFERENCE
        .get_or_init(|| async {
            let mut out = None;
            with_db("pl", "reference", |db| {
                let out = &mut out;
                async move {
                    let c = connect(&db).await;
                    let tmp = tempfile::tempdir().expect("tempdir");
                    let base = fingerprint::take(&c).await.expect("baseline");
                    let mut r = Runner::new(Plan::embedded().expect("plan"), Limits::default());
                    let o = r.deploy(&c, None, None).await.expect("deploy");
                    assert!(o.stopped.is_none(), "stand-in: {:?}", o.stopped);
                    let deployed = fingerprint::schema(&c).await.expect("fp");
                    r.revert(&c, Some(&archive_path(tmp.path(), "ref")))
                        .await
                        .expect("revert");
                    *out = Some((base, deployed));
                }
            })
            .await;
            out.expect("reference taken")
        })
        .await
}

/// Deploy `plan` whole, compare with the stand-in, redeploy with a fresh runner (every step's
/// verify passes: all no-op), revert to the baseline, revert again (no-op).
async fn deploys_to_the_stand_in_and_reverts_to_baseline(name: &'static str) {
    let (base, standin) = reference().await;
    with_db("pl", &name.replace('-', "_"), |db| async move {
        let c = connect(&db).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let plan = test_plan(name);
        let n = plan.steps.len();
        let mut r = Runner::new(plan.clone(), Limits::default());
        let o = r.deploy(&c, None, None).await.expect("deploy");
        assert!(o.stopped.is_none(), "{name}: {:?}", o.stopped);
        assert_eq!(o.applied, plan.step_names(), "{name}");
        assert_eq!(o.events.len(), 2 * n, "{name}");
        assert!(o.events.iter().all(|e| e.status == Status::Ok), "{name}");

        let deployed = fingerprint::take(&c).await.expect("deployed");
        if name == "more-steps" {
            // exactly the stand-in plus the table cut_note and what hangs on it
            let d = diff_schema(standin, &deployed.schema);
            assert!(!d.is_empty());
            assert!(
                d.iter()
                    .all(|x| x.kind == ChangeKind::Added && x.identity.contains("cut_note")),
                "{name}: beyond cut_note:\n{}",
                shown(standin, &deployed.schema)
            );
        } else {
            assert!(
                deployed.schema == *standin,
                "{name}: deployed schema differs from the stand-in's:\n{}",
                shown(standin, &deployed.schema)
            );
        }
        assert_eq!(
            deployed.data.without_schema("cutter_governance"),
            base.data,
            "{name}: data outside cutter_governance changed"
        );

        // a fresh runner: every verify passes in the pre-check, nothing runs
        let mut fresh = Runner::new(plan.clone(), Limits::default());
        let again = fresh.deploy(&c, None, None).await.expect("redeploy");
        assert!(again.applied.is_empty(), "{name}: {:?}", again.events);
        assert!(
            again.events.iter().all(|e| e.status == Status::NoOp),
            "{name}: {:?}",
            again.events
        );

        let out = r
            .revert(&c, Some(&archive_path(tmp.path(), name)))
            .await
            .expect("revert");
        assert!(out.stopped.is_none(), "{name}: {:?}", out.stopped);
        assert_eq!(out.events.len(), n);
        let a = out.archive.expect("seed rows archived");
        assert_eq!(a.tables.get("dot_tool_revision"), Some(&2), "{name}");
        assert_baseline(
            base,
            &fingerprint::take(&c).await.expect("fp"),
            &format!("{name} after revert"),
        );
        let second = r.revert(&c, None).await.expect("second revert");
        assert!(second.noop && second.stopped.is_none(), "{name}");
        assert_baseline(
            base,
            &fingerprint::take(&c).await.expect("fp"),
            &format!("{name} after a second revert"),
        );
    })
    .await;
}

async fn more_steps() {
    deploys_to_the_stand_in_and_reverts_to_baseline("more-steps").await
}
async fn fewer_steps() {
    deploys_to_the_stand_in_and_reverts_to_baseline("fewer-steps").await
}
async fn sqitch() {
    deploys_to_the_stand_in_and_reverts_to_baseline("sqitch").await
}

/// Sqitch verifies fail with any error: after a partial deploy, a fresh runner's pre-check
/// takes the deployed changes as applied and deploys the rest (the reworked `signal`, whose
/// verify fails with division by zero before the rework, included).
async fn sqitch_precheck_reads_any_error_as_not_in_place() {
    let (base, standin) = reference().await;
    with_db("pl", "sqitch_precheck", |db| async move {
        let c = connect(&db).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let plan = test_plan("sqitch");
        assert_eq!(plan.format(), PlanFormat::Sqitch);
        assert_eq!(plan.verify_convention, VerifyConvention::AnyError);
        let mut first = Runner::new(plan.clone(), Limits::default());
        let o = first.deploy(&c, Some(6), None).await.expect("deploy 1..6");
        assert!(o.stopped.is_none(), "{:?}", o.stopped);
        assert_eq!(o.applied.last().map(String::as_str), Some("signal@v0.1"));

        let mut fresh = Runner::new(plan.clone(), Limits::default());
        let o = fresh.deploy(&c, None, None).await.expect("deploy the rest");
        assert!(o.stopped.is_none(), "{:?}", o.stopped);
        assert_eq!(o.applied, ["signal", "g2_backlog"]);
        let noop: Vec<&str> = o
            .events
            .iter()
            .filter(|e| e.status == Status::NoOp)
            .map(|e| e.step.as_str())
            .collect();
        assert_eq!(noop.len(), 6, "{:?}", o.events);
        let now = fingerprint::schema(&c).await.expect("fp");
        assert!(now == *standin, "{}", shown(standin, &now));

        // the generated archive generator: every table, children before parents, each query
        // returning (table_name, row_json) ordered by the primary key
        c.batch_execute(
            "BEGIN READ ONLY; SET LOCAL search_path = pg_catalog; SET LOCAL TimeZone = 'UTC'",
        )
        .await
        .expect("begin");
        let gen = c
            .query(plan.archive_sql.as_str(), &[])
            .await
            .expect("generator");
        let tables: Vec<String> = gen.iter().map(|r| r.get(0)).collect();
        let at = |t: &str| {
            tables
                .iter()
                .position(|x| x == t)
                .unwrap_or_else(|| panic!("{t} in {tables:?}"))
        };
        assert_eq!(tables.len(), 5, "{tables:?}");
        assert!(
            at("cut_unit") < at("cut_change_set")
                && at("dot_pair_signature") < at("cut_change_set"),
            "{tables:?}"
        );
        for r in &gen {
            let (t, sql): (String, String) = (r.get(0), r.get(1));
            assert!(
                sql.contains("ORDER BY t."),
                "{t}: no primary key order: {sql}"
            );
            let rows = c.query(sql.as_str(), &[]).await.expect("archive query");
            if t == "dot_tool_revision" {
                assert_eq!(rows.len(), 2);
                let first: String = rows[0].get(1);
                assert!(first.contains("\"dot_id\":991"), "{first}");
            }
        }
        c.batch_execute("COMMIT").await.expect("commit");
        fresh
            .revert(&c, Some(&archive_path(tmp.path(), "a")))
            .await
            .expect("revert");
        assert_baseline(base, &fingerprint::take(&c).await.expect("fp"), "precheck");
    })
    .await;
}

/// A failure injected before and inside each step of the Sqitch plan stops at that step,
/// leaves nothing of it (the schema equals the prefix before it), and revert gives the baseline.
async fn sqitch_failure_at_each_step_stops_there() {
    let (base, _) = reference().await;
    with_db("pl", "sqitch_fail_steps", |db| async move {
        let c = connect(&db).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let plan = test_plan("sqitch");
        let n = plan.steps.len();
        // schema after steps 1..=j, j = 0..=n
        let mut prefixes = Vec::new();
        for j in 0..=n {
            let mut r = Runner::new(plan.clone(), Limits::default());
            let o = r.deploy(&c, Some(j), None).await.expect("prefix");
            assert!(o.stopped.is_none(), "prefix {j}: {:?}", o.stopped);
            prefixes.push(fingerprint::schema(&c).await.expect("fp"));
            r.revert(&c, Some(&archive_path(tmp.path(), &format!("p{j}"))))
                .await
                .expect("revert prefix");
        }
        assert!(prefixes[0] == base.schema);
        // the reworked change has a schema effect of its own
        assert!(prefixes[6] != prefixes[7]);
        for k in 1..=n {
            for inj in [Injection::FailBefore(k), Injection::FailInside(k)] {
                let mut r = Runner::new(plan.clone(), Limits::default());
                let o = r.deploy(&c, None, Some(&inj)).await.expect("deploy");
                let stop = o
                    .stopped
                    .clone()
                    .unwrap_or_else(|| panic!("{inj:?} did not stop"));
                assert_eq!((stop.index, stop.phase), (k, Phase::Deploy), "{inj:?}");
                assert_eq!(stop.step, plan.steps[k - 1].name);
                assert_eq!(
                    stop.cause.kind,
                    FailureKind::Injected,
                    "{inj:?}: {}",
                    stop.cause
                );
                assert_eq!(o.applied.len(), k - 1, "{inj:?}");
                let skipped = o
                    .events
                    .iter()
                    .filter(|e| e.status == Status::Skipped)
                    .count();
                assert_eq!(skipped, n - k, "{inj:?}");
                let now = fingerprint::schema(&c).await.expect("fp");
                assert!(
                    now == prefixes[k - 1],
                    "{inj:?} left something of step {k}:\n{}",
                    shown(&prefixes[k - 1], &now)
                );
                assert_eq!(
                    r.deploy(&c, None, None).await.expect_err("refused").kind,
                    harness::error::ErrorKind::FailureStopActive
                );
                let tag = format!("{k}_{}", matches!(inj, Injection::FailInside(_)));
                let out = r
                    .revert(&c, Some(&archive_path(tmp.path(), &tag)))
                    .await
                    .expect("revert");
                assert!(out.stopped.is_none(), "{inj:?}: {:?}", out.stopped);
                assert_baseline(
                    base,
                    &fingerprint::take(&c).await.expect("fp"),
                    &format!("{inj:?}"),
                );
            }
        }
    })
    .await;
}

/// The one test: a container with the bundled fixture restored, every check in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_plans_deploy_and_revert_on_a_restored_fixture() {
    let (_sweep, pg) = start_restored("test-plans").await;
    let checks: Vec<(&str, futures_util::future::BoxFuture<'static, ()>)> = vec![
        ("more_steps", more_steps().boxed()),
        ("fewer_steps", fewer_steps().boxed()),
        ("sqitch", sqitch().boxed()),
        (
            "sqitch_precheck_reads_any_error_as_not_in_place",
            sqitch_precheck_reads_any_error_as_not_in_place().boxed(),
        ),
        (
            "sqitch_failure_at_each_step_stops_there",
            sqitch_failure_at_each_step_stops_there().boxed(),
        ),
    ];
    let mut failed = Vec::new();
    for (name, check) in checks {
        let t = std::time::Instant::now();
        if std::panic::AssertUnwindSafe(check)
            .catch_unwind()
            .await
            .is_err()
        {
            failed.push(name);
        }
        eprintln!("--- {name}: {:.1} s", t.elapsed().as_secs_f64());
    }
    pg.remove()
        .await
        .unwrap_or_else(|e| panic!("{}", e.report()));
    assert!(
        failed.is_empty(),
        "failed checks (their panics are above): {failed:?}"
    );
}

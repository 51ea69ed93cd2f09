//! Unit tests of the runner and the plan: phases and statuses as they read, plan loading and
//! refusals, the failure-stop gate.

use super::*;
use std::path::PathBuf;

/// A phase or status reads the same in a failure message as in a snapshot.
#[test]
fn phase_and_status_display_as_serialized() {
    for p in [Phase::Deploy, Phase::Verify, Phase::Revert] {
        assert_eq!(serde_json::to_value(p).ok(), Some(p.to_string().into()));
    }
    for st in [Status::Ok, Status::Failed, Status::Skipped, Status::NoOp] {
        assert_eq!(serde_json::to_value(st).ok(), Some(st.to_string().into()));
    }
    assert_eq!(Status::NoOp.to_string(), "noop");
}

#[test]
fn embedded_plan_has_seven_steps_with_hashes() {
    let plan = Plan::embedded().expect("embedded plan parses");
    assert_eq!(plan.schema, "cutter_governance");
    assert_eq!(plan.migration, "p0");
    assert_eq!(
        plan.step_names(),
        [
            "01_schema",
            "02_dot_tool_revision",
            "03_cut_change_set",
            "04_cut_unit",
            "05_dot_pair_signature",
            "06_signal",
            "07_g2_backlog_view"
        ]
    );
    for s in &plan.steps {
        assert_eq!(s.files.len(), 3);
        assert!(s.files.iter().all(|(_, h)| h.len() == 64));
        assert!(
            !s.deploy.contains("BEGIN;"),
            "{}: files contain no BEGIN",
            s.name
        );
    }
    assert_eq!(plan.file_hashes().len(), 2 + 7 * 3);
    assert!(plan.archive_sql.contains("row_to_json"));
}

#[test]
fn embedded_list_matches_repository() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/p0");
    let loaded = Plan::load(&dir).expect("repository plan loads");
    let embedded = Plan::embedded().expect("embedded plan parses");
    assert_eq!(loaded.file_hashes(), embedded.file_hashes());
}

#[test]
fn malformed_plan_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("plan.yaml"),
        "schema: cutter_governance\nsteps:\n  - name: 01\n    deploy: [oops\n",
    )
    .expect("write");
    let err = Plan::load(dir.path()).expect_err("malformed");
    assert_eq!(err.kind, crate::error::ErrorKind::MalformedPlan);
    assert!(err.message.contains("plan.yaml"), "{}", err.message);
    assert!(err.message.contains("line"), "{}", err.message);
}

#[test]
fn plan_paths_must_stay_inside() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("plan.yaml"),
        "schema: s\nsteps:\n  - {name: a, deploy: ../x.sql, verify: v.sql, revert: r.sql}\n",
    )
    .expect("write");
    let err = Plan::load(dir.path()).expect_err("escape");
    assert!(err.message.contains("relative path"), "{}", err.message);
}

fn test_plan(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/plans")
        .join(name)
}

#[test]
fn format_convention_and_digest_of_the_embedded_plan() {
    let plan = Plan::embedded().expect("plan");
    assert_eq!(plan.format(), PlanFormat::HarnessYaml);
    assert_eq!(plan.verify_convention, VerifyConvention::RaisesP0001);
    let d = plan.digest();
    assert_eq!(d.len(), 64);
    // the closure report's text: `<sha256>  <path>` lines sorted by path
    let mut files = plan.file_hashes();
    files.sort();
    let text: String = files.iter().map(|(p, h)| format!("{h}  {p}\n")).collect();
    assert_eq!(d, sha256_hex(text.as_bytes()));
}

#[test]
fn the_test_plans_load() {
    let more = Plan::load(&test_plan("more-steps")).expect("more-steps");
    assert_eq!(more.format(), PlanFormat::HarnessYaml);
    assert_eq!(more.steps.len(), 8);
    assert_eq!(more.steps[4].name, "04a_cut_note");
    let fewer = Plan::load(&test_plan("fewer-steps")).expect("fewer-steps");
    assert_eq!(fewer.steps.len(), 4);
    assert_eq!(fewer.schema, "cutter_governance");

    let sq = Plan::load(&test_plan("sqitch")).expect("sqitch");
    assert_eq!(sq.format(), PlanFormat::Sqitch);
    assert_eq!(sq.verify_convention, VerifyConvention::AnyError);
    assert_eq!(sq.migration, "p0");
    assert_eq!(sq.schema, "cutter_governance");
    assert_eq!(
        sq.step_names(),
        [
            "schema",
            "dot_tool_revision",
            "cut_change_set",
            "cut_unit",
            "dot_pair_signature",
            "signal@v0.1",
            "signal",
            "g2_backlog"
        ]
    );
    assert_eq!(sq.steps[5].files[0].0, "deploy/signal@v0.1.sql");
    assert_eq!(sq.steps[6].files[0].0, "deploy/signal.sql");
    assert!(sq.archive_sql.contains("'cutter_governance'"));
    assert_eq!(
        sq.files.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["sqitch.plan", "sqitch.conf"]
    );
    assert_eq!(sq.file_hashes().len(), 2 + 8 * 3);
    // the scripts' own BEGIN / COMMIT / ROLLBACK are gone, their lines kept
    for s in &sq.steps {
        for t in [&s.deploy, &s.verify, &s.revert] {
            assert!(
                !t.lines()
                    .any(|l| matches!(l.trim(), "BEGIN;" | "COMMIT;" | "ROLLBACK;")),
                "{}: {t}",
                s.name
            );
        }
    }
    assert!(sq.steps[0].revert.contains("SET LOCAL client_min_messages"));
    // every plan creates the tables the libraries write to
    for p in [&more, &fewer, &sq] {
        for t in crate::scenario::contract::GOVERNANCE_TABLES {
            let want = format!("CREATE TABLE cutter_governance.{t} (");
            assert!(p.steps.iter().any(|s| s.deploy.contains(&want)), "{t}");
        }
    }
}

/// What the 26 scenarios need of a plan (checked by `dryrun run` before any container),
/// every test plan provides.
#[test]
fn the_test_plans_meet_every_scenario_contract() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = crate::scenario::parser::discover(&repo.join("scenarios")).expect("scenarios");
    assert!(files.len() >= 26);
    for name in ["more-steps", "fewer-steps", "sqitch"] {
        let plan = Plan::load(&test_plan(name)).expect("loads");
        for f in &files {
            let unmet = crate::scenario::contract::unmet(&plan, f);
            assert!(unmet.is_empty(), "{name}, {}: {unmet:?}", f.scenario.id);
        }
    }
}

/// Changing, adding or renaming any file of a plan changes its digest.
#[test]
fn digest_binds_every_file() {
    for name in ["sqitch", "more-steps"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join(name);
        copy_dir(&test_plan(name), &dir);
        let base = Plan::load(&dir).expect("loads");
        let d0 = base.digest();
        assert_eq!(Plan::load(&dir).expect("again").digest(), d0, "stable");
        let mut rels: Vec<String> = base.file_hashes().into_iter().map(|f| f.0).collect();
        rels.sort();
        rels.dedup();
        for rel in rels {
            let path = dir.join(&rel);
            let before = std::fs::read_to_string(&path).expect("read");
            let comment = if rel.ends_with(".sql") { "--" } else { "#" };
            std::fs::write(&path, format!("{before}\n{comment} changed\n")).expect("write");
            let changed = Plan::load(&dir).expect("still loads");
            assert_ne!(
                changed.digest(),
                d0,
                "{name}: changing {rel} must change the digest"
            );
            std::fs::write(&path, &before).expect("restore");
        }
        assert_eq!(Plan::load(&dir).expect("restored").digest(), d0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

#[test]
fn a_folder_with_both_plans_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_dir(&test_plan("sqitch"), tmp.path());
    std::fs::write(tmp.path().join("plan.yaml"), "schema: s\nsteps: []\n").expect("write");
    assert_eq!(
        Plan::load(tmp.path()).expect_err("both").kind,
        crate::error::ErrorKind::AmbiguousPlan
    );
}

#[test]
fn approval_needs_a_name_and_a_stop() {
    let plan = Plan::embedded().expect("plan");
    let mut r = Runner::new(plan, Limits::default());
    assert_eq!(
        r.approve_retry("alice").expect_err("no stop").kind,
        crate::error::ErrorKind::NoFailureStop
    );
    r.restore_stop(FailureStop {
        step: "02_dot_tool_revision".into(),
        index: 2,
        phase: Phase::Deploy,
        cause: DbFailure {
            sqlstate: Some("55P03".into()),
            kind: FailureKind::LockTimeout,
            message: "canceling statement due to lock timeout".into(),
            detail: None,
        },
    });
    assert_eq!(
        r.approve_retry("  ").expect_err("empty").kind,
        crate::error::ErrorKind::ApprovalRequiresName
    );
    assert!(r.stopped().is_some());
    r.approve_retry("alice").expect("approved");
    assert!(r.stopped().is_none());
    assert_eq!(
        r.approvals(),
        [Approval {
            step: "02_dot_tool_revision".into(),
            approved_by: "alice".into()
        }]
    );
}

#[test]
fn status_serializes_snake_case() {
    let e = StepEvent {
        step: "01_schema".into(),
        index: 1,
        phase: Phase::Deploy,
        status: Status::NoOp,
        error: None,
        elapsed_ms: 12,
    };
    let y = serde_yaml_ng::to_string(&e).expect("yaml");
    assert!(y.contains("status: noop"), "{y}");
    assert!(!y.contains("elapsed"), "{y}");
}

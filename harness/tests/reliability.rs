//! No debris: `dryrun` run as a child process and interrupted (SIGINT, SIGTERM, panic, SIGKILL)
//! at named points, concurrent runs, a container killed from outside, a full disk.

mod common;

use std::time::Duration;

use common::*;

const T: Duration = Duration::from_secs(240);

/// Start `args` with `DRYRUN_FAULT=<point>=pause`, wait for the point, check the run holds
/// `min_containers` or more, send `sig`, and check exit 130 and nothing left of that pid.
fn interrupt_at(args: &[&str], point: &str, sig: &str, min_containers: usize) {
    let fault = format!("{point}=pause");
    let mut r = spawn(args, &[("DRYRUN_FAULT", &fault)], &repo());
    let reached = r.wait_for(&format!("dryrun-fault: reached {point}"), T);
    let pid = r.pid;
    let held = labelled(pid).0.len();
    if !reached || held < min_containers {
        let _ = r.child.kill();
        let f = r.finish(T);
        cleanup(pid);
        panic!(
            "point {point} reached: {reached}; containers held: {held} (want >= {min_containers})\n{}",
            f.stderr
        );
    }
    r.signal(sig);
    let f = r.finish(T);
    let left = labelled(pid);
    cleanup(pid);
    assert_eq!(
        f.code,
        Some(130),
        "exit after SIG{sig} at {point}:\n{}",
        f.stderr
    );
    assert!(
        f.stderr.contains("error[interrupted]") && f.stderr.contains(&format!("SIG{sig}")),
        "{}",
        f.stderr
    );
    assert!(!f.stderr.contains("panicked"), "{}", f.stderr);
    assert_eq!(
        left,
        (vec![], vec![]),
        "left behind after SIG{sig} at {point}"
    );
}

#[test]
fn sigint_during_image_check() {
    interrupt_at(&FIXTURE_ARGS, "image", "INT", 0);
}

#[test]
fn sigterm_during_image_check() {
    interrupt_at(&FIXTURE_ARGS, "image", "TERM", 0);
}

#[test]
fn sigint_during_upload() {
    interrupt_at(&FIXTURE_ARGS, "upload", "INT", 1);
}

#[test]
fn sigterm_during_upload() {
    interrupt_at(&FIXTURE_ARGS, "upload", "TERM", 1);
}

#[test]
fn sigint_during_restore() {
    interrupt_at(&FIXTURE_ARGS, "restore", "INT", 1);
}

#[test]
fn sigterm_during_restore() {
    interrupt_at(&FIXTURE_ARGS, "restore", "TERM", 1);
}

/// `base` followed by `--report <report>`.
fn with_report(base: &[&str], report: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    v.push("--report".into());
    v.push(report.display().to_string());
    v
}

fn run_args(report: &std::path::Path) -> Vec<String> {
    with_report(&["run"], report)
}

#[test]
fn sigint_during_scenarios() {
    let tmp = tempfile::tempdir().expect("tmp");
    let report = tmp.path().join("report");
    let args = run_args(&report);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    interrupt_at(&args, "scenario", "INT", 2);
    assert!(
        texts_under(&report).is_empty(),
        "an interrupted run wrote a report"
    );
}

#[test]
fn sigterm_during_scenarios() {
    let tmp = tempfile::tempdir().expect("tmp");
    let report = tmp.path().join("report");
    let args = run_args(&report);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    interrupt_at(&args, "scenario", "TERM", 2);
}

#[test]
fn panic_inside_a_scenario_removes_everything() {
    let tmp = tempfile::tempdir().expect("tmp");
    let report = tmp.path().join("report");
    let args = run_args(&report);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let f = run(&args, &[("DRYRUN_FAULT", "scenario=panic")], &repo(), T);
    let left = labelled(f.pid);
    cleanup(f.pid);
    assert_eq!(f.code, Some(70), "{}", f.stderr);
    assert!(
        f.stderr.contains("injected panic at scenario"),
        "{}",
        f.stderr
    );
    assert!(f.stderr.contains("error[panic]"), "{}", f.stderr);
    assert_eq!(left, (vec![], vec![]));
    assert!(
        texts_under(&report).is_empty(),
        "report written after a panic"
    );
}

#[test]
fn sigkill_leftovers_are_swept_by_the_next_run() {
    let mut r = spawn(&FIXTURE_ARGS, &[("DRYRUN_FAULT", "restore=pause")], &repo());
    assert!(
        r.wait_for("dryrun-fault: reached restore", T),
        "{}",
        r.stderr()
    );
    let pid = r.pid;
    r.signal("KILL");
    let f = r.finish(T);
    assert_eq!(f.signal, Some(9));
    let (c, v) = labelled(pid);
    assert!(
        !c.is_empty() && !v.is_empty(),
        "SIGKILL cannot clean up, so the container and volume must still be there: {c:?} {v:?}"
    );
    // The next run's start-up sweep removes resources whose owner process is gone.
    let next = run(&FIXTURE_ARGS, &[], &repo(), T);
    let left = labelled(pid);
    cleanup(pid);
    cleanup(next.pid);
    assert_eq!(next.code, Some(0), "{}", next.stderr);
    assert_eq!(
        left,
        (vec![], vec![]),
        "the next run did not sweep the dead run's resources"
    );
    assert_eq!(labelled(next.pid), (vec![], vec![]));
}

#[test]
fn concurrent_runs_leave_each_other_alone() {
    // A is alive and paused at the restore (however long B takes under load); B starts,
    // sweeps, runs and ends; then A is interrupted and must clean up after itself.
    let mut a = spawn(&FIXTURE_ARGS, &[("DRYRUN_FAULT", "restore=pause")], &repo());
    assert!(
        a.wait_for("dryrun-fault: reached restore", T),
        "{}",
        a.stderr()
    );
    let held = labelled(a.pid);
    assert_eq!(held.0.len(), 1, "A holds its container: {held:?}");
    let b = run(&FIXTURE_ARGS, &[], &repo(), T);
    let still = labelled(a.pid);
    a.signal("INT");
    let fa = a.finish(T);
    cleanup(fa.pid);
    cleanup(b.pid);
    assert_eq!(b.code, Some(0), "B: {}", b.stderr);
    assert_eq!(still, held, "B's sweep touched A's live resources");
    assert_eq!(fa.code, Some(130), "A: {}", fa.stderr);
    assert_eq!(labelled(fa.pid), (vec![], vec![]));
    assert_eq!(labelled(b.pid), (vec![], vec![]));
}

#[test]
fn container_killed_from_outside_fails_clearly() {
    let mut r = spawn(
        &FIXTURE_ARGS,
        &[("DRYRUN_FAULT", "restore=sleep:3000")],
        &repo(),
    );
    assert!(
        r.wait_for("dryrun-fault: reached restore", T),
        "{}",
        r.stderr()
    );
    let (c, _) = labelled(r.pid);
    let id = c
        .first()
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_string);
    let id = id.expect("the run's container");
    let st = std::process::Command::new("docker")
        .args(["kill", &id])
        .output()
        .expect("docker kill");
    assert!(st.status.success());
    let f = r.finish(T);
    let left = labelled(f.pid);
    cleanup(f.pid);
    assert_eq!(f.code, Some(4), "{}", f.stderr);
    assert!(f.stderr.contains("error[container_gone]"), "{}", f.stderr);
    assert!(f.stderr.contains("hint:"), "{}", f.stderr);
    assert!(!f.stderr.contains("panicked"), "{}", f.stderr);
    assert_eq!(left, (vec![], vec![]));
}

#[test]
fn disk_full_while_copying_the_dump() {
    let tmp = tempfile::tempdir().expect("tmp");
    let report = tmp.path().join("report");
    let args = with_report(&FIXTURE_ARGS, &report);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let f = run(&args, &[("DRYRUN_FAULT", "upload=disk_full")], &repo(), T);
    let left = labelled(f.pid);
    cleanup(f.pid);
    assert_eq!(f.code, Some(4), "{}", f.stderr);
    assert!(f.stderr.contains("error[disk_full]"), "{}", f.stderr);
    assert!(
        f.stderr.contains("directus_full_fixture.dump"),
        "names the file: {}",
        f.stderr
    );
    assert!(!f.stderr.contains("panicked"), "{}", f.stderr);
    assert_eq!(left, (vec![], vec![]));
    assert!(texts_under(&report).is_empty(), "half-written report");
}

#[test]
fn passwords_never_reach_outputs_of_a_restore_test() {
    let tmp = tempfile::tempdir().expect("tmp");
    let report = tmp.path().join("report");
    let args = with_report(&FIXTURE_ARGS, &report);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut r = spawn(
        &args,
        &[
            ("DRYRUN_FAULT", "restore=sleep:1500"),
            ("DRYRUN_LOG", "debug"),
        ],
        &repo(),
    );
    assert!(
        r.wait_for("dryrun-fault: reached restore", T),
        "{}",
        r.stderr()
    );
    let pw = passwords_of(r.pid);
    let f = r.finish(T);
    cleanup(f.pid);
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    assert_eq!(pw.len(), 1, "one container, one password");
    let files = texts_under(&report);
    assert!(files.len() >= 2, "restore-test.json and .md: {files:?}");
    for p in &pw {
        assert!(p.len() >= 16);
        assert!(!f.stdout.contains(p.as_str()), "password in stdout");
        assert!(
            !f.stderr.contains(p.as_str()),
            "password in stderr (debug logs)"
        );
        for (path, text) in &files {
            assert!(!text.contains(p.as_str()), "password in {}", path.display());
        }
    }
}

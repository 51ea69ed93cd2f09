//! The console, the closure report and the CLI's hygiene through the real `dryrun` binary:
//! nextest-like lines off a terminal, a short default stderr, snapshot diffs as results, the
//! retry gate refusing an unreadable report, usage errors exiting 2.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

const LONG: Duration = Duration::from_secs(900);

/// A scratch checkout with only the named scenarios (and their snapshots), the migrations and
/// the fixtures.
fn scratch(names: &[&str]) -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tmp");
    let repo = repo();
    for d in ["scenarios", "snapshots"] {
        std::fs::create_dir_all(t.path().join(d)).expect("mkdir");
    }
    for n in names {
        std::fs::copy(
            repo.join("scenarios").join(format!("{n}.yaml")),
            t.path().join("scenarios").join(format!("{n}.yaml")),
        )
        .expect("copy scenario");
        std::fs::copy(
            repo.join("snapshots").join(format!("{n}.snap")),
            t.path().join("snapshots").join(format!("{n}.snap")),
        )
        .expect("copy snapshot");
    }
    copy_tree(&repo.join("migrations"), &t.path().join("migrations"));
    copy_tree(&repo.join("fixtures"), &t.path().join("fixtures"));
    t
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

fn no_escapes(what: &str, text: &str) {
    assert!(!text.contains('\u{1b}'), "escape codes in {what}:\n{text}");
}

fn no_panic(f: &Finished) {
    assert!(
        !f.stderr.contains("panicked") && !f.stdout.contains("panicked"),
        "a panic:\n{}\n{}",
        f.stdout,
        f.stderr
    );
}

const CHEAP: [&str; 2] = ["S02-checksum-mismatch", "S20-canon-vectors"];

#[test]
fn run_from_a_subdirectory_prints_one_line_per_scenario_and_the_closing_line() {
    let t = scratch(&CHEAP);
    let cwd = t.path().join("migrations").join("p0");
    let f = spawn_clean(&["run"], &[], &["DRYRUN_LOG", "RUST_LOG"], &cwd).finish(LONG);
    cleanup(f.pid);
    no_panic(&f);
    assert_eq!(
        f.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        f.stdout,
        f.stderr
    );
    no_escapes("stdout", &f.stdout);
    no_escapes("stderr", &f.stderr);
    let lines: Vec<&str> = f.stdout.lines().collect();
    for n in CHEAP {
        let mine: Vec<&&str> = lines.iter().filter(|l| l.ends_with(n)).collect();
        assert_eq!(mine.len(), 1, "one line for {n}:\n{}", f.stdout);
        assert!(mine[0].starts_with("PASS ["), "{}", mine[0]);
    }
    assert_eq!(
        lines.last().copied(),
        Some("2 passed, 0 failed"),
        "{}",
        f.stdout
    );
    assert!(
        f.stderr.trim().is_empty(),
        "stderr of a green run:\n{}",
        f.stderr
    );
    // The report went to the checkout's out/report (found upward), with times in order.
    let json = std::fs::read_to_string(t.path().join("out/report/hb05-closure.json"))
        .expect("report in the checkout");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let a = &v["attempts"][0];
    let (s, e) = (
        a["started_utc"].as_str().unwrap_or(""),
        a["ended_utc"].as_str().unwrap_or(""),
    );
    assert!(!s.is_empty() && s <= e, "started {s} ended {e}");
    assert_eq!(a["expected"], 2);
    let md = std::fs::read_to_string(t.path().join("out/report/hb05-closure.md")).expect("md");
    assert!(md.contains("HB-05 passed 2/2"), "{md}");
    assert!(
        !cwd.join("out").exists(),
        "a report appeared in the subdirectory"
    );
}

#[test]
fn a_changed_snapshot_is_a_failed_result_with_its_diff_and_a_corrupt_report_is_refused() {
    let t = scratch(&CHEAP);
    let snap = t.path().join("snapshots/S20-canon-vectors.snap");
    let text = std::fs::read_to_string(&snap).expect("snap");
    assert!(text.contains("summary: \"15 passed, 0 failed\""), "{text}");
    std::fs::write(
        &snap,
        text.replace("\"15 passed, 0 failed\"", "\"14 passed, 0 failed\""),
    )
    .expect("write");
    let elsewhere = tempfile::tempdir().expect("tmp");
    let report = t.path().join("report");
    let repo_s = t.path().display().to_string();
    let report_s = report.display().to_string();
    let f = spawn_clean(
        &["run", "--repo", &repo_s, "--report", &report_s],
        &[],
        &["DRYRUN_LOG", "RUST_LOG", "CI", "INSTA_UPDATE"],
        elsewhere.path(),
    )
    .finish(LONG);
    cleanup(f.pid);
    no_panic(&f);
    assert_eq!(
        f.code,
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        f.stdout,
        f.stderr
    );
    no_escapes("stdout", &f.stdout);
    assert!(
        !f.stdout.contains("Snapshot Summary") && !f.stdout.contains("Snapshot file:"),
        "insta's own output leaked:\n{}",
        f.stdout
    );
    let lines: Vec<&str> = f.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("FAIL [") && l.ends_with("S20-canon-vectors"))
        .unwrap_or_else(|| panic!("no FAIL line:\n{}", f.stdout));
    assert!(
        lines[at + 1]
            .trim_start()
            .starts_with("scenarios/S20-canon-vectors.yaml:"),
        "cause right under the FAIL line:\n{}",
        f.stdout
    );
    assert_eq!(
        lines.last().copied(),
        Some("1 passed, 1 failed"),
        "{}",
        f.stdout
    );
    // The stored snapshot says 14 (`-`), the observation 15 (`+`), on the console too.
    let minus = |s: &str| {
        s.lines()
            .any(|l| l.trim_start().starts_with('-') && l.contains("14 passed, 0 failed"))
    };
    let plus = |s: &str| {
        s.lines()
            .any(|l| l.trim_start().starts_with('+') && l.contains("15 passed, 0 failed"))
    };
    assert!(
        minus(&f.stdout) && plus(&f.stdout),
        "diff under the failure:\n{}",
        f.stdout
    );
    let md = std::fs::read_to_string(report.join("hb05-closure.md")).expect("md");
    assert!(md.contains("```diff") && minus(&md) && plus(&md), "{md}");
    let junit = std::fs::read_to_string(report.join("hb05-junit.xml")).expect("junit");
    assert!(minus(&junit) && plus(&junit), "{junit}");
    let json = std::fs::read_to_string(report.join("hb05-closure.json")).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let row = v["attempts"][0]["scenarios"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["id"] == "S20").cloned())
        .expect("S20 row");
    let diff = row["diff"].as_str().unwrap_or("");
    assert!(minus(diff) && plus(diff), "{row}");
    // Nothing was written next to the snapshots (no .snap.new).
    let names: Vec<String> = std::fs::read_dir(t.path().join("snapshots"))
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // A previous report that cannot be parsed: refused (exit 3), never started over.
    let json_path = report.join("hb05-closure.json");
    std::fs::write(&json_path, &json[..json.len() / 2]).expect("truncate");
    let before = std::fs::read(&json_path).expect("read");
    let g = spawn_clean(
        &[
            "run",
            "--repo",
            &repo_s,
            "--report",
            &report_s,
            "--retry-approved-by",
            "A. Approver",
        ],
        &[],
        &["DRYRUN_LOG", "RUST_LOG"],
        elsewhere.path(),
    )
    .finish(LONG);
    cleanup(g.pid);
    no_panic(&g);
    assert_eq!(
        g.code,
        Some(3),
        "stdout:\n{}\nstderr:\n{}",
        g.stdout,
        g.stderr
    );
    assert!(g.stderr.contains("error[report_malformed]"), "{}", g.stderr);
    assert!(
        g.stderr.contains(&json_path.display().to_string()),
        "{}",
        g.stderr
    );
    assert!(g.stderr.contains("hint:"), "{}", g.stderr);
    assert_eq!(
        std::fs::read(&json_path).expect("read"),
        before,
        "the report was overwritten"
    );
    assert!(g.stdout.trim().is_empty(), "{}", g.stdout);
}

#[test]
fn a_full_green_run_has_one_line_per_scenario_and_a_short_stderr_without_notices() {
    let t = tempfile::tempdir().expect("tmp");
    let report = t.path().join("report");
    let report_s = report.display().to_string();
    let f = spawn_clean(
        &["run", "--report", &report_s],
        &[],
        &["DRYRUN_LOG", "RUST_LOG"],
        &repo(),
    )
    .finish(LONG);
    cleanup(f.pid);
    no_panic(&f);
    assert_eq!(
        f.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        f.stdout,
        f.stderr
    );
    no_escapes("stdout", &f.stdout);
    no_escapes("stderr", &f.stderr);
    let n = std::fs::read_dir(repo().join("scenarios"))
        .expect("ls")
        .count();
    let results: Vec<&str> = f
        .stdout
        .lines()
        .filter(|l| l.starts_with("PASS [") || l.starts_with("FAIL ["))
        .collect();
    assert_eq!(results.len(), n, "one line per scenario:\n{}", f.stdout);
    assert!(
        results.iter().all(|l| l.starts_with("PASS [")),
        "{}",
        f.stdout
    );
    assert_eq!(
        f.stdout.lines().last(),
        Some(format!("{n} passed, 0 failed").as_str()),
        "{}",
        f.stdout
    );
    let err_lines = f.stderr.lines().count();
    assert!(
        err_lines <= 2,
        "default stderr of a green run has {err_lines} lines:\n{}",
        f.stderr
    );
    assert!(!f.stderr.contains("NOTICE"), "{}", f.stderr);
    eprintln!(
        "default stderr of a green run: {err_lines} lines; stdout {} lines",
        f.stdout.lines().count()
    );
}

#[test]
fn usage_errors_exit_2_and_every_subcommand_has_an_example() {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("unit.md");
    std::fs::write(&file, "# x\n").expect("write");
    let file_s = file.display().to_string();
    for args in [
        vec!["canon"],
        vec!["canon", &file_s, "--vectors", &file_s],
        vec!["canon", "--vectors", &file_s, "--json"],
        vec!["run", "--parallel", "2"],
        vec!["run", "-q", "-v"],
        vec!["no-such-command"],
    ] {
        let f = run(&args, &[], tmp.path(), Duration::from_secs(60));
        no_panic(&f);
        assert_eq!(f.code, Some(2), "{args:?}: {}", f.stderr);
        assert!(f.stdout.is_empty(), "{args:?}: {}", f.stdout);
    }
    for sub in [
        "image",
        "backup",
        "restore-test",
        "fixture",
        "run",
        "canon",
        "gc",
    ] {
        let mut args: Vec<&str> = sub.split(' ').collect();
        args.push("--help");
        let f = run(&args, &[], tmp.path(), Duration::from_secs(60));
        assert_eq!(f.code, Some(0), "{sub}: {}", f.stderr);
        assert!(
            f.stdout.contains("Example"),
            "{sub} --help has no example:\n{}",
            f.stdout
        );
    }
    for sub in [
        "image",
        "backup",
        "restore-test",
        "fixture",
        "run",
        "canon",
        "gc",
    ] {
        // Every option has help text: beside it, or on the next, more indented line.
        let mut args: Vec<&str> = sub.split(' ').collect();
        args.push("-h");
        let f = run(&args, &[], tmp.path(), Duration::from_secs(60));
        assert_eq!(f.code, Some(0), "{sub}: {}", f.stderr);
        // The options block ends where the examples start.
        let lines: Vec<&str> = f
            .stdout
            .lines()
            .take_while(|l| !l.starts_with("Example"))
            .collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if !t.starts_with('-') {
                continue;
            }
            let beside = t.split("  ").filter(|p| !p.trim().is_empty()).count() >= 2;
            let indent = l.len() - t.len();
            let below = lines.get(i + 1).is_some_and(|n| {
                let nt = n.trim_start();
                !nt.is_empty() && !nt.starts_with('-') && n.len() - nt.len() > indent
            });
            assert!(
                beside || below,
                "{sub}: option without help: {l}\n{}",
                f.stdout
            );
        }
    }
    // Nothing was written by the refusals or --help.
    assert_eq!(std::fs::read_dir(tmp.path()).expect("ls").count(), 1);
}

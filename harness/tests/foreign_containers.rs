//! Containers outside a run are evidence, not a verdict: while a real `dryrun run` waits at its
//! scenario fault point, the test removes one container that is not the harness's and restarts
//! another. The scenario still passes; the report names both changes as "not by this run" with
//! the Docker events that made them (a destroy; a die and a start), and nothing fails.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

/// A container of this test (not labelled as the harness's), removed on drop.
struct Foreign {
    id: String,
    name: String,
}

impl Foreign {
    fn start(image: &str, tag: &str) -> Foreign {
        let name = format!("dryrun-test-foreign-{tag}-{}", std::process::id());
        let out = Command::new("docker")
            .args([
                "run",
                "-d",
                "--name",
                &name,
                "--label",
                "io.dot-iu-cutter.test=foreign",
                "--entrypoint",
                "sleep",
                image,
                "infinity",
            ])
            .output()
            .expect("docker run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Foreign {
            id: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            name,
        }
    }
}

impl Drop for Foreign {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.id]).output();
    }
}

/// The Docker actions recorded for one change.
fn actions_of(change: &serde_json::Value) -> Vec<&str> {
    change["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect()
}

fn docker(args: &[&str]) {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_container_removed_and_one_restarted_by_others_are_notes_not_failures() {
    let image = common::resolved_image();
    let removed = Foreign::start(&image, "removed");
    let restarted = Foreign::start(&image, "restarted");
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = tmp.path().join("report");
    let report_s = report.display().to_string();
    // The fault point holds the run for 8 s inside its first scenario, after it listed the
    // engine's containers and started watching them.
    let run = common::spawn(
        &["run", "--scenarios", "S02", "--report", &report_s],
        &[("DRYRUN_FAULT", "scenario=sleep:8000")],
        &common::repo(),
    );
    let t = Instant::now();
    while !run.stderr().contains("dryrun-fault: reached scenario") {
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "the run never reached its scenario: {}",
            run.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    docker(&["rm", "-f", &removed.id]);
    docker(&["restart", "-t", "0", &restarted.id]);
    let f = run.finish(Duration::from_secs(600));
    common::cleanup(f.pid);
    assert_eq!(
        f.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        f.stdout,
        f.stderr
    );

    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(report.join("hb05-closure.json")).expect("hb05-closure.json"),
    )
    .expect("closure json");
    let a = json["attempts"]
        .as_array()
        .and_then(|a| a.last())
        .expect("an attempt");
    assert_eq!(a["passed"], 1, "the scenario's outcome stands: {a}");
    assert_eq!(a["total"], 1);
    // S02's own expected stop is its only failure stop: nothing about containers outside it.
    assert!(
        a["failure_stops"]
            .as_array()
            .expect("failure_stops")
            .iter()
            .all(|f| !f.as_str().unwrap_or_default().contains("outside this run")),
        "{a}"
    );
    // and no failure of the run as a whole: the changes were not this run's doing
    assert!(
        a.get("run_failures")
            .and_then(|r| r.as_array())
            .is_none_or(|r| r.is_empty()),
        "{a}"
    );
    let changes = a["foreign_changes"].as_array().expect("foreign_changes");
    let find = |id: &str| {
        changes
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no change recorded for {id}: {changes:?}"))
    };
    let gone = find(&removed.id);
    assert_eq!(gone["change"], "removed");
    assert_eq!(gone["by_this_run"], false);
    let actions = actions_of(gone);
    assert!(
        actions.iter().any(|a| a.starts_with("destroy")),
        "the removal's events: {actions:?}"
    );
    let again = find(&restarted.id);
    assert_eq!(again["change"], "restarted (state running)");
    assert_eq!(again["by_this_run"], false);
    let actions = actions_of(again);
    assert!(
        actions.iter().any(|a| a.starts_with("die")) && actions.iter().any(|a| a == &"start"),
        "the restart's events: {actions:?}"
    );
    // Only these two (and perhaps other tests' containers, never this run's own) changed.
    assert!(
        changes.iter().all(|c| c["by_this_run"] == false),
        "{changes:?}"
    );

    let md = std::fs::read_to_string(report.join("hb05-closure.md")).expect("closure md");
    for name in [&removed.name, &restarted.name] {
        assert!(
            md.lines().any(|l| l.starts_with("**Note**")
                && l.contains(name.as_str())
                && l.contains("not by this run")),
            "the summary notes {name}:\n{md}"
        );
    }
    assert!(
        f.stdout.contains(&format!(
            "note: outside this run, changed not by it: {}",
            removed.name
        )),
        "{}",
        f.stdout
    );
    let junit = std::fs::read_to_string(report.join("hb05-junit.xml")).expect("junit");
    assert!(junit.contains("foreign_container_change"), "{junit}");
}

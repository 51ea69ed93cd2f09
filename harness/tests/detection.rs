//! Negative controls: every sabotage of `tests/sabotage/sabotages.yaml` (a broken copy of
//! `migrations/p0`, or a harness fault) must turn its named scenarios red, naming the object.
//!
//! Each run is the real `dryrun run` in a scratch folder holding only the named scenarios (with
//! the repository's fixtures and snapshots), against real PostgreSQL 16 containers. The same
//! scenarios first run on the unmodified plan and must pass, so a red result is the
//! sabotage's doing. Prints the detection score `N of M sabotages detected`.
//! `DETECTION_ONLY=<name>[,<name>…]` runs only those sabotages (with their control);
//! `DETECTION_JOBS=n` runs n of them at a time (default 3).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sabotage {
    name: String,
    intent: String,
    #[serde(default)]
    edits: Vec<Edit>,
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
    red: Vec<Red>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    file: String,
    #[serde(default)]
    append: Option<String>,
    #[serde(default)]
    replace: Option<Replace>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Replace {
    from: String,
    to: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Red {
    scenario: String,
    contains: String,
}

fn sabotages() -> Vec<Sabotage> {
    let path = common::repo().join("harness/tests/sabotage/sabotages.yaml");
    let text = std::fs::read_to_string(&path).expect("read sabotages.yaml");
    let all: Vec<Sabotage> = serde_yaml_ng::from_str(&text).expect("parse sabotages.yaml");
    match std::env::var("DETECTION_ONLY") {
        Ok(only) => all
            .into_iter()
            .filter(|s| only.split(',').any(|o| o.trim() == s.name))
            .collect(),
        Err(_) => all,
    }
}

/// A scratch copy of migrations/p0 with the edits applied; each edit must match.
fn sabotaged_plan(s: &Sabotage, dir: &Path) -> PathBuf {
    let plan = dir.join("p0");
    common::copy_tree(&common::repo().join("migrations/p0"), &plan);
    for e in &s.edits {
        let f = plan.join(&e.file);
        let mut text = std::fs::read_to_string(&f)
            .unwrap_or_else(|err| panic!("{}: {} not in migrations/p0: {err}", s.name, e.file));
        if let Some(r) = &e.replace {
            assert_eq!(
                text.matches(&r.from).count(),
                1,
                "{}: the text to replace must occur exactly once in {} (has P0 changed?)",
                s.name,
                e.file
            );
            text = text.replace(&r.from, &r.to);
        }
        if let Some(a) = &e.append {
            text.push('\n');
            text.push_str(a);
        }
        std::fs::write(&f, text).expect("write sabotaged file");
    }
    plan
}

/// A folder that `dryrun run` takes for the repository: only the named scenarios, the
/// repository's fixtures and snapshots (read only: the CLI never writes snapshots).
fn scratch_repo(dir: &Path, ids: &BTreeSet<String>) -> PathBuf {
    let repo = common::repo();
    let root = dir.join("repo");
    let sc = root.join("scenarios");
    std::fs::create_dir_all(&sc).expect("mkdir scenarios");
    for e in std::fs::read_dir(repo.join("scenarios"))
        .expect("scenarios")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().to_string();
        if ids.iter().any(|id| name.starts_with(&format!("{id}-"))) {
            std::fs::copy(e.path(), sc.join(&name)).expect("copy scenario");
        }
    }
    assert_eq!(
        std::fs::read_dir(&sc).expect("read").count(),
        ids.len(),
        "every named scenario must exist: {ids:?}"
    );
    for link in ["fixtures", "snapshots"] {
        std::os::unix::fs::symlink(repo.join(link), root.join(link)).expect("symlink");
    }
    root
}

/// `dryrun run` over `ids`; returns each scenario's (passed, text of its line and failure).
fn run_scenarios(
    ids: &BTreeSet<String>,
    env: &[(&str, &str)],
) -> (Vec<(String, bool, String)>, common::Finished) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = scratch_repo(tmp.path(), ids);
    let report = tmp.path().join("report");
    let report_s = report.to_string_lossy().to_string();
    let mut all = vec![("DRYRUN_LOG", "warn")];
    all.extend_from_slice(env);
    let f = common::spawn_bin(
        &common::negative_control_bin(),
        &["run", "--report", &report_s],
        &all,
        &[],
        &root,
    )
    .finish(Duration::from_secs(900));
    common::cleanup(f.pid);
    // stdout (console.rs): `PASS [   3.1s] <name>` or `FAIL [   3.1s] <name>` followed by the
    // failure's cause and diff, indented; the summary starts with a `------------` line.
    let mut rows: Vec<(String, bool, String)> = Vec::new();
    for line in f.stdout.lines() {
        let verdict = line
            .strip_prefix("PASS [")
            .map(|r| (true, r))
            .or_else(|| line.strip_prefix("FAIL [").map(|r| (false, r)));
        if let Some((passed, rest)) = verdict {
            let name = rest.split_once("] ").map(|(_, n)| n).unwrap_or(rest);
            rows.push((name.trim().to_string(), passed, String::new()));
        } else if line.starts_with("------------") {
            break;
        } else if let Some(last) = rows.last_mut() {
            last.2.push_str(line);
            last.2.push('\n');
        }
    }
    (rows, f)
}

/// Runs `job(i)` for i in 0..n on `DETECTION_JOBS` threads (default 3: each run mostly waits
/// on its containers), results in index order.
fn in_parallel<T: Send>(n: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let workers: usize = std::env::var("DETECTION_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&w| w > 0)
        .unwrap_or(3);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|sc| {
        for _ in 0..workers.min(n) {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let r = job(i);
                done.lock().unwrap_or_else(|p| p.into_inner()).push((i, r));
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// What one sabotage failed to turn red (empty when it was detected).
fn misses_of(s: &Sabotage) -> Vec<String> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = (!s.edits.is_empty()).then(|| sabotaged_plan(s, tmp.path()));
    let plan_s = plan.as_ref().map(|p| p.to_string_lossy().to_string());
    let mut env: Vec<(&str, &str)> = s
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(p) = &plan_s {
        env.push(("P0_PLAN_DIR", p));
    }
    let ids: BTreeSet<String> = s.red.iter().map(|r| r.scenario.clone()).collect();
    let (rows, f) = run_scenarios(&ids, &env);
    let mut misses = Vec::new();
    for r in &s.red {
        match rows
            .iter()
            .find(|(n, _, _)| n.starts_with(&format!("{}-", r.scenario)))
        {
            None => misses.push(format!("{}: no result (stderr: {})", r.scenario, f.stderr)),
            Some((_, true, _)) => misses.push(format!("{} passed", r.scenario)),
            Some((_, false, text)) if !text.contains(&r.contains) => misses.push(format!(
                "{} failed without naming {:?}:\n{text}",
                r.scenario, r.contains
            )),
            Some(_) => {}
        }
    }
    misses
}

#[test]
fn sabotages_turn_their_scenarios_red() {
    let list = sabotages();
    assert!(!list.is_empty(), "no sabotage selected");
    let ids: BTreeSet<String> = list
        .iter()
        .flat_map(|s| s.red.iter().map(|r| r.scenario.clone()))
        .collect();

    // Run 0 is the control: the unmodified plan and harness pass the same scenarios. Runs 1..
    // are the sabotages; all are independent `dryrun run`s (own containers, own labels).
    let results = in_parallel(list.len() + 1, |i| match i {
        0 => {
            let (rows, f) = run_scenarios(&ids, &[]);
            let mut bad = Vec::new();
            if rows.len() != ids.len() {
                bad.push(format!(
                    "control run: one row per scenario expected\nstdout:\n{}\nstderr:\n{}",
                    f.stdout, f.stderr
                ));
            }
            for (name, ok, text) in &rows {
                if !ok {
                    bad.push(format!(
                        "control run: {name} failed without sabotage:\n{text}"
                    ));
                }
            }
            bad
        }
        _ => misses_of(&list[i - 1]),
    });
    let control = &results[0];
    assert!(control.is_empty(), "{}", control.join("\n"));

    let mut detected = 0usize;
    let mut lines = Vec::new();
    for (s, misses) in list.iter().zip(&results[1..]) {
        if misses.is_empty() {
            detected += 1;
            lines.push(format!("detected  {} ({})", s.name, s.intent));
        } else {
            lines.push(format!(
                "MISSED    {} ({}): {}",
                s.name,
                s.intent,
                misses.join("; ")
            ));
        }
    }
    println!("{}", lines.join("\n"));
    println!("{detected} of {} sabotages detected", list.len());
    assert_eq!(detected, list.len(), "{}", lines.join("\n"));
}

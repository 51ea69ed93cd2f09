//! Stress: consecutive full runs and two runs in parallel on one engine — each green, zero
//! leftovers, no port clash, and no secret (container password, signing key) in any output.
//! `DRYRUN_STRESS_RUNS` sets the consecutive count (default 2; `make stress` runs 10). The
//! foreign container sleeps until removed, so no run length can outlive it.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rand::distributions::Alphanumeric;
use rand::Rng;

const T: Duration = Duration::from_secs(600);
/// The two tests share the engine's CPU; one at a time keeps the figures meaningful.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn random_text(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// Published host ports of `pid`'s running containers.
fn ports_of(pid: u32) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args([
            "ps",
            "--filter",
            "label=io.dot-iu-cutter.harness=dryrun",
            "--filter",
            &format!("label=io.dot-iu-cutter.owner-pid={pid}"),
            "--format",
            "{{.Ports}}",
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .split([',', '\n'])
        .filter_map(|p| {
            // "127.0.0.1:49153->5432/tcp" is published; a bare "5432/tcp" is not.
            let (host, _) = p.trim().split_once("->")?;
            Some(host.trim().to_string()).filter(|h| !h.is_empty())
        })
        .collect()
}

struct Observed {
    finished: Finished,
    passwords: BTreeSet<String>,
    ports: BTreeSet<String>,
    report: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

/// One full `dryrun run` with known signing keys and debug logs; while it runs, read the
/// passwords and published ports of its containers from the engine.
fn full_run(keys: &(String, String)) -> Observed {
    let tmp = tempfile::tempdir().expect("tmp");
    let report = tmp.path().join("report");
    let report_s = report.display().to_string();
    let r = spawn(
        &["run", "--report", &report_s],
        &[
            ("DRYRUN_LOG", "debug"),
            ("DRYRUN_DOT_KEY_992", &keys.0),
            ("DRYRUN_DOT_KEY_991", &keys.1),
        ],
        &repo(),
    );
    let pid = r.pid;
    let done = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new((BTreeSet::new(), BTreeSet::new())));
    let watcher = {
        let (done, seen) = (done.clone(), seen.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let pw = passwords_of(pid);
                let ports = ports_of(pid);
                if let Ok(mut s) = seen.lock() {
                    s.0.extend(pw);
                    s.1.extend(ports);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let finished = r.finish(T);
    done.store(true, Ordering::SeqCst);
    let _ = watcher.join();
    let (passwords, ports) = seen.lock().map(|s| s.clone()).unwrap_or_default();
    Observed {
        finished,
        passwords,
        ports,
        report,
        _tmp: tmp,
    }
}

/// The failing scenarios (stdout) and the last warnings/errors (stderr), without debug logs.
fn summary(f: &Finished) -> String {
    let mut out: Vec<&str> = Vec::new();
    let lines: Vec<&str> = f.stdout.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("FAIL") {
            out.push(l);
            if let Some(next) = lines.get(i + 1) {
                out.push(next);
            }
        }
    }
    out.extend(
        f.stderr
            .lines()
            .filter(|l| l.starts_with("error[") || l.starts_with("  hint")),
    );
    // The whole output (debug logs included) is kept for reading.
    let keep = repo()
        .join("target")
        .join(format!("stress-failure-{}", f.pid));
    let _ = std::fs::write(keep.with_extension("stdout"), &f.stdout);
    let _ = std::fs::write(keep.with_extension("stderr"), &f.stderr);
    out.push("(full output kept in target/stress-failure-<pid>.stdout / .stderr)");
    out.join("\n")
}

/// Green, nothing left, and no secret in stdout, stderr, report files or snapshots.
fn check(o: &Observed, keys: &(String, String), what: &str) {
    let f = &o.finished;
    let left = labelled(f.pid);
    cleanup(f.pid);
    assert_eq!(f.code, Some(0), "{what}: exit\n{}", summary(f));
    assert!(
        f.stdout.contains("26 passed, 0 failed"),
        "{what}: {}",
        f.stdout
    );
    assert_eq!(left, (vec![], vec![]), "{what}: leftovers");
    assert!(
        o.passwords.len() >= 2,
        "{what}: the watcher saw too few containers ({}) to make the secrets check meaningful",
        o.passwords.len()
    );
    let mut secrets: Vec<(String, String)> = Vec::new();
    for p in &o.passwords {
        secrets.push(("a container password".into(), p.clone()));
    }
    for k in [&keys.0, &keys.1] {
        secrets.push(("a signing key".into(), k.clone()));
        secrets.push(("a signing key (hex)".into(), hex::encode(k.as_bytes())));
    }
    let mut outputs: Vec<(String, String)> = vec![
        ("stdout".into(), f.stdout.clone()),
        ("stderr".into(), f.stderr.clone()),
    ];
    let closure: serde_json::Value = serde_json::from_slice(
        &std::fs::read(o.report.join("hb05-closure.json")).expect("closure json"),
    )
    .expect("json");
    check_one_restore_per_dump(&closure, "baseline");
    let files = texts_under(&o.report);
    assert!(
        files.len() >= 3,
        "{what}: closure report files missing: {files:?}"
    );
    for (p, t) in files
        .into_iter()
        .chain(texts_under(&repo().join("snapshots")))
    {
        outputs.push((p.display().to_string(), t));
    }
    for (kind, secret) in &secrets {
        for (name, text) in &outputs {
            assert!(
                !text.contains(secret.as_str()),
                "{what}: {kind} appears in {name}"
            );
        }
    }
    assert!(
        !Path::new(&repo().join("snapshots"))
            .read_dir()
            .map(|d| d
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "new")))
            .unwrap_or(false),
        "{what}: a run wrote a pending snapshot"
    );
}

/// A container the test made outside the harness, removed when the test ends (even failing).
struct Foreign(String);
impl Drop for Foreign {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", &self.0])
            .output();
    }
}

#[test]
fn consecutive_full_runs_are_green_and_leave_nothing() {
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let n: usize = std::env::var("DRYRUN_STRESS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    // A container that is not the harness's: every run must leave it exactly as it was.
    let image = common::resolved_image();
    let out = std::process::Command::new("docker")
        .args([
            "run",
            "-d",
            "--label",
            "io.dot-iu-cutter.test=foreign",
            "--entrypoint",
            "sleep",
            &image,
            "infinity",
        ])
        .output()
        .expect("docker run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let foreign = Foreign(String::from_utf8_lossy(&out.stdout).trim().to_string());
    let foreign = &foreign.0;
    for i in 1..=n {
        let keys = (random_text(40), random_text(40));
        let t = std::time::Instant::now();
        let o = full_run(&keys);
        let seen_by_run =
            std::fs::read_to_string(o.report.join("hb05-closure.json")).unwrap_or_default();
        let state = std::process::Command::new("docker")
            .args(["inspect", "-f", "{{.State.Status}}", foreign])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        assert_eq!(
            state, "running",
            "run {i}: the foreign container was touched"
        );
        assert!(
            seen_by_run.matches(foreign.as_str()).count() >= 2,
            "run {i}: the report lists the foreign container before and after"
        );
        check(&o, &keys, &format!("run {i}/{n}"));
        eprintln!(
            "run {i}/{n}: green in {:.1} s, {} containers seen, 0 left",
            t.elapsed().as_secs_f64(),
            o.passwords.len()
        );
    }
}

#[test]
fn two_parallel_runs_are_green_and_do_not_clash() {
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let keys_a = (random_text(40), random_text(40));
    let keys_b = (random_text(40), random_text(40));
    let (ka, kb) = (keys_a.clone(), keys_b.clone());
    let a = std::thread::spawn(move || full_run(&ka));
    let b = std::thread::spawn(move || full_run(&kb));
    let a = a.join().expect("run A");
    let b = b.join().expect("run B");
    check(&a, &keys_a, "parallel run A");
    check(&b, &keys_b, "parallel run B");
    assert!(
        !a.ports.is_empty() && !b.ports.is_empty(),
        "published ports seen"
    );
    let clash: Vec<&String> = a.ports.intersection(&b.ports).collect();
    assert!(clash.is_empty(), "both runs published {clash:?}");
    for p in a.ports.iter().chain(b.ports.iter()) {
        assert!(
            p.starts_with("127.0.0.1:"),
            "port published beyond loopback: {p}"
        );
    }
}

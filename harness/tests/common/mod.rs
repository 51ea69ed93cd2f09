//! Shared by the child-process tests: run `dryrun` as a child with captured output, wait for
//! a line, send a signal, and count the Docker resources a given owner pid left behind.
#![allow(dead_code)]

pub mod fixture_db;
pub mod source_db;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    let m = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    m.parent().map(Path::to_path_buf).unwrap_or(m)
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dryrun")
}

/// The test-only `dryrun-negative-control` (the same CLI with the cargo feature
/// `negative-controls`, so `DRYRUN_SABOTAGE` acts), built once per test process beside
/// `dryrun` with the cargo that runs the tests (a no-op when it is up to date).
pub fn negative_control_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let out = Command::new(&cargo)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "dryrun-harness",
                    "--features",
                    "negative-controls",
                    "--bin",
                    "dryrun-negative-control",
                ])
                .current_dir(repo())
                .output()
                .expect("run cargo build for dryrun-negative-control");
            assert!(
                out.status.success(),
                "cargo build --features negative-controls --bin dryrun-negative-control failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let path = Path::new(bin()).with_file_name("dryrun-negative-control");
            assert!(path.is_file(), "{} was not built", path.display());
            path
        })
        .clone()
}

/// A running `dryrun` child whose stdout and stderr are collected by two threads.
pub struct Running {
    pub child: Child,
    pub pid: u32,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

pub struct Finished {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub pid: u32,
}

fn collect(r: impl Read + Send + 'static, buf: Arc<Mutex<String>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut line = String::new();
        while let Ok(n) = r.read_line(&mut line) {
            if n == 0 {
                break;
            }
            if let Ok(mut b) = buf.lock() {
                b.push_str(&line);
            }
            line.clear();
        }
    })
}

/// Start `dryrun <args>` in `cwd` with extra environment.
pub fn spawn(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Running {
    let mut all = vec![("DRYRUN_LOG", "warn")];
    all.extend_from_slice(env);
    spawn_clean(args, &all, &[], cwd)
}

/// Start `dryrun <args>` in `cwd` with `env` set and the variables in `remove` (and any
/// `DRYRUN_FAULT`) unset: e.g. without DRYRUN_LOG / RUST_LOG to see the default console.
pub fn spawn_clean(args: &[&str], env: &[(&str, &str)], remove: &[&str], cwd: &Path) -> Running {
    spawn_bin(Path::new(bin()), args, env, remove, cwd)
}

/// [`spawn_clean`] of another build of the command line (e.g. [`negative_control_bin`]).
pub fn spawn_bin(
    bin: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    remove: &[&str],
    cwd: &Path,
) -> Running {
    let mut cmd = Command::new(bin);
    for k in remove {
        cmd.env_remove(k);
    }
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("DRYRUN_FAULT")
        .env_remove("DRYRUN_SABOTAGE")
        .env_remove("P0_PLAN_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn dryrun");
    let pid = child.id();
    let out = Arc::new(Mutex::new(String::new()));
    let err = Arc::new(Mutex::new(String::new()));
    let readers = vec![
        collect(child.stdout.take().expect("stdout"), out.clone()),
        collect(child.stderr.take().expect("stderr"), err.clone()),
    ];
    Running {
        child,
        pid,
        out,
        err,
        readers,
    }
}

impl Running {
    pub fn stderr(&self) -> String {
        self.err.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Wait until stderr contains `needle` (true) or the child exits / time runs out (false).
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.stderr().contains(needle) {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return self.stderr().contains(needle);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid.to_string())
            .status()
            .expect("kill");
        assert!(st.success(), "kill -{sig} {} failed", self.pid);
    }

    /// Wait for exit (killing the child after `timeout`) and collect its output.
    pub fn finish(mut self, timeout: Duration) -> Finished {
        use std::os::unix::process::ExitStatusExt;
        let end = Instant::now() + timeout;
        let status = loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                break st;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                break self.child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Finished {
            code: status.code(),
            signal: status.signal(),
            stdout: self.out.lock().map(|s| s.clone()).unwrap_or_default(),
            stderr: self.err.lock().map(|s| s.clone()).unwrap_or_default(),
            pid: self.pid,
        }
    }
}

/// Run to completion.
pub fn run(args: &[&str], env: &[(&str, &str)], cwd: &Path, timeout: Duration) -> Finished {
    spawn(args, env, cwd).finish(timeout)
}

/// Non-empty output lines of a docker CLI command (the tests may script the CLI; the harness never does).
pub fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Containers and volumes labelled by the harness whose owner process is `pid`.
pub fn labelled(pid: u32) -> (Vec<String>, Vec<String>) {
    let owner = format!("label=io.dot-iu-cutter.owner-pid={pid}");
    let c = docker_lines(&[
        "ps",
        "-a",
        "--filter",
        "label=io.dot-iu-cutter.harness=dryrun",
        "--filter",
        &owner,
        "--format",
        "{{.ID}} {{.Names}}",
    ]);
    let v = docker_lines(&[
        "volume",
        "ls",
        "--filter",
        "label=io.dot-iu-cutter.harness=dryrun",
        "--filter",
        &owner,
        "--format",
        "{{.Name}}",
    ]);
    (c, v)
}

/// POSTGRES_PASSWORD of every running container of `pid` (read from the engine while it runs).
pub fn passwords_of(pid: u32) -> Vec<String> {
    let ids = docker_lines(&[
        "ps",
        "-q",
        "--filter",
        "label=io.dot-iu-cutter.harness=dryrun",
        "--filter",
        &format!("label=io.dot-iu-cutter.owner-pid={pid}"),
    ]);
    let mut pw = Vec::new();
    for id in ids {
        let out = Command::new("docker")
            .args([
                "inspect",
                "--format",
                "{{range .Config.Env}}{{println .}}{{end}}",
                &id,
            ])
            .output();
        if let Ok(o) = out {
            for l in String::from_utf8_lossy(&o.stdout).lines() {
                if let Some(p) = l.strip_prefix("POSTGRES_PASSWORD=") {
                    pw.push(p.to_string());
                }
            }
        }
    }
    pw
}

/// Remove whatever `pid` left (so one failing test does not leak into the next).
pub fn cleanup(pid: u32) {
    let (c, v) = labelled(pid);
    for line in c {
        if let Some(id) = line.split_whitespace().next() {
            let _ = Command::new("docker").args(["rm", "-f", "-v", id]).output();
        }
    }
    for name in v {
        let _ = Command::new("docker")
            .args(["volume", "rm", "-f", &name])
            .output();
    }
}

/// Every file under `dir` (recursively), read as lossy text.
pub fn texts_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut v = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return v;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            v.extend(texts_under(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            v.push((p, String::from_utf8_lossy(&b).into_owned()));
        }
    }
    v
}

pub const FIXTURE_ARGS: [&str; 7] = [
    "restore-test",
    "--dump",
    "fixtures/directus_full_fixture.dump",
    "--sums",
    "fixtures/SHA256SUMS",
    "--rowcounts",
    "fixtures/directus_rowcounts_fixture.psv",
];

/// The engine and the PostgreSQL 16 image the tests use (`PG_IMAGE` or the default choice).
/// Whether the tests run in CI (`CI=true`, as `.ci/run` sets): there a test whose
/// precondition is missing fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skip a test whose precondition is missing, with a note; in CI ([`in_ci`]) fail instead, so a
/// skipped proof can never count as a passed one there.
pub fn skip_or_fail(why: &str) {
    assert!(!in_ci(), "CI=true: this test cannot be skipped: {why}");
    println!("note: skipped: {why}");
}

/// The PostgreSQL 16 image the harness resolves (PG_IMAGE, postgres:16, or the offline build).
pub fn resolved_image() -> String {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(docker_and_image()).1
}

pub async fn docker_and_image() -> (bollard::Docker, String) {
    let docker = harness::docker::connect()
        .await
        .unwrap_or_else(|e| panic!("{}", e.report()));
    let image = harness::image::resolve(&docker, std::env::var("PG_IMAGE").ok().as_deref())
        .await
        .unwrap_or_else(|e| panic!("{}", e.report()));
    (docker, image.reference)
}

/// Removes every container and volume labelled with the run when dropped, also while a failed
/// assertion unwinds (PgContainer removes itself too; this also covers anything else of the run).
pub struct SweepOnDrop {
    pub docker: bollard::Docker,
    pub run_id: String,
}

impl Drop for SweepOnDrop {
    fn drop(&mut self) {
        let (docker, run) = (self.docker.clone(), self.run_id.clone());
        let swept = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(harness::docker::sweep(&docker, Some(&run), true))
                .map_err(|e| e.report())
        })
        .join();
        match swept {
            Ok(Ok(left)) if !left.is_empty() => {
                tracing::warn!(?left, "removed leftovers of the test run")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "sweeping the test run failed"),
            Err(_) => tracing::error!("the sweep thread panicked"),
        }
    }
}

/// Copies the tree `from` into `to` (created), files and folders alike.
pub fn copy_tree(from: &Path, to: &Path) {
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

/// A folder under the test target's temporary folder for this process (`<prefix>-<pid>`),
/// emptied first; folders of the same prefix whose process is gone are removed (each run keeps
/// its own while it lives).
pub fn process_dir(prefix: &str) -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    if let Ok(rd) = std::fs::read_dir(&tmp) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = n.strip_prefix(&format!("{prefix}-")) {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
    let dir = tmp.join(format!("{prefix}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test folder");
    dir
}

/// Removes a persistent environment's container and volume when the test ends, also on failure.
pub struct EnvGuard(pub String);

impl Drop for EnvGuard {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.0])
            .output();
        let _ = Command::new("docker")
            .args(["volume", "rm", "-f", &format!("{}-data", self.0)])
            .output();
    }
}

/// One restore per distinct dump (issue 27): in a full run's closure JSON, the run's restore
/// of its dump is performed once (on a server of role `role`: `baseline`, or `run-restore` in
/// a persistent environment) and judged by S01, S04's first restore test and S06; S04's broken
/// index and S05's truncated dump are restored in their own containers, S26 restores afresh on
/// a durable server, and nothing else is restored.
pub fn check_one_restore_per_dump(closure: &serde_json::Value, role: &str) {
    let a = &closure["attempts"][0];
    let restores: Vec<&str> = a["restores"]
        .as_array()
        .map(|v| v.iter().filter_map(|r| r.as_str()).collect())
        .unwrap_or_default();
    let mut want = vec![
        format!("the run's restore ({role})"),
        "S04's own restore test".to_string(),
        "S05's own restore test".to_string(),
        "S26's own server (durable settings)".to_string(),
    ];
    want.sort();
    let mut got: Vec<String> = restores.iter().map(|s| s.to_string()).collect();
    got.sort();
    assert_eq!(got, want, "restores performed");
    let digest = a["bound"]["dump_sha256"].as_str().unwrap_or("");
    assert_eq!(digest.len(), 64, "{}", a["bound"]);
    let scenarios = a["scenarios"].as_array().cloned().unwrap_or_default();
    let judged = |id: &str| -> Vec<serde_json::Value> {
        scenarios
            .iter()
            .find(|s| s["id"] == id)
            .and_then(|s| s["evidence"].as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["step"] == "restore_test")
            .map(|e| e["facts"]["judged"].clone())
            .collect()
    };
    let mut shared_containers = BTreeSet::new();
    for (id, want) in [
        ("S01", vec!["shared"]),
        ("S04", vec!["shared", "own"]),
        ("S05", vec!["own"]),
        ("S06", vec!["shared"]),
    ] {
        let j = judged(id);
        let kinds: Vec<&str> = j.iter().filter_map(|x| x["restore"].as_str()).collect();
        assert_eq!(kinds, want, "{id}: whose restore it judged: {j:?}");
        for x in j.iter().filter(|x| x["restore"] == "shared") {
            assert_eq!(x["dump_sha256"], digest, "{id}: {x}");
            let c = x["container"].as_str().unwrap_or("");
            assert!(c.contains(&format!("-{role}-")), "{id}: judged {c}");
            shared_containers.insert(c.to_string());
        }
        for x in j.iter().filter(|x| x["restore"] == "own") {
            assert_ne!(
                x["dump_sha256"], digest,
                "{id}: its own dump is another: {x}"
            );
        }
    }
    assert_eq!(shared_containers.len(), 1, "{shared_containers:?}");
}

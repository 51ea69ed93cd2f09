//! Running the real `dryrun` binary and the checks every row shares: exit code, `error[kind]`,
//! the names and a hint, no panic, no container or volume left for the child's pid.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::common::docker_lines;

pub const BIN: &str = env!("CARGO_BIN_EXE_dryrun");
pub const LABEL_HARNESS: &str = "io.dot-iu-cutter.harness=dryrun";
pub const LABEL_OWNER_PID: &str = "io.dot-iu-cutter.owner-pid";
pub const LABEL_RUN: &str = "io.dot-iu-cutter.run";
pub const DUMP: &str = "directus_full_fixture.dump";
pub const PSV: &str = "directus_rowcounts_fixture.psv";
pub const MISSING_IMAGE: &str = "dot-iu-cutter/does-not-exist:0";

// ---------------------------------------------------------------------------------------------
// Running the binary and the checks shared by every row
// ---------------------------------------------------------------------------------------------

/// What one run of the binary produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub pid: u32,
}

/// Run `cmd` to completion, capturing its output and its pid (the owner-pid label it would use).
pub fn run(mut cmd: Command) -> Run {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
    let pid = child.id();
    let out = child.wait_with_output().expect("wait for dryrun");
    let r = Run {
        code: out.status.code().unwrap_or_else(|| {
            panic!(
                "dryrun was killed by a signal ({:?}); stderr:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        }),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        pid,
    };
    assert!(
        !r.stderr.contains("panicked"),
        "dryrun panicked:\n{}",
        r.stderr
    );
    r
}

/// Harness containers and volumes carrying the given extra label (`key=value`).
pub fn labelled(label: &str) -> Vec<String> {
    let h = format!("label={LABEL_HARNESS}");
    let l = format!("label={label}");
    let mut found = docker_lines(&[
        "ps",
        "-a",
        "--filter",
        &h,
        "--filter",
        &l,
        "--format",
        "container {{.ID}} {{.Names}}",
    ]);
    found.extend(docker_lines(&[
        "volume",
        "ls",
        "--filter",
        &h,
        "--filter",
        &l,
        "--format",
        "volume {{.Name}}",
    ]));
    found
}

/// (e) Nothing the child created is left on the engine.
pub fn assert_no_leftovers(r: &Run) {
    let left = labelled(&format!("{LABEL_OWNER_PID}={}", r.pid));
    assert!(
        left.is_empty(),
        "dryrun (pid {}) left resources behind: {left:?}",
        r.pid
    );
}

/// (a)-(c), (e) for a refused input: exit code, `error[kind]`, every name in `names`, a hint.
pub fn assert_refused(r: &Run, code: i32, kind: &str, names: &[&str]) {
    let ctx = format!(
        "exit {}\n--- stderr\n{}--- stdout\n{}",
        r.code, r.stderr, r.stdout
    );
    assert_eq!(r.code, code, "wrong exit code for {kind}: {ctx}");
    assert!(
        r.stderr.contains(&format!("error[{kind}]")),
        "stderr lacks error[{kind}]: {ctx}"
    );
    for n in names {
        assert!(r.stderr.contains(n), "stderr does not name {n:?}: {ctx}");
    }
    let hint = r
        .stderr
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("hint:"))
        .map(str::trim)
        .unwrap_or("");
    assert!(hint.len() > 10, "stderr has no hint line: {ctx}");
    assert_no_leftovers(r);
}

/// Sorted names of the entries of `dir` (to see that nothing was added next to the inputs).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

pub fn repo() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

pub fn fixture(name: &str) -> Vec<u8> {
    let p = repo().join("fixtures").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// The digest the bundled SHA256SUMS lists for `name` (checked against the file itself).
pub fn bundled_digest(name: &str) -> String {
    let sums = String::from_utf8(fixture("SHA256SUMS")).unwrap();
    let d = sums
        .lines()
        .find_map(|l| l.strip_suffix(&format!("  {name}")))
        .unwrap_or_else(|| panic!("fixtures/SHA256SUMS lists no {name}"))
        .to_string();
    assert_eq!(
        d,
        sha256_hex(&fixture(name)),
        "bundled fixture {name} is not intact"
    );
    d
}

pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the text"))
        + 1
}

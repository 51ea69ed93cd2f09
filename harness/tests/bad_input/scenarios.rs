//! `dryrun run`'s scenario files (discovered under the current directory before Docker) and
//! its previous closure report (read by the retry gate first): refused with `file:line`.

use std::path::PathBuf;
use std::process::Command;

use tempfile::TempDir;

use crate::support::*;

struct Scenarios {
    _tmp: TempDir,
    root: PathBuf,
    dir: PathBuf,
}

impl Scenarios {
    fn new() -> Scenarios {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().canonicalize().unwrap();
        let dir = root.join("scenarios");
        std::fs::create_dir(&dir).unwrap();
        Scenarios {
            _tmp: tmp,
            root,
            dir,
        }
    }

    /// Copy the repository's scenario `from` to `to`, edited by `edit`; returns (path, text).
    fn copy(&self, from: &str, to: &str, edit: impl Fn(&str) -> String) -> (String, String) {
        let src = repo().join("scenarios").join(from);
        let text =
            std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("read {}: {e}", src.display()));
        let new = edit(&text);
        let p = self.dir.join(to);
        std::fs::write(&p, &new).unwrap();
        (p.display().to_string(), new)
    }

    fn run_refused(&self, kind: &str, names: &[&str]) -> Run {
        let before = listing(&self.dir);
        let report = self.root.join("report");
        let mut c = Command::new(BIN);
        c.current_dir(&self.root)
            .arg("run")
            .arg("--report")
            .arg(&report);
        let r = run(c);
        assert_refused(&r, 3, kind, names);
        assert!(!report.exists(), "the report directory was created");
        assert_eq!(listing(&self.root), ["scenarios"], "files appeared");
        assert_eq!(listing(&self.dir), before, "scenario files changed");
        r
    }
}

const S01: &str = "S01-verified-restore.yaml";
const S07: &str = "S07-p0-forward.yaml";

#[test]
fn scenario_unknown_key() {
    let s = Scenarios::new();
    let (p, text) = s.copy(S01, S01, |t| format!("{t}owner: dba\n"));
    s.copy(S07, S07, str::to_string);
    let at = format!("{p}:{}:1", line_of(&text, "owner: dba"));
    let r = s.run_refused("scenario_malformed", &[&at]);
    assert!(r.stderr.contains("unknown field `owner`"), "{}", r.stderr);
}

#[test]
fn scenario_wrong_type() {
    let s = Scenarios::new();
    let (p, text) = s.copy(S01, S01, |t| {
        t.replace("containers_created: 0", "containers_created: one")
    });
    let at = format!("{p}:{}:", line_of(&text, "containers_created: one"));
    let r = s.run_refused("scenario_malformed", &[&at]);
    assert!(r.stderr.contains("invalid type"), "{}", r.stderr);
}

#[test]
fn scenario_duplicate_id() {
    let s = Scenarios::new();
    let (a, _) = s.copy(S01, S01, str::to_string);
    let (b, _) = s.copy("S02-checksum-mismatch.yaml", "S01-copy.yaml", |t| {
        t.replace("id: S02", "id: S01")
    });
    s.run_refused("scenario_duplicate_id", &[&a, &b]);
}

#[test]
fn scenario_id_not_matching_file_name() {
    let s = Scenarios::new();
    let (p, _) = s.copy(S01, "S02-verified-restore.yaml", str::to_string);
    let r = s.run_refused("scenario_id_mismatch", &[&p]);
    assert!(r.stderr.contains("\"S01\""), "{}", r.stderr);
}

#[test]
fn scenario_unknown_step_kind() {
    let s = Scenarios::new();
    let (p, text) = s.copy(S01, S01, |t| t.replace("- prepare_dump:", "- frobnicate:"));
    let at = format!("{p}:{}:", line_of(&text, "frobnicate"));
    let r = s.run_refused("scenario_malformed", &[&at]);
    assert!(
        r.stderr.contains("unknown variant `frobnicate`"),
        "{}",
        r.stderr
    );
}

#[test]
fn scenarios_folder_empty() {
    let s = Scenarios::new();
    let dir = s.dir.display().to_string();
    s.run_refused("no_scenarios", &[&dir]);
}

#[test]
fn previous_closure_report_unparsable() {
    // The retry gate reads the previous attempts first: a report it cannot parse is refused,
    // never replaced by a fresh start (and the engine is not contacted).
    let t = TempDir::new().expect("tmp");
    let report = t.path().join("report");
    std::fs::create_dir_all(&report).expect("mkdir");
    let json = report.join("hb05-closure.json");
    std::fs::write(
        &json,
        "{\"closure\": \"HB-05 NOT passed\", \"attempts\": [{\"run_id\"",
    )
    .expect("write");
    let before = std::fs::read(&json).expect("read");
    let mut c = Command::new(BIN);
    c.current_dir(repo())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["run", "--retry-approved-by", "A. Approver", "--report"])
        .arg(&report);
    let r = run(c);
    let name = json.display().to_string();
    assert_refused(&r, 3, "report_malformed", &[&name]);
    assert_eq!(
        std::fs::read(&json).expect("read"),
        before,
        "the report was overwritten"
    );
    assert_eq!(listing(&report), ["hb05-closure.json"], "files appeared");
}

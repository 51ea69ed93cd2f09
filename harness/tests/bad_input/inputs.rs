//! restore-test's inputs in a temp dir (a dump, its SHA256SUMS, optionally a row-count
//! snapshot) and the checks that a refused or failed run left nothing half-written.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::support::*;

pub struct Inputs {
    pub _tmp: TempDir,
    pub dir: PathBuf,
    pub dump: PathBuf,
    pub sums: PathBuf,
    pub psv: Option<PathBuf>,
    pub report: PathBuf,
    pub before: Vec<String>,
}

impl Inputs {
    /// `dump_name` holding `dump`, and a SHA256SUMS whose text is `sums(name, digest of dump)`.
    pub fn with_sums(dump_name: &str, dump: &[u8], sums: impl Fn(&str, &str) -> String) -> Inputs {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().canonicalize().unwrap();
        let dump_path = dir.join(dump_name);
        std::fs::write(&dump_path, dump).unwrap();
        let sums_path = dir.join("SHA256SUMS");
        std::fs::write(&sums_path, sums(dump_name, &sha256_hex(dump))).unwrap();
        let mut i = Inputs {
            _tmp: tmp,
            report: dir.join("report"),
            dir,
            dump: dump_path,
            sums: sums_path,
            psv: None,
            before: Vec::new(),
        };
        i.snapshot();
        i
    }

    /// A dump with a SHA256SUMS line that matches it.
    pub fn new(dump_name: &str, dump: &[u8]) -> Inputs {
        Self::with_sums(dump_name, dump, |n, d| format!("{d}  {n}\n"))
    }

    /// The intact fixture dump plus a row-count snapshot: the bundled one with `extra` appended.
    pub fn with_psv(extra: &str) -> (Inputs, usize) {
        let mut i = Self::new(DUMP, &fixture(DUMP));
        let mut text = String::from_utf8(fixture(PSV)).unwrap();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let first_new_line = text.lines().count() + 1;
        text.push_str(extra);
        let p = i.dir.join(PSV);
        std::fs::write(&p, text).unwrap();
        i.psv = Some(p);
        i.snapshot();
        (i, first_new_line)
    }

    pub fn snapshot(&mut self) {
        self.before = listing(&self.dir);
    }

    pub fn path(&self, p: &Path) -> String {
        p.display().to_string()
    }

    /// `dryrun restore-test --dump … --sums … [--rowcounts …] --report <dir>/report`.
    pub fn command(&self) -> Command {
        self.command_with(Path::new(BIN))
    }

    pub fn command_with(&self, bin: &Path) -> Command {
        let mut c = Command::new(bin);
        c.current_dir(&self.dir)
            .arg("restore-test")
            .arg("--dump")
            .arg(&self.dump)
            .arg("--sums")
            .arg(&self.sums)
            .arg("--report")
            .arg(&self.report);
        if let Some(p) = &self.psv {
            c.arg("--rowcounts").arg(p);
        }
        c
    }

    pub fn restore_test(&self) -> Run {
        run(self.command())
    }

    /// (d) Nothing half-written: no report directory, no new (temporary) file next to the inputs.
    pub fn assert_untouched(&self) {
        assert!(
            !self.report.exists(),
            "the report directory {} was created for a refused input",
            self.report.display()
        );
        assert_eq!(
            listing(&self.dir),
            self.before,
            "files appeared or vanished next to the inputs"
        );
    }

    /// For a run that provisioned: the report directory holds exactly the two complete reports
    /// (no temporary file), nothing else appeared, and the run's resources are gone.
    pub fn assert_failed_report(&self, r: &Run, stage: &str) -> serde_json::Value {
        let ctx = format!(
            "exit {}\n--- stderr\n{}--- stdout\n{}",
            r.code, r.stderr, r.stdout
        );
        assert_eq!(r.code, 1, "a failed check must exit 1: {ctx}");
        assert!(
            r.stdout
                .contains(&format!("**Verdict: FAIL** (stopped at {stage})")),
            "stdout lacks the FAIL verdict at {stage}: {ctx}"
        );
        assert_eq!(
            listing(&self.report),
            ["restore-test.json", "restore-test.md"],
            "report directory is not exactly the two reports"
        );
        let mut expected = self.before.clone();
        expected.push("report".into());
        expected.sort();
        assert_eq!(
            listing(&self.dir),
            expected,
            "files appeared next to the inputs"
        );
        let md = std::fs::read_to_string(self.report.join("restore-test.md")).unwrap();
        assert_eq!(
            md, r.stdout,
            "restore-test.md differs from what was printed"
        );
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.report.join("restore-test.json")).unwrap(),
        )
        .expect("restore-test.json is complete JSON");
        assert_eq!(json["verdict"], "fail");
        assert_eq!(json["stopped_at"], stage);
        assert!(
            json["server_version"]
                .as_str()
                .unwrap_or("")
                .starts_with("16"),
            "no PostgreSQL 16 server was provisioned: {json}"
        );
        let run_id = json["run_id"].as_str().expect("run_id");
        let left = labelled(&format!("{LABEL_RUN}={run_id}"));
        assert!(left.is_empty(), "run {run_id} left resources: {left:?}");
        assert_no_leftovers(r);
        json
    }
}

/// A restore-test input refused with exit 3 naming `names`, leaving nothing behind.
pub fn assert_bad_input(i: &Inputs, kind: &str, names: &[&str]) -> Run {
    let r = i.restore_test();
    assert_refused(&r, 3, kind, names);
    i.assert_untouched();
    r
}

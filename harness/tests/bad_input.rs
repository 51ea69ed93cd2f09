//! The README's "Bad input" table as tests: each row runs the real `dryrun` binary on one bad
//! input and checks exit code, error kind + path + hint, no panic, no partial output, no leftovers.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;

use common::{copy_tree, docker_lines};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_dryrun");
const LABEL_HARNESS: &str = "io.dot-iu-cutter.harness=dryrun";
const LABEL_OWNER_PID: &str = "io.dot-iu-cutter.owner-pid";
const LABEL_RUN: &str = "io.dot-iu-cutter.run";
const DUMP: &str = "directus_full_fixture.dump";
const PSV: &str = "directus_rowcounts_fixture.psv";
const MISSING_IMAGE: &str = "dot-iu-cutter/does-not-exist:0";

// ---------------------------------------------------------------------------------------------
// Running the binary and the checks shared by every row
// ---------------------------------------------------------------------------------------------

/// What one run of the binary produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    pid: u32,
}

/// Run `cmd` to completion, capturing its output and its pid (the owner-pid label it would use).
fn run(mut cmd: Command) -> Run {
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
fn labelled(label: &str) -> Vec<String> {
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
fn assert_no_leftovers(r: &Run) {
    let left = labelled(&format!("{LABEL_OWNER_PID}={}", r.pid));
    assert!(
        left.is_empty(),
        "dryrun (pid {}) left resources behind: {left:?}",
        r.pid
    );
}

/// (a)-(c), (e) for a refused input: exit code, `error[kind]`, every name in `names`, a hint.
fn assert_refused(r: &Run, code: i32, kind: &str, names: &[&str]) {
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
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn repo() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn fixture(name: &str) -> Vec<u8> {
    let p = repo().join("fixtures").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// The digest the bundled SHA256SUMS lists for `name` (checked against the file itself).
fn bundled_digest(name: &str) -> String {
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

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the text"))
        + 1
}

// ---------------------------------------------------------------------------------------------
// restore-test inputs: a dump, its SHA256SUMS and optionally a row-count snapshot in a temp dir
// ---------------------------------------------------------------------------------------------

struct Inputs {
    _tmp: TempDir,
    dir: PathBuf,
    dump: PathBuf,
    sums: PathBuf,
    psv: Option<PathBuf>,
    report: PathBuf,
    before: Vec<String>,
}

impl Inputs {
    /// `dump_name` holding `dump`, and a SHA256SUMS whose text is `sums(name, digest of dump)`.
    fn with_sums(dump_name: &str, dump: &[u8], sums: impl Fn(&str, &str) -> String) -> Inputs {
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
    fn new(dump_name: &str, dump: &[u8]) -> Inputs {
        Self::with_sums(dump_name, dump, |n, d| format!("{d}  {n}\n"))
    }

    /// The intact fixture dump plus a row-count snapshot: the bundled one with `extra` appended.
    fn with_psv(extra: &str) -> (Inputs, usize) {
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

    fn snapshot(&mut self) {
        self.before = listing(&self.dir);
    }

    fn path(&self, p: &Path) -> String {
        p.display().to_string()
    }

    /// `dryrun restore-test --dump … --sums … [--rowcounts …] --report <dir>/report`.
    fn command(&self) -> Command {
        self.command_with(Path::new(BIN))
    }

    fn command_with(&self, bin: &Path) -> Command {
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

    fn restore_test(&self) -> Run {
        run(self.command())
    }

    /// (d) Nothing half-written: no report directory, no new (temporary) file next to the inputs.
    fn assert_untouched(&self) {
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
    fn assert_failed_report(&self, r: &Run, stage: &str) -> serde_json::Value {
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
fn assert_bad_input(i: &Inputs, kind: &str, names: &[&str]) -> Run {
    let r = i.restore_test();
    assert_refused(&r, 3, kind, names);
    i.assert_untouched();
    r
}

// ---------------------------------------------------------------------------------------------
// Dump files
// ---------------------------------------------------------------------------------------------

#[test]
fn empty_dump_file() {
    let i = Inputs::new("empty.dump", b"");
    let r = assert_bad_input(&i, "dump_empty", &[&i.path(&i.dump), "0 bytes"]);
    assert!(r.stderr.contains("not a pg_dump archive"), "{}", r.stderr);
}

#[test]
fn plain_sql_passed_as_custom_dump() {
    let i = Inputs::new("plain.dump", &fixture("directus_schema_fixture.sql"));
    let r = assert_bad_input(&i, "dump_not_custom_format", &[&i.path(&i.dump)]);
    assert!(r.stderr.contains("plain-SQL dump"), "{}", r.stderr);
}

#[test]
fn dump_from_newer_pg_dump() {
    // Header: "PGDMP", major, minor, revision, int size, offset size, format.
    let mut d = fixture(DUMP);
    assert_eq!((&d[..5], d[5], d[6]), (&b"PGDMP"[..], 1, 15));
    d[6] = 16;
    let i = Inputs::new("newer.dump", &d);
    let r = assert_bad_input(&i, "dump_version_unsupported", &[&i.path(&i.dump)]);
    assert!(
        r.stderr.contains("newer pg_dump") && r.stderr.contains("1.16"),
        "{}",
        r.stderr
    );
}

#[test]
fn dump_cut_inside_its_header() {
    let d = fixture(DUMP);
    let i = Inputs::new("header-cut.dump", &d[..40]);
    assert_bad_input(&i, "dump_truncated", &[&i.path(&i.dump), "40 bytes"]);
}

#[test]
fn dump_with_impossible_header() {
    let mut d = fixture(DUMP);
    assert_eq!(d[8], 4, "int size of the fixture's header");
    d[8] = 9;
    let i = Inputs::new("corrupt.dump", &d);
    assert_bad_input(&i, "dump_corrupt", &[&i.path(&i.dump), "int size 9"]);
}

#[test]
fn truncated_dump_with_matching_checksum() {
    let d = fixture(DUMP);
    let i = Inputs::new("truncated.dump", &d[..d.len() / 2]);
    let r = i.restore_test();
    let json = i.assert_failed_report(&r, "restore");
    assert_ne!(json["restore"]["exit_code"], 0, "{json}");
    assert!(r.stdout.contains("truncated.dump"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Reason: pg_restore exited"),
        "{}",
        r.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// Checksums
// ---------------------------------------------------------------------------------------------

#[test]
fn one_flipped_byte_fails_the_checksum() {
    let mut d = fixture(DUMP);
    let at = d.len() / 2;
    d[at] ^= 0x01;
    let listed = bundled_digest(DUMP);
    let i = Inputs::with_sums("flipped.dump", &d, |n, _| format!("{listed}  {n}\n"));
    let actual = sha256_hex(&d);
    let sums_line = format!("{}:1", i.path(&i.sums));
    let r = assert_bad_input(
        &i,
        "checksum_mismatch",
        &[&i.path(&i.dump), &actual, &listed, &sums_line],
    );
    assert!(r.stderr.contains("nothing was provisioned"), "{}", r.stderr);
}

#[test]
fn sums_file_missing() {
    let mut i = Inputs::new("fixture.dump", &fixture(DUMP));
    std::fs::remove_file(&i.sums).unwrap();
    i.snapshot();
    assert_bad_input(&i, "file_not_found", &[&i.path(&i.sums)]);
}

#[test]
fn sums_malformed() {
    let i = Inputs::with_sums("fixture.dump", &fixture(DUMP), |_, _| {
        "this is not a checksum line\n".into()
    });
    assert_bad_input(&i, "sums_malformed", &[&format!("{}:1", i.path(&i.sums))]);
}

#[test]
fn sums_without_entry_for_the_dump() {
    // Neither its name nor its digest is listed (a renamed copy with a listed digest passes).
    let other = "0".repeat(64);
    let i = Inputs::with_sums("fixture.dump", &fixture(DUMP), |_, _| {
        format!("{other}  some-other.dump\n")
    });
    let r = assert_bad_input(&i, "sums_no_entry", &[&i.path(&i.sums), "fixture.dump"]);
    assert!(
        r.stderr.contains("no entry has its SHA-256"),
        "{}",
        r.stderr
    );
}

#[test]
fn sums_listed_file_tampered() {
    // Every listed file present in the sums file's folder is verified, matched by file name
    // whatever path the line carries (here `./`), like `sha256sum -c`.
    let i = Inputs::with_sums("fixture.dump", &fixture(DUMP), |n, d| {
        format!(
            "{d}  {n}\n{}  ./schema.sql\n",
            sha256_hex(b"as backed up\n")
        )
    });
    std::fs::write(i.dir.join("schema.sql"), b"edited afterwards\n").unwrap();
    let mut i = i;
    i.snapshot();
    let schema = i.dir.join("schema.sql");
    let line = format!("{}:2", i.path(&i.sums));
    let r = assert_bad_input(&i, "checksum_mismatch", &[&i.path(&schema), &line]);
    assert!(r.stderr.contains("nothing was provisioned"), "{}", r.stderr);
}

#[test]
fn checks_file_malformed() {
    let mut i = Inputs::new(DUMP, &fixture(DUMP));
    let checks = i.dir.join("checks.yaml");
    std::fs::write(
        &checks,
        "name: mine\nkey_tables: [public.dot_tools]\nowner: dba\n",
    )
    .unwrap();
    i.snapshot();
    let r = run({
        let mut c = i.command();
        c.arg("--checks").arg(&checks);
        c
    });
    let at = format!("{}:3:", checks.display());
    assert_refused(&r, 3, "checks_malformed", &[&at]);
    assert!(r.stderr.contains("unknown field `owner`"), "{}", r.stderr);
    i.assert_untouched();
}

#[test]
fn checks_need_a_table_the_dump_lacks() {
    let mut i = Inputs::new(DUMP, &fixture(DUMP));
    let checks = i.dir.join("checks.yaml");
    std::fs::write(
        &checks,
        "name: mine\nkey_tables: [public.dot_tools, sales.orders]\n",
    )
    .unwrap();
    i.snapshot();
    let r = run({
        let mut c = i.command();
        c.arg("--checks").arg(&checks);
        c
    });
    assert_refused(
        &r,
        3,
        "dump_lacks_tables",
        &[
            &i.path(&i.dump),
            "sales.orders (key table)",
            "--checks counts",
        ],
    );
    assert!(!r.stderr.contains("public.dot_tools ("), "{}", r.stderr);
    i.assert_untouched();
}

/// A folder holding a backup set (as `dryrun backup` leaves it).
fn folder_with_backup_set() -> (TempDir, PathBuf, Vec<String>) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().canonicalize().unwrap();
    std::fs::write(
        dir.join("SHA256SUMS"),
        format!("{}  a.dump\n", "1".repeat(64)),
    )
    .unwrap();
    std::fs::write(dir.join("a.dump"), b"PGDMP").unwrap();
    let before = listing(&dir);
    (tmp, dir, before)
}

#[test]
fn backup_into_a_folder_holding_a_backup_set() {
    let (_tmp, dir, before) = folder_with_backup_set();
    let sums_before = std::fs::read(dir.join("SHA256SUMS")).unwrap();
    let mut c = Command::new(BIN);
    c.current_dir(&dir)
        .args(["backup", "--source-container", "no-such-source", "--out"])
        .arg(&dir);
    let r = run(c);
    assert_refused(
        &r,
        3,
        "backup_set_exists",
        &[&dir.display().to_string(), "SHA256SUMS", "--force"],
    );
    assert_eq!(listing(&dir), before);
    assert_eq!(std::fs::read(dir.join("SHA256SUMS")).unwrap(), sums_before);
}

#[test]
fn fixture_into_a_folder_holding_a_backup_set() {
    let (_tmp, dir, before) = folder_with_backup_set();
    let mut c = Command::new(BIN);
    c.current_dir(repo()).args(["fixture", "--out"]).arg(&dir);
    let r = run(c);
    assert_refused(
        &r,
        3,
        "backup_set_exists",
        &[&dir.display().to_string(), "--force"],
    );
    assert_eq!(listing(&dir), before);
}

#[test]
fn fixture_without_out() {
    // A usage error (exit 2, clap's message naming --out): the committed fixtures/ is never a default.
    let fixtures = repo().join("fixtures");
    let before: Vec<(String, String)> = listing(&fixtures)
        .into_iter()
        .filter(|n| !fixtures.join(n).is_dir())
        .map(|n| {
            let d = sha256_hex(&std::fs::read(fixtures.join(&n)).unwrap());
            (n, d)
        })
        .collect();
    let mut c = Command::new(BIN);
    c.current_dir(repo()).args(["fixture", "--seed", "1"]);
    let r = run(c);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--out"), "{}", r.stderr);
    let after: Vec<(String, String)> = listing(&fixtures)
        .into_iter()
        .filter(|n| !fixtures.join(n).is_dir())
        .map(|n| {
            let d = sha256_hex(&std::fs::read(fixtures.join(&n)).unwrap());
            (n, d)
        })
        .collect();
    assert_eq!(after, before, "fixtures/ changed");
    assert_no_leftovers(&r);
}

#[test]
fn run_plan_folder_missing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan = tmp.path().join("no-such-plan");
    let report = tmp.path().join("report");
    let mut c = Command::new(BIN);
    c.current_dir(repo())
        .arg("run")
        .arg("--plan")
        .arg(&plan)
        .arg("--report")
        .arg(&report);
    let r = run(c);
    assert_refused(
        &r,
        3,
        "file_not_found",
        &[&plan.join("plan.yaml").display().to_string(), "--plan"],
    );
    assert!(!report.exists(), "the report directory was created");
}

/// Line 1 lists another file correctly; line 2 is the dump's line, bent by `bend`.
fn sums_line_2(bend: fn(&str, &str) -> String) -> Inputs {
    Inputs::with_sums("fixture.dump", &fixture(DUMP), move |n, d| {
        format!("{}  {PSV}\n{}\n", bundled_digest(PSV), bend(n, d))
    })
}

#[test]
fn sums_uppercase_digest() {
    let i = sums_line_2(|n, d| format!("{}  {n}", d.to_uppercase()));
    let r = assert_bad_input(&i, "sums_malformed", &[&format!("{}:2", i.path(&i.sums))]);
    assert!(r.stderr.contains("lowercase"), "{}", r.stderr);
}

#[test]
fn sums_short_digest() {
    let i = sums_line_2(|n, d| format!("{}  {n}", &d[..63]));
    let r = assert_bad_input(&i, "sums_malformed", &[&format!("{}:2", i.path(&i.sums))]);
    assert!(r.stderr.contains("63 characters"), "{}", r.stderr);
}

#[test]
fn sums_single_space_separator() {
    let i = sums_line_2(|n, d| format!("{d} {n}"));
    let r = assert_bad_input(&i, "sums_malformed", &[&format!("{}:2", i.path(&i.sums))]);
    assert!(r.stderr.contains("two spaces"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// Row-count snapshots (PSV)
// ---------------------------------------------------------------------------------------------

fn assert_psv_malformed(extra: &str, why: &str) {
    let (i, line) = Inputs::with_psv(extra);
    let at = format!("{}:{line}", i.path(i.psv.as_ref().unwrap()));
    let r = assert_bad_input(&i, "psv_malformed", &[&at]);
    assert!(r.stderr.contains(why), "expected {why:?}: {}", r.stderr);
}

#[test]
fn psv_wrong_column_count() {
    assert_psv_malformed("public|directus_extra\n", "expected 3 columns");
}

#[test]
fn psv_non_numeric_count() {
    assert_psv_malformed("public|directus_extra|many\n", "not an integer");
}

#[test]
fn psv_negative_count() {
    assert_psv_malformed("public|directus_extra|-3\n", "negative");
}

#[test]
fn psv_duplicate_table() {
    assert_psv_malformed("public|directus_access|5\n", "listed twice");
}

#[test]
fn psv_tables_absent_from_the_dump() {
    let (i, _) = Inputs::with_psv("public|ghost_alpha|5\ntac|ghost_beta|0\n");
    let r = i.restore_test();
    let json = i.assert_failed_report(&r, "smoke");
    for t in ["public.ghost_alpha", "tac.ghost_beta"] {
        assert!(
            r.stdout.contains(&format!("{t}: in the snapshot")),
            "the report does not name {t}:\n{}",
            r.stdout
        );
    }
    let diffs = json["smoke"]["differences"]
        .as_array()
        .expect("differences");
    assert_eq!(
        diffs.len(),
        2,
        "only the two ghost tables differ: {diffs:?}"
    );
    assert!(diffs.iter().all(|d| d["observed"].is_null()), "{diffs:?}");
}

// ---------------------------------------------------------------------------------------------
// Scenario files (`dryrun run` discovers scenarios/ under its current directory before Docker)
// ---------------------------------------------------------------------------------------------

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
        t.replace("containers_created: 1", "containers_created: one")
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

// ---------------------------------------------------------------------------------------------
// Environment: Docker socket and image (valid inputs, so the engine is what is missing)
// ---------------------------------------------------------------------------------------------

#[test]
fn docker_socket_absent() {
    let i = Inputs::new(DUMP, &fixture(DUMP));
    let mut c = i.command();
    c.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let r = run(c);
    assert_refused(
        &r,
        4,
        "docker_unreachable",
        &["unix:///nonexistent/docker.sock", "DOCKER_HOST"],
    );
    i.assert_untouched();
}

/// The start-up probe against a real refusal: `DRYRUN_FAULT=docker=api:9.99` puts `/v9.99` in
/// every request path (what a bollard with issue #736 fixed does with its own version); the
/// engine answers 400 "client version 9.99 is too new", and the command stops before creating
/// anything, with its own exit code.
#[test]
fn docker_api_version_refused() {
    let i = Inputs::new(DUMP, &fixture(DUMP));
    let mut c = i.command();
    c.env("DRYRUN_FAULT", "docker=api:9.99");
    let r = run(c);
    assert_refused(
        &r,
        6,
        "docker_api_version_refused",
        &["9.99", "too new", "DOCKER_HOST", "bollard 0.21.1"],
    );
    i.assert_untouched();
}

const NOBODY: u32 = 65534;
const SOCKET: &str = "/var/run/docker.sock";

/// Whether "others" (a uid that is neither owner nor in the group) have `bits` on `path`.
fn others_may(path: &Path, bits: u32) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & bits == bits)
}

#[test]
fn docker_permission_denied() {
    let sock = std::fs::metadata(SOCKET)
        .unwrap_or_else(|e| panic!("{SOCKET} is needed for this test: {e}"));
    if sock.permissions().mode() & 0o006 == 0o006 {
        common::skip_or_fail(&format!(
            "{SOCKET} is world-accessible; permission denied cannot be provoked"
        ));
        return;
    }
    let me = std::fs::metadata("/proc/self").unwrap().uid();
    if me != 0 {
        common::skip_or_fail(&format!(
            "not running as root (uid {me}); cannot switch to uid {NOBODY}"
        ));
        return;
    }
    // The child runs as nobody: the inputs and the binary must be readable/executable by it.
    let i = Inputs::new(DUMP, &fixture(DUMP));
    std::fs::set_permissions(&i.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in [&i.dump, &i.sums] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let bin = PathBuf::from(BIN);
    let reachable =
        bin.ancestors().skip(1).all(|d| others_may(d, 0o001)) && others_may(&bin, 0o005);
    let bin_tmp = tempfile::tempdir().unwrap();
    let bin = if reachable {
        bin
    } else {
        std::fs::set_permissions(bin_tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = bin_tmp.path().join("dryrun");
        std::fs::copy(&bin, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        copy
    };
    let mut c = i.command_with(&bin);
    c.env_remove("DOCKER_HOST").uid(NOBODY).gid(NOBODY);
    let r = run(c);
    assert_refused(&r, 4, "docker_permission_denied", &[SOCKET, "DOCKER_HOST"]);
    i.assert_untouched();
}

#[test]
fn image_missing_with_no_way_to_build_it() {
    let present = Command::new("docker")
        .args(["image", "inspect", MISSING_IMAGE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("docker image inspect");
    assert!(
        !present.success(),
        "{MISSING_IMAGE} exists; the test needs it absent"
    );
    let i = Inputs::new(DUMP, &fixture(DUMP));
    let mut c = i.command();
    c.env("PG_IMAGE", MISSING_IMAGE);
    let r = run(c);
    assert_refused(&r, 4, "image_missing", &[MISSING_IMAGE]);
    let hint = r.stderr.lines().find(|l| l.contains("hint:")).unwrap();
    assert!(
        hint.contains("make image") && hint.contains("PG_IMAGE"),
        "hint must name `make image` and PG_IMAGE: {hint}"
    );
    i.assert_untouched();
}

// ---------------------------------------------------------------------------------------------
// Persistent environments
// ---------------------------------------------------------------------------------------------

/// `dryrun <args>` in the repository (bundled fixture paths are relative to it).
fn dryrun_in_repo(args: &[&str]) -> Run {
    let mut c = Command::new(BIN);
    c.current_dir(repo()).args(args);
    run(c)
}

fn env_up_fixture(name: &str, report: &Path) -> Vec<String> {
    [
        "env",
        "up",
        "--dump",
        &format!("fixtures/{DUMP}"),
        "--sums",
        "fixtures/SHA256SUMS",
        "--name",
        name,
        "--report",
        &report.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn env_down_unknown_name() {
    let name = format!("pg-dry-run-hb05-no-such-{}", std::process::id());
    let r = dryrun_in_repo(&["env", "down", &name]);
    assert_refused(&r, 3, "env_unknown", &[&name, "dryrun env ls"]);
}

#[test]
fn run_env_unknown_name() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report");
    let name = format!("pg-dry-run-hb05-no-such-{}", std::process::id());
    let r = dryrun_in_repo(&["run", "--env", &name, "--report", report.to_str().unwrap()]);
    assert_refused(&r, 3, "env_unknown", &[&name, "dryrun env ls"]);
    assert!(
        !report.exists(),
        "a report was written for an unknown environment"
    );
}

#[test]
fn env_up_name_in_use() {
    // Any container holding the name (here a created, never started one) refuses it.
    let name = format!("pg-dry-run-hb05-taken-{}", std::process::id());
    let created = Command::new("docker")
        .args([
            "create",
            "--name",
            &name,
            "dot-iu-cutter/postgres:16",
            "true",
        ])
        .output()
        .expect("docker create");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report");
    let args = env_up_fixture(&name, &report);
    let r = dryrun_in_repo(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let still_there = docker_lines(&["ps", "-a", "--filter", &format!("name=^{name}$"), "-q"]);
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    assert_refused(&r, 3, "env_name_in_use", &[&name]);
    assert_eq!(
        still_there.len(),
        1,
        "the container holding the name was touched"
    );
    assert!(!report.exists(), "a report was written for a refused name");
}

#[test]
fn env_up_invalid_name() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report");
    let args = env_up_fixture("no spaces/allowed", &report);
    let r = dryrun_in_repo(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_refused(&r, 3, "env_name_invalid", &["no spaces/allowed"]);
    assert!(!report.exists());
}

// ---------------------------------------------------------------------------------------------
// Content-hash files (restore-test's content proof)
// ---------------------------------------------------------------------------------------------

const CONTENT: &str = "directus_content_fixture.json";

#[test]
fn content_file_not_json() {
    let mut i = Inputs::new(DUMP, &fixture(DUMP));
    let p = i.dir.join(CONTENT);
    std::fs::write(&p, "schema|table|rows\n").unwrap();
    i.snapshot();
    let r = run({
        let mut c = i.command();
        c.arg("--content").arg(&p);
        c
    });
    assert_refused(&r, 3, "content_malformed", &[&i.path(&p)]);
    i.assert_untouched();
}

#[test]
fn content_file_listed_with_a_wrong_digest() {
    // auto-detected next to the dump (directus_full_X.dump -> directus_content_X.json) because
    // SHA256SUMS lists it; its digest does not match
    let dump = fixture(DUMP);
    let i = Inputs::with_sums(DUMP, &dump, |n, d| {
        format!("{d}  {n}\n{}  {CONTENT}\n", sha256_hex(b"something else"))
    });
    let p = i.dir.join(CONTENT);
    std::fs::write(
        &p,
        "{\"definition\": \"dryrun-data-fp/v2\", \"tables\": []}\n",
    )
    .unwrap();
    let mut i = i;
    i.snapshot();
    assert_bad_input(&i, "checksum_mismatch", &[CONTENT]);
}

/// A copy of the Sqitch test plan (`harness/tests/plans/sqitch`), bent by `bend`, refused by
/// `dryrun run --plan` with `kind` naming `names` (relative to the copy), before Docker.
fn run_plan_sqitch_refused(bend: impl Fn(&Path), kind: &str, names: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan = tmp.path().join("sqitch");
    copy_tree(&repo().join("harness/tests/plans/sqitch"), &plan);
    bend(&plan);
    let report = tmp.path().join("report");
    let mut c = Command::new(BIN);
    c.current_dir(repo())
        .arg("run")
        .arg("--plan")
        .arg(&plan)
        .arg("--report")
        .arg(&report);
    let r = run(c);
    let named: Vec<String> = names
        .iter()
        .map(|n| plan.join(n).display().to_string())
        .collect();
    let named: Vec<&str> = named.iter().map(String::as_str).collect();
    assert_refused(&r, 3, kind, &named);
    assert!(!report.exists(), "the report directory was created");
    r
}

fn edit(path: &Path, f: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(path).expect("read");
    std::fs::write(path, f(&text)).expect("write");
}

#[test]
fn run_plan_sqitch_grammar() {
    // line 6 (dot_tool_revision) without its timestamp
    let r = run_plan_sqitch_refused(
        |p| {
            edit(&p.join("sqitch.plan"), |t| {
                t.replacen("2026-01-05T09:05:00Z ", "", 1)
            })
        },
        "malformed_plan",
        &["sqitch.plan:6"],
    );
    assert!(r.stderr.contains("Missing timestamp"), "{}", r.stderr);
}

#[test]
fn run_plan_sqitch_dependencies() {
    let r = run_plan_sqitch_refused(
        |p| {
            edit(&p.join("sqitch.plan"), |t| {
                t.replacen("cut_unit [cut_change_set]", "cut_unit [g2_backlog]", 1)
            })
        },
        "plan_dependency",
        &["sqitch.plan:8"],
    );
    assert!(r.stderr.contains("deploys later (line 14)"), "{}", r.stderr);
    run_plan_sqitch_refused(
        |p| {
            edit(&p.join("sqitch.plan"), |t| {
                t.replacen(
                    "cut_unit [cut_change_set]",
                    "cut_unit [cut_change_set base:users]",
                    1,
                )
            })
        },
        "cross_project_dependency",
        &["sqitch.plan:8"],
    );
}

#[test]
fn run_plan_sqitch_script_refused() {
    let r = run_plan_sqitch_refused(
        |p| {
            edit(&p.join("deploy/cut_unit.sql"), |t| {
                t.replacen(
                    "CREATE INDEX cut_unit_change_set_id_idx",
                    "CREATE INDEX CONCURRENTLY cut_unit_change_set_id_idx",
                    1,
                )
            })
        },
        "unsupported_script",
        &["deploy/cut_unit.sql:28"],
    );
    assert!(
        r.stderr.contains("CREATE INDEX CONCURRENTLY"),
        "{}",
        r.stderr
    );
    run_plan_sqitch_refused(
        |p| {
            edit(&p.join("verify/g2_backlog.sql"), |t| {
                format!("\\set ON_ERROR_STOP 1\n{t}")
            })
        },
        "unsupported_script",
        &["verify/g2_backlog.sql:1"],
    );
}

#[test]
fn run_plan_sqitch_no_schema() {
    run_plan_sqitch_refused(
        |p| {
            edit(&p.join("deploy/schema.sql"), |t| {
                t.replace("CREATE SCHEMA cutter_governance;", "SELECT 1;")
            })
        },
        "plan_schema",
        &["sqitch.plan"],
    );
}

#[test]
fn run_plan_both_layouts() {
    run_plan_sqitch_refused(
        |p| {
            std::fs::copy(repo().join("migrations/p0/plan.yaml"), p.join("plan.yaml"))
                .map(|_| ())
                .expect("copy")
        },
        "ambiguous_plan",
        &["plan.yaml", "sqitch.plan"],
    );
}

/// A plan without what S11 and S20–S26 write to (here `cutter_governance.dot_pair_signature`,
/// SPEC §7a) is refused before any container, naming the table, the scenarios and the way out
/// (`--scenarios rollback`); nothing is written.
#[test]
fn run_plan_without_the_governance_tables_is_refused_up_front() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan = tmp.path().join("p0");
    copy_tree(&repo().join("migrations/p0"), &plan);
    edit(&plan.join("deploy/05_dot_pair_signature.sql"), |t| {
        t.replace(
            "CREATE TABLE cutter_governance.dot_pair_signature (",
            "CREATE TABLE cutter_governance.pair_signature (",
        )
    });
    let report = tmp.path().join("report");
    let mut c = Command::new(BIN);
    c.current_dir(repo())
        .arg("run")
        .arg("--plan")
        .arg(&plan)
        .arg("--report")
        .arg(&report);
    let r = run(c);
    assert_refused(
        &r,
        3,
        "plan_contract",
        &[
            "cutter_governance.dot_pair_signature",
            "S11:",
            "S26:",
            "--scenarios rollback",
        ],
    );
    assert!(!r.stderr.contains("S08:"), "{}", r.stderr);
    assert!(!report.exists(), "the report directory was created");
}

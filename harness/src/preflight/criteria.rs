//! The go/no-go criteria other than the age: every listed checksum, a passed restore test of this
//! dump, and an HB-05 closure of 26/26 bound to this plan's digest. Each returns its verdict.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::checksum;
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::hb05::model::ClosureReport;

/// One criterion's verdict: its name, pass or fail, the failure's kind and the sentence saying why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Criterion {
    pub name: &'static str,
    pub pass: bool,
    /// The failure's kind (`backup_too_old`, `closure_other_plan`, …); none when it passed.
    pub kind: Option<&'static str>,
    pub reason: String,
}

impl Criterion {
    pub fn pass(name: &'static str, reason: impl Into<String>) -> Self {
        Criterion {
            name,
            pass: true,
            kind: None,
            reason: reason.into(),
        }
    }
    pub fn fail(name: &'static str, kind: &'static str, reason: impl Into<String>) -> Self {
        Criterion {
            name,
            pass: false,
            kind: Some(kind),
            reason: reason.into(),
        }
    }
}

/// A missing or unreadable input stays an error (bad input, exit 3); anything else a verdict.
fn unreadable(e: &Error) -> bool {
    matches!(
        e.kind,
        ErrorKind::FileNotFound | ErrorKind::IoError | ErrorKind::DiskFull
    )
}

/// Every entry of the sums file verifies: the dump (by name, or a renamed copy by digest) and
/// each other listed file in the sums file's folder. A listed file that is absent is a failure
/// here (the restore test only notes it): the gate proves the whole set.
pub fn checksums(dump: &Path, sums: &Path) -> Result<Criterion> {
    const NAME: &str = "checksums";
    let entries = match checksum::parse_sums(sums).map_err(Error::from) {
        Ok(e) => e,
        Err(e) if unreadable(&e) => return Err(e),
        Err(e) => return Ok(Criterion::fail(NAME, e.kind.as_str(), e.message)),
    };
    let dump_entry = match checksum::verify_listed(dump, sums, &entries) {
        Ok(v) => v,
        Err(e) if unreadable(&e) => return Err(e),
        Err(e) => return Ok(Criterion::fail(NAME, e.kind.as_str(), e.message)),
    };
    let dir = sums
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The dump's own line: by its name, else (a renamed copy) by its digest.
    let dump_line = entries
        .iter()
        .find(|e| e.file == dump_entry.file)
        .or_else(|| entries.iter().find(|e| e.digest == dump_entry.sha256))
        .map(|e| e.line);
    let mut bad = Vec::new();
    let mut kind = "checksum_mismatch";
    for e in entries.iter().filter(|e| Some(e.line) != dump_line) {
        let p = dir.join(&e.file);
        if !p.is_file() {
            bad.push(format!(
                "{} (line {}) is listed but absent from {}",
                e.file,
                e.line,
                dir.display()
            ));
            if bad.len() == 1 {
                kind = "listed_file_absent";
            }
            continue;
        }
        let actual = checksum::sha256_file(&p)?;
        if actual != e.digest {
            kind = "checksum_mismatch";
            bad.push(format!(
                "{} has SHA-256 {actual}, {}:{} expects {}",
                p.display(),
                sums.display(),
                e.line,
                e.digest
            ));
        }
    }
    if bad.is_empty() {
        Ok(Criterion::pass(
            NAME,
            format!(
                "all {} entries of {} verify (dump {} sha256 {})",
                entries.len(),
                sums.display(),
                dump_entry.file,
                dump_entry.sha256
            ),
        ))
    } else {
        Ok(Criterion::fail(
            NAME,
            kind,
            format!(
                "{} of {} entries of {} do not verify: {}",
                bad.len(),
                entries.len(),
                sums.display(),
                bad.join("; ")
            ),
        ))
    }
}

/// What a restore test said about a dump: its SHA-256, verdict and where this came from.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreEvidence {
    /// `restore-test.json` path, or what ran it (`--run-restore-test`, a scenario's own restore).
    pub source: String,
    pub dump_sha256: String,
    pub verdict: crate::restore::Verdict,
    pub stopped_at: Option<String>,
    pub reason: Option<String>,
    /// Test hooks active in the process that ran the restore test (its report's `test_hooks`).
    pub test_hooks: Vec<String>,
}

impl RestoreEvidence {
    /// From a report of `dryrun restore-test --report DIR` (`DIR/restore-test.json` or the
    /// folder): its verdict and the dump's SHA-256 from its checksum list.
    pub fn read(path: &Path) -> Result<Self> {
        let file = resolve_in(path, "restore-test.json");
        let text = std::fs::read_to_string(&file).at(&file, "read the restore-test report")?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| malformed(&file, "restore-test report", &e.to_string()))?;
        let sha = v["checksums"]["files"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["role"] == "dump"))
            .and_then(|f| f["sha256"].as_str())
            .map(str::to_string);
        let verdict = serde_json::from_value::<crate::restore::Verdict>(v["verdict"].clone()).ok();
        let (Some(dump_sha256), Some(verdict)) = (sha, verdict) else {
            return Err(malformed(
                &file,
                "restore-test report",
                "no verdict (pass or fail) or no dump entry in checksums.files",
            ));
        };
        Ok(RestoreEvidence {
            source: file.display().to_string(),
            dump_sha256,
            verdict,
            stopped_at: v["stopped_at"].as_str().map(str::to_string),
            reason: v["reason"].as_str().map(str::to_string),
            test_hooks: v["test_hooks"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|h| h.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    pub fn of_report(r: &crate::restore::RestoreTestReport, source: &str) -> Option<Self> {
        let dump = r
            .checksums
            .files
            .iter()
            .find(|f| f.role == checksum::FileRole::Dump)?;
        Some(RestoreEvidence {
            source: source.to_string(),
            dump_sha256: dump.sha256.clone(),
            verdict: r.verdict,
            stopped_at: r.stopped_at.map(|s| s.as_str().to_string()),
            reason: r.reason.clone(),
            test_hooks: r.test_hooks.clone(),
        })
    }
}

fn resolve_in(path: &Path, name: &str) -> PathBuf {
    if path.is_dir() {
        path.join(name)
    } else {
        path.to_path_buf()
    }
}

fn malformed(file: &Path, what: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::ReportMalformed,
        format!("{} is not a {what} ({why}).", file.display()),
    )
    .with_hint("Pass the JSON file the command wrote (or its --report folder), unchanged.")
}

/// A restore test of *this* dump passed: same SHA-256, verdict pass.
pub fn restore_test(ev: Option<&RestoreEvidence>, dump_sha256: &str) -> Criterion {
    const NAME: &str = "restore_test";
    let Some(ev) = ev else {
        return Criterion::fail(NAME, "restore_test_missing", "no restore test of this dump was given; pass --restore-report DIR/restore-test.json (from `dryrun restore-test --report DIR`) or --run-restore-test");
    };
    if ev.dump_sha256 != dump_sha256 {
        return Criterion::fail(
            NAME,
            "restore_test_other_dump",
            format!(
                "{} tested a dump with SHA-256 {}, not this dump ({dump_sha256})",
                ev.source, ev.dump_sha256
            ),
        );
    }
    if !ev.test_hooks.is_empty() {
        return Criterion::fail(
            NAME,
            "restore_test_under_test_hooks",
            format!(
                "{} was written with test hooks active ({}): no evidence",
                ev.source,
                ev.test_hooks.join("; ")
            ),
        );
    }
    if !ev.verdict.is_pass() {
        return Criterion::fail(
            NAME,
            "restore_test_failed",
            format!(
                "{}: verdict {} (stopped at {}): {}",
                ev.source,
                ev.verdict,
                ev.stopped_at.as_deref().unwrap_or("?"),
                ev.reason.as_deref().unwrap_or("-")
            ),
        );
    }
    Criterion::pass(
        NAME,
        format!("{}: passed for this dump ({dump_sha256})", ev.source),
    )
}

/// Read an HB-05 closure report (`hb05-closure.json` or its folder).
pub fn read_closure(path: &Path) -> Result<(PathBuf, ClosureReport)> {
    let file = resolve_in(path, "hb05-closure.json");
    let text = std::fs::read_to_string(&file).at(&file, "read the closure report")?;
    let r = serde_json::from_str(&text)
        .map_err(|e| malformed(&file, "closure report (hb05-closure.json)", &e.to_string()))?;
    Ok((file, r))
}

/// The closure's last attempt passed every committed scenario (26/26, the exact committed
/// selection, not a partial result) and is bound to this plan's digest.
pub fn closure(c: Option<(&Path, &ClosureReport)>, plan_digest: &str) -> Criterion {
    const NAME: &str = "closure";
    let Some((file, r)) = c else {
        return Criterion::fail(NAME, "closure_missing", "no HB-05 closure report was given; pass --closure REPORT_DIR/hb05-closure.json (from `dryrun run --plan` with this plan)");
    };
    let committed = crate::bundle::committed_suite()
        .iter()
        .filter(|(p, _)| p.starts_with("scenarios/"))
        .count();
    let Some(a) = r.attempts.last() else {
        return Criterion::fail(
            NAME,
            "closure_not_passed",
            format!("{} records no attempt", file.display()),
        );
    };
    let Some(b) = &a.bound else {
        return Criterion::fail(
            NAME,
            "closure_unbound",
            format!(
                "{}: its last attempt records no plan digest (written before runs were bound to a plan)",
                file.display()
            ),
        );
    };
    let mut why = Vec::new();
    let mut kind = None;
    if !a.test_hooks.is_empty() {
        kind.get_or_insert("closure_under_test_hooks");
        why.push(format!(
            "its last attempt ran with test hooks active ({}): no evidence",
            a.test_hooks.join("; ")
        ));
    }
    if b.plan.digest != plan_digest {
        kind.get_or_insert("closure_other_plan");
        why.push(format!(
            "it is bound to plan digest {} ({}), this plan's digest is {plan_digest}",
            b.plan.digest, b.plan.source
        ));
    }
    if !b.selection_differs.is_empty() {
        kind.get_or_insert("closure_partial");
        why.push(format!(
            "a partial result, not the committed S01..S{committed}: {}",
            b.selection_differs.join("; ")
        ));
    }
    if !a.is_pass() || a.expected != committed || a.passed != committed {
        kind.get_or_insert("closure_not_passed");
        why.push(format!(
            "its last attempt passed {}/{} of {} expected; HB-05 needs {committed}/{committed}",
            a.passed, a.total, a.expected
        ));
    }
    match kind {
        Some(k) => Criterion::fail(NAME, k, format!("{}: {}", file.display(), why.join("; "))),
        None => Criterion::pass(
            NAME,
            format!(
                "{}: {}/{} passed for plan digest {plan_digest} (dump {}, {})",
                file.display(),
                a.passed,
                a.expected,
                b.dump_sha256,
                b.harness
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hb05::model::{Attempt, Binding, PlanRecord};

    fn report(passed: usize, expected: usize, digest: &str, differs: &[&str]) -> ClosureReport {
        ClosureReport {
            attempts: vec![Attempt {
                passed,
                total: passed.max(expected),
                expected,
                bound: Some(Binding {
                    plan: PlanRecord {
                        digest: digest.into(),
                        source: "p".into(),
                        ..Default::default()
                    },
                    selection_differs: differs.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn kind(r: &ClosureReport, digest: &str) -> Option<&'static str> {
        closure(Some((Path::new("c.json"), r)), digest).kind
    }

    #[test]
    fn the_closure_must_be_26_of_26_of_the_committed_suite_for_this_plan() {
        assert_eq!(kind(&report(26, 26, "d", &[]), "d"), None);
        assert_eq!(
            kind(&report(26, 26, "d", &[]), "e"),
            Some("closure_other_plan")
        );
        let c = closure(Some((Path::new("c.json"), &report(26, 26, "d", &[]))), "e");
        assert!(
            c.reason.contains("plan digest d") && c.reason.contains("digest is e"),
            "{}",
            c.reason
        );
        assert_eq!(
            kind(&report(25, 26, "d", &[]), "d"),
            Some("closure_not_passed")
        );
        assert_eq!(
            kind(
                &report(13, 13, "d", &["scenarios/S01-x.yaml was not run"]),
                "d"
            ),
            Some("closure_partial")
        );
        // A suite of 13 that passed is not HB-05 even without a recorded difference.
        assert_eq!(
            kind(&report(13, 13, "d", &[]), "d"),
            Some("closure_not_passed")
        );
        let mut unbound = report(26, 26, "d", &[]);
        unbound.attempts[0].bound = None;
        assert_eq!(kind(&unbound, "d"), Some("closure_unbound"));
        assert_eq!(
            kind(&ClosureReport::default(), "d"),
            Some("closure_not_passed")
        );
        assert_eq!(closure(None, "d").kind, Some("closure_missing"));
        // Only the last attempt counts: a pass followed by a failure is no pass.
        let mut later_fail = report(26, 26, "d", &[]);
        let mut failed = later_fail.attempts[0].clone();
        failed.passed = 20;
        later_fail.attempts.push(failed);
        assert_eq!(kind(&later_fail, "d"), Some("closure_not_passed"));
        // A closure written under a test hook (its line reads "No closure") is no evidence.
        let mut hooked = report(26, 26, "d", &[]);
        hooked.attempts[0].test_hooks = vec!["DRYRUN_FAULT=scenario=sleep:10".into()];
        assert_eq!(kind(&hooked, "d"), Some("closure_under_test_hooks"));
    }

    #[test]
    fn every_listed_file_must_verify() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.dump"), b"dump").unwrap();
        std::fs::write(d.join("b.sql"), b"schema").unwrap();
        let names = vec!["a.dump".to_string(), "b.sql".to_string()];
        let sums = crate::checksum::write_sums(d, &names).unwrap();
        let dump = d.join("a.dump");
        assert!(checksums(&dump, &sums).unwrap().pass);
        std::fs::write(d.join("b.sql"), b"schemA").unwrap();
        let c = checksums(&dump, &sums).unwrap();
        assert_eq!(c.kind, Some("checksum_mismatch"));
        assert!(c.reason.contains("b.sql"), "{}", c.reason);
        std::fs::remove_file(d.join("b.sql")).unwrap();
        assert_eq!(
            checksums(&dump, &sums).unwrap().kind,
            Some("listed_file_absent")
        );
        // A renamed copy of the dump verifies by its digest.
        std::fs::write(d.join("b.sql"), b"schema").unwrap();
        std::fs::rename(&dump, d.join("copy.dump")).unwrap();
        assert!(checksums(&d.join("copy.dump"), &sums).unwrap().pass);
        // A missing sums file is bad input, not a verdict.
        assert_eq!(
            checksums(&d.join("copy.dump"), &d.join("nope"))
                .unwrap_err()
                .kind,
            crate::error::ErrorKind::FileNotFound
        );
    }

    /// A report's verdict is read as one of the written values; anything else is a malformed
    /// report naming the file (bad input), never silently a failed or passed test.
    #[test]
    fn a_restore_test_report_is_read_by_its_typed_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let write = |verdict: &str| {
            let p = dir.path().join("restore-test.json");
            let v = serde_json::json!({
                "verdict": verdict,
                "checksums": {"files": [{"role": "dump", "sha256": "aa"}]},
            });
            std::fs::write(&p, v.to_string()).unwrap();
            p
        };
        let ev = RestoreEvidence::read(&write("pass")).unwrap();
        assert_eq!(ev.verdict, crate::restore::Verdict::Pass);
        assert_eq!(ev.dump_sha256, "aa");
        let ev = RestoreEvidence::read(&write("fail")).unwrap();
        assert_eq!(ev.verdict, crate::restore::Verdict::Fail);
        let e = RestoreEvidence::read(&write("PASS")).unwrap_err();
        assert_eq!(e.category(), crate::error::Category::BadInput);
        assert!(e.message.contains("restore-test.json"), "{}", e.message);
    }

    #[test]
    fn the_restore_test_must_be_of_this_dump_and_passed() {
        use crate::restore::Verdict;
        let ev = |sha: &str, verdict: Verdict| RestoreEvidence {
            source: "r.json".into(),
            dump_sha256: sha.into(),
            verdict,
            stopped_at: Some("smoke".into()),
            reason: None,
            test_hooks: vec![],
        };
        assert!(restore_test(Some(&ev("aa", Verdict::Pass)), "aa").pass);
        assert_eq!(
            restore_test(Some(&ev("bb", Verdict::Pass)), "aa").kind,
            Some("restore_test_other_dump")
        );
        assert_eq!(
            restore_test(Some(&ev("aa", Verdict::Fail)), "aa").kind,
            Some("restore_test_failed")
        );
        assert_eq!(restore_test(None, "aa").kind, Some("restore_test_missing"));
        let mut hooked = ev("aa", Verdict::Pass);
        hooked.test_hooks = vec!["DRYRUN_SABOTAGE=triage_all_benign".into()];
        assert_eq!(
            restore_test(Some(&hooked), "aa").kind,
            Some("restore_test_under_test_hooks")
        );
    }
}

//! Issue 10 items 1-3, 6, 7 on a non-Directus PostgreSQL 16 database backed up both ways (SPEC
//! §2's commands by hand, and `dryrun backup`): checksums as `sha256sum -c` reads them,
//! headerless estimate counts, `--checks counts`, up-front refusals from the dump's TOC.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

mod common;

use common::source_db::{SourceDb, SpecSet};

/// Everything made once from the source database (which is removed right after).
struct Sets {
    /// SPEC §2 by hand, then moved into another folder (sums keep the old absolute paths).
    spec: SpecSet,
    /// `dryrun backup --out`.
    backup_dir: PathBuf,
    /// `pg_restore -l` of the hand-made dump (PG 16's own reading of the TOC).
    restore_list: String,
    /// `dryrun backup` into a folder that already held a backup set: without and with --force.
    refused: common::Finished,
    forced: common::Finished,
    forced_dir: PathBuf,
}

fn base() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ops-artefacts-{}", std::process::id()))
}

fn sets() -> &'static Sets {
    static SETS: OnceLock<Sets> = OnceLock::new();
    SETS.get_or_init(|| {
        let base = common::process_dir("ops-artefacts");
        let src = SourceDb::start();
        let made = src.backup_like_spec(&base.join("made-on-host"), "20261201T2300Z");
        let restore_list = src.pg_restore_list(&made.dump);
        let backup_dir = base.join("dryrun-backup");
        let args = |out: &Path, force: bool| {
            let mut v = vec![
                "backup".to_string(),
                "--source-container".into(),
                src.name.clone(),
                "--out".into(),
                out.display().to_string(),
            ];
            if force {
                v.push("--force".into());
            }
            v
        };
        let run = |a: Vec<String>| {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            common::run(&a, &[], &common::repo(), Duration::from_secs(300))
        };
        let first = run(args(&backup_dir, false));
        assert_eq!(first.code, Some(0), "dryrun backup: {}", first.stderr);
        let refused = run(args(&backup_dir, false));
        let forced_dir = base.join("forced");
        std::fs::create_dir_all(&forced_dir).unwrap();
        std::fs::write(forced_dir.join("SHA256SUMS"), "old\n").unwrap();
        let forced = run(args(&forced_dir, true));
        src.remove();
        let spec = made.moved_to(&base.join("moved"));
        Sets {
            spec,
            backup_dir,
            restore_list,
            refused,
            forced,
            forced_dir,
        }
    })
}

fn only(dir: &Path, suffix: &str) -> PathBuf {
    let v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(v.len(), 1, "{} holds {v:?}", dir.display());
    v[0].clone()
}

/// A copy of the hand-made set in a fresh folder (to damage or rename files in).
fn copy_spec(tag: &str) -> SpecSet {
    let s = &sets().spec;
    let to = base().join(tag);
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(&to).unwrap();
    for f in std::fs::read_dir(&s.dir).unwrap().flatten() {
        if f.path().is_file() {
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
    }
    let f = |p: &Path| to.join(p.file_name().unwrap());
    SpecSet {
        dir: to.clone(),
        dump: f(&s.dump),
        schema: f(&s.schema),
        counts: f(&s.counts),
        stderr: f(&s.stderr),
    }
}

struct Outcome {
    run: common::Finished,
    json: Option<serde_json::Value>,
    report: PathBuf,
}

fn restore_test(dump: &Path, sums: &Path, counts: Option<&Path>, checks: Option<&str>) -> Outcome {
    let report = dump.parent().unwrap().join("report");
    let _ = std::fs::remove_dir_all(&report);
    let mut a = vec![
        "restore-test".to_string(),
        "--dump".into(),
        dump.display().to_string(),
        "--sums".into(),
        sums.display().to_string(),
        "--report".into(),
        report.display().to_string(),
    ];
    if let Some(c) = counts {
        a.extend(["--rowcounts".into(), c.display().to_string()]);
    }
    if let Some(c) = checks {
        a.extend(["--checks".into(), c.to_string()]);
    }
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let run = common::run(&a, &[], &common::repo(), Duration::from_secs(300));
    common::cleanup(run.pid);
    let json = std::fs::read_to_string(report.join("restore-test.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).expect("complete JSON report"));
    let (c, v) = common::labelled(run.pid);
    assert!(c.is_empty() && v.is_empty(), "left behind: {c:?} {v:?}");
    Outcome { run, json, report }
}

fn ctx(o: &Outcome) -> String {
    format!(
        "exit {:?}\n--- stderr\n{}--- stdout\n{}",
        o.run.code, o.run.stderr, o.run.stdout
    )
}

fn notes(o: &Outcome) -> Vec<String> {
    o.json.as_ref().expect("a report")["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

fn assert_passed_with_benign_note(o: &Outcome) {
    assert_eq!(o.run.code, Some(0), "{}", ctx(o));
    let j = o.json.as_ref().unwrap();
    assert_eq!(j["verdict"], "pass");
    assert!(
        notes(o)
            .iter()
            .any(|n| n.contains("known-benign") && n.contains("reporting_ro")),
        "no benign missing-role note: {:?}",
        notes(o)
    );
    assert_eq!(j["smoke"]["checks_source"], "counts");
    assert!(j["smoke"]["key_tables"].as_array().unwrap().is_empty());
    assert!(j["smoke"]["dot_pair_ok"].is_null());
}

/// Verdicts of the sums entries by listed name.
fn verdicts(o: &Outcome) -> Vec<(String, String)> {
    o.json.as_ref().unwrap()["checksums"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["listed_as"].as_str().unwrap().to_string(),
                f["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn toc_read_in_rust_matches_pg_restore_l() {
    let s = sets();
    let toc =
        harness::dumpinfo::read_toc(&s.spec.dump).unwrap_or_else(|e| panic!("{}", e.report()));
    // `pg_restore -l` lines: `id; tableoid oid DESC namespace tag owner`.
    let from_pg: Vec<String> = s
        .restore_list
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(' ').map(|(_, r)| format!("{r} ")))
        .collect();
    let ours: Vec<String> = toc.entries.iter().map(|e| e.desc.clone()).collect();
    // Every entry pg_restore -l prints is ours too (same desc, schema, name) ...
    let printed = |e: &harness::dumpinfo::TocEntry| {
        let ns = if e.namespace.is_empty() {
            "-"
        } else {
            &e.namespace
        };
        let key = format!(" {} {ns} {} ", e.desc, e.tag);
        from_pg.iter().any(|l| l.contains(&key))
    };
    let not_printed: Vec<&str> = toc
        .entries
        .iter()
        .filter(|e| !printed(e))
        .map(|e| e.desc.as_str())
        .collect();
    // ... and the only ones it does not print are the archive's session settings.
    assert!(
        not_printed.iter().all(|d| [
            "ENCODING",
            "STDSTRINGS",
            "SEARCHPATH",
            "DATABASE PROPERTIES",
            "DATABASE"
        ]
        .contains(d)),
        "entries read in Rust that pg_restore -l does not list: {not_printed:?}\n{}",
        s.restore_list
    );
    assert_eq!(
        toc.entries.len() - not_printed.len(),
        from_pg.len(),
        "{}",
        s.restore_list
    );
    for t in [
        "sales.orders",
        "sales.orders_2024",
        "sales.orders_2025",
        "sales.customer",
        "audit.event",
        "public.settings",
    ] {
        assert!(toc.tables().contains(t), "{t} not in {:?}", toc.tables());
        let (ns, tag) = t.split_once('.').unwrap();
        assert!(
            from_pg
                .iter()
                .any(|l| l.contains(&format!("TABLE {ns} {tag} "))),
            "pg_restore -l lacks {t}"
        );
    }
    // The unpopulated view has no data entry: only one MATERIALIZED VIEW DATA.
    assert_eq!(
        ours.iter()
            .filter(|x| *x == "MATERIALIZED VIEW DATA")
            .count(),
        1
    );
    assert!(!toc.has_relation("public.dot_tools"));
}

#[test]
fn spec_made_set_passes_counts_with_the_benign_note() {
    let s = &sets().spec;
    let sums = s.dir.join("SHA256SUMS");
    let text = std::fs::read_to_string(&sums).unwrap();
    assert!(
        text.lines().all(|l| l.contains("  /")),
        "absolute paths: {text}"
    );
    assert!(!std::fs::read_to_string(&s.counts).unwrap().starts_with('#'));
    let o = restore_test(&s.dump, &sums, Some(&s.counts), Some("counts"));
    assert_passed_with_benign_note(&o);
    let j = o.json.as_ref().unwrap();
    assert_eq!(j["smoke"]["count_kind"], "estimate");
    let console: Vec<&str> = o
        .run
        .stderr
        .lines()
        .filter(|l| l.contains("n_live_tup estimates"))
        .collect();
    assert_eq!(console.len(), 1, "one console line: {}", o.run.stderr);
    let n = notes(&o);
    for want in [
        "n_live_tup estimates",
        "sales.orders",
        "audit.event_summary",
    ] {
        assert!(
            n.iter().any(|x| x.contains(want)),
            "no note on {want}: {n:?}"
        );
    }
    let v = verdicts(&o);
    assert_eq!(v.len(), 4, "{v:?}");
    assert!(v.iter().all(|(_, x)| x == "verified"), "{v:?}");
    let md = std::fs::read_to_string(o.report.join("restore-test.md")).unwrap();
    assert!(
        md.contains("pg_dump.stderr") && md.contains("| verified |"),
        "{md}"
    );
}

#[test]
fn dryrun_backup_set_passes_counts_with_the_benign_note() {
    let d = &sets().backup_dir;
    let dump = only(d, ".dump");
    let psv = only(d, ".psv");
    assert!(std::fs::read_to_string(&psv)
        .unwrap()
        .starts_with("# exact\n"));
    let o = restore_test(&dump, &d.join("SHA256SUMS"), Some(&psv), Some("counts"));
    assert_passed_with_benign_note(&o);
    let j = o.json.as_ref().unwrap();
    assert_eq!(j["smoke"]["count_kind"], "exact");
    assert!(j["smoke"]["differences"].as_array().unwrap().is_empty());
    assert!(
        !o.run.stderr.contains("n_live_tup estimates"),
        "{}",
        o.run.stderr
    );
}

#[test]
fn hb08_default_refuses_the_dump_up_front() {
    let s = &sets().spec;
    let o = restore_test(&s.dump, &s.dir.join("SHA256SUMS"), Some(&s.counts), None);
    assert_eq!(o.run.code, Some(3), "{}", ctx(&o));
    assert!(
        o.run.stderr.contains("error[dump_lacks_tables]"),
        "{}",
        ctx(&o)
    );
    assert!(o.run.stderr.contains("public.dot_tools"), "{}", ctx(&o));
    assert!(
        o.run.stderr.contains("public.tac_logical_unit"),
        "{}",
        ctx(&o)
    );
    assert!(o.run.stderr.contains("--checks counts"), "{}", ctx(&o));
    assert!(!o.report.exists(), "no report for a refused input");
    assert_eq!(common::labelled(o.run.pid), (vec![], vec![]));
}

#[test]
fn tampered_listed_schema_file_is_refused() {
    let s = copy_spec("tampered");
    let mut t = std::fs::read(&s.schema).unwrap();
    t.extend_from_slice(b"-- edited\n");
    std::fs::write(&s.schema, t).unwrap();
    let o = restore_test(
        &s.dump,
        &s.dir.join("SHA256SUMS"),
        Some(&s.counts),
        Some("counts"),
    );
    assert_eq!(o.run.code, Some(3), "{}", ctx(&o));
    assert!(
        o.run.stderr.contains("error[checksum_mismatch]"),
        "{}",
        ctx(&o)
    );
    assert!(
        o.run.stderr.contains(&s.schema.display().to_string()),
        "{}",
        ctx(&o)
    );
    assert!(!o.report.exists());
}

#[test]
fn missing_listed_file_is_a_note_and_relative_forms_are_accepted() {
    let s = copy_spec("missing");
    std::fs::remove_file(&s.stderr).unwrap();
    // Rewrite the sums with `./name` and the binary marker `*`, as sha256sum -b writes them.
    let sums = s.dir.join("SHA256SUMS");
    let text: String = std::fs::read_to_string(&sums)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let (d, p) = l.split_once("  ").unwrap();
            let name = Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if i % 2 == 0 {
                format!("{d}  ./{name}\n")
            } else {
                format!("{d} *{name}\n")
            }
        })
        .collect();
    std::fs::write(&sums, &text).unwrap();
    let o = restore_test(&s.dump, &sums, Some(&s.counts), Some("counts"));
    assert_passed_with_benign_note(&o);
    assert!(
        notes(&o).iter().any(|n| n.contains("pg_dump.stderr")
            && n.contains("listed")
            && n.contains("absent")
            && n.contains("not verified")),
        "{:?}",
        notes(&o)
    );
    let v = verdicts(&o);
    assert!(
        v.iter()
            .any(|(n, x)| n.ends_with("pg_dump.stderr") && x == "absent"),
        "{v:?}"
    );
    assert_eq!(
        v.iter().filter(|(_, x)| x == "verified").count(),
        3,
        "{v:?}"
    );
}

#[test]
fn renamed_dump_passes_with_a_note_naming_both_names() {
    let s = copy_spec("renamed");
    let sums = s.dir.join("SHA256SUMS");
    let text: String = std::fs::read_to_string(&sums)
        .unwrap()
        .lines()
        .map(|l| {
            let (d, p) = l.split_once("  ").unwrap();
            let name = Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            format!("{d}  backup/{name}\n")
        })
        .collect();
    std::fs::write(&sums, &text).unwrap();
    let renamed = s.dir.join("prod-copy.dump");
    std::fs::rename(&s.dump, &renamed).unwrap();
    let o = restore_test(&renamed, &sums, Some(&s.counts), Some("counts"));
    assert_passed_with_benign_note(&o);
    let old = s.dump.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        notes(&o)
            .iter()
            .any(|n| n.contains("prod-copy.dump") && n.contains(&old)),
        "{:?}",
        notes(&o)
    );
    assert!(verdicts(&o).iter().any(|(_, x)| x == "verified_renamed"));
}

#[test]
fn second_backup_into_the_same_folder_is_refused_unless_forced() {
    let s = sets();
    assert_eq!(s.refused.code, Some(3), "{}", s.refused.stderr);
    assert!(
        s.refused.stderr.contains("error[backup_set_exists]"),
        "{}",
        s.refused.stderr
    );
    assert!(s.refused.stderr.contains("--force"), "{}", s.refused.stderr);
    let files: Vec<String> = std::fs::read_dir(&s.backup_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // dump, schema, row counts, content hashes, pg_dump log, SHA256SUMS: one set only.
    assert_eq!(files.len(), 6, "one set only: {files:?}");
    assert_eq!(s.forced.code, Some(0), "{}", s.forced.stderr);
    let sums = std::fs::read_to_string(s.forced_dir.join("SHA256SUMS")).unwrap();
    assert!(sums.contains(".dump") && !sums.contains("old"), "{sums}");
}

#[test]
fn run_fixtures_refuses_a_non_directus_set_up_front() {
    let d = &sets().backup_dir;
    let report = base().join("run-report");
    let r = common::run(
        &[
            "run",
            "--fixtures",
            &d.display().to_string(),
            "--report",
            &report.display().to_string(),
        ],
        &[],
        &common::repo(),
        Duration::from_secs(120),
    );
    common::cleanup(r.pid);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(
        r.stderr.contains("error[dump_lacks_tables]"),
        "{}",
        r.stderr
    );
    for t in harness::checks::SUITE_NEEDS {
        assert!(r.stderr.contains(t), "does not name {t}: {}", r.stderr);
    }
    assert!(r.stderr.contains("--checks counts"), "{}", r.stderr);
    assert!(!report.exists(), "no report for a refused run");
    assert_eq!(common::labelled(r.pid), (vec![], vec![]));
}

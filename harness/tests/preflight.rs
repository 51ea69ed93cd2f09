//! `dryrun preflight`, the execution-day gate, through the real binary: GO on a fresh set with
//! a passing restore report and this plan's closure; NO-GO for a stale backup, another plan's
//! digest, a bad checksum, a restore report of another dump and a non-UTC source without its
//! zone; the 60-minute boundary (59:59 / 60:01 via `--at`); the right age for non-UTC sources,
//! also for real dumps written by pg_dump running with `TZ=Asia/Tokyo`.
//!
//! Shared set-up, all through real code paths: the HB-05 closure comes from a real
//! `dryrun run --report` on the bundled fixture (about a minute); the fresh set is a copy of the
//! bundled backup set whose dump header carries "now" (its date fields patched, SHA256SUMS
//! rewritten), and its restore report comes from a real `dryrun restore-test --report`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use common::{repo, run, Finished};

const LONG: Duration = Duration::from_secs(600);

struct Setup {
    dir: PathBuf,
    /// `<dir>/closure/hb05-closure.json` of a real 26/26 run of the built-in plan.
    closure: PathBuf,
    /// The fresh set: its dump (`directus_full_<UTC stamp>.dump`) and the header's instant.
    fresh: PathBuf,
    created: DateTime<Utc>,
    /// `<dir>/restore/restore-test.json` of the fresh dump.
    restore: PathBuf,
}

fn dryrun(args: &[&str]) -> Finished {
    run(args, &[], &repo(), LONG)
}

/// Write the header's creation time fields (`struct tm`: sec, min, hour, mday, mon, year,
/// isdst, each a sign byte and `int_size` little-endian bytes) of a copy of `src`.
fn patch_header(src: &Path, dst: &Path, local: NaiveDateTime, isdst: bool) {
    let mut b = std::fs::read(src).expect("read dump");
    assert_eq!(&b[..5], b"PGDMP");
    let int_size = b[8] as usize;
    // Archive 1.15 and later: one compression byte; earlier: an int.
    let mut pos = if (b[5], b[6]) >= (1, 15) {
        12
    } else {
        11 + 1 + int_size
    };
    let fields = [
        local.second() as i64,
        local.minute() as i64,
        local.hour() as i64,
        local.day() as i64,
        local.month0() as i64,
        local.year() as i64 - 1900,
        isdst as i64,
    ];
    for v in fields {
        b[pos] = 0;
        for i in 0..int_size {
            b[pos + 1 + i] = ((v >> (8 * i)) & 0xff) as u8;
        }
        pos += 1 + int_size;
    }
    std::fs::write(dst, b).expect("write patched dump");
}

/// A copy of the bundled backup set in `dir` whose dump is `name` with the header time
/// `local` (the source's wall clock); SHA256SUMS rewritten for it.
fn backup_set(dir: &Path, name: &str, local: NaiveDateTime, isdst: bool) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let fx = repo().join("fixtures");
    let mut names = vec![name.to_string()];
    for f in [
        "directus_schema_fixture.sql",
        "directus_rowcounts_fixture.psv",
        "directus_pg_dump_fixture.log",
    ] {
        std::fs::copy(fx.join(f), dir.join(f)).expect("copy");
        names.push(f.to_string());
    }
    patch_header(
        &fx.join("directus_full_fixture.dump"),
        &dir.join(name),
        local,
        isdst,
    );
    harness::checksum::write_sums(dir, &names).expect("write SHA256SUMS");
    dir.join(name)
}

fn now_s() -> DateTime<Utc> {
    let n = Utc::now();
    n - chrono::Duration::nanoseconds(n.nanosecond() as i64)
}

/// The shared set-up, made once; a failure is kept and reported by every test (not retried:
/// each attempt is a full `dryrun run`).
fn setup() -> &'static Setup {
    static S: OnceLock<Result<Setup, String>> = OnceLock::new();
    match S.get_or_init(make_setup) {
        Ok(s) => s,
        Err(e) => panic!("the shared set-up failed: {e}"),
    }
}

fn make_setup() -> Result<Setup, String> {
    let dir = common::process_dir("preflight");
    let closure_dir = dir.join("closure");
    let r = dryrun(&["run", "-q", "--report", &closure_dir.display().to_string()]);
    if r.code != Some(0) {
        return Err(format!(
            "dryrun run exited {:?}: {}\n{}",
            r.code, r.stdout, r.stderr
        ));
    }
    let created = now_s();
    let stamp = created.format("%Y%m%dT%H%M%SZ");
    let fresh = backup_set(
        &dir.join("fresh"),
        &format!("directus_full_{stamp}.dump"),
        created.naive_utc(),
        false,
    );
    let restore_dir = dir.join("restore");
    let r = dryrun(&[
        "restore-test",
        "--dump",
        &fresh.display().to_string(),
        "--sums",
        &dir.join("fresh/SHA256SUMS").display().to_string(),
        "--report",
        &restore_dir.display().to_string(),
    ]);
    if r.code != Some(0) {
        return Err(format!(
            "dryrun restore-test exited {:?}: {}\n{}",
            r.code, r.stdout, r.stderr
        ));
    }
    Ok(Setup {
        closure: closure_dir.join("hb05-closure.json"),
        restore: restore_dir.join("restore-test.json"),
        dir,
        fresh,
        created,
    })
}

/// `dryrun preflight --dump D [extra…]` with the shared restore report and closure.
fn preflight(dump: &Path, extra: &[&str]) -> Finished {
    let s = setup();
    let (d, r, c) = (
        dump.display().to_string(),
        s.restore.display().to_string(),
        s.closure.display().to_string(),
    );
    let mut args = vec![
        "preflight",
        "--dump",
        &d,
        "--restore-report",
        &r,
        "--closure",
        &c,
    ];
    args.extend_from_slice(extra);
    dryrun(&args)
}

/// The criterion's line of the output: `PASS`/`FAIL`, name, `[kind]`, reason.
fn line<'a>(f: &'a Finished, criterion: &str) -> &'a str {
    f.stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(criterion))
        .unwrap_or_else(|| panic!("no line for {criterion} in:\n{}", f.stdout))
}

/// Exactly these criteria failed, each with its kind; the others passed.
fn assert_failed(f: &Finished, want: &[(&str, &str)]) {
    for c in ["backup_age", "checksums", "restore_test", "closure"] {
        let l = line(f, c);
        match want.iter().find(|(n, _)| *n == c) {
            Some((_, kind)) => assert!(
                l.trim_start().starts_with("FAIL") && l.contains(&format!("[{kind}]")),
                "{c} should fail with {kind}: {l}\n{}",
                f.stdout
            ),
            None => assert!(
                l.trim_start().starts_with("PASS"),
                "{c} should pass: {l}\n{}",
                f.stdout
            ),
        }
    }
    if want.is_empty() {
        assert_eq!(f.code, Some(0), "GO exits 0: {}{}", f.stdout, f.stderr);
        assert!(f.stdout.starts_with("GO: "), "{}", f.stdout);
    } else {
        assert_eq!(f.code, Some(1), "NO-GO exits 1: {}{}", f.stdout, f.stderr);
        assert!(f.stdout.starts_with("NO-GO: "), "{}", f.stdout);
    }
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[test]
fn go_on_a_fresh_set_with_its_restore_report_and_this_plans_closure() {
    let s = setup();
    let report = s.dir.join("go-report");
    let rep = report.display().to_string();
    // No --source-timezone: the SPEC §2 UTC stamp in the file name gives the zone.
    let f = preflight(&s.fresh, &["--report", &rep]);
    assert_failed(&f, &[]);
    assert!(
        line(&f, "backup_age").contains("file name stamp"),
        "{}",
        f.stdout
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("preflight.json")).unwrap())
            .unwrap();
    assert_eq!(json["verdict"], "GO");
    assert_eq!(json["criteria"].as_array().map(Vec::len), Some(4));
    assert_eq!(json["created_utc"], at(s.created).replace("+00:00", "Z"));
    let md = std::fs::read_to_string(report.join("preflight.md")).unwrap();
    assert!(md.contains("**GO**"), "{md}");
    // A second run never replaces the report silently.
    let again = preflight(&s.fresh, &["--report", &rep]);
    assert_eq!(again.code, Some(3), "{}{}", again.stdout, again.stderr);
    assert!(
        again.stderr.contains("error[report_exists]"),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("preflight.json"), "{}", again.stderr);
    let forced = preflight(&s.fresh, &["--report", &rep, "--force"]);
    assert_failed(&forced, &[]);
}

#[test]
fn the_sixty_minute_boundary_59_59_go_60_01_no_go() {
    let s = setup();
    let go = at(s.created + chrono::Duration::seconds(59 * 60 + 59));
    let f = preflight(&s.fresh, &["--at", &go]);
    assert_failed(&f, &[]);
    assert!(
        line(&f, "backup_age").contains("59 min 59 s"),
        "{}",
        f.stdout
    );
    let stop = at(s.created + chrono::Duration::seconds(60 * 60 + 1));
    let f = preflight(&s.fresh, &["--at", &stop]);
    assert_failed(&f, &[("backup_age", "backup_too_old")]);
    assert!(
        line(&f, "backup_age").contains("1 h 0 min 1 s"),
        "{}",
        f.stdout
    );
}

#[test]
fn a_stale_backup_is_no_go_and_every_other_reason_is_given() {
    let s = setup();
    // The bundled fixture itself: made by the harness (UTC) long before this test.
    let f = preflight(
        &repo().join("fixtures/directus_full_fixture.dump"),
        &["--source-timezone", "UTC"],
    );
    assert_failed(
        &f,
        &[
            ("backup_age", "backup_too_old"),
            ("restore_test", "restore_test_other_dump"),
        ],
    );
    // Two hours later than now, on the fresh set: too old, the rest still passes.
    let later = at(Utc::now() + chrono::Duration::hours(2));
    let f = preflight(&s.fresh, &["--at", &later]);
    assert_failed(&f, &[("backup_age", "backup_too_old")]);
}

#[test]
fn a_closure_of_another_plan_is_no_go_naming_both_digests() {
    let s = setup();
    let other = repo().join("harness/tests/plans/more-steps");
    let digest = harness::migrate::Plan::load(&other).unwrap().digest();
    let ours = harness::migrate::Plan::embedded().unwrap().digest();
    let f = preflight(&s.fresh, &["--plan", &other.display().to_string()]);
    assert_failed(&f, &[("closure", "closure_other_plan")]);
    let l = line(&f, "closure");
    assert!(l.contains(&digest) && l.contains(&ours), "{l}");
}

#[test]
fn a_bad_checksum_is_no_go_naming_the_file() {
    let s = setup();
    let dir = s.dir.join("bad-sum");
    common::copy_tree(&s.dir.join("fresh"), &dir);
    let schema = dir.join("directus_schema_fixture.sql");
    let mut b = std::fs::read(&schema).unwrap();
    b[10] ^= 0xff;
    std::fs::write(&schema, b).unwrap();
    let dump = dir.join(s.fresh.file_name().unwrap());
    let f = preflight(&dump, &[]);
    assert_failed(&f, &[("checksums", "checksum_mismatch")]);
    assert!(
        line(&f, "checksums").contains("directus_schema_fixture.sql"),
        "{}",
        f.stdout
    );
}

#[test]
fn a_restore_report_of_another_dump_is_no_go() {
    let s = setup();
    // Another fresh dump (a minute older header, its own stamp): the report is not of it.
    let other_t = s.created - chrono::Duration::minutes(1);
    let other = backup_set(
        &s.dir.join("other"),
        &format!("directus_full_{}.dump", other_t.format("%Y%m%dT%H%M%SZ")),
        other_t.naive_utc(),
        false,
    );
    let f = preflight(&other, &[]);
    assert_failed(&f, &[("restore_test", "restore_test_other_dump")]);
    let sha = harness::checksum::sha256_file(&other).unwrap();
    assert!(line(&f, "restore_test").contains(&sha), "{}", f.stdout);
}

/// The header a pg_dump running in `tz` writes now, in a set named without a UTC stamp.
fn zoned_set(name: &str, tz: chrono_tz::Tz) -> PathBuf {
    let s = setup();
    let local = now_s().with_timezone(&tz);
    use chrono_tz::OffsetComponents;
    let dst = local.offset().dst_offset() != chrono::Duration::zero();
    backup_set(
        &s.dir.join(name),
        &format!("directus_full_{name}.dump"),
        local.naive_local(),
        dst,
    )
}

#[test]
fn a_non_utc_header_needs_its_zone_and_gets_the_right_age_with_it() {
    for (name, tz, as_utc) in [
        ("tokyo", chrono_tz::Asia::Tokyo, "backup_in_future"),
        ("new-york", chrono_tz::America::New_York, "backup_too_old"),
    ] {
        let dump = zoned_set(name, tz);
        // No source of the zone: the age is unknown, never read as UTC.
        let f = preflight(&dump, &[]);
        assert_eq!(f.code, Some(1), "{}", f.stdout);
        let l = line(&f, "backup_age");
        assert!(
            l.contains("[backup_age_unknown]") && l.contains("--source-timezone"),
            "{name}: {l}"
        );
        // With it: a fresh backup (the other criteria fail only on the restore report's dump).
        let f = preflight(&dump, &["--source-timezone", &tz.to_string()]);
        assert_failed(&f, &[("restore_test", "restore_test_other_dump")]);
        assert!(
            line(&f, "backup_age").contains(" 0 min "),
            "{name}: {}",
            f.stdout
        );
        // Read as UTC it would be hours off: refused either way.
        let f = preflight(&dump, &["--source-timezone", "UTC"]);
        assert!(
            line(&f, "backup_age").contains(&format!("[{as_utc}]")),
            "{name}: {}",
            f.stdout
        );
    }
}

#[test]
fn bad_input_exits_3_naming_the_file() {
    let s = setup();
    let past = at(Utc::now() - chrono::Duration::hours(1));
    let f = preflight(&s.fresh, &["--at", &past]);
    assert_eq!(f.code, Some(3), "{}", f.stderr);
    assert!(f.stderr.contains("error[at_in_past]"), "{}", f.stderr);
    let missing = s.dir.join("nowhere/hb05-closure.json");
    let f = dryrun(&[
        "preflight",
        "--dump",
        &s.fresh.display().to_string(),
        "--closure",
        &missing.display().to_string(),
    ]);
    assert_eq!(f.code, Some(3), "{}", f.stderr);
    assert!(
        f.stderr.contains("error[file_not_found]")
            && f.stderr.contains(&missing.display().to_string()),
        "{}",
        f.stderr
    );
    let bad = s.dir.join("not-a-report.json");
    std::fs::write(&bad, "{\"verdict\": 1}").unwrap();
    let f = dryrun(&[
        "preflight",
        "--dump",
        &s.fresh.display().to_string(),
        "--restore-report",
        &bad.display().to_string(),
    ]);
    assert_eq!(f.code, Some(3), "{}", f.stderr);
    assert!(
        f.stderr.contains("error[report_malformed]") && f.stderr.contains("not-a-report.json"),
        "{}",
        f.stderr
    );
    let f = dryrun(&[
        "preflight",
        "--dump",
        &s.fresh.display().to_string(),
        "--source-timezone",
        "Mars/Olympus",
    ]);
    assert_eq!(f.code, Some(3), "{}", f.stderr);
    assert!(f.stderr.contains("error[timezone_unknown]"), "{}", f.stderr);
}

/// A source container whose processes run with `TZ=Asia/Tokyo` (removed on drop).
struct TokyoSource {
    rt: tokio::runtime::Runtime,
    pg: Option<harness::container::PgContainer>,
}

impl Drop for TokyoSource {
    fn drop(&mut self) {
        if let Some(pg) = self.pg.take() {
            let _ = self.rt.block_on(pg.remove());
        }
    }
}

fn docker_exec(name: &str, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("docker")
        .arg("exec")
        .arg(name)
        .args(args)
        .output()
        .expect("docker exec");
    assert!(
        out.status.success(),
        "docker exec {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn real_dumps_written_in_tokyo_time() {
    let s = setup();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pg = rt.block_on(async {
        let docker = harness::docker::connect()
            .await
            .unwrap_or_else(|e| panic!("{}", e.report()));
        let image = harness::image::resolve(&docker, std::env::var("PG_IMAGE").ok().as_deref())
            .await
            .unwrap_or_else(|e| panic!("{}", e.report()));
        let mut spec = harness::container::PgSpec::new(&image.reference, "test-source");
        spec.publish = false;
        spec.env.push("TZ=Asia/Tokyo".into());
        harness::container::PgContainer::start(&docker, &harness::docker::RunIdentity::new(), &spec)
            .await
            .unwrap_or_else(|e| panic!("{}", e.report()))
    });
    let name = pg.name.clone();
    let src = TokyoSource { rt, pg: Some(pg) };
    let (user, db) = (harness::container::DB_USER, harness::container::DB_NAME);
    docker_exec(
        &name,
        &[
            "psql",
            "-U",
            user,
            "-d",
            db,
            "-c",
            "CREATE TABLE t (id int); INSERT INTO t VALUES (1)",
        ],
    );
    let clock = String::from_utf8(docker_exec(&name, &["date", "+%z"])).unwrap();
    assert_eq!(
        clock.trim(),
        "+0900",
        "the source's processes run in Tokyo time"
    );

    // SPEC §2 by hand, named without a stamp: pg_dump's header is Tokyo's wall clock.
    let dir = s.dir.join("tokyo-by-hand");
    std::fs::create_dir_all(&dir).unwrap();
    let dump = dir.join("ops_full_tokyo.dump");
    std::fs::write(
        &dump,
        docker_exec(
            &name,
            &["pg_dump", "-U", user, "-d", db, "-F", "c", "-Z", "6"],
        ),
    )
    .unwrap();
    harness::checksum::write_sums(&dir, &["ops_full_tokyo.dump".to_string()]).unwrap();
    let d = dump.display().to_string();
    let f = dryrun(&["preflight", "--dump", &d]);
    assert!(
        line(&f, "backup_age").contains("[backup_age_unknown]"),
        "{}",
        f.stdout
    );
    let f = dryrun(&["preflight", "--dump", &d, "--source-timezone", "Asia/Tokyo"]);
    assert!(
        line(&f, "backup_age").starts_with("  PASS") && line(&f, "backup_age").contains(" 0 min "),
        "{}",
        f.stdout
    );
    let f = dryrun(&["preflight", "--dump", &d, "--source-timezone", "UTC"]);
    assert!(
        line(&f, "backup_age").contains("[backup_in_future]"),
        "{}",
        f.stdout
    );

    // `dryrun backup` records the source's clock; with its UTC file-name stamp, two sources.
    let out = s.dir.join("tokyo-backup");
    let r = dryrun(&[
        "backup",
        "--source-container",
        &name,
        "--db",
        db,
        "--user",
        user,
        "--out",
        &out.display().to_string(),
        "--no-content-hashes",
    ]);
    assert_eq!(r.code, Some(0), "dryrun backup: {}", r.stderr);
    let dump = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "dump"))
        .unwrap();
    let log = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("# source clock before: ") && log_text.contains("+0900"),
        "{log_text}"
    );
    let d = dump.display().to_string();
    let rep = s.dir.join("tokyo-report");
    let f = dryrun(&[
        "preflight",
        "--dump",
        &d,
        "--report",
        &rep.display().to_string(),
    ]);
    let l = line(&f, "backup_age");
    assert!(
        l.starts_with("  PASS") && l.contains("record") && l.contains("file name stamp"),
        "{}",
        f.stdout
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep.join("preflight.json")).unwrap())
            .unwrap();
    let offsets: Vec<&str> = json["zone_findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|z| z["offset"].as_str())
        .collect();
    assert_eq!(offsets, ["+09:00", "+09:00"], "{json}");
    let f = dryrun(&["preflight", "--dump", &d, "--source-timezone", "UTC"]);
    let l = line(&f, "backup_age");
    assert!(
        l.contains("[source_timezone_disagrees]")
            && l.contains("--source-timezone UTC")
            && l.contains("record"),
        "{l}"
    );
    drop(src);
}

#[test]
fn run_restore_test_tests_this_dump_in_a_fresh_container() {
    let s = setup();
    let report = s.dir.join("run-restore");
    let (d, c, r) = (
        s.fresh.display().to_string(),
        s.closure.display().to_string(),
        report.display().to_string(),
    );
    let f = dryrun(&[
        "preflight",
        "--dump",
        &d,
        "--run-restore-test",
        "--closure",
        &c,
        "--report",
        &r,
    ]);
    assert_failed(&f, &[]);
    assert!(
        line(&f, "restore_test").contains("--run-restore-test"),
        "{}",
        f.stdout
    );
    let rt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("restore-test.json")).unwrap())
            .unwrap();
    assert_eq!(rt["verdict"], "pass");
    // A set whose schema file no longer matches: the restore test refuses it, and both that
    // and the checksums are reported (no container is started for a refused set).
    let dir = s.dir.join("run-restore-bad");
    common::copy_tree(&s.dir.join("fresh"), &dir);
    let schema = dir.join("directus_schema_fixture.sql");
    let mut b = std::fs::read(&schema).unwrap();
    b[10] ^= 0xff;
    std::fs::write(&schema, b).unwrap();
    let dump = dir.join(s.fresh.file_name().unwrap()).display().to_string();
    let f = dryrun(&[
        "preflight",
        "--dump",
        &dump,
        "--run-restore-test",
        "--closure",
        &c,
    ]);
    assert_failed(
        &f,
        &[
            ("checksums", "checksum_mismatch"),
            ("restore_test", "restore_test_failed"),
        ],
    );
    assert!(
        line(&f, "restore_test").contains("checksum_mismatch"),
        "{}",
        f.stdout
    );
}

#[test]
fn help_has_an_example_and_every_option_is_explained() {
    let f = dryrun(&["preflight", "--help"]);
    assert_eq!(f.code, Some(0), "{}", f.stderr);
    assert!(f.stdout.contains("Example"), "{}", f.stdout);
    for opt in [
        "--dump",
        "--sums",
        "--plan",
        "--closure",
        "--restore-report",
        "--run-restore-test",
        "--checks",
        "--source-timezone",
        "--max-age-minutes",
        "--at",
        "--report",
        "--force",
    ] {
        assert!(f.stdout.contains(opt), "{opt} missing:\n{}", f.stdout);
    }
}

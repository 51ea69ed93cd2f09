//! The `dryrun preflight` command: its options, the inputs read (a missing or unreadable one is
//! bad input, exit 3), the evaluation, the console lines and the report folder; exit 0 GO, 1 NO-GO.

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};

use super::age::{self, ZoneSources};
use super::{criteria, Verdict};
use crate::error::{exit, Error, ErrorKind, Result};

/// `dryrun preflight`: GO or NO-GO for the migration, with every reason.
#[derive(clap::Args, Debug)]
pub struct PreflightArgs {
    /// The fresh custom-format dump taken right before the migration.
    #[arg(long)]
    pub dump: PathBuf,
    /// SHA256SUMS of the backup set (default: SHA256SUMS beside the dump).
    #[arg(long)]
    pub sums: Option<PathBuf>,
    /// The P0 plan to be run (a folder like migrations/p0 or a Sqitch project; default
    /// P0_PLAN_DIR, else the built-in migrations/p0): the closure must be bound to its digest.
    #[arg(long, value_name = "DIR")]
    pub plan: Option<PathBuf>,
    /// The HB-05 closure report of this plan (`hb05-closure.json` or its report folder).
    #[arg(long, value_name = "FILE|DIR")]
    pub closure: Option<PathBuf>,
    /// The report of `dryrun restore-test --report DIR` on this dump (`restore-test.json` or DIR).
    #[arg(long, value_name = "FILE|DIR", conflicts_with = "run_restore_test")]
    pub restore_report: Option<PathBuf>,
    /// Run the restore test of this dump now, in a fresh container (its report goes beside
    /// the preflight report).
    #[arg(long)]
    pub run_restore_test: bool,
    /// Row-count snapshot for --run-restore-test (default: none).
    #[arg(long)]
    pub rowcounts: Option<PathBuf>,
    /// Smoke checks for --run-restore-test: a checks YAML file, or `counts` for the generic
    /// checks only. Default: the bundled checks/hb08.yaml.
    #[arg(long, value_name = "FILE|counts", value_parser = crate::checks::ChecksChoice::parse_arg)]
    pub checks: Option<crate::checks::ChecksChoice>,
    /// PostgreSQL 16 image for --run-restore-test.
    #[arg(long, env = "PG_IMAGE")]
    pub image: Option<String>,
    /// The time zone pg_dump ran in on the source (IANA name: UTC, Europe/Berlin, …): the dump
    /// header's creation time is that zone's local time. Else what `dryrun backup` recorded, or
    /// a SPEC §2 UTC stamp in the dump's file name; with none of them the age is unknown (NO-GO).
    #[arg(long, value_name = "IANA")]
    pub source_timezone: Option<String>,
    /// The allowed age of the backup at the migration start.
    #[arg(long, default_value_t = super::DEFAULT_MAX_AGE_MINUTES)]
    pub max_age_minutes: i64,
    /// The planned migration start (RFC 3339, e.g. 2026-12-04T18:00:00+01:00); never earlier
    /// than now, so it can only make the check stricter. Default: now.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// Folder for preflight.md and preflight.json (refused if it holds a preflight report,
    /// unless --force).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Replace a preflight report already in --report.
    #[arg(long)]
    pub force: bool,
}

fn bad(kind: ErrorKind, msg: String, hint: &str) -> Error {
    Error::new(kind, msg).with_hint(hint)
}

/// Run the command; returns the exit code (0 GO, 1 NO-GO) or the error (bad input: 3).
pub async fn command(a: PreflightArgs, run: &crate::docker::RunIdentity) -> Result<u8> {
    let now = Utc::now();
    let at = match &a.at {
        None => now,
        Some(s) => {
            let t = DateTime::parse_from_rfc3339(s)
                .map_err(|e| {
                    bad(
                        ErrorKind::AtMalformed,
                        format!("--at {s:?} is not an RFC 3339 time ({e})."),
                        "Write it like 2026-12-04T18:00:00+01:00 or 2026-12-04T17:00:00Z.",
                    )
                })?
                .with_timezone(&Utc);
            if t < now - Duration::seconds(1) {
                return Err(bad(ErrorKind::AtInPast, format!("--at {s} is before now ({}); a planned start can only be later than now.", now.format("%Y-%m-%dT%H:%M:%SZ")), "Leave --at out to check at the current time, or give the planned (later) start."));
            }
            t
        }
    };
    if a.max_age_minutes <= 0 {
        return Err(bad(
            ErrorKind::MaxAgeInvalid,
            format!("--max-age-minutes {} must be positive.", a.max_age_minutes),
            "The default is 60.",
        ));
    }
    if let Some(r) = &a.report {
        super::check_report_dir(r, a.force)?;
    }
    let zone = match &a.source_timezone {
        None => None,
        Some(n) => Some(age::parse_zone(n).map_err(|e| {
            bad(ErrorKind::TimezoneUnknown,
                format!("--source-timezone: {e}."),
                "Use the TZ the source container runs with (`docker exec postgres date +%Z`; the official image's default is UTC).",
            )
        })?),
    };
    let sums = a.sums.clone().unwrap_or_else(|| {
        a.dump
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."))
            .join("SHA256SUMS")
    });
    // Missing or unreadable inputs stop here with exit 3, before anything is judged.
    let info = crate::dumpinfo::inspect(&a.dump)?;
    let dump_sha256 = crate::checksum::sha256_file(&a.dump)?;
    std::fs::metadata(&sums).map_err(|e| Error::io(&sums, "read the sums file", e))?;
    let plan_dir = a
        .plan
        .clone()
        .or_else(|| std::env::var_os("P0_PLAN_DIR").map(PathBuf::from));
    let plan = match &plan_dir {
        None => crate::migrate::Plan::embedded()?,
        Some(d) => crate::migrate::Plan::load(d)?,
    };
    let closure = match &a.closure {
        Some(p) => Some(criteria::read_closure(p)?),
        None => None,
    };
    let mut restore = match &a.restore_report {
        Some(p) => Some(criteria::RestoreEvidence::read(p)?),
        None => None,
    };
    let zones = ZoneSources {
        explicit: zone,
        record: age::record_in_set(&sums),
        file_name: a.dump.file_name().map(|n| n.to_string_lossy().into_owned()),
    };
    if a.run_restore_test {
        restore = Some(run_restore_test(&a, &sums, run).await?);
    }
    let r = super::evaluate(&super::Inputs {
        dump: &a.dump,
        sums: &sums,
        dump_sha256: &dump_sha256,
        info: &info,
        zones: &zones,
        at,
        max_age: Duration::minutes(a.max_age_minutes),
        restore: restore.as_ref(),
        closure: closure.as_ref().map(|(p, c)| (p.as_path(), c)),
        plan_digest: &plan.digest(),
    })?;
    if let Some(dir) = &a.report {
        super::write_report(dir, &r)?;
    }
    print!("{}", r.lines());
    Ok(match r.verdict {
        Verdict::Go => exit::OK,
        Verdict::NoGo => exit::CHECK_FAILED,
    })
}

/// `--run-restore-test`: the HB-08 restore test of this dump in a fresh container; its report
/// is written beside the preflight report.
async fn run_restore_test(
    a: &PreflightArgs,
    sums: &std::path::Path,
    run: &crate::docker::RunIdentity,
) -> Result<criteria::RestoreEvidence> {
    let opts = crate::restore::RestoreTestOptions {
        dump: a.dump.clone(),
        sums: sums.to_path_buf(),
        rowcounts: a.rowcounts.clone(),
        content: None,
        image: a.image.clone(),
        keep: false,
        keep_as: None,
        jobs: 2,
        durable: false,
        role: "preflight".into(),
        checks: a
            .checks
            .clone()
            .unwrap_or(crate::checks::ChecksChoice::Bundled),
    };
    let docker = crate::docker::connect().await?;
    // Leftovers of dead runs go first, as `restore-test` does.
    let _ = crate::docker::sweep(&docker, None, false).await;
    let r = match crate::restore::restore_test(&docker, run, &opts).await {
        Ok(r) => r,
        // Refused inputs (a checksum, the header, the checks) are this criterion's failure;
        // the other criteria are still evaluated and reported.
        Err(e) if e.category() == crate::error::Category::BadInput => {
            return Ok(criteria::RestoreEvidence {
                source: "--run-restore-test".into(),
                dump_sha256: crate::checksum::sha256_file(&a.dump)?,
                verdict: crate::restore::Verdict::Refused,
                stopped_at: Some(e.kind.to_string()),
                reason: Some(e.message),
                test_hooks: crate::fault::active_hooks(),
            })
        }
        Err(e) => return Err(e),
    };
    let source = match &a.report {
        Some(dir) => {
            let p = dir.join("restore-test.json");
            crate::report::write_json(&p, &r)?;
            crate::report::write_text(
                &dir.join("restore-test.md"),
                &crate::report::restore_markdown(&r),
            )?;
            format!("--run-restore-test ({})", p.display())
        }
        None => "--run-restore-test".to_string(),
    };
    criteria::RestoreEvidence::of_report(&r, &source).ok_or_else(|| {
        Error::new(
            ErrorKind::RestoreReportWithoutDump,
            "the restore test's report lists no dump",
        )
    })
}

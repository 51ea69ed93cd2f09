//! `dryrun preflight`, the go/no-go gate of execution day (CTE-01): the fresh backup's age, its
//! checksums, a passed restore test of this dump and the HB-05 closure of this plan, all reported.

pub mod cli;
pub mod criteria;

use crate::error::ErrorKind;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

pub use age::DEFAULT_MAX_AGE_MINUTES;
/// The backup's age (`backup_set::age`: pure, in the backup-set crate).
pub use backup_set::age;
pub use criteria::{Criterion, RestoreEvidence};

use crate::error::Result;
use crate::hb05::model::ClosureReport;

/// What one evaluation is given: the backup set, where the zone is known from, the start, the
/// limit, the restore test's evidence, the closure and the plan's digest.
pub struct Inputs<'a> {
    pub dump: &'a Path,
    pub sums: &'a Path,
    pub dump_sha256: &'a str,
    pub info: &'a crate::dumpinfo::DumpInfo,
    pub zones: &'a age::ZoneSources,
    /// The migration start (never earlier than now; the CLI refuses that).
    pub at: DateTime<Utc>,
    pub max_age: Duration,
    pub restore: Option<&'a RestoreEvidence>,
    pub closure: Option<(&'a Path, &'a ClosureReport)>,
    pub plan_digest: &'a str,
}

/// The gate's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::Display)]
pub enum Verdict {
    #[serde(rename = "GO")]
    #[strum(serialize = "GO")]
    Go,
    #[serde(rename = "NO-GO")]
    #[strum(serialize = "NO-GO")]
    NoGo,
}

/// `preflight.json`: the verdict, every criterion and what they were evaluated against.
#[derive(Debug, Clone, Serialize)]
pub struct PreflightReport {
    pub verdict: Verdict,
    pub criteria: Vec<Criterion>,
    /// The migration start the age is measured to (UTC).
    pub at_utc: String,
    /// When the gate ran (UTC).
    pub evaluated_utc: String,
    pub max_age_minutes: i64,
    pub dump: String,
    pub dump_sha256: String,
    pub sums: String,
    /// The header's creation time as written (the source's wall clock) and the instant it is.
    pub created_local: Option<String>,
    pub created_utc: Option<String>,
    /// What each source of the source's time zone said.
    pub zone_findings: Vec<age::ZoneFinding>,
    pub plan_digest: String,
    pub restore: Option<RestoreEvidence>,
    pub closure: Option<String>,
    pub harness: String,
}

/// The age criterion alone (the scenarios' S03 uses it too): the creation instant from the
/// zone sources, then the decision at `at`.
pub fn age_criterion(
    info: &crate::dumpinfo::DumpInfo,
    zones: &age::ZoneSources,
    at: impl FnOnce(DateTime<Utc>) -> DateTime<Utc>,
    max_age: Duration,
) -> (Criterion, Option<DateTime<Utc>>, Vec<age::ZoneFinding>) {
    const NAME: &str = "backup_age";
    match age::resolve(info.created, info.created_dst, zones) {
        Err(p) => (Criterion::fail(NAME, p.kind, p.reason), None, Vec::new()),
        Ok((created, findings)) => {
            let start = at(created);
            let used: Vec<&str> = findings
                .iter()
                .filter(|f| f.created_utc.is_some())
                .map(|f| f.source.as_str())
                .collect();
            let c = match age::decide(created, start, max_age) {
                Ok(a) => Criterion::pass(
                    NAME,
                    format!(
                        "created {} (header {} in the source's zone, from {}), {} before the start {}; limit {} min",
                        created.format("%Y-%m-%dT%H:%M:%SZ"),
                        info.created.map(|c| c.to_string()).unwrap_or_default(),
                        used.join(" and "),
                        age::human(a),
                        start.format("%Y-%m-%dT%H:%M:%SZ"),
                        max_age.num_minutes()
                    ),
                ),
                Err(p) => Criterion::fail(NAME, p.kind, p.reason),
            };
            (c, Some(created), findings)
        }
    }
}

/// Evaluate every criterion (each one even when an earlier one failed).
pub fn evaluate(i: &Inputs<'_>) -> Result<PreflightReport> {
    let at = i.at;
    let (age, created, findings) = age_criterion(i.info, i.zones, |_| at, i.max_age);
    let sums = criteria::checksums(i.dump, i.sums)?;
    let restore = criteria::restore_test(i.restore, i.dump_sha256);
    let closure = criteria::closure(i.closure, i.plan_digest);
    let criteria = vec![age, sums, restore, closure];
    let verdict = if criteria.iter().all(|c| c.pass) {
        Verdict::Go
    } else {
        Verdict::NoGo
    };
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    Ok(PreflightReport {
        verdict,
        criteria,
        at_utc: fmt(at),
        evaluated_utc: fmt(Utc::now()),
        max_age_minutes: i.max_age.num_minutes(),
        dump: i.dump.display().to_string(),
        dump_sha256: i.dump_sha256.to_string(),
        sums: i.sums.display().to_string(),
        created_local: i.info.created.map(|c| c.to_string()),
        created_utc: created.map(fmt),
        zone_findings: findings,
        plan_digest: i.plan_digest.to_string(),
        restore: i.restore.cloned(),
        closure: i.closure.map(|(p, _)| p.display().to_string()),
        harness: crate::bundle::harness_version(),
    })
}

impl PreflightReport {
    /// The console's lines: one GO / NO-GO line, then one per criterion.
    pub fn lines(&self) -> String {
        let failed: Vec<&str> = self
            .criteria
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.name)
            .collect();
        let mut s = match self.verdict {
            Verdict::Go => format!(
                "GO: all {} criteria passed for {} at {}\n",
                self.criteria.len(),
                self.dump,
                self.at_utc
            ),
            Verdict::NoGo => format!(
                "NO-GO: {} of {} criteria failed ({}) for {} at {}\n",
                failed.len(),
                self.criteria.len(),
                failed.join(", "),
                self.dump,
                self.at_utc
            ),
        };
        for c in &self.criteria {
            s.push_str(&format!(
                "  {} {:<12} {}{}\n",
                if c.pass { "PASS" } else { "FAIL" },
                c.name,
                c.kind.map(|k| format!("[{k}] ")).unwrap_or_default(),
                c.reason
            ));
        }
        s
    }

    /// `preflight.md`.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "# Execution-day preflight (CTE-01)\n\n**{}**\n\n- dump `{}` (SHA-256 `{}`)\n- sums `{}`\n- migration start {} (evaluated {}), age limit {} min\n- header creation time {} (source's local time) = {}\n- plan digest `{}`\n- {}\n\n| criterion | result | kind | reason |\n|---|---|---|---|\n",
            self.verdict,
            self.dump,
            self.dump_sha256,
            self.sums,
            self.at_utc,
            self.evaluated_utc,
            self.max_age_minutes,
            self.created_local.as_deref().unwrap_or("?"),
            self.created_utc.as_deref().unwrap_or("unknown"),
            self.plan_digest,
            self.harness
        );
        for c in &self.criteria {
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                c.name,
                if c.pass { "PASS" } else { "FAIL" },
                c.kind.unwrap_or("-"),
                c.reason.replace('|', "\\|")
            ));
        }
        if !self.zone_findings.is_empty() {
            s.push_str("\n## Source time zone\n\n");
            for f in &self.zone_findings {
                s.push_str(&format!(
                    "- {}: {}{}\n",
                    f.source,
                    f.created_utc.map_or("no instant".into(), |t| format!(
                        "{} (UTC{})",
                        t.format("%Y-%m-%dT%H:%M:%SZ"),
                        f.offset.as_deref().unwrap_or("")
                    )),
                    f.note
                        .as_ref()
                        .map(|n| format!(" — {n}"))
                        .unwrap_or_default()
                ));
            }
        }
        s
    }
}

/// Refuse a report folder that already holds a preflight report unless `force` (a GO must
/// never be replaced silently by a later run, or a NO-GO by a GO).
pub fn check_report_dir(dir: &Path, force: bool) -> Result<()> {
    let existing: Vec<PathBuf> = ["preflight.json", "preflight.md"]
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.exists())
        .collect();
    if force || existing.is_empty() {
        return Ok(());
    }
    Err(crate::error::Error::new(
        ErrorKind::ReportExists,
        format!(
            "{} already holds a preflight report ({}); nothing was evaluated or written.",
            dir.display(),
            existing
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .with_hint("Pass a new --report folder (keep the earlier report for the record), or add --force to replace it."))
}

/// Write `preflight.json` and `preflight.md` (each atomically).
pub fn write_report(dir: &Path, r: &PreflightReport) -> Result<()> {
    crate::report::write_json(&dir.join("preflight.json"), r)?;
    crate::report::write_text(&dir.join("preflight.md"), &r.markdown())?;
    Ok(())
}

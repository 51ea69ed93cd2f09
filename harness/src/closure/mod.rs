//! `dryrun run`: the HB-05 closure — runs S01..S26, keeps every attempt, and writes the
//! closure report (Markdown, JSON, JUnit XML) listing every artefact with its SHA-256.

pub mod model;
pub mod render;

use crate::error::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures_util::StreamExt;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::scenario::outcome::Extra;
use crate::scenario::run::{run_checked, SnapshotCheck};
use crate::scenario::suite::{self, DumpSet, Suite, SuiteOptions};
use crate::scenario::{parser, snapshot};

pub use model::*;
use render::{junit, short};
pub use render::{markdown, summary_markdown};

/// Why the discovered scenario files are not exactly the committed S01..S26 of this binary
/// (each file by SHA-256 against [`crate::bundle::committed_suite`], and their snapshots).
pub fn selection_differs(files: &[parser::ScenarioFile], snapshots: &Path) -> Vec<String> {
    let committed = crate::bundle::committed_suite();
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in files {
        let name = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let key = format!("scenarios/{name}");
        seen.insert(key.clone());
        match committed.iter().find(|(p, _)| *p == key) {
            None => out.push(format!("{key} is not a committed scenario")),
            Some((_, d)) if *d != f.sha256 => {
                out.push(format!("{key} differs from the committed one"))
            }
            Some(_) => {}
        }
        let snap = snapshot::snapshot_path(snapshots, f);
        let skey = format!(
            "snapshots/{}",
            snap.file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default()
        );
        let on_disk = crate::checksum::sha256_file(&snap).ok();
        match committed.iter().find(|(p, _)| *p == skey) {
            Some((_, d)) if Some(d) == on_disk.as_ref() => {}
            Some(_) => out.push(format!("{skey} differs from the committed one")),
            None => out.push(format!("{skey} is not a committed snapshot")),
        }
    }
    for (p, _) in committed
        .iter()
        .filter(|(p, _)| p.starts_with("scenarios/"))
    {
        if !seen.contains(p) {
            out.push(format!("{p} was not run"));
        }
    }
    out
}

pub struct RunOptions {
    pub repo: PathBuf,
    pub report: PathBuf,
    pub retry_approved_by: Option<String>,
    pub image: Option<String>,
    /// Scenarios run at the same time.
    pub jobs: usize,
    /// Backup set to run on (default: the bundled fixture in `fixtures/`).
    pub fixtures: Option<PathBuf>,
    /// Identity of this run (labels of every container and volume it creates).
    pub run: crate::docker::RunIdentity,
    /// Run in this persistent environment (`dryrun env up`) instead of a fresh baseline.
    pub env: Option<String>,
    /// Told about each scenario as it starts and finishes (the console), if any.
    pub progress: Option<std::sync::Arc<dyn crate::console::Progress>>,
    /// P0 plan folder (`--plan`; default `P0_PLAN_DIR`, else the built-in `migrations/p0`).
    pub plan: Option<PathBuf>,
    /// Which scenarios run (`--scenarios`); anything but all is a partial result.
    pub selection: crate::scenario::contract::Selection,
}

fn attempts_path(report: &Path) -> PathBuf {
    report.join("hb05-closure.json")
}

/// The attempts so far, from `<report>/hb05-closure.json`. No file: a first attempt. A file
/// that cannot be read or parsed is refused (the retry gate must not be bypassed by it).
pub fn previous_attempts(report_dir: &Path) -> Result<ClosureReport> {
    let path = attempts_path(report_dir);
    let hint = "The retry gate (CTE-01) needs the previous attempts, so nothing is started over. Restore the file from a copy, or, if those attempts are to be discarded on purpose, move the directory away (keep it for the record) and run again, or pass another --report directory.";
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ClosureReport::default()),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::ReportUnreadable,
                format!(
                    "The previous closure report {} cannot be read: {e}.",
                    path.display()
                ),
            )
            .with_hint(hint))
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        Error::new(
            ErrorKind::ReportMalformed,
            format!(
                "The previous closure report {} is not a closure report ({e}).",
                path.display()
            ),
        )
        .with_hint(hint)
    })
}

fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The retry gate (CTE-01): after a failed attempt a new one needs a named approval (a name
/// of only spaces is none). A first attempt, or one after a pass, needs nothing.
pub fn retry_gate(report: &ClosureReport, approved_by: Option<&str>, dir: &Path) -> Result<()> {
    let Some(last) = report.attempts.last() else {
        return Ok(());
    };
    if last.is_pass() || !approved_by.map(str::trim).unwrap_or("").is_empty() {
        return Ok(());
    }
    Err(Error::new(ErrorKind::RetryNeedsApproval, format!(
        "The previous attempt in {} failed ({}/{} passed); nothing is retried silently.", dir.display(), last.passed, last.total))
        .with_hint("Re-run with --retry-approved-by <name> (the Đ32 sign-off); the report keeps the failed attempt beside the new one."))
}

/// Run the suite once as a new attempt. Refuses to run after a failed attempt without approval.
pub async fn run(o: &RunOptions) -> Result<ClosureReport> {
    let started_utc = now_utc();
    let mut report = previous_attempts(&o.report)?;
    retry_gate(&report, o.retry_approved_by.as_deref(), &o.report)?;
    let files = parser::discover(&o.repo.join("scenarios"))?;
    // The verified inputs are checked before the engine is contacted.
    let dumps = match &o.fixtures {
        Some(d) => DumpSet::from_dir(d)?,
        None => DumpSet::bundled(&o.repo),
    };
    // Every listed checksum, the header, the snapshot's format; a dump without the DOT pair's
    // and the TAC tables would fail most scenarios: refused here.
    let verified = backup_set::BackupSet {
        dump: &dumps.dump,
        sums: &dumps.sums,
        rowcounts: Some(&dumps.rowcounts),
    }
    .verify(
        backup_set::Needs::Fixed {
            needs: crate::checks::suite_needs(),
            who: "the P0 migration and the HB-05 scenarios",
            way_out: "`dryrun run` needs a backup of the Directus database (public.dot_tools and the TAC tables); to prove that this backup restores, run `dryrun restore-test --dump F --sums S --checks counts`.",
        },
        &crate::progress::ByteBars,
    )?;
    let dump_sha256 = verified.dump_sha256();
    let plan_dir = o
        .plan
        .clone()
        .or_else(|| std::env::var_os("P0_PLAN_DIR").map(PathBuf::from));
    let plan = match &plan_dir {
        None => crate::migrate::Plan::embedded()?,
        Some(d) => crate::migrate::Plan::load(d).map_err(|e| {
            let hint = format!(
                "--plan (or P0_PLAN_DIR) names a folder shaped like migrations/p0 (plan.yaml) or a Sqitch project (sqitch.plan), with the deploy/, verify/, revert/ scripts it names. {}",
                e.hint.clone().unwrap_or_default()
            );
            e.with_hint(hint.trim_end().to_string())
        })?,
    };
    let plan_record = PlanRecord::of(&plan);
    let impact_rules = crate::impact::rules_of(&o.repo)?;
    // The selection, then the plan's contract: what the selected scenarios need of the plan,
    // checked before any container exists.
    let files: Vec<parser::ScenarioFile> =
        files.into_iter().filter(|f| o.selection.takes(f)).collect();
    if files.is_empty() {
        return Err(Error::new(
            ErrorKind::NoScenarioSelected,
            format!(
                "--scenarios {} selects no scenario of {}.",
                o.selection,
                o.repo.join("scenarios").display()
            ),
        )
        .with_hint("Use --scenarios all, rollback, or ids of files in scenarios/ (S07,S08)."));
    }
    let unmet: Vec<String> = files
        .iter()
        .flat_map(|f| {
            crate::scenario::contract::unmet(&plan, f)
                .into_iter()
                .map(move |u| format!("{}: {u}", f.scenario.id))
        })
        .collect();
    if !unmet.is_empty() {
        return Err(Error::new(
            ErrorKind::PlanContract,
            format!(
                "The P0 plan {} does not provide what the selected scenarios need, so nothing was started: {}.",
                plan_record.source,
                unmet.join("; ")
            ),
        )
        .with_hint("Add what is missing to the plan (SPEC §7a: the governance tables in cutter_governance), or run the rollback scenarios alone with --scenarios rollback (a partial result: the report says HB-05 cannot close)."));
    }
    let mut selection = selection_differs(&files, &o.repo.join("snapshots"));
    if o.selection != crate::scenario::contract::Selection::All {
        selection.insert(
            0,
            format!(
                "--scenarios {} ran a selection; HB-05 needs every committed scenario",
                o.selection
            ),
        );
    }
    let suite = Suite::open(SuiteOptions {
        repo: o.repo.clone(),
        run: o.run.clone(),
        image: o.image.clone(),
        dumps: dumps.clone(),
        plan_dir,
        // The CLI's run checks the engine's foreign containers before and after: always.
        needs_engine: true,
    })
    .await?;
    suite.dump_verified(&dump_sha256);
    let (docker, run, image) = (
        suite.docker()?.clone(),
        suite.run.clone(),
        suite.image.clone(),
    );
    let before = suite.foreign_before.clone();
    let watch = crate::engine_watch::ForeignWatch::start(&docker, &before);
    let started = Instant::now();
    // `--env NAME`: its server is the baseline; held under a lease, fingerprinted before.
    let (mut environment, mut lease) = (None, None);
    if let Some(name) = &o.env {
        let (use_, before, l) =
            enter_environment(&docker, &suite, name, &dumps, &dump_sha256, &image).await?;
        environment = Some((use_, before));
        lease = Some(l);
    }
    let snapshots = suite.snapshots();
    let progress = o.progress.clone();
    if let Some(p) = &progress {
        p.planned(files.len());
    }
    let repo_prefix = format!("{}/", o.repo.display());
    let order = suite::schedule(&files);
    // The baseline restore starts at once, beside the first scenarios that do not need it.
    let shared = suite.plan_shared(&files);
    // The impact profile needs a clone of the baseline: taken when a scenario of the run
    // needs a server from the baseline (restore-phase ones only judge its restore).
    let needs_baseline = files.iter().any(|f| {
        f.scenario.environment == crate::scenario::model::Environment::Clone
            || f.scenario.server_data == crate::scenario::model::ServerData::BaselineCopy
    });
    let warm = suite.warm_up(shared);
    let scenarios = futures_util::stream::iter(order)
        .map(|f| {
            let suite = &suite;
            let snapshots = &snapshots;
            let progress = &progress;
            let repo_prefix = &repo_prefix;
            let span = tracing::info_span!("scenario", id = %f.scenario.id);
            async move {
                if let Some(p) = progress {
                    p.started(&f.scenario.id);
                }
                let t = Instant::now();
                let checked = run_checked(suite, f, SnapshotCheck::Diff).await;
                let failure = checked.failure.map(|t| t.replace(repo_prefix.as_str(), ""));
                let diff = checked.diff.map(|t| t.replace(repo_prefix.as_str(), ""));
                let extra = checked.extra;
                match &failure {
                    None => tracing::info!("passed"),
                    Some(why) => tracing::info!(cause = %why, "failed"),
                }
                let snap = snapshot::snapshot_path(snapshots, f);
                let row = ScenarioRow {
                    id: f.scenario.id.clone(),
                    name: snapshot::snapshot_name(f),
                    title: f.scenario.title.clone(),
                    passed: failure.is_none(),
                    failure,
                    diff,
                    strategy: extra.strategy.clone(),
                    settings: extra.settings.clone(),
                    elapsed_ms: t.elapsed().as_millis(),
                    scenario_sha256: f.sha256.clone(),
                    snapshot_sha256: crate::checksum::sha256_file(&snap).ok(),
                    evidence: extra.evidence.clone(),
                };
                if let Some(p) = progress {
                    p.finished(&row);
                }
                (row, extra)
            }
            .instrument(span)
        })
        .buffer_unordered(o.jobs.max(1))
        .collect::<Vec<(ScenarioRow, Extra)>>();
    let ((), results) = tokio::join!(warm, scenarios);
    let server_version = match suite.baseline().await {
        Ok(b) => b.pg.connect("postgres").await.ok().map(|c| async move {
            c.query_one("SHOW server_version", &[])
                .await
                .ok()
                .map(|r| r.get::<_, String>(0))
        }),
        Err(_) => None,
    };
    let server_version = match server_version {
        Some(f) => f.await.unwrap_or_default(),
        None => String::new(),
    };
    // What the plan does while it runs, on a clone of the baseline of its own (the scenarios
    // are done; the clone is dropped before the environment's baseline is checked).
    let impact_started = Instant::now();
    let impact = if !needs_baseline {
        None
    } else {
        let profiled = crate::scenario::steps::locks::profile_on_clone(&suite, "impact").await;
        Some(match profiled {
            Ok(steps) => {
                let lint = crate::impact::lint::lint_plan(&plan, &impact_rules);
                let r = crate::impact::assemble(
                    crate::impact::Subject {
                        plan: &plan,
                        dump: &dumps.dump,
                        dump_sha256: dump_sha256.clone(),
                        image: &image.reference,
                    },
                    impact_rules.clone(),
                    lint,
                    steps,
                    0.0,
                    Vec::new(),
                );
                match crate::impact::write(&o.report, &r) {
                    Ok(()) => ImpactSection {
                        report: Some(r),
                        error: None,
                        elapsed_ms: impact_started.elapsed().as_millis(),
                    },
                    Err(e) => ImpactSection {
                        report: Some(r),
                        error: Some(format!(
                            "the impact files could not be written: {}",
                            e.message
                        )),
                        elapsed_ms: impact_started.elapsed().as_millis(),
                    },
                }
            }
            Err(e) => ImpactSection {
                report: None,
                error: Some(format!("[{}] {}", e.kind, e.message)),
                elapsed_ms: impact_started.elapsed().as_millis(),
            },
        })
    };
    // The environment's baseline after the last scenario (every clone is dropped by now).
    let environment = match environment {
        Some((mut use_, before)) => {
            let after = match suite.baseline().await {
                Ok(b) => match b.pg.connect(crate::container::DB_NAME).await {
                    Ok(c) => crate::fingerprint::take(&c).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            match after {
                Ok(fp) => {
                    let diff = before.diff(&fp);
                    use_.baseline_after = Some(FingerprintDigests::of(&fp));
                    use_.baseline_verdict = if diff.is_empty()
                        && use_.baseline_after.as_ref() == Some(&use_.baseline_before)
                    {
                        BaselineVerdict::Unchanged
                    } else {
                        BaselineVerdict::Changed
                    };
                    use_.baseline_differences = diff
                        .to_string()
                        .lines()
                        .filter(|l| *l != "no differences")
                        .map(str::to_string)
                        .collect();
                }
                Err(e) => {
                    use_.baseline_differences = vec![format!(
                        "the second fingerprint failed: [{}] {}",
                        e.kind, e.message
                    )];
                }
            }
            Some(use_)
        }
        None => None,
    };
    drop(lease);
    let after = suite.close().await?;
    let foreign_events = watch.finish().await;
    let foreign_changes = crate::engine_watch::judge(
        &before,
        &after,
        &foreign_events,
        &crate::engine_watch::calls(),
    );
    let restores = suite.restores();
    drop(suite);
    let mut rows: Vec<ScenarioRow> = results.iter().map(|(r, _)| r.clone()).collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let mut artefacts: Vec<(String, String)> = vec![
        (
            rel(&o.repo, &dumps.dump),
            crate::checksum::sha256_file(&dumps.dump)?,
        ),
        (
            rel(&o.repo, &dumps.sums),
            crate::checksum::sha256_file(&dumps.sums)?,
        ),
        (
            rel(&o.repo, &dumps.rowcounts),
            crate::checksum::sha256_file(&dumps.rowcounts)?,
        ),
    ];
    for f in &files {
        artefacts.push((rel(&o.repo, &f.path), f.sha256.clone()));
        let snap = snapshot::snapshot_path(&snapshots, f);
        if let Ok(d) = crate::checksum::sha256_file(&snap) {
            artefacts.push((rel(&o.repo, &snap), d));
        }
    }
    for (n, d) in &plan_record.files {
        artefacts.push((format!("plan: {n}"), d.clone()));
    }
    for (_, e) in &results {
        artefacts.extend(e.artefacts.iter().cloned());
    }
    let mut failure_stops: Vec<String> = Vec::new();
    let mut approvals: Vec<String> = Vec::new();
    for (r, e) in &results {
        failure_stops.extend(e.failure_stops.iter().map(|s| format!("{}: {s}", r.id)));
        approvals.extend(
            e.approvals
                .iter()
                .map(|a| format!("{}: step {} approved by {}", r.id, a.step, a.approved_by)),
        );
    }
    failure_stops.sort();
    approvals.sort();
    let passed = rows.iter().filter(|r| r.passed).count();
    let mut attempt = Attempt {
        run_id: run.run_id.clone(),
        started_utc,
        ended_utc: now_utc(),
        expected: files.len(),
        kept_environments: environment
            .iter()
            .map(|e| KeptEnvironment {
                name: e.name.clone(),
                what: format!(
                    "persistent dry-run environment (container `{}`), kept on purpose; remove it with `dryrun env down {}`",
                    short(&e.container_id),
                    e.name
                ),
            })
            .collect(),
        retry_approved_by: o.retry_approved_by.clone(),
        passed,
        total: rows.len(),
        scenarios: rows,
        failure_stops,
        run_failures: Vec::new(),
        retry_approvals: approvals,
        artefacts,
        image: image.reference.clone(),
        image_id: image.id.clone(),
        server_version,
        foreign_containers_before: before.clone(),
        foreign_containers_after: after.clone(),
        elapsed_ms: started.elapsed().as_millis(),
        environment,
        test_hooks: crate::fault::active_hooks(),
        foreign_changes: foreign_changes.clone(),
        impact,
        restores,
        bound: Some(Binding {
            plan: plan_record,
            dump_sha256: dump_sha256.clone(),
            harness: crate::bundle::harness_version(),
            suite_sha256: crate::bundle::suite_digest(),
            selection_differs: selection,
        }),
    };
    if let Some(e) = &attempt.environment {
        if e.baseline_verdict != BaselineVerdict::Unchanged {
            attempt.passed = 0;
            attempt.run_failures.push(RunFailure::BaselineChanged {
                environment: e.name.clone(),
                verdict: e.baseline_verdict,
                differences: e.baseline_differences.clone(),
            });
        }
    }
    // Only a change this run made fails it (the guard forbids one); a change by someone else
    // (its owner, a restart policy) is a note beside the outcomes.
    let mine: Vec<String> = foreign_changes
        .iter()
        .filter(|c| c.by_this_run)
        .map(|c| c.line())
        .collect();
    if !mine.is_empty() {
        attempt.passed = 0;
        attempt
            .run_failures
            .push(RunFailure::OutsideContainersChanged { changes: mine });
    }
    report.attempts.push(attempt);
    report.closure = closure_line(report.attempts.last());
    write(&o.report, &report)?;
    Ok(report)
}

/// The report's closure line: what the last attempt proves (a pass awaits the sign-offs).
fn closure_line(last: Option<&Attempt>) -> String {
    let partial = last
        .and_then(|a| a.bound.as_ref())
        .is_some_and(|b| !b.selection_differs.is_empty());
    if let Some(h) = last.and_then(|a| crate::fault::hooks_sentence(&a.test_hooks)) {
        return format!("No closure: {h}");
    }
    match last {
        Some(a) if partial => format!(
            "Partial result, not HB-05: {}/{} passed, but the scenarios run are not exactly the committed S01..S26",
            a.passed, a.expected
        ),
        Some(a) if a.is_pass() => match &a.bound {
            Some(b) => format!(
                "HB-05 passed {}/{} for plan {} (digest {}) on dump {} (awaiting Đ32 and G-4 sign-off)",
                a.passed,
                a.expected,
                b.plan.source,
                &b.plan.digest[..b.plan.digest.len().min(16)],
                &b.dump_sha256[..b.dump_sha256.len().min(16)]
            ),
            None => format!(
                "HB-05 passed {}/{} (awaiting Đ32 and G-4 sign-off)",
                a.passed, a.expected
            ),
        },
        _ => "HB-05 NOT passed".into(),
    }
}

/// Attach the persistent environment `name` as the suite's baseline: refuse another dump or
/// image, take the run lease, drop clones an interrupted run left, fingerprint its baseline.
async fn enter_environment(
    docker: &bollard::Docker,
    suite: &Suite,
    name: &str,
    dumps: &DumpSet,
    dump_sha256: &str,
    image: &crate::image::ImageChoice,
) -> Result<(
    EnvironmentUse,
    crate::fingerprint::Fingerprint,
    crate::envs::RunLease,
)> {
    let a = crate::envs::attach(docker, name).await?;
    if a.info.dump_sha256 != dump_sha256 {
        return Err(Error::new(
            ErrorKind::EnvDumpMismatch,
            format!(
                "The environment {name} was restored from a dump with SHA-256 {} ({}), but this run's dump {} has {dump_sha256}; restore-phase scenarios and the environment would test different data.",
                a.info.dump_sha256, a.info.dump_name, dumps.dump.display()
            ),
        )
        .with_hint("Pass the environment's backup set with --fixtures DIR (`dryrun env ls` shows its dump), or make an environment from this dump with `dryrun env up`."));
    }
    if a.pg.image != image.reference {
        return Err(Error::new(
            ErrorKind::EnvImageMismatch,
            format!("The environment {name} runs image {}, but this run would start its own servers (copies of the environment's data) on {}.", a.pg.image, image.reference),
        )
        .with_hint(format!("Run with PG_IMAGE={} (or --image).", a.pg.image)));
    }
    let lease = crate::envs::lease(&a).await?;
    let stale = crate::envs::drop_stale_clones(&a).await?;
    if !stale.is_empty() {
        tracing::warn!(env = %name, dropped = ?stale, "dropped scenario clones an interrupted run left in the environment");
    }
    let settings = crate::envs::settings(&a).await?;
    let fp = {
        let c = a.pg.connect(crate::container::DB_NAME).await?;
        crate::fingerprint::take(&c).await?
    };
    let use_ = EnvironmentUse {
        name: name.to_string(),
        container_id: a.info.id.clone(),
        image: a.info.image.clone(),
        dump_sha256: a.info.dump_sha256.clone(),
        created: a.info.created.clone(),
        settings: settings.clone(),
        stale_clones_dropped: stale,
        baseline_before: FingerprintDigests::of(&fp),
        baseline_after: None,
        baseline_verdict: BaselineVerdict::Unknown,
        baseline_differences: Vec::new(),
    };
    suite.use_environment(a.pg, name, settings)?;
    Ok((use_, fp, lease))
}

fn rel(repo: &Path, p: &Path) -> String {
    p.strip_prefix(repo).unwrap_or(p).display().to_string()
}

fn write(dir: &Path, r: &ClosureReport) -> Result<()> {
    crate::report::write_json(&attempts_path(dir), r)?;
    crate::report::write_text(&dir.join("hb05-closure.md"), &markdown(r))?;
    crate::report::write_text(&dir.join("hb05-junit.xml"), &junit(r)?)?;
    Ok(())
}

/// First line of a failure's cause, for tables (pipes escaped).
#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(passed: usize, total: usize, expected: usize) -> Attempt {
        Attempt {
            passed,
            total,
            expected,
            ..Attempt::default()
        }
    }

    #[test]
    fn a_pass_needs_every_planned_scenario() {
        assert!(attempt(26, 26, 26).is_pass());
        assert!(!attempt(25, 26, 26).is_pass());
        assert!(!attempt(20, 20, 26).is_pass(), "a partial run is no pass");
        assert!(!attempt(0, 0, 0).is_pass(), "an empty run is no pass");
        assert!(!attempt(0, 0, 26).is_pass());
        // Reports from before `expected` was recorded: their total stands.
        assert!(attempt(26, 26, 0).is_pass());
        assert!(!attempt(25, 26, 0).is_pass());
    }

    #[test]
    fn the_closure_line_follows_the_last_attempt() {
        assert_eq!(
            closure_line(Some(&attempt(26, 26, 26))),
            "HB-05 passed 26/26 (awaiting Đ32 and G-4 sign-off)"
        );
        assert_eq!(closure_line(Some(&attempt(25, 26, 26))), "HB-05 NOT passed");
        assert_eq!(closure_line(None), "HB-05 NOT passed");
    }

    /// A test hook (a fault point or a negative control) in the process voids the closure
    /// line, whatever the outcome: the line names the hooks instead.
    #[test]
    fn no_closure_line_under_a_test_hook() {
        let mut a = attempt(26, 26, 26);
        a.test_hooks = vec!["DRYRUN_FAULT=scenario=sleep:10".into()];
        let line = closure_line(Some(&a));
        assert!(
            line.starts_with("No closure: Test hooks were active"),
            "{line}"
        );
        assert!(line.contains("DRYRUN_FAULT=scenario=sleep:10"), "{line}");
        assert!(!line.contains("HB-05 passed"), "{line}");
        let r = ClosureReport {
            closure: line.clone(),
            attempts: vec![a],
            ..ClosureReport::default()
        };
        assert!(summary_markdown(&r).contains("**Test hooks were active"));
        let x = junit(&r).expect("junit");
        assert!(x.contains("test_hooks"), "{x}");
    }

    #[test]
    fn the_retry_gate_needs_a_name_after_a_failed_attempt() {
        let dir = Path::new("/r");
        let mut report = ClosureReport::default();
        assert!(retry_gate(&report, None, dir).is_ok(), "first attempt");
        report.attempts.push(attempt(26, 26, 26));
        assert!(retry_gate(&report, None, dir).is_ok(), "after a pass");
        report.attempts.push(attempt(25, 26, 26));
        for who in [None, Some(""), Some("  ")] {
            let e = retry_gate(&report, who, dir).expect_err("refused");
            assert_eq!(e.kind, crate::error::ErrorKind::RetryNeedsApproval);
            assert_eq!(e.exit_code(), Error::new(ErrorKind::X, "y").exit_code());
            assert!(
                e.message.contains("/r failed (25/26 passed)"),
                "{}",
                e.message
            );
        }
        assert!(retry_gate(&report, Some("Đ32 alice"), dir).is_ok());
        // Only the last attempt counts.
        report.attempts.push(attempt(26, 26, 26));
        assert!(retry_gate(&report, None, dir).is_ok());
    }
}

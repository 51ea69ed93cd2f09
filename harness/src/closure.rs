//! `dryrun run`: the HB-05 closure — runs S01..S26, keeps every attempt, and writes the
//! closure report (Markdown, JSON, JUnit XML) listing every artefact with its SHA-256.

use std::path::{Path, PathBuf};
use std::time::Instant;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::docker::ForeignContainer;
use crate::error::{Category, Error, Result};
use crate::scenario::suite::{self, DumpSet, Extra, SnapshotCheck, Suite, SuiteOptions};
use crate::scenario::{parser, snapshot};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioRow {
    pub id: String,
    pub name: String,
    pub title: String,
    pub passed: bool,
    /// `scenarios/<file>.yaml:<line>: <cause>` (paths relative to the checkout).
    pub failure: Option<String>,
    /// Unified diff of a snapshot mismatch (`-` stored snapshot, `+` observed).
    #[serde(default)]
    pub diff: Option<String>,
    pub strategy: String,
    pub settings: Vec<(String, String)>,
    pub elapsed_ms: u128,
    pub scenario_sha256: String,
    pub snapshot_sha256: Option<String>,
    /// The plan- and data-specific facts its steps observed (not snapshot content).
    #[serde(default)]
    pub evidence: Vec<crate::scenario::evidence::Evidence>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Attempt {
    pub run_id: String,
    /// When the attempt started (UTC, RFC 3339, seconds).
    pub started_utc: String,
    /// When it ended.
    #[serde(default)]
    pub ended_utc: String,
    /// Scenarios in the plan (the files discovered in `scenarios/`): a pass needs all of them.
    #[serde(default)]
    pub expected: usize,
    /// Environments this run kept or used that outlive it (e.g. a persistent `dryrun env`):
    /// named at the top of the report so nobody forgets them.
    #[serde(default)]
    pub kept_environments: Vec<KeptEnvironment>,
    pub retry_approved_by: Option<String>,
    pub passed: usize,
    pub total: usize,
    pub scenarios: Vec<ScenarioRow>,
    pub failure_stops: Vec<String>,
    pub retry_approvals: Vec<String>,
    pub artefacts: Vec<(String, String)>,
    pub image: String,
    pub image_id: String,
    pub server_version: String,
    pub foreign_containers_before: Vec<ForeignContainer>,
    pub foreign_containers_after: Vec<ForeignContainer>,
    pub elapsed_ms: u128,
    /// The persistent environment the attempt ran in (`run --env NAME`), with the proof that
    /// its baseline database was not written.
    #[serde(default)]
    pub environment: Option<EnvironmentUse>,
    /// What the attempt proved things about: the plan, the dump, the image, the harness and
    /// whether the scenarios were exactly the committed S01..S26.
    #[serde(default)]
    pub bound: Option<Binding>,
    /// Test hooks active in the process that ran it (`fault::active_hooks`); not empty means
    /// the attempt is no evidence for HB-05 and the report prints no closure line.
    #[serde(default)]
    pub test_hooks: Vec<String>,
    /// Containers outside the run that changed while it ran, with the Docker events that made
    /// each change and whether this run's own engine calls did it (`engine_watch`).
    #[serde(default)]
    pub foreign_changes: Vec<crate::engine_watch::ForeignChange>,
    /// What the plan does to the database while it runs (issue 24): profiled on a clone of the
    /// run's baseline and judged against the checkout's `checks/p0-impact.yaml`; also written
    /// whole as `impact.*` beside the report. `None` when no scenario of the run needed a server.
    #[serde(default)]
    pub impact: Option<ImpactSection>,
}

/// The impact profile of an attempt, or why it could not be taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImpactSection {
    pub report: Option<crate::impact::report::ImpactReport>,
    pub error: Option<String>,
    /// What taking it cost the run: clone, profile, lint, judging and writing (`make bench`
    /// sets it against the suite's wall time).
    #[serde(default)]
    pub elapsed_ms: u128,
}

/// The evidence an HB-05 line is bound to.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct Binding {
    pub plan: PlanRecord,
    pub dump_sha256: String,
    /// `dryrun <version> (suite <digest>)`.
    pub harness: String,
    /// SHA-256 over the committed scenarios and snapshots built into the binary.
    pub suite_sha256: String,
    /// Why the scenarios run are not exactly the committed S01..S26 (empty when they are).
    pub selection_differs: Vec<String>,
}

/// The P0 plan a run proved: where it came from, its format, every file with its SHA-256,
/// and one digest over them.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct PlanRecord {
    /// The folder given (`--plan` / `P0_PLAN_DIR`), or `built in (migrations/p0)`.
    pub source: String,
    pub format: String,
    pub steps: Vec<String>,
    pub files: Vec<(String, String)>,
    pub digest: String,
}

impl PlanRecord {
    pub fn of(plan: &crate::migrate::Plan) -> Self {
        let mut files = plan.file_hashes();
        files.sort();
        PlanRecord {
            source: match &plan.source {
                crate::migrate::PlanSource::Embedded => "built in (migrations/p0)".into(),
                crate::migrate::PlanSource::Dir(d) => d.display().to_string(),
            },
            format: match plan.format() {
                crate::migrate::PlanFormat::HarnessYaml => "plan.yaml".into(),
                crate::migrate::PlanFormat::Sqitch => "sqitch".into(),
            },
            steps: plan.step_names(),
            files,
            digest: plan.digest(),
        }
    }
}

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

/// Schema and data digests of a database's fingerprint (harness::fingerprint::take).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintDigests {
    pub schema_sha256: String,
    pub data_sha256: String,
}

impl FingerprintDigests {
    pub fn of(f: &crate::fingerprint::Fingerprint) -> Self {
        FingerprintDigests {
            schema_sha256: f.schema.sha256(),
            data_sha256: f.data.sha256(),
        }
    }
}

/// Whether the environment's baseline is as before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineVerdict {
    Unchanged,
    Changed,
    /// The second fingerprint could not be taken.
    Unknown,
}

impl std::fmt::Display for BaselineVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BaselineVerdict::Unchanged => "unchanged",
            BaselineVerdict::Changed => "CHANGED",
            BaselineVerdict::Unknown => "unknown (not proved unchanged)",
        })
    }
}

/// What `run --env NAME` records of the environment it ran in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvironmentUse {
    pub name: String,
    pub container_id: String,
    pub image: String,
    pub dump_sha256: String,
    pub created: String,
    /// Its server's settings as the scenarios ran (the run changes none).
    pub settings: Vec<(String, String)>,
    /// Scenario clones an interrupted earlier run had left there, dropped before this one.
    pub stale_clones_dropped: Vec<String>,
    /// Fingerprint of its baseline database `directus` before the first and after the last scenario.
    pub baseline_before: FingerprintDigests,
    pub baseline_after: Option<FingerprintDigests>,
    pub baseline_verdict: BaselineVerdict,
    /// What differs (schema objects and tables), when it changed; or why it is unknown.
    pub baseline_differences: Vec<String>,
}

/// An environment that outlives the run (container or volume left on purpose).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeptEnvironment {
    pub name: String,
    /// What it is and how to remove it, e.g. "persistent env (remove: dryrun env down NAME)".
    pub what: String,
}

impl Attempt {
    /// Passed when every planned scenario ran and passed.
    pub fn is_pass(&self) -> bool {
        // Reports written before the plan was recorded have `expected` 0: their total stands.
        let expected = if self.expected == 0 {
            self.total
        } else {
            self.expected
        };
        self.passed == self.total && self.total == expected && expected > 0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ClosureReport {
    pub closure: String,
    pub attempts: Vec<Attempt>,
    pub sign_off: SignOff,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SignOff {
    pub d32_approved_by: String,
    pub d32_date: String,
    pub g4_custodian: String,
    pub g4_date: String,
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
            return Err(Error::bad_input(
                "report_unreadable",
                format!(
                    "The previous closure report {} cannot be read: {e}.",
                    path.display()
                ),
            )
            .with_hint(hint))
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        Error::bad_input(
            "report_malformed",
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
    Err(Error::new(Category::ApprovalRequired, "retry_needs_approval", format!(
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
    let dump_sha256 = dumps.verify()?;
    crate::rowcounts::RowCounts::parse_file(&dumps.rowcounts)?;
    // A dump without the DOT pair's and the TAC tables would fail most scenarios: refused here.
    let toc = crate::dumpinfo::read_toc(&dumps.dump)?;
    let missing = crate::checks::missing(&toc, &crate::checks::suite_needs());
    if !missing.is_empty() {
        return Err(crate::checks::refuse_missing(
            &dumps.dump,
            "the P0 migration and the HB-05 scenarios",
            &missing,
            "`dryrun run` needs a backup of the Directus database (public.dot_tools and the TAC tables); to prove that this backup restores, run `dryrun restore-test --dump F --sums S --checks counts`.",
        ));
    }
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
        return Err(Error::bad_input(
            "no_scenario_selected",
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
        return Err(Error::bad_input(
            "plan_contract",
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
                let checked = suite::run_checked(suite, f, SnapshotCheck::Diff).await;
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
    let impact = if shared == suite::Shared::Nothing {
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
            attempt.failure_stops.push(format!(
                "the baseline database of environment {} is {} after the run: {}",
                e.name,
                e.baseline_verdict,
                e.baseline_differences.join("; ")
            ));
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
        attempt.failure_stops.push(format!(
            "containers outside this run were changed by this run's own engine calls (the guard forbids it): {}",
            mine.join("; ")
        ));
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
        return Err(Error::bad_input(
            "env_dump_mismatch",
            format!(
                "The environment {name} was restored from a dump with SHA-256 {} ({}), but this run's dump {} has {dump_sha256}; restore-phase scenarios and the environment would test different data.",
                a.info.dump_sha256, a.info.dump_name, dumps.dump.display()
            ),
        )
        .with_hint("Pass the environment's backup set with --fixtures DIR (`dryrun env ls` shows its dump), or make an environment from this dump with `dryrun env up`."));
    }
    if a.pg.image != image.reference {
        return Err(Error::env(
            "env_image_mismatch",
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

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
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
fn first_line(t: &str) -> String {
    t.lines().next().unwrap_or("").replace('|', "\\|")
}

/// The one-screen summary that opens the report: verdict, a row per scenario of the latest
/// attempt with where it failed, kept environments.
pub fn summary_markdown(r: &ClosureReport) -> String {
    let mut s = format!(
        "# HB-05 closure report — dot-iu-cutter P0 rollback plan\n\n**{}**\n\n",
        r.closure
    );
    let Some(a) = r.attempts.last() else {
        return s;
    };
    if let Some(h) = crate::fault::hooks_sentence(&a.test_hooks) {
        s.push_str(&format!("**{h}**\n\n"));
    }
    s.push_str(&format!(
        "Latest attempt {} of {}: run `{}`, started {}, ended {}, {:.1} s: **{}/{} passed** (plan: {} scenarios).\n\n",
        r.attempts.len(),
        r.attempts.len(),
        a.run_id,
        a.started_utc,
        if a.ended_utc.is_empty() { "?" } else { &a.ended_utc },
        a.elapsed_ms as f64 / 1000.0,
        a.passed,
        a.total,
        a.expected
    ));
    s.push_str("| scenario | outcome | where it failed |\n|---|---|---|\n");
    for sc in &a.scenarios {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            sc.name,
            if sc.passed { "PASS" } else { "**FAIL**" },
            sc.failure.as_deref().map(first_line).unwrap_or_default()
        ));
    }
    for f in a
        .failure_stops
        .iter()
        .filter(|f| f.contains("outside this run") || f.contains("after the run"))
    {
        s.push_str(&format!("\n**FAIL**: {f}\n"));
    }
    for c in a.foreign_changes.iter().filter(|c| !c.by_this_run) {
        s.push_str(&format!(
            "\n**Note** (a container outside this run changed, not by this run; the outcomes above stand): {}\n",
            c.line()
        ));
    }
    if let Some(line) = a.impact.as_ref().map(impact_line) {
        s.push_str(&format!("\n{line}\n"));
    }
    s.push_str("\nKept or persistent environments: ");
    if a.kept_environments.is_empty() {
        s.push_str("none (every container and volume of the run was removed).\n");
    } else {
        s.push('\n');
        for k in &a.kept_environments {
            s.push_str(&format!("- `{}`: {}\n", k.name, k.what));
        }
    }
    s.push_str("\nDetails of every attempt follow.\n\n---\n\n");
    s
}

#[cfg(test)]
mod summary_tests {
    use super::*;

    fn row(id: &str, failure: Option<&str>) -> ScenarioRow {
        ScenarioRow {
            id: id.into(),
            name: format!("{id}-x"),
            title: "t".into(),
            passed: failure.is_none(),
            failure: failure.map(String::from),
            diff: None,
            strategy: "clone".into(),
            settings: vec![],
            elapsed_ms: 1000,
            scenario_sha256: String::new(),
            snapshot_sha256: None,
            evidence: vec![],
        }
    }

    fn report(scenarios: Vec<ScenarioRow>, kept: Vec<KeptEnvironment>) -> ClosureReport {
        let passed = scenarios.iter().filter(|s| s.passed).count();
        ClosureReport {
            closure: "HB-05 failed".into(),
            attempts: vec![Attempt {
                run_id: "r1".into(),
                started_utc: "2026-12-02T04:00:00Z".into(),
                ended_utc: "2026-12-02T04:05:00Z".into(),
                expected: scenarios.len(),
                kept_environments: kept,
                retry_approved_by: None,
                passed,
                total: scenarios.len(),
                scenarios,
                failure_stops: vec!["S08 stopped at step 3 (expected)".into()],
                retry_approvals: vec![],
                artefacts: vec![],
                image: "img".into(),
                image_id: "sha256:1".into(),
                server_version: "16".into(),
                foreign_containers_before: vec![],
                foreign_containers_after: vec![],
                elapsed_ms: 300_000,
                environment: None,
                bound: None,
                test_hooks: vec![],
                foreign_changes: vec![],
                impact: Some(ImpactSection {
                    report: None,
                    error: Some("[clone_failed] no space left on device".into()),
                    elapsed_ms: 5,
                }),
            }],
            sign_off: SignOff::default(),
        }
    }

    /// The report opens with one screen: verdict, a row per scenario with where it failed, the
    /// kept or persistent environments by name; the details come after it.
    #[test]
    fn the_report_opens_with_a_one_screen_summary_naming_kept_environments() {
        let mut rows: Vec<ScenarioRow> = (1..=26).map(|i| row(&format!("S{i:02}"), None)).collect();
        rows[7] = row(
            "S08",
            Some("scenarios/S08-x.yaml:10: table left behind | t1\nsecond line"),
        );
        let kept = vec![KeptEnvironment {
            name: "pg-dry-run-hb05".into(),
            what: "persistent dry-run environment, kept on purpose; remove it with `dryrun env down pg-dry-run-hb05`".into(),
        }];
        let md = markdown(&report(rows, kept));
        let summary = summary_markdown(&report(vec![], vec![]));
        assert!(summary.contains("none (every container and volume of the run was removed)"));
        let top = md.split("## Attempt 1").next().unwrap_or("");
        assert!(top.lines().count() <= 50, "more than a screen:\n{top}");
        assert!(top.contains("**HB-05 failed**"), "{top}");
        assert!(
            top.contains("**25/26 passed** (plan: 26 scenarios)"),
            "{top}"
        );
        assert_eq!(top.matches("| PASS |").count(), 25, "{top}");
        assert!(
            top.contains(
                "| S08-x | **FAIL** | scenarios/S08-x.yaml:10: table left behind \\| t1 |"
            ),
            "{top}"
        );
        assert!(!top.contains("second line"), "{top}");
        assert!(
            top.contains("- `pg-dry-run-hb05`: persistent dry-run environment")
                && top.contains("dryrun env down pg-dry-run-hb05"),
            "{top}"
        );
        assert!(md.contains("## Attempt 1"), "{md}");
        // An impact profile that could not be taken says so, at the top, with its cause.
        assert!(
            top.contains(
                "Impact while P0 runs: **not measured**: [clone_failed] no space left on device"
            ),
            "{top}"
        );
    }
}

pub fn markdown(r: &ClosureReport) -> String {
    let mut s = summary_markdown(r);
    for (i, a) in r.attempts.iter().enumerate() {
        s.push_str(&format!(
            "## Attempt {} — run `{}` (started {}, ended {})\n\n",
            i + 1,
            a.run_id,
            a.started_utc,
            if a.ended_utc.is_empty() {
                "?"
            } else {
                &a.ended_utc
            }
        ));
        if let Some(by) = &a.retry_approved_by {
            s.push_str(&format!("Retry approved by **{by}** (Đ32).\n\n"));
        }
        if let Some(e) = &a.environment {
            s.push_str(&format!(
                "Ran in the persistent dry-run environment **{}** (container `{}`, image `{}`, dump SHA-256 `{}`, created {}).\n\n",
                e.name,
                short(&e.container_id),
                e.image,
                e.dump_sha256,
                e.created
            ));
            s.push_str(&format!(
                "Baseline database `directus` of {}: **{}** (never written by the run: clones, copies and restores only)\n\n| fingerprint | before | after |\n|---|---|---|\n| schema | `{}` | `{}` |\n| data | `{}` | `{}` |\n\n",
                e.name,
                e.baseline_verdict,
                e.baseline_before.schema_sha256,
                e.baseline_after.as_ref().map(|f| f.schema_sha256.as_str()).unwrap_or("-"),
                e.baseline_before.data_sha256,
                e.baseline_after.as_ref().map(|f| f.data_sha256.as_str()).unwrap_or("-"),
            ));
            for d in &e.baseline_differences {
                s.push_str(&format!("- {d}\n"));
            }
            if !e.stale_clones_dropped.is_empty() {
                s.push_str(&format!(
                    "Scenario clones left by an interrupted earlier run, dropped first: {}\n\n",
                    e.stale_clones_dropped.join(", ")
                ));
            }
            s.push_str(&format!(
                "Server settings (unchanged by the run): {}\n\n",
                e.settings
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(b) = &a.bound {
            s.push_str(&format!(
                "What this attempt proved things about:\n\n- plan: `{}` ({}, {} steps: {}), digest `{}`\n- dump SHA-256 `{}`\n- harness: {}, committed scenarios and snapshots digest `{}`\n",
                b.plan.source,
                b.plan.format,
                b.plan.steps.len(),
                b.plan.steps.join(", "),
                b.plan.digest,
                b.dump_sha256,
                b.harness,
                b.suite_sha256
            ));
            if b.selection_differs.is_empty() {
                s.push_str("- scenarios: exactly the committed S01..S26\n\n");
            } else {
                s.push_str(&format!(
                    "- scenarios: **not** the committed S01..S26, so this is a partial result: {}\n\n",
                    b.selection_differs.join("; ")
                ));
            }
        }
        s.push_str(&format!(
            "Pass rate: **{}/{}** ({:.1}%) · image `{}` (`{}`) · server {} · {:.1} s\n\n",
            a.passed,
            a.total,
            100.0 * a.passed as f64 / a.total.max(1) as f64,
            a.image,
            a.image_id,
            a.server_version,
            a.elapsed_ms as f64 / 1000.0
        ));
        s.push_str("| scenario | title | outcome | strategy | time (s) |\n|---|---|---|---|---|\n");
        for sc in &a.scenarios {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {:.1} |\n",
                sc.name,
                sc.title,
                if sc.passed { "PASS" } else { "FAIL" },
                sc.strategy,
                sc.elapsed_ms as f64 / 1000.0
            ));
        }
        let fails: Vec<&ScenarioRow> = a.scenarios.iter().filter(|s| !s.passed).collect();
        if !fails.is_empty() {
            s.push_str("\n### Failures\n\n");
            for f in fails {
                s.push_str(&format!(
                    "#### {}\n\n```text\n{}\n```\n\n",
                    f.name,
                    f.failure.clone().unwrap_or_default()
                ));
                if let Some(d) = &f.diff {
                    s.push_str(&format!(
                        "Snapshot diff (`-` stored, `+` observed):\n\n```diff\n{}\n```\n\n",
                        d.trim_end()
                    ));
                }
            }
        }
        s.push_str("\n### Evidence (plan- and data-specific facts; the snapshots hold what every correct run observes)\n\n");
        for sc in &a.scenarios {
            if sc.evidence.is_empty() {
                continue;
            }
            s.push_str(&format!(
                "<details><summary>{} ({} facts)</summary>\n\n",
                sc.name,
                sc.evidence.len()
            ));
            for e in &sc.evidence {
                s.push_str(&format!("- {}\n", e.line_text().replace('|', "\\|")));
            }
            s.push_str("\n</details>\n\n");
        }
        if let Some(i) = &a.impact {
            s.push_str(&format!(
                "\n### What P0 does to the database while it runs\n\n{}\n\n",
                impact_line(i)
            ));
            if let Some(r) = &i.report {
                s.push_str(&crate::impact::report::overview(r, "####"));
                s.push_str("\nEvery statement, the lint findings with file:line and the timeline: `impact.md`, `impact.json`, `impact-timeline.svg` beside this report.\n");
            }
        }
        s.push_str("\n### Failure-stop events (expected by the scenarios that provoke them)\n\n");
        for f in &a.failure_stops {
            s.push_str(&format!("- {f}\n"));
        }
        s.push_str("\n### Retry approvals\n\n");
        if a.retry_approvals.is_empty() {
            s.push_str("- none\n");
        }
        for f in &a.retry_approvals {
            s.push_str(&format!("- {f}\n"));
        }
        s.push_str(&format!(
            "\n### Engine containers outside this run\n\nbefore: {} · after: {} · changed meanwhile: {}\n",
            a.foreign_containers_before.len(),
            a.foreign_containers_after.len(),
            if a.foreign_changes.is_empty() {
                "none"
            } else {
                "see below (with the Docker events that made each change, and whether this run's own engine calls did)"
            }
        ));
        for c in &a.foreign_changes {
            s.push_str(&format!("- {}\n", c.line()));
        }
        s.push_str("\n### Artefacts\n\n| artefact | SHA-256 |\n|---|---|\n");
        for (n, d) in &a.artefacts {
            s.push_str(&format!("| {n} | `{d}` |\n"));
        }
        s.push('\n');
    }
    s.push_str("## Sign-off\n\n- Đ32 (approves HB-05): ____________________ date: __________\n- G-4 (custodian): ____________________ date: __________\n");
    s
}

/// One line: the impact verdict against the rule set, or why there is none.
fn impact_line(i: &ImpactSection) -> String {
    match (&i.report, &i.error) {
        (Some(r), None) => {
            let breached: Vec<&str> = r
                .verdicts
                .iter()
                .filter(|v| !v.breaches.is_empty())
                .map(|v| v.rule.as_str())
                .collect();
            if breached.is_empty() {
                format!(
                    "Impact while P0 runs: **all {} rules kept** ({}; no load: `dryrun impact --load RATE` measures writer stalls).",
                    r.verdicts.len(),
                    r.rules_source
                )
            } else {
                format!(
                    "Impact while P0 runs: **BREACH** of {} ({}): see the impact section.",
                    breached.join(", "),
                    r.rules_source
                )
            }
        }
        (_, Some(e)) => format!("Impact while P0 runs: **not measured**: {e}"),
        (None, None) => "Impact while P0 runs: not measured.".to_string(),
    }
}

fn junit(r: &ClosureReport) -> Result<String> {
    let mut rep = quick_junit::Report::new("hb05");
    if let Some(a) = r.attempts.last() {
        let mut suite = quick_junit::TestSuite::new("HB-05 rollback scenarios");
        if let Some(h) = crate::fault::hooks_sentence(&a.test_hooks) {
            suite.add_property(quick_junit::Property::new(
                "test_hooks",
                a.test_hooks.join("; "),
            ));
            suite.set_system_out(h);
        }
        for c in &a.foreign_changes {
            suite.add_property(quick_junit::Property::new(
                "foreign_container_change",
                c.line(),
            ));
        }
        for sc in &a.scenarios {
            let status = if sc.passed {
                quick_junit::TestCaseStatus::success()
            } else {
                let mut st =
                    quick_junit::TestCaseStatus::non_success(quick_junit::NonSuccessKind::Failure);
                let failure = sc.failure.clone().unwrap_or_default();
                st.set_message(first_line(&failure).replace("\\|", "|"));
                let mut body = failure;
                if let Some(d) = &sc.diff {
                    body.push_str("\n\n");
                    body.push_str(d);
                }
                st.set_description(body);
                st
            };
            let mut tc = quick_junit::TestCase::new(sc.name.clone(), status);
            tc.set_time(std::time::Duration::from_millis(sc.elapsed_ms as u64));
            tc.set_classname("hb05");
            suite.add_test_case(tc);
        }
        rep.add_test_suite(suite);
        if let Some(r) = a.impact.as_ref().and_then(|i| i.report.as_ref()) {
            rep.add_test_suite(crate::impact::report::junit_suite(r));
        }
    }
    rep.to_string()
        .map_err(|e| Error::internal("junit", e.to_string()))
}

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
            assert_eq!(e.kind, "retry_needs_approval");
            assert_eq!(
                e.exit_code(),
                Error::new(Category::ApprovalRequired, "x", "y").exit_code()
            );
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

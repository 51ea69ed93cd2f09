//! The HB-05 closure report as data: attempts, a row per scenario, what each attempt is bound
//! to (plan, dump, image, harness), environments used or kept, the impact section.

use serde::{Deserialize, Serialize};

use crate::docker::ForeignContainer;

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
    /// The failure-stop events the scenarios provoked on purpose (CTE-01 evidence).
    pub failure_stops: Vec<String>,
    /// What fails the run as a whole, outside any scenario (typed: renderers select by kind,
    /// never by wording). Older reports carried these inside `failure_stops`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_failures: Vec<RunFailure>,
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
    /// Every `pg_restore` the attempt performed, each with who asked for it: one per distinct
    /// dump the scenarios need (restore-phase scenarios of the run's dump judge the run's one
    /// restore of it) plus the end-to-end scenario's fresh one on a durable server.
    #[serde(default)]
    pub restores: Vec<String>,
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

/// A failure of the run as a whole, found after its scenarios (fails the attempt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunFailure {
    /// The persistent environment's baseline database is not what it was before the run.
    BaselineChanged {
        environment: String,
        verdict: BaselineVerdict,
        differences: Vec<String>,
    },
    /// Containers outside this run were changed by this run's own engine calls.
    OutsideContainersChanged { changes: Vec<String> },
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunFailure::BaselineChanged {
                environment,
                verdict,
                differences,
            } => write!(
                f,
                "the baseline database of environment {environment} is {verdict} after the run: {}",
                differences.join("; ")
            ),
            RunFailure::OutsideContainersChanged { changes } => write!(
                f,
                "containers outside this run were changed by this run's own engine calls (the guard forbids it): {}",
                changes.join("; ")
            ),
        }
    }
}

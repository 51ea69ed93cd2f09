//! The suite of one run: the verified dump set, the shared baseline, its physical copy, the
//! signing keys and the schedule; `Suite::open` and `run_checked` are what both front ends call.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bollard::Docker;
use serde::Serialize;

use crate::container::{PgContainer, PgSpec};
use crate::docker::{ForeignContainer, RunIdentity};
use crate::error::{Error, ErrorKind, Result};
use crate::fingerprint::{self, Fingerprint};

/// WAL the baseline server keeps behind its insert position (`wal_keep_size`): far more than
/// the scenarios write, so a fingerprint can read the WAL back to its clone's creation.
const WAL_KEEP_SIZE: &str = "1GB";
use crate::image::ImageChoice;
use crate::migrate::Plan;
use crate::restore::{self, RestoreOutcome, RestoreTestOptions};
use crate::scenario::model::*;
use crate::scenario::parser::ScenarioFile;

/// The verified dump a run uses, with its checksum file and row-count snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct DumpSet {
    pub dump: PathBuf,
    pub sums: PathBuf,
    pub rowcounts: PathBuf,
}

impl DumpSet {
    /// The backup set in `dir` as `dryrun backup` / `dryrun fixture` write it: one `*.dump`,
    /// its `SHA256SUMS` and one `directus_rowcounts_*.psv`.
    pub fn from_dir(dir: &Path) -> Result<DumpSet> {
        let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "read the backup folder", e))?;
        let mut dumps = Vec::new();
        let mut psvs = Vec::new();
        for e in rd.flatten() {
            let p = e.path();
            match p.extension().and_then(|x| x.to_str()) {
                Some("dump") => dumps.push(p),
                Some("psv") => psvs.push(p),
                _ => {}
            }
        }
        let one = |mut v: Vec<PathBuf>, what: &str| -> Result<PathBuf> {
            if v.len() == 1 {
                return Ok(v.remove(0));
            }
            Err(Error::new(
                ErrorKind::BackupSetAmbiguous,
                format!("{} holds {} {what} files; exactly one is needed.", dir.display(), v.len()),
            )
            .with_hint("Point --fixtures at a folder written by `dryrun backup` or `dryrun fixture` (one dump, its SHA256SUMS, one row-count file)."))
        };
        Ok(DumpSet {
            dump: one(dumps, "*.dump")?,
            sums: dir.join("SHA256SUMS"),
            rowcounts: one(psvs, "*.psv")?,
        })
    }

    /// Every entry of the sums file verified (the dump, the row counts and whatever else it
    /// lists) and the dump's header inspected: the dump's SHA-256. Refuses a set that does not.
    pub fn verify(&self) -> Result<String> {
        let entries = crate::checksum::parse_sums(&self.sums)?;
        let sums =
            crate::checksum::verify_set(&self.sums, &entries, &self.dump, Some(&self.rowcounts))?;
        crate::dumpinfo::inspect(&self.dump)?;
        Ok(sums
            .files
            .iter()
            .find(|f| f.role == crate::checksum::FileRole::Dump)
            .map(|f| f.sha256.clone())
            .unwrap_or_default())
    }

    /// The fixture committed in `fixtures/`.
    pub fn bundled(repo: &Path) -> DumpSet {
        let f = repo.join("fixtures");
        DumpSet {
            dump: f.join("directus_full_fixture.dump"),
            sums: f.join("SHA256SUMS"),
            rowcounts: f.join("directus_rowcounts_fixture.psv"),
        }
    }
}

/// The restored baseline shared by every `clone` scenario of a run: the run's own restore
/// ([`RunRestore`]), or the database of a persistent environment (`run --env NAME`, restored
/// by `env up`).
pub struct Baseline {
    pub pg: Arc<PgContainer>,
    /// The run's own restore (`None` for an environment).
    pub restore: Option<Arc<RunRestore>>,
    pub settings: Vec<(String, String)>,
    /// Name of the persistent environment whose server this is.
    pub env: Option<String>,
}

/// The run's one restore of its verified dump, judged by every restore-phase scenario whose
/// working copy is that dump: the baseline server's restore, or, on a persistent environment
/// (whose database no run restored), a server of its own restored when first needed.
pub struct RunRestore {
    pub pg: Arc<PgContainer>,
    pub outcome: RestoreOutcome,
    /// SHA-256 of the dump it restored, verified just before.
    pub dump_sha256: String,
    pub restore_ms: u128,
    pub settings: Vec<(String, String)>,
}

/// What the scenarios of a run share, to prepare before they start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    Nothing,
    Baseline,
    BaselineAndCopy,
}

/// A physical copy of the restored baseline (pg_basebackup tar on the host, removed on drop),
/// from which `container` scenarios start their own servers without a second restore.
pub struct Seed {
    pub path: tempfile::TempPath,
}

/// Keys of the DOT pair for the dry run (in memory; never logged): random per run, or taken
/// from `DRYRUN_DOT_KEY_992` / `DRYRUN_DOT_KEY_991` when set (raw bytes, as the cutter's
/// `env:` credentials), which lets a test look for them in every output.
fn key_store() -> dot_signing::MemoryStore {
    use dot_signing::CredentialStore;
    let mut s = dot_signing::MemoryStore::new();
    for (name, var) in [
        ("dot-992", "DRYRUN_DOT_KEY_992"),
        ("dot-991", "DRYRUN_DOT_KEY_991"),
    ] {
        let Ok(r) = dot_signing::CredentialRef::memory(name) else {
            continue;
        };
        let key = dot_signing::CredentialRef::env(var)
            .ok()
            .and_then(|e| dot_signing::EnvStore.resolve(&e).ok())
            .map(|k| k.expose_secret().to_vec())
            .unwrap_or_else(random_key);
        s.insert(&r, key);
    }
    s
}

pub(crate) fn random_key() -> Vec<u8> {
    use rand::RngCore;
    let mut k = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut k);
    k
}

/// Everything shared by the scenarios of one run.
pub struct Suite {
    /// The probed engine; `None` when no scenario of the run needs one ([`Suite::docker`]).
    engine: Option<Docker>,
    pub run: RunIdentity,
    pub repo: PathBuf,
    pub image: ImageChoice,
    pub dumps: DumpSet,
    /// Override of the P0 plan folder (`P0_PLAN_DIR`), e.g. a copy with a broken revert.
    pub plan_dir: Option<PathBuf>,
    pub jobs: u32,
    pub(crate) baseline: tokio::sync::OnceCell<Arc<Baseline>>,
    pub(crate) run_restore: tokio::sync::OnceCell<Arc<RunRestore>>,
    /// SHA-256 of the run's dump, verified ([`Suite::dump_sha256`]).
    dump_sha256: tokio::sync::OnceCell<String>,
    /// Every `pg_restore` the run performed, with who asked for it ([`Suite::restores`]).
    restores: std::sync::Mutex<Vec<String>>,
    pub(crate) seed: tokio::sync::OnceCell<Arc<Seed>>,
    /// Fingerprint of an untouched clone (every clone of the run starts identical to it).
    pub(crate) pristine: tokio::sync::OnceCell<Fingerprint>,
    /// Stamp of that fingerprint: clones prove their tables against it (`Stamp::for_clone`).
    pub(crate) pristine_stamp: tokio::sync::OnceCell<fingerprint::Stamp>,
    /// Held by the clone taking the pristine fingerprint; other untouched clones wait for it.
    pub(crate) pristine_lock: tokio::sync::Mutex<()>,
    /// Set when the run holds a scenario that starts from the seed: the copy is then taken
    /// before the first clone database exists (so it holds the restored database only).
    pub(crate) seed_wanted: AtomicBool,
    pub(crate) clone_lock: tokio::sync::Mutex<()>,
    pub(crate) keys: dot_signing::MemoryStore,
    /// The engine's containers outside the harness when the suite was opened.
    pub foreign_before: Vec<ForeignContainer>,
    /// The shared server's cluster-global state, checked after each clone scenario.
    pub(crate) cluster: crate::cluster_state::Watch,
}

/// What [`Suite::open`] needs: the checkout, the run, the image choice (`None`: the default
/// resolution) and the verified dump set; the P0 plan folder override, if any.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    pub repo: PathBuf,
    pub run: RunIdentity,
    pub image: Option<String>,
    pub dumps: DumpSet,
    /// `None`: `P0_PLAN_DIR` if set, else the embedded plan.
    pub plan_dir: Option<PathBuf>,
    /// False when no scenario of the run needs a server (library scenarios only, e.g.
    /// `--exact S20-…`): the engine is then neither probed nor swept, no image is resolved,
    /// and the run works without Docker.
    pub needs_engine: bool,
}

/// Whether any of `files` needs a server (every environment but `library`).
pub fn needs_engine(files: &[&ScenarioFile]) -> bool {
    files
        .iter()
        .any(|f| f.scenario.environment != crate::scenario::model::Setup::Library)
}

impl Suite {
    pub fn new(
        engine: Option<Docker>,
        run: RunIdentity,
        repo: PathBuf,
        image: ImageChoice,
        dumps: DumpSet,
    ) -> Suite {
        Suite {
            engine,
            run,
            repo,
            image,
            dumps,
            plan_dir: std::env::var_os("P0_PLAN_DIR").map(PathBuf::from),
            jobs: 2,
            baseline: tokio::sync::OnceCell::new(),
            run_restore: tokio::sync::OnceCell::new(),
            dump_sha256: tokio::sync::OnceCell::new(),
            restores: std::sync::Mutex::new(Vec::new()),
            seed: tokio::sync::OnceCell::new(),
            pristine: tokio::sync::OnceCell::new(),
            seed_wanted: AtomicBool::new(false),
            clone_lock: tokio::sync::Mutex::new(()),
            pristine_stamp: tokio::sync::OnceCell::new(),
            pristine_lock: tokio::sync::Mutex::new(()),
            keys: key_store(),
            foreign_before: Vec::new(),
            cluster: crate::cluster_state::Watch::new(),
        }
    }

    /// Open the suite of a run: connect to the engine, sweep what killed runs left (only runs
    /// whose owner is gone), list the containers outside the harness, resolve the image. No
    /// container is started here: the baseline is restored when a scenario (or
    /// [`Suite::warm_up`]) first needs it.
    #[tracing::instrument(name = "suite_open", skip_all, fields(run = %o.run.run_id))]
    pub async fn open(o: SuiteOptions) -> Result<Suite> {
        let (engine, image, foreign_before) = if o.needs_engine {
            let docker = crate::docker::connect().await?;
            crate::docker::sweep(&docker, None, false).await?;
            let foreign = crate::docker::foreign_containers(&docker).await?;
            let image = crate::image::resolve(&docker, o.image.as_deref()).await?;
            (Some(docker), image, foreign)
        } else {
            let image = ImageChoice {
                reference: String::new(),
                id: String::new(),
                source: "none (no scenario of the run needs a server)",
            };
            (None, image, Vec::new())
        };
        let mut suite = Suite::new(engine, o.run, o.repo, image, o.dumps);
        if o.plan_dir.is_some() {
            suite.plan_dir = o.plan_dir;
        }
        suite.foreign_before = foreign_before;
        Ok(suite)
    }

    /// The engine. An error only in a run opened for library scenarios alone
    /// (`SuiteOptions::needs_engine` false) when a step asks for a server anyway.
    pub fn docker(&self) -> Result<&Docker> {
        self.engine.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::NoEngine,
                "This run was opened without a Docker Engine (its scenarios are library scenarios), and a step asked for one.",
            )
            .with_hint("Give the scenario `environment: clone` or `container` if it needs a database.")
        })
    }

    /// The snapshots folder of the checkout (`snapshots/`).
    pub fn snapshots(&self) -> PathBuf {
        self.repo.join("snapshots")
    }

    /// Start preparing, at once and in the background of the caller, what `files` share
    /// (see [`Suite::plan_shared`]); awaiting the returned future is the warm-up.
    pub async fn warm_up_for(&self, files: &[&ScenarioFile]) {
        let shared = self.plan_shared_refs(files);
        self.warm_up(shared).await
    }

    /// End of run: remove this run's containers and volumes, then list the containers
    /// outside the harness again (compare with [`Suite::foreign_before`]).
    pub async fn close(&self) -> Result<Vec<ForeignContainer>> {
        self.shutdown().await?;
        crate::docker::foreign_containers(self.docker()?).await
    }

    pub fn plan(&self) -> Result<Plan> {
        match &self.plan_dir {
            Some(d) => Plan::load(d),
            None => Plan::embedded(),
        }
    }

    /// The baseline: the run's restore ([`Suite::run_restore`]) when it passed; a restore that
    /// failed is an error for every scenario that needs the baseline.
    pub async fn baseline(&self) -> Result<Arc<Baseline>> {
        self.baseline
            .get_or_try_init(|| async {
                let r = self.run_restore().await?;
                if !r.outcome.passed {
                    return Err(Error::new(
                        ErrorKind::BaselineRestoreFailed,
                        format!(
                            "restoring the baseline from {} failed: {:?}",
                            self.dumps.dump.display(),
                            r.outcome.messages
                        ),
                    ));
                }
                Ok(Arc::new(Baseline {
                    pg: r.pg.clone(),
                    settings: r.settings.clone(),
                    restore: Some(r),
                    env: None,
                }))
            })
            .await
            .cloned()
    }

    /// The run's one restore of its verified dump ([`RunRestore`]), performed on first use:
    /// the baseline's server (kept WAL for the fingerprints' proofs), or on a persistent
    /// environment a server of its own. A failed `pg_restore` is an outcome, not an error.
    pub async fn run_restore(&self) -> Result<Arc<RunRestore>> {
        self.run_restore
            .get_or_try_init(|| async {
                // Inside the baseline's own initialisation `baseline` is still empty, so only
                // an environment attached before the run shows here.
                let on_environment = self.baseline.get().is_some_and(|b| b.env.is_some());
                let role = if on_environment {
                    "run-restore"
                } else {
                    "baseline"
                };
                let opts = self.restore_options(&self.dumps, role);
                let inputs = restore::preflight_inputs(&opts)?;
                let dump_sha256 = inputs.sums.dump_sha256().unwrap_or_default().to_string();
                let _ = self.dump_sha256.set(dump_sha256.clone());
                let mut spec = PgSpec::new(&self.image.reference, role);
                spec.settings = restore::fast_settings();
                if !on_environment {
                    // keep the WAL the scenarios write (clone creation checkpoints would
                    // recycle it) so that their fingerprints prove untouched tables from it
                    spec.settings
                        .push(("wal_keep_size".to_string(), WAL_KEEP_SIZE.to_string()));
                }
                let pg = PgContainer::start(self.docker()?, &self.run, &spec).await?;
                crate::guard::ensure_owned(self.docker()?, &self.run, &pg.id).await?;
                let t = Instant::now();
                let (ro, _, _) = restore::restore_into(&pg, &self.dumps.dump, self.jobs).await?;
                self.count_restore(&format!("the run's restore ({role})"));
                Ok(Arc::new(RunRestore {
                    pg: Arc::new(pg),
                    outcome: ro,
                    dump_sha256,
                    restore_ms: t.elapsed().as_millis(),
                    settings: spec.settings,
                }))
            })
            .await
            .cloned()
    }

    /// SHA-256 of the run's dump, its backup set verified (once per run; the run's restore
    /// records it too).
    pub async fn dump_sha256(&self) -> Result<String> {
        self.dump_sha256
            .get_or_try_init(|| async { self.dumps.verify() })
            .await
            .cloned()
    }

    /// The run's dump SHA-256, when the front end has verified the backup set already.
    pub fn dump_verified(&self, sha256: &str) {
        let _ = self.dump_sha256.set(sha256.to_string());
    }

    /// Record one `pg_restore` performed for `by` (the run's restore, a scenario's own).
    pub(crate) fn count_restore(&self, by: &str) {
        tracing::info!(by, "restore performed");
        if let Ok(mut v) = self.restores.lock() {
            v.push(by.to_string());
        }
    }

    /// Every `pg_restore` the run performed so far, each with who asked for it.
    pub fn restores(&self) -> Vec<String> {
        self.restores.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Use the persistent environment `name` (attached, see [`crate::environments::attach`]) as the
    /// baseline instead of a restore of this run's own: clones are made on its server from
    /// its `directus` database, the seed is a pg_basebackup of it. Call before any scenario.
    pub fn use_environment(
        &self,
        pg: PgContainer,
        name: &str,
        settings: Vec<(String, String)>,
    ) -> Result<()> {
        self.baseline
            .set(Arc::new(Baseline {
                pg: Arc::new(pg),
                restore: None,
                settings,
                env: Some(name.to_string()),
            }))
            .map_err(|_| {
                Error::new(
                    ErrorKind::BaselineSet,
                    "the run's baseline was prepared before the environment was attached",
                )
            })
    }

    /// The persistent environment the run uses, if any.
    pub fn environment(&self) -> Option<String> {
        self.baseline.get().and_then(|b| b.env.clone())
    }

    /// What the listed scenarios will share. A run that will want the baseline copy says
    /// so here, so that the copy is taken before the first clone exists (see [`Suite::seed`]).
    pub fn plan_shared(&self, files: &[ScenarioFile]) -> Shared {
        let refs: Vec<&ScenarioFile> = files.iter().collect();
        self.plan_shared_refs(&refs)
    }

    fn plan_shared_refs(&self, files: &[&ScenarioFile]) -> Shared {
        let env = |e: Setup| files.iter().any(|f| f.scenario.environment == e);
        if files.iter().any(|f| {
            f.scenario.environment == Setup::Container
                && f.scenario.server_data == ServerData::BaselineCopy
        }) {
            self.seed_wanted.store(true, Ordering::SeqCst);
            Shared::BaselineAndCopy
        } else if env(Setup::Clone) || files.iter().any(|f| judges_run_restore(f)) {
            Shared::Baseline
        } else {
            Shared::Nothing
        }
    }

    /// Prepare what [`Suite::plan_shared`] found, at once (beside the first scenarios); a
    /// failure is only logged here, the scenarios that need it report it.
    pub async fn warm_up(&self, shared: Shared) {
        let res = match shared {
            Shared::Nothing => Ok(()),
            Shared::Baseline => self.baseline().await.map(|_| ()),
            Shared::BaselineAndCopy => self.seed().await.map(|_| ()),
        };
        if let Err(e) = res {
            tracing::warn!(error = %e.message, "preparing the shared baseline failed");
        }
    }

    /// The physical copy of the restored baseline, taken once per run.
    pub async fn seed(&self) -> Result<Arc<Seed>> {
        self.seed
            .get_or_try_init(|| async {
                let b = self.baseline().await?;
                let _g = self.clone_lock.lock().await;
                let path = tempfile::Builder::new()
                    .prefix("dryrun-seed-")
                    .suffix(".tar")
                    .tempfile()
                    .map_err(|e| Error::io(&std::env::temp_dir(), "create a temporary file in", e))?
                    .into_temp_path();
                let t = Instant::now();
                let bytes = b.pg.basebackup_to(&path).await?;
                tracing::info!(
                    bytes,
                    ms = t.elapsed().as_millis() as u64,
                    "baseline copied (pg_basebackup)"
                );
                Ok(Arc::new(Seed { path }))
            })
            .await
            .cloned()
    }

    /// Remove the baseline container (end of run).
    pub async fn shutdown(&self) -> Result<()> {
        let Some(docker) = &self.engine else {
            return Ok(());
        };
        crate::docker::sweep(docker, Some(&self.run.run_id), true)
            .await
            .map(|_| ())
    }

    pub(crate) fn restore_options(&self, d: &DumpSet, role: &str) -> RestoreTestOptions {
        RestoreTestOptions {
            dump: d.dump.clone(),
            sums: d.sums.clone(),
            rowcounts: Some(d.rowcounts.clone()),
            content: None,
            image: Some(self.image.reference.clone()),
            keep: false,
            keep_as: None,
            jobs: self.jobs,
            durable: false,
            role: role.to_string(),
            checks: crate::checks::ChecksChoice::Bundled,
        }
    }
}

/// Whether a restore-phase scenario restores the run's dump unchanged (a `prepare_dump` with
/// `mutate: none`): its restore test then judges the run's restore, the baseline's.
fn judges_run_restore(f: &ScenarioFile) -> bool {
    f.scenario.environment == Setup::Restore
        && f.scenario
            .steps
            .iter()
            .any(|s| matches!(s, Step::PrepareDump(p) if p.mutate == Mutation::None))
}

/// Scheduling rank (lower runs first): own servers, then clone scenarios by step count, then
/// restore-phase scenarios, then library ones. Only the order changes, never the outcome.
pub fn cost_rank(sc: &Scenario) -> (u8, std::cmp::Reverse<usize>) {
    let env = match sc.environment {
        Setup::Container => 0,
        Setup::Clone => 1,
        Setup::Restore => 2,
        Setup::Library => 3,
    };
    (env, std::cmp::Reverse(sc.steps.len()))
}

/// The order in which a run starts its scenarios: longest first (own servers, then the longest
/// clone scenarios), so the parallel slots drain together; ties by id. Only the order changes,
/// never an outcome.
pub fn schedule<'a>(files: impl IntoIterator<Item = &'a ScenarioFile>) -> Vec<&'a ScenarioFile> {
    let mut order: Vec<&ScenarioFile> = files.into_iter().collect();
    order.sort_by_key(|f| (cost_rank(&f.scenario), f.scenario.id.clone()));
    order
}

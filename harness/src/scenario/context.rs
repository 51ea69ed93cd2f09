//! The per-scenario context (`Ctx`): what a scenario's steps share (its database, plan runner,
//! sessions, fingerprints, change sets, writers, evidence) and the helpers every step family uses.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use bollard::Docker;
use serde_json::Value;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::container::{PgContainer, PgSpec, DB_NAME};
use crate::docker::RunIdentity;
use crate::error::{Error, ErrorKind, Result};
use crate::fingerprint::{self, Fingerprint};
use crate::migrate::{self, Runner};
use crate::restore;
use crate::scenario::model::*;
use crate::scenario::outcome::Extra;
use crate::scenario::parser::ScenarioFile;
use crate::scenario::suite::{DumpSet, Suite};

pub(crate) struct ChangeSetState {
    pub(crate) id: Uuid,
    pub(crate) canonical_sha256: String,
    pub(crate) units: Vec<dot_signing::Unit>,
    pub(crate) executor: Option<dot_signing::SignatureRow>,
}

pub(crate) use crate::scenario::writers_state::Writers;

pub(crate) struct Ctx<'a> {
    pub(crate) suite: &'a Suite,
    pub(crate) file: &'a ScenarioFile,
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) own: Option<PgContainer>,
    pub(crate) dbname: Option<String>,
    pub(crate) client: Option<Client>,
    pub(crate) runner: Runner,
    pub(crate) snapshots: HashMap<String, Fingerprint>,
    pub(crate) sessions: HashMap<String, Client>,
    pub(crate) dumps: DumpSet,
    pub(crate) change_sets: HashMap<String, ChangeSetState>,
    pub(crate) listener: Option<cutter_signals::Listener>,
    pub(crate) writers: Option<Writers>,
    /// Fingerprint of the database as it is now, while no step that may write has run since
    /// it was taken (snapshot, compare and approvals only read); `None` once one has.
    pub(crate) current: Option<Fingerprint>,
    /// Stamp of the last data fingerprint taken of this scenario's database: the next one
    /// takes over every table it proves unchanged since (`fingerprint` module doc).
    pub(crate) stamp: Option<fingerprint::Stamp>,
    /// For a clone: xmin of a snapshot taken just before its CREATE DATABASE.
    pub(crate) clone_horizon: Option<u64>,
    /// The server's WAL insert position once this clone existed (`Stamp::for_clone`).
    pub(crate) clone_wal_mark: Option<u64>,
    /// The database is still an untouched clone of the baseline.
    pub(crate) pristine: bool,
    pub(crate) obs: Vec<Value>,
    pub(crate) extra: Extra,
    pub(crate) role: String,
    /// Tables whose snapshot count `prepare_dump` drifted: a restore test must name each.
    pub(crate) drifted: Vec<String>,
    /// The object `prepare_dump` broke in the dump's table of contents (`break_index`): the
    /// restore's non-benign error must name it.
    pub(crate) broken_object: Option<String>,
    /// The step running now: its line and kind (for its evidence).
    pub(crate) at: (usize, &'static str),
    /// Inside `for_each_step`: the plan step k (1-based).
    pub(crate) k: Option<usize>,
    /// A clone scenario's place in the shared server's cluster-global watch (set-up to
    /// teardown, [`crate::cluster_state::Watch`]).
    pub(crate) cluster_entry: Option<crate::cluster_state::Entry<'a>>,
}

pub(crate) fn err_text(e: &Error) -> String {
    format!("[{}] {}", e.kind, e.message)
}

/// Extra connections of a data fingerprint (besides the scenario's own): scenarios already
/// run several at a time on 2 cores, so one helper is enough to keep the server busy.
pub(crate) const FINGERPRINT_HELPERS: usize = 1;
/// An error's text; a database error with its server message and SQLSTATE (the Display of
/// `tokio_postgres::Error` is only "db error").
pub(crate) fn err_any<E: std::fmt::Display + 'static>(e: &E) -> String {
    match (e as &dyn std::any::Any).downcast_ref::<tokio_postgres::Error>() {
        Some(pe) => migrate::classify_db_error(pe).to_string(),
        None => e.to_string(),
    }
}

/// What the report says of an own server's settings: the image's durable defaults.
pub(crate) fn durable_settings() -> Vec<(String, String)> {
    vec![
        ("fsync".into(), "on".into()),
        ("full_page_writes".into(), "on".into()),
    ]
}

impl Ctx<'_> {
    /// Record plan- or data-specific facts of the running step for the report (never the
    /// snapshot).
    pub(crate) fn evidence(&mut self, facts: Value) {
        let k = self.k.map(|k| crate::scenario::evidence::LoopStep {
            k,
            name: self
                .runner
                .plan
                .steps
                .get(k.saturating_sub(1))
                .map(|s| s.name.clone())
                .unwrap_or_default(),
        });
        self.extra
            .evidence
            .push(crate::scenario::evidence::Evidence {
                line: self.at.0,
                step: self.at.1.to_string(),
                k,
                facts,
            });
    }

    /// The plan step `r` names (the loop's k for `k`); 0 only for an offset before step 1.
    pub(crate) fn resolve(&self, r: &StepRef) -> std::result::Result<usize, String> {
        r.resolve(&self.runner.plan, self.k)
    }

    /// The plan step `r` names, which must exist.
    pub(crate) fn resolve_step(&self, r: &StepRef) -> std::result::Result<usize, String> {
        r.resolve_step(&self.runner.plan, self.k)
    }

    /// How many steps the plan has.
    pub(crate) fn plan_len(&self) -> usize {
        self.runner.plan.steps.len()
    }

    pub(crate) fn pg(&self) -> std::result::Result<&PgContainer, String> {
        if let Some(p) = &self.own {
            return Ok(p);
        }
        Err("this step needs a database: use environment clone or container".into())
    }

    pub(crate) fn client(&self) -> std::result::Result<&Client, String> {
        self.client.as_ref().ok_or_else(|| {
            "this step needs a database connection (environment clone or container)".to_string()
        })
    }

    /// The server this scenario's database lives on (its own, or the run's baseline server).
    pub(crate) fn server(&self) -> Option<&PgContainer> {
        match (&self.own, self.suite.baseline.get()) {
            (Some(p), _) => Some(p),
            (None, Some(b)) => Some(&b.pg),
            (None, None) => None,
        }
    }

    pub(crate) async fn connect_db(&self) -> Result<Client> {
        let db = self.dbname.clone().unwrap_or_else(|| DB_NAME.to_string());
        match (&self.own, self.suite.baseline.get()) {
            (Some(p), _) => p.connect(&db).await,
            (None, Some(b)) => b.pg.connect(&db).await,
            (None, None) => Err(Error::new(
                ErrorKind::NoDatabase,
                "no database for this scenario",
            )),
        }
    }

    pub(crate) fn config(&self) -> Result<tokio_postgres::Config> {
        let db = self.dbname.clone().unwrap_or_else(|| DB_NAME.to_string());
        match (&self.own, self.suite.baseline.get()) {
            (Some(p), _) => p.pg_config(&db),
            (None, Some(b)) => b.pg.pg_config(&db),
            (None, None) => Err(Error::new(
                ErrorKind::NoDatabase,
                "no database for this scenario",
            )),
        }
    }

    pub(crate) async fn setup(&mut self) -> Result<()> {
        match self.file.scenario.environment {
            Setup::Restore | Setup::Library => {
                self.extra.strategy = "none (library / restore-test pipeline)".into();
            }
            Setup::Clone => {
                let b = self.suite.baseline().await?;
                if self.suite.seed_wanted.load(Ordering::SeqCst) {
                    // The baseline copy goes first, while the server holds only the restore.
                    self.suite.seed().await?;
                }
                let name = format!(
                    "{}_{}",
                    self.file.scenario.id.to_lowercase(),
                    &Uuid::new_v4().simple().to_string()[..8]
                );
                // On the shared server from here on: the cluster-global state is checked back
                // to the run's baseline at teardown (waits while a leak is being judged).
                let entry = self
                    .suite
                    .cluster
                    .enter(&self.file.scenario.id, || shared_cluster_state(&b.pg))
                    .await?;
                self.cluster_entry = Some(entry);
                {
                    let _g = self.suite.clone_lock.lock().await;
                    let admin = b.pg.connect("postgres").await?;
                    self.clone_horizon = Some(fingerprint::snapshot_xmin(&admin).await?);
                    admin
                        .batch_execute(&crate::container::clone_sql(&name))
                        .await?;
                    // before anything connects to the clone
                    self.clone_wal_mark = fingerprint::insert_mark(&admin).await?;
                }
                crate::guard::ensure_target(
                    self.suite.docker()?,
                    &self.suite.run,
                    &b.pg.id,
                    b.env.as_deref(),
                )
                .await?;
                self.dbname = Some(name);
                self.client = Some(self.connect_db().await?);
                self.pristine = true;
                self.current = self.suite.pristine.get().cloned();
                self.extra.strategy = match &b.env {
                    Some(env) => format!("clone: CREATE DATABASE … TEMPLATE {DB_NAME} STRATEGY FILE_COPY on environment {env}"),
                    None => "clone: CREATE DATABASE … TEMPLATE baseline STRATEGY FILE_COPY".into(),
                };
                self.extra.settings = b.settings.clone();
            }
            Setup::Container if self.file.scenario.server_data == ServerData::BaselineCopy => {
                // Own server with production-like (durable) settings on a physical copy of
                // the restored baseline: no second restore.
                let seed = self.suite.seed().await?;
                let mut spec = PgSpec::new(&self.suite.image.reference, &self.role);
                spec.data_tar = Some(seed.path.to_path_buf());
                let pg = PgContainer::start(self.suite.docker()?, &self.suite.run, &spec).await?;
                crate::guard::ensure_owned(self.suite.docker()?, &self.suite.run, &pg.id).await?;
                // A copy taken after clones existed carries them too: only the restore stays.
                let admin = pg.connect("postgres").await?;
                let extra = admin
                    .query(
                        "SELECT datname::text FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1', $1)",
                        &[&DB_NAME],
                    )
                    .await?;
                for row in extra {
                    let name: String = row.get(0);
                    admin
                        .batch_execute(&crate::container::drop_sql(&name, false))
                        .await?;
                }
                drop(admin);
                self.own = Some(pg);
                self.client = Some(self.connect_db().await?);
                self.extra.strategy = match self.suite.environment() {
                    Some(env) => format!("own container on a physical copy (pg_basebackup) of environment {env}, durable settings"),
                    None => "own container on a physical copy (pg_basebackup) of the restored baseline, durable settings".into(),
                };
                self.extra.settings = durable_settings();
            }
            Setup::Container => {
                // Own server with production-like (durable) settings, restored from the dump.
                let opts = self.suite.restore_options(&self.dumps, &self.role);
                restore::preflight_inputs(&opts)?;
                let spec = PgSpec::new(&self.suite.image.reference, &self.role);
                let pg = PgContainer::start(self.suite.docker()?, &self.suite.run, &spec).await?;
                crate::guard::ensure_owned(self.suite.docker()?, &self.suite.run, &pg.id).await?;
                let (ro, _, _) =
                    restore::restore_into(&pg, &self.dumps.dump, self.suite.jobs).await?;
                self.suite.count_restore(&format!(
                    "{}'s own server (durable settings)",
                    self.file.scenario.id
                ));
                if !ro.passed {
                    return Err(Error::new(
                        ErrorKind::RestoreFailed,
                        format!(
                            "restore into the scenario's own container failed: {:?}",
                            ro.messages
                        ),
                    ));
                }
                self.own = Some(pg);
                self.client = Some(self.connect_db().await?);
                self.extra.strategy =
                    "own container, fresh restore of the verified dump, durable settings".into();
                self.extra.settings = durable_settings();
            }
        }
        Ok(())
    }

    pub(crate) async fn teardown(&mut self) -> Result<()> {
        if let Some(w) = self.writers.take() {
            w.stop.store(true, Ordering::SeqCst);
            for h in w.handles {
                let _ = h.await;
            }
        }
        if let Some(l) = self.listener.take() {
            l.close().await;
        }
        self.sessions.clear();
        self.client = None;
        if let (Some(db), Some(b)) = (self.dbname.take(), self.suite.baseline.get()) {
            let admin = b.pg.connect("postgres").await?;
            admin
                .batch_execute(&crate::container::drop_sql(&db, true))
                .await?;
        }
        if let Some(p) = self.own.take() {
            p.remove().await?;
        }
        // Last: the shared server's cluster-global state, back to the baseline once this
        // scenario's database is gone (an entry dropped by an error above leaves unsampled).
        if let (Some(entry), Some(b)) = (self.cluster_entry.take(), self.suite.baseline.get()) {
            self.suite
                .cluster
                .leave(entry, || shared_cluster_state(&b.pg))
                .await?;
        }
        Ok(())
    }

    /// Fingerprint of the current state: reused while nothing can have written since it was
    /// taken (an untouched clone shares the run's first pristine fingerprint), else taken.
    pub(crate) async fn fingerprint_now(&mut self) -> std::result::Result<Fingerprint, String> {
        let quiet = self.writers.is_none() && self.sessions.is_empty();
        if quiet {
            if let Some(fp) = &self.current {
                return Ok(fp.clone());
            }
        }
        // An untouched clone equals every other untouched clone of the run: the first one takes
        // the run's pristine fingerprint (reading every table) while the others wait for it,
        // instead of each reading every table at the same time.
        let suite = self.suite;
        let _first = if quiet && self.pristine {
            let guard = suite.pristine_lock.lock().await;
            if let Some(fp) = suite.pristine.get() {
                self.current = Some(fp.clone());
                return Ok(fp.clone());
            }
            Some(guard)
        } else {
            None
        };
        let cfg = self.config().map_err(|e| err_text(&e))?;
        let helpers = fingerprint::connect_helpers(&cfg, FINGERPRINT_HELPERS)
            .await
            .map_err(|e| err_text(&e))?;
        if self.stamp.is_none() {
            if let (Some(h), Some(p)) = (self.clone_horizon, self.suite.pristine_stamp.get()) {
                let db = fingerprint::database_id(self.client()?)
                    .await
                    .map_err(|e| err_text(&e))?;
                self.stamp = Some(p.for_clone(db, h, self.clone_wal_mark));
            }
        }
        let (mut fp, run) =
            fingerprint::take_with(self.client()?, &helpers, self.stamp.as_ref(), self.server())
                .await
                .map_err(|e| err_text(&e))?;
        // On a server of its own the scenario sees every change, so its cluster-global state
        // is compared with the schema (a shared server's is the suite's watch).
        if self.own.is_some() {
            fp.schema.cluster = crate::cluster_state::take(self.client()?)
                .await
                .map_err(|e| err_text(&e))?
                .objects;
        }
        tracing::info!(
            scenario = %self.file.scenario.id,
            tables = run.stats.tables,
            proven_unchanged = run.stats.proven_unchanged,
            proven_by_wal = run.stats.proven_by_wal,
            wal_records = run.stats.wal_records,
            hashed = run.stats.hashed,
            rows_hashed = run.stats.rows_hashed,
            bytes_hashed = run.stats.bytes_hashed,
            prove_ms = run.stats.prove_ms,
            hash_ms = run.stats.hash_ms,
            total_ms = run.stats.total_ms,
            "data fingerprint"
        );
        if quiet && self.pristine {
            let _ = self.suite.pristine.set(fp.clone());
            let _ = self.suite.pristine_stamp.set(run.stamp.clone());
        }
        self.stamp = Some(run.stamp);
        if quiet {
            self.current = Some(fp.clone());
        }
        Ok(fp)
    }
}

/// Containers of this run with this role (another run's containers never count).
pub(crate) async fn count_role(docker: &Docker, run: &RunIdentity, role: &str) -> Result<usize> {
    use bollard::query_parameters::ListContainersOptionsBuilder;
    let filters = HashMap::from([(
        "label".to_string(),
        vec![
            format!("{}={role}", crate::docker::LABEL_ROLE),
            format!("{}={}", crate::docker::LABEL_RUN, run.run_id),
        ],
    )]);
    Ok(docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await?
        .len())
}

/// The cluster-global state of the shared server, on a connection of its own.
pub(crate) async fn shared_cluster_state(
    pg: &PgContainer,
) -> Result<crate::cluster_state::ClusterState> {
    let admin = pg.connect("postgres").await?;
    crate::cluster_state::take(&admin).await
}

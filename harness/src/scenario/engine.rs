//! The scenario engine: runs one parsed scenario against real PostgreSQL 16 containers and
//! records its observed outcome (no times, ports, ids or passwords) for the insta snapshot.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::Docker;
use serde_json::{json, Value};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::container::{PgContainer, PgSpec, DB_NAME};
use crate::docker::RunIdentity;
use crate::error::{Error, Result};
use crate::fingerprint::{self, ChangeKind, Fingerprint};
use crate::migrate::{self, Injection, Limits, Runner};
use crate::restore;
use crate::scenario::model::*;
use crate::scenario::parser::ScenarioFile;
use crate::scenario::suite::{random_key, DumpSet, Extra, Failure, Outcome, Suite};

struct ChangeSetState {
    id: Uuid,
    canonical_sha256: String,
    units: Vec<dot_signing::Unit>,
    executor: Option<dot_signing::SignatureRow>,
}

struct Writers {
    stop: Arc<AtomicBool>,
    committed: Arc<Mutex<Vec<i64>>>,
    failed: Arc<Mutex<usize>>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

struct Ctx<'a> {
    suite: &'a Suite,
    file: &'a ScenarioFile,
    tmp: tempfile::TempDir,
    own: Option<PgContainer>,
    dbname: Option<String>,
    client: Option<Client>,
    runner: Runner,
    snapshots: HashMap<String, Fingerprint>,
    sessions: HashMap<String, Client>,
    dumps: DumpSet,
    change_sets: HashMap<String, ChangeSetState>,
    listener: Option<cutter_signals::Listener>,
    writers: Option<Writers>,
    /// Fingerprint of the database as it is now, while no step that may write has run since
    /// it was taken (snapshot, compare and approvals only read); `None` once one has.
    current: Option<Fingerprint>,
    /// Stamp of the last data fingerprint taken of this scenario's database: the next one
    /// takes over every table it proves unchanged since (`fingerprint` module doc).
    stamp: Option<fingerprint::Stamp>,
    /// For a clone: xmin of a snapshot taken just before its CREATE DATABASE.
    clone_horizon: Option<u64>,
    /// The database is still an untouched clone of the baseline.
    pristine: bool,
    obs: Vec<Value>,
    extra: Extra,
    role: String,
    /// Tables whose snapshot count `prepare_dump` drifted: a restore test must name each.
    drifted: Vec<String>,
}

type StepResult = std::result::Result<Value, String>;

fn err_text(e: &Error) -> String {
    format!("[{}] {}", e.kind, e.message)
}

/// Extra connections of a data fingerprint (besides the scenario's own): scenarios already
/// run several at a time on 2 cores, so one helper is enough to keep the server busy.
const FINGERPRINT_HELPERS: usize = 1;
/// An error's text; a database error with its server message and SQLSTATE (the Display of
/// `tokio_postgres::Error` is only "db error").
fn err_any<E: std::fmt::Display + 'static>(e: &E) -> String {
    match (e as &dyn std::any::Any).downcast_ref::<tokio_postgres::Error>() {
        Some(pe) => migrate::classify_db_error(pe).to_string(),
        None => e.to_string(),
    }
}

/// A JSON value for a failure message: strings bare, null as `none`, never Debug-formatted.
fn show(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// What the report says of an own server's settings: the image's durable defaults.
fn durable_settings() -> Vec<(String, String)> {
    vec![
        ("fsync".into(), "on".into()),
        ("full_page_writes".into(), "on".into()),
    ]
}

/// Run one scenario to completion (setup, steps, teardown).
pub async fn run(suite: &Suite, file: &ScenarioFile) -> std::result::Result<Outcome, Failure> {
    let started = Instant::now();
    let sc = &file.scenario;
    let fail0 = |m: String| Failure {
        location: file.location(0),
        message: m,
        partial: Outcome {
            id: sc.id.clone(),
            title: sc.title.clone(),
            environment: sc.environment,
            observations: vec![],
            extra: Extra::default(),
        },
    };
    let plan = suite.plan().map_err(|e| fail0(err_text(&e)))?;
    let tmp = tempfile::Builder::new()
        .prefix("dryrun-scenario-")
        .tempdir()
        .map_err(|e| fail0(e.to_string()))?;
    let mut ctx = Ctx {
        suite,
        file,
        tmp,
        own: None,
        dbname: None,
        client: None,
        runner: Runner::new(plan, Limits::default()),
        snapshots: HashMap::new(),
        sessions: HashMap::new(),
        dumps: suite.dumps.clone(),
        change_sets: HashMap::new(),
        listener: None,
        writers: None,
        obs: Vec::new(),
        extra: Extra::default(),
        role: format!("scenario-{}", sc.id.to_lowercase()),
        current: None,
        stamp: None,
        clone_horizon: None,
        pristine: false,
        drifted: Vec::new(),
    };
    let mut failure: Option<(usize, String)> = None;
    let t = Instant::now();
    let setup = ctx.setup().await;
    tracing::debug!(scenario = %sc.id, ms = t.elapsed().as_millis() as u64, "setup");
    if let Err(e) = setup {
        failure = Some((0, format!("setup failed: {}", err_text(&e))));
    }
    if failure.is_none() {
        crate::fault::hit("scenario").await;
    }
    if failure.is_none() {
        for (i, step) in sc.steps.iter().enumerate() {
            let t = Instant::now();
            let res = ctx.step(step).await;
            tracing::debug!(scenario = %sc.id, step = step.name(), ms = t.elapsed().as_millis() as u64, ok = res.is_ok(), "step");
            match res {
                Ok(v) => {
                    let mut o = json!({ "step": step.name() });
                    if let (Some(m), Value::Object(add)) = (o.as_object_mut(), v) {
                        m.extend(add);
                    }
                    ctx.obs.push(o);
                }
                Err(msg) => {
                    failure = Some((i, msg));
                    break;
                }
            }
        }
    }
    let teardown = ctx.teardown().await;
    ctx.extra.elapsed_ms = started.elapsed().as_millis();
    ctx.extra.approvals = ctx.runner.approvals().to_vec();
    let outcome = Outcome {
        id: sc.id.clone(),
        title: sc.title.clone(),
        environment: sc.environment,
        observations: std::mem::take(&mut ctx.obs),
        extra: ctx.extra.clone(),
    };
    match (failure, teardown) {
        (Some((i, m)), _) => Err(Failure {
            location: file.location(i),
            message: m,
            partial: outcome,
        }),
        (None, Err(e)) => Err(Failure {
            location: file.location(0),
            message: format!("teardown failed: {}", err_text(&e)),
            partial: outcome,
        }),
        (None, Ok(())) => Ok(outcome),
    }
}

impl Ctx<'_> {
    fn pg(&self) -> std::result::Result<&PgContainer, String> {
        if let Some(p) = &self.own {
            return Ok(p);
        }
        Err("this step needs a database: use environment clone or container".into())
    }

    fn client(&self) -> std::result::Result<&Client, String> {
        self.client.as_ref().ok_or_else(|| {
            "this step needs a database connection (environment clone or container)".to_string()
        })
    }

    async fn connect_db(&self) -> Result<Client> {
        let db = self.dbname.clone().unwrap_or_else(|| DB_NAME.to_string());
        match (&self.own, self.suite.baseline.get()) {
            (Some(p), _) => p.connect(&db).await,
            (None, Some(b)) => b.pg.connect(&db).await,
            (None, None) => Err(Error::internal(
                "no_database",
                "no database for this scenario",
            )),
        }
    }

    fn config(&self) -> Result<tokio_postgres::Config> {
        let db = self.dbname.clone().unwrap_or_else(|| DB_NAME.to_string());
        match (&self.own, self.suite.baseline.get()) {
            (Some(p), _) => p.pg_config(&db),
            (None, Some(b)) => b.pg.pg_config(&db),
            (None, None) => Err(Error::internal(
                "no_database",
                "no database for this scenario",
            )),
        }
    }

    async fn setup(&mut self) -> Result<()> {
        match self.file.scenario.environment {
            Environment::Restore | Environment::Library => {
                self.extra.strategy = "none (library / restore-test pipeline)".into();
            }
            Environment::Clone => {
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
                {
                    let _g = self.suite.clone_lock.lock().await;
                    let admin = b.pg.connect("postgres").await?;
                    self.clone_horizon = Some(fingerprint::snapshot_xmin(&admin).await?);
                    admin
                        .batch_execute(&format!(
                            "CREATE DATABASE \"{name}\" TEMPLATE \"{DB_NAME}\" STRATEGY FILE_COPY"
                        ))
                        .await?;
                }
                crate::guard::ensure_target(
                    &self.suite.docker,
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
            Environment::Container
                if self.file.scenario.server_data == ServerData::BaselineCopy =>
            {
                // Own server with production-like (durable) settings on a physical copy of
                // the restored baseline: no second restore.
                let seed = self.suite.seed().await?;
                let mut spec = PgSpec::new(&self.suite.image.reference, &self.role);
                spec.data_tar = Some(seed.path.to_path_buf());
                let pg = PgContainer::start(&self.suite.docker, &self.suite.run, &spec).await?;
                crate::guard::ensure_owned(&self.suite.docker, &self.suite.run, &pg.id).await?;
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
                        .batch_execute(&format!(
                            "DROP DATABASE \"{}\" WITH (FORCE)",
                            name.replace('"', "\"\"")
                        ))
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
            Environment::Container => {
                // Own server with production-like (durable) settings, restored from the dump.
                let opts = self.suite.restore_options(&self.dumps, &self.role);
                restore::preflight_inputs(&opts)?;
                let spec = PgSpec::new(&self.suite.image.reference, &self.role);
                let pg = PgContainer::start(&self.suite.docker, &self.suite.run, &spec).await?;
                crate::guard::ensure_owned(&self.suite.docker, &self.suite.run, &pg.id).await?;
                let (ro, _, _) =
                    restore::restore_into(&pg, &self.dumps.dump, self.suite.jobs).await?;
                if !ro.passed {
                    return Err(Error::check(
                        "restore_failed",
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

    async fn teardown(&mut self) -> Result<()> {
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
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                .await?;
        }
        if let Some(p) = self.own.take() {
            p.remove().await?;
        }
        Ok(())
    }

    /// Fingerprint of the current state: reused while nothing can have written since it was
    /// taken (an untouched clone shares the run's first pristine fingerprint), else taken.
    async fn fingerprint_now(&mut self) -> std::result::Result<Fingerprint, String> {
        let quiet = self.writers.is_none() && self.sessions.is_empty();
        if quiet {
            if let Some(fp) = &self.current {
                return Ok(fp.clone());
            }
        }
        let cfg = self.config().map_err(|e| err_text(&e))?;
        let helpers = fingerprint::connect_helpers(&cfg, FINGERPRINT_HELPERS)
            .await
            .map_err(|e| err_text(&e))?;
        if self.stamp.is_none() {
            if let (Some(h), Some(p)) = (self.clone_horizon, self.suite.pristine_stamp.get()) {
                let db = fingerprint::database_id(self.client()?)
                    .await
                    .map_err(|e| err_text(&e))?;
                self.stamp = Some(p.for_clone(db, h));
            }
        }
        let (fp, run) = fingerprint::take_with(self.client()?, &helpers, self.stamp.as_ref())
            .await
            .map_err(|e| err_text(&e))?;
        tracing::info!(
            scenario = %self.file.scenario.id,
            tables = run.stats.tables,
            proven_unchanged = run.stats.proven_unchanged,
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

    async fn step(&mut self, step: &Step) -> StepResult {
        let reads_only = matches!(
            step,
            Step::Snapshot(_)
                | Step::Compare(_)
                | Step::ApproveRetry(_)
                | Step::Preflight(_)
                | Step::Guard(_)
                | Step::CanonVectors(_)
        );
        if !reads_only {
            self.current = None;
            self.pristine = false;
        }
        match step {
            Step::PrepareDump(p) => self.prepare_dump(p),
            Step::RestoreTest(r) => self.restore_test(r).await,
            Step::Preflight(p) => self.preflight(p),
            Step::Snapshot(name) => {
                let fp = self.fingerprint_now().await?;
                let v = json!({ "name": name, "schema_objects": fp.schema.len(), "tables": fp.data.len() });
                self.snapshots.insert(name.clone(), fp);
                Ok(v)
            }
            Step::Deploy(d) => self.deploy(d).await,
            Step::ApproveRetry(by) => {
                self.runner.approve_retry(by).map_err(|e| err_text(&e))?;
                Ok(json!({ "approved_by": by, "recorded": true }))
            }
            Step::Revert(r) => self.revert(r).await,
            Step::Compare(c) => self.compare(c).await,
            Step::Session(s) => {
                let c = self.connect_db().await.map_err(|e| err_text(&e))?;
                if s.keep_open {
                    c.batch_execute(&format!("BEGIN; {}", s.sql))
                        .await
                        .map_err(|e| format!("session {}: {e}", s.name))?;
                } else {
                    c.batch_execute(&s.sql)
                        .await
                        .map_err(|e| format!("session {}: {e}", s.name))?;
                }
                self.sessions.insert(s.name.clone(), c);
                Ok(json!({ "name": s.name, "transaction_open": s.keep_open }))
            }
            Step::Commit(name) => {
                let c = self
                    .sessions
                    .get(name)
                    .ok_or_else(|| format!("no session named {name}"))?;
                c.batch_execute("COMMIT")
                    .await
                    .map_err(|e| format!("commit of session {name}: {e}"))?;
                Ok(json!({ "name": name, "committed": true }))
            }
            Step::Scalar(s) => {
                let row = self
                    .client()?
                    .query_one(s.sql.as_str(), &[])
                    .await
                    .map_err(|e| format!("{}: {e}", s.sql))?;
                let v: Option<String> = row.try_get(0).map_err(|e| {
                    format!(
                        "{}: the query must return text (cast with ::text): {e}",
                        s.sql
                    )
                })?;
                let v = v.unwrap_or_else(|| "NULL".into());
                if v != s.equals {
                    return Err(format!(
                        "scalar {:?} returned {v:?}, expected {:?}",
                        s.sql, s.equals
                    ));
                }
                Ok(json!({ "sql": s.sql, "value": v }))
            }
            Step::Crash(c) => self.crash(c).await,
            Step::WritersStart(w) => self.writers_start(w).await,
            Step::WritersStop(_) => self.writers_stop().await,
            Step::CanonVectors(v) => {
                let path = self.suite.repo.join(&v.file);
                let r = canon_md::vectors::check_file(&path).map_err(|e| e.to_string())?;
                if r.passed() != v.expect_passed || r.failed() != v.expect_failed {
                    return Err(format!(
                        "vectors: {} (expected {} passed, {} failed)\n{}",
                        r.summary(),
                        v.expect_passed,
                        v.expect_failed,
                        r.render()
                    ));
                }
                Ok(json!({ "file": v.file, "summary": r.summary(), "rule": canon_md::RULE }))
            }
            Step::CanonDeterminism(d) => self.canon_determinism(d).await,
            Step::ChangeSet(c) => self.change_set(c).await,
            Step::Sign(s) => self.sign(s).await,
            Step::BrokenReference(b) => self.broken_reference(b).await,
            Step::Verify(v) => self.verify(v).await,
            Step::AwaitSignal(a) => {
                let cs = self.cs(&a.change_set)?.id;
                let kind: cutter_signals::SignalKind = a
                    .kind
                    .parse()
                    .map_err(|e: cutter_signals::Error| e.to_string())?;
                let l = self
                    .listener
                    .as_mut()
                    .ok_or("no listener: a verify step must run first")?;
                let n = l
                    .await_signal(kind, cs, Duration::from_secs(10))
                    .await
                    .map_err(|e| format!("no {} signal observed: {e}", a.kind))?;
                Ok(
                    json!({ "kind": n.kind.as_str(), "routed_to": n.routed_to, "emitter_dot_id": n.emitter_dot_id, "channel": cutter_signals::CHANNEL }),
                )
            }
            Step::Acknowledge(a) => self.acknowledge(a).await,
            Step::Guard(g) => self.guard(g).await,
            Step::Teardown(_) => {
                self.teardown().await.map_err(|e| err_text(&e))?;
                let mine = count_role(&self.suite.docker, &self.suite.run, &self.role)
                    .await
                    .map_err(|e| err_text(&e))?;
                if mine != 0 {
                    return Err(format!(
                        "{mine} container(s) of this scenario left after teardown"
                    ));
                }
                Ok(json!({ "containers_left": mine }))
            }
        }
    }

    fn prepare_dump(&mut self, p: &PrepareDump) -> StepResult {
        let dir = self.tmp.path();
        let src = &self.suite.dumps;
        let name = |p: &Path| p.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        let dump = dir.join(name(&src.dump));
        let sums = dir.join("SHA256SUMS");
        let rc = dir.join(name(&src.rowcounts));
        let io = |e: std::io::Error| e.to_string();
        std::fs::copy(&src.dump, &dump).map_err(io)?;
        std::fs::copy(&src.sums, &sums).map_err(io)?;
        std::fs::copy(&src.rowcounts, &rc).map_err(io)?;
        // The other files the sums list (schema, log) come along, as a DBA copies a backup set.
        let src_dir = src.sums.parent().unwrap_or(Path::new("."));
        for e in crate::checksum::parse_sums(&src.sums).map_err(|e| err_text(&e))? {
            let (from, to) = (src_dir.join(&e.file), dir.join(&e.file));
            if from.is_file() && !to.exists() {
                std::fs::copy(&from, &to).map_err(io)?;
            }
        }
        let mut recompute = Vec::new();
        match p.mutate {
            Mutation::None => {}
            Mutation::FlipByte => {
                // In place: one byte read and written back (memory does not grow with the dump).
                use std::io::{Read, Seek, SeekFrom, Write};
                let mut f = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&dump)
                    .map_err(io)?;
                let len = f.metadata().map_err(io)?.len();
                let off = p.offset.unwrap_or(len / 2).min(len.saturating_sub(1));
                let mut b = [0u8; 1];
                f.seek(SeekFrom::Start(off)).map_err(io)?;
                f.read_exact(&mut b).map_err(io)?;
                f.seek(SeekFrom::Start(off)).map_err(io)?;
                f.write_all(&[b[0] ^ 0xff]).map_err(io)?;
            }
            Mutation::Truncate => {
                let len = std::fs::metadata(&dump).map_err(io)?.len();
                let keep = (len as f64 * p.keep_fraction.unwrap_or(0.5)) as u64;
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&dump)
                    .map_err(io)?;
                f.set_len(keep).map_err(io)?;
                recompute.push(dump.clone());
            }
        }
        self.drifted.clear();
        if let Some(drifts) = &p.rowcount_drift {
            let mut counts =
                crate::rowcounts::RowCounts::parse_file(&rc).map_err(|e| err_text(&e))?;
            for d in drifts.items() {
                if d.table == "*" {
                    for ((s, t), v) in counts.counts.iter_mut() {
                        *v += d.delta;
                        self.drifted.push(format!("{s}.{t}"));
                    }
                    continue;
                }
                let (s, t) = d
                    .table
                    .split_once('.')
                    .ok_or("rowcount_drift.table must be schema.table or \"*\"")?;
                let v = counts
                    .counts
                    .get_mut(&(s.to_string(), t.to_string()))
                    .ok_or_else(|| format!("{} not in the snapshot", d.table))?;
                *v += d.delta;
                self.drifted.push(d.table.clone());
            }
            self.drifted.sort();
            self.drifted.dedup();
            std::fs::write(&rc, counts.render()).map_err(io)?;
            recompute.push(rc.clone());
        }
        if !recompute.is_empty() {
            let entries = crate::checksum::parse_sums(&sums).map_err(|e| err_text(&e))?;
            let mut text = String::new();
            for e in entries {
                let path = dir.join(&e.file);
                let digest = if recompute.contains(&path) {
                    crate::checksum::sha256_file(&path).map_err(|e| err_text(&e))?
                } else {
                    e.digest
                };
                text.push_str(&format!("{digest}  {}\n", e.name));
            }
            std::fs::write(&sums, text).map_err(io)?;
        }
        let entries = crate::checksum::parse_sums(&sums).map_err(|e| err_text(&e))?;
        let matches = crate::checksum::verify_listed(&dump, &sums, &entries).is_ok();
        self.dumps = DumpSet {
            dump,
            sums,
            rowcounts: rc,
        };
        Ok(json!({
            "mutation": p.mutate,
            "rowcount_drift": match p.rowcount_drift.as_ref().map(|d| d.items()) {
                None => json!(null),
                Some([one]) if one.table != "*" => json!(one.table),
                Some(_) => json!({ "tables_drifted": self.drifted.len() }),
            },
            "dump_matches_sums": matches,
        }))
    }

    async fn restore_test(&mut self, r: &RestoreTestStep) -> StepResult {
        let opts = self.suite.restore_options(&self.dumps, &self.role);
        let before = crate::container::created_count(&self.role);
        let res = restore::restore_test(&self.suite.docker, &self.suite.run, &opts).await;
        let created = crate::container::created_count(&self.role) - before;
        let left = count_role(&self.suite.docker, &self.suite.run, &self.role)
            .await
            .map_err(|e| err_text(&e))?;
        let v = match &res {
            Err(e) => {
                json!({ "verdict": "refused", "error_kind": e.kind, "containers_created": created, "containers_left": left })
            }
            Ok(rep) => {
                // After a fatal error, how far the parallel restore got (and so which benign
                // messages and notes appeared before it) depends on timing: not snapshotted.
                let fatal = rep
                    .restore
                    .as_ref()
                    .is_some_and(|r| r.messages.iter().any(|m| !m.benign));
                const VARIES: &str = "[varies after a fatal error]";
                self.extra.artefacts.extend(
                    rep.verified
                        .iter()
                        .map(|v| (v.file.clone(), v.sha256.clone())),
                );
                json!({
                    "verdict": rep.verdict,
                    "stopped_at": rep.stopped_at,
                    "restore_exit_code": rep.restore.as_ref().map(|r| r.exit_code),
                    // Benign messages in full; fatal ones only counted (with -j their wording and
                    // number depend on which worker hits the damage first).
                    "benign_restore_errors": if fatal { json!(VARIES) } else { json!(rep.restore.as_ref().map(|r| r.messages.iter().filter(|m| m.benign).map(|m| json!({"kind": m.kind, "message": m.message.lines().next().unwrap_or("")})).collect::<Vec<_>>())) },
                    "fatal_restore_errors": rep.restore.as_ref().map(|r| r.messages.iter().any(|m| !m.benign)),
                    "notes": if fatal { json!(VARIES) } else { json!(rep.notes.len()) },
                    "tables_restored": rep.smoke.as_ref().map(|s| s.tables_restored),
                    "tables_expected": rep.smoke.as_ref().and_then(|s| s.tables_expected),
                    "differences": rep.smoke.as_ref().map(|s| s.differences.iter().map(|d| d.relative()).collect::<Vec<_>>()),
                    "key_tables_matching": rep.smoke.as_ref().map(|s| s.key_tables.iter().filter(|k| k.matches).count()),
                    "dot_pair_active": rep.smoke.as_ref().map(|s| s.dot_pair_ok),
                    "containers_created": created,
                    "containers_left": left,
                })
            }
        };
        let verdict = v["verdict"].as_str().unwrap_or("");
        let want = match r.expect {
            RestoreExpect::Pass => "pass",
            RestoreExpect::Fail => "fail",
            RestoreExpect::Refused => "refused",
        };
        if verdict != want {
            let why = match &res {
                Err(e) => err_text(e),
                Ok(rep) => rep.reason.clone().unwrap_or_default(),
            };
            return Err(format!(
                "restore test verdict {verdict}, expected {want}: {why}"
            ));
        }
        if let Some(want) = r.fatal_restore_errors {
            if v["fatal_restore_errors"].as_bool() != Some(want) {
                return Err(format!(
                    "fatal restore errors present: {}, expected {want} (triage of pg_restore's messages)",
                    show(&v["fatal_restore_errors"])
                ));
            }
        }
        if let Some(s) = &r.stopped_at {
            if v["stopped_at"].as_str() != Some(s.as_str()) {
                return Err(format!(
                    "restore test stopped at {}, expected {s}",
                    show(&v["stopped_at"])
                ));
            }
        }
        if let Some(k) = &r.error_kind {
            if v["error_kind"].as_str() != Some(k.as_str()) {
                return Err(format!(
                    "restore test error kind {}, expected {k}",
                    show(&v["error_kind"])
                ));
            }
        }
        if let (Ok(rep), false) = (&res, self.drifted.is_empty()) {
            // Every table whose snapshot count was drifted must be named by the smoke test.
            let named: std::collections::BTreeSet<&str> = rep
                .smoke
                .iter()
                .flat_map(|s| s.differences.iter().map(|d| d.table.as_str()))
                .collect();
            let missed: Vec<&str> = self
                .drifted
                .iter()
                .map(String::as_str)
                .filter(|t| !named.contains(t))
                .collect();
            if !missed.is_empty() {
                return Err(format!(
                    "the smoke test missed the drift of {} of {} drifted table(s): {}",
                    missed.len(),
                    self.drifted.len(),
                    missed.join(", ")
                ));
            }
        }
        if let Some(n) = r.containers_created {
            if created != n {
                return Err(format!("{created} container(s) created, expected {n}"));
            }
        }
        if left != 0 {
            return Err(format!("{left} container(s) left after the restore test"));
        }
        if verdict != "pass" {
            self.extra.failure_stops.push(format!(
                "restore-test stopped: {}",
                v["stopped_at"]
                    .as_str()
                    .or(v["error_kind"].as_str())
                    .unwrap_or("?")
            ));
        }
        Ok(v)
    }

    fn preflight(&mut self, p: &PreflightStep) -> StepResult {
        let info = crate::dumpinfo::inspect(&self.dumps.dump).map_err(|e| err_text(&e))?;
        let created = info.created.ok_or("dump has no creation time")?;
        let now = created + chrono::Duration::minutes(p.clock_minutes_after_dump);
        let res = crate::preflight::check_backup_age(Some(created), now, p.max_age_minutes);
        let (outcome, kind) = match &res {
            Ok(_) => (PassStop::Pass, None),
            Err(e) => (PassStop::Stop, Some(e.kind)),
        };
        if outcome != p.expect {
            return Err(format!(
                "preflight {}, expected {}: {}",
                show(&json!(outcome)),
                show(&json!(p.expect)),
                res.err().map(|e| e.message).unwrap_or_default()
            ));
        }
        if let Some(k) = kind {
            self.extra
                .failure_stops
                .push(format!("preflight stop: {k}"));
        }
        Ok(
            json!({ "age_minutes": p.clock_minutes_after_dump, "max_age_minutes": p.max_age_minutes, "outcome": outcome, "stop_kind": kind }),
        )
    }

    async fn deploy(&mut self, d: &DeployStep) -> StepResult {
        let mut limits = Limits::default();
        if let Some(l) = d.lock_timeout_ms {
            limits.lock_timeout_ms = l;
        }
        if let Some(s) = d.statement_timeout_ms {
            limits.statement_timeout_ms = s;
        }
        match d.limits_step {
            Some(k) => {
                self.runner.limits = Limits::default();
                self.runner.step_limits = Some((k, limits));
            }
            None => {
                self.runner.limits = limits;
                self.runner.step_limits = None;
            }
        }
        let inj = d.inject.as_ref().map(to_injection);
        let client = self.client.as_ref().ok_or("deploy needs a database")?;
        let res = self.runner.deploy(client, d.upto, inj.as_ref()).await;
        // Readable events for a failure message: `step 4 04_cut_unit deploy: noop`.
        let events_text = match &res {
            Ok(o) => o
                .events
                .iter()
                .map(|e| {
                    format!(
                        "step {} {} {}: {}",
                        e.index,
                        e.step,
                        show(&json!(e.phase)),
                        show(&json!(e.status))
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            Err(e) => err_text(e),
        };
        let v = match res {
            Err(e) => json!({ "outcome": "refused", "error_kind": e.kind }),
            Ok(o) => {
                if let Some(s) = &o.stopped {
                    self.extra.failure_stops.push(s.to_string());
                }
                json!({
                    "outcome": if o.stopped.is_some() { "stopped" } else { "applied" },
                    "events": o.events.iter().map(event_json).collect::<Vec<_>>(),
                    "applied": o.applied,
                    "stop": o.stopped.as_ref().map(|s| json!({ "step": s.index, "name": s.step, "phase": s.phase, "cause": s.cause.kind, "sqlstate": s.cause.sqlstate })),
                })
            }
        };
        let outcome = v["outcome"].as_str().unwrap_or("");
        let want = match d.expect.outcome {
            DeployOutcomeKind::Applied => "applied",
            DeployOutcomeKind::Stopped => "stopped",
            DeployOutcomeKind::Refused => "refused",
        };
        // The stop's own words first (step, phase, cause, server message), then the events.
        let stop_text = self
            .runner
            .stopped()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "no failure-stop".into());
        if outcome != want {
            return Err(format!(
                "deploy {outcome}, expected {want}: {stop_text}; events: {events_text}"
            ));
        }
        if let Some(k) = d.expect.stop_step {
            if v["stop"]["step"].as_u64() != Some(k as u64) {
                return Err(format!(
                    "deploy stopped at step {}, expected {k}: {stop_text}",
                    show(&v["stop"]["step"])
                ));
            }
        }
        if let Some(c) = &d.expect.cause {
            if v["stop"]["cause"].as_str() != Some(c.as_str()) {
                return Err(format!(
                    "failure cause {}, expected {c}: {stop_text}",
                    show(&v["stop"]["cause"])
                ));
            }
        }
        Ok(v)
    }

    async fn revert(&mut self, r: &RevertStep) -> StepResult {
        let archive = self.tmp.path().join(format!(
            "governance-archive-{}.jsonl",
            Uuid::new_v4().simple()
        ));
        let client = self.client.as_ref().ok_or("revert needs a database")?;
        let o = self
            .runner
            .revert(client, Some(&archive))
            .await
            .map_err(|e| err_text(&e))?;
        if let Some(s) = &o.stopped {
            return Err(format!("revert stopped: {s}"));
        }
        if let Some(n) = r.expect_noop {
            if o.noop != n {
                return Err(format!("revert noop = {}, expected {n}", o.noop));
            }
        }
        let archive_v = o.archive.as_ref().map(|a| {
            self.extra.artefacts.push((
                format!("governance archive ({})", self.file.scenario.id),
                a.sha256.clone(),
            ));
            json!({ "tables": a.tables, "sha256_recorded": a.sha256.len() == 64 })
        });
        if r.archive && archive_v.is_none() {
            return Err("expected governance rows to be archived before the drop, but no archive was written".into());
        }
        Ok(
            json!({ "noop": o.noop, "events": o.events.iter().map(event_json).collect::<Vec<_>>(), "archive": archive_v }),
        )
    }

    async fn compare(&mut self, c: &CompareStep) -> StepResult {
        let base = self
            .snapshots
            .get(&c.with)
            .ok_or_else(|| format!("no snapshot named {}", c.with))?
            .clone();
        let now = self.fingerprint_now().await?;
        let keep = |s: &str, t: &str| {
            let name = format!("{s}.{t}");
            !c.data_except.contains(&name)
                && (c.data_schemas.is_empty() || c.data_schemas.iter().any(|x| x == s))
        };
        // Negative control (fault.rs): compare row counts only.
        let counts_only = |mut d: fingerprint::DataFingerprint| {
            if crate::fault::sabotaged("content_counts_only") {
                d.tables.values_mut().for_each(|t| t.content_sha256 = None);
            }
            d
        };
        let a = Fingerprint {
            schema: base.schema.clone(),
            data: counts_only(base.data.restrict(keep)),
        };
        let b = Fingerprint {
            schema: now.schema.clone(),
            data: counts_only(now.data.restrict(keep)),
        };
        let diff = a.diff(&b);
        let schema_eq = diff.schema.is_empty();
        let data_eq = diff.data.is_empty();
        let check = |want: Equality, eq: bool, what: &str| -> std::result::Result<(), String> {
            match (want, eq) {
                (Equality::Equal, false) => Err(format!(
                    "{what} fingerprint differs from snapshot {}:\n{}",
                    c.with, diff
                )),
                (Equality::Differs, true) => Err(format!(
                    "{what} fingerprint equals snapshot {}, expected a difference",
                    c.with
                )),
                _ => Ok(()),
            }
        };
        let undetected: Vec<&str> = c
            .data_changed
            .iter()
            .map(String::as_str)
            .filter(|t| {
                !diff
                    .data
                    .iter()
                    .any(|d| format!("{}.{}", d.schema, d.table) == *t)
            })
            .collect();
        if !undetected.is_empty() {
            return Err(format!(
                "the data fingerprint comparison did not detect the change of {} since snapshot {}",
                undetected.join(", "),
                c.with
            ));
        }
        check(c.schema, schema_eq, "schema")?;
        check(c.data, data_eq, "data")?;
        let existing = match c.existing_objects {
            None => None,
            Some(want) => Some(existing_objects(c, want, &base, &now, &diff)?),
        };
        let sigil = |k: ChangeKind| match k {
            ChangeKind::Added => "+",
            ChangeKind::Removed => "-",
            ChangeKind::Changed => "~",
        };
        let schema_changes: Vec<String> = diff
            .schema
            .iter()
            .map(|s| format!("{} {} {}", sigil(s.kind), s.object_kind, s.identity))
            .collect();
        let data_changes: Vec<String> = diff
            .data
            .iter()
            .map(|d| {
                let n = |t: &Option<fingerprint::TableData>| {
                    t.as_ref()
                        .map(|x| x.row_count.to_string())
                        .unwrap_or_else(|| "-".into())
                };
                format!(
                    "{} {}.{} rows {} -> {}",
                    sigil(d.kind),
                    d.schema,
                    d.table,
                    n(&d.before),
                    n(&d.after)
                )
            })
            .collect();
        let mut v = json!({
            "with": c.with,
            "schema": if schema_eq { "equal" } else { "differs" },
            "data": if data_eq { "equal" } else { "differs" },
            "schema_changes": schema_changes,
            "data_changes": if c.data == Equality::Ignore { json!("ignored") } else { json!(data_changes) },
        });
        if let Some(e) = existing {
            v["existing_objects"] = json!(e);
        }
        Ok(v)
    }

    async fn crash(&mut self, c: &CrashStep) -> StepResult {
        let cfg = self.config().map_err(|e| err_text(&e))?;
        // The deploy runs on its own connection whose task we hold, so the client side can be cut.
        let (client, conn) = cfg
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        let conn_task = tokio::spawn(async move {
            let _ = conn.await;
        });
        if c.mode == CrashMode::CutConnection {
            // Let the server notice a vanished client while a statement runs.
            client
                .batch_execute("SET client_connection_check_interval = '100ms'")
                .await
                .map_err(|e| e.to_string())?;
        }
        let plan = self.runner.plan.clone();
        let mut runner = Runner::new(plan, self.runner.limits);
        let inj = Injection::SleepInside {
            step: c.during_step,
            seconds: 30.0,
        };
        let deploy = tokio::spawn(async move {
            let r = runner.deploy(&client, None, Some(&inj)).await;
            (runner, r)
        });
        // Wait until the step sleeps inside its transaction.
        let watcher = self.connect_db().await.map_err(|e| err_text(&e))?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let n: i64 = watcher
                .query_one("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()", &[])
                .await
                .map_err(|e| e.to_string())?
                .get(0);
            if n > 0 {
                break;
            }
            if Instant::now() > deadline {
                return Err("the step never reached its sleep".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        match c.mode {
            CrashMode::KillServer => {
                drop(watcher);
                let pg = self
                    .own
                    .as_ref()
                    .ok_or("kill_server needs environment: container (its own server)")?;
                pg.kill().await.map_err(|e| err_text(&e))?;
            }
            CrashMode::CutConnection => {
                conn_task.abort();
                // The server must end the orphaned backend and roll its transaction back.
                let deadline = Instant::now() + Duration::from_secs(20);
                loop {
                    let n: i64 = watcher
                        .query_one("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()", &[])
                        .await
                        .map_err(|e| e.to_string())?
                        .get(0);
                    if n == 0 {
                        break;
                    }
                    if Instant::now() > deadline {
                        return Err("the server kept the cut connection's backend".into());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        let (runner, res) = deploy.await.map_err(|e| e.to_string())?;
        let outcome = res.map_err(|e| err_text(&e))?;
        let stop = outcome
            .stopped
            .clone()
            .ok_or("the deploy did not stop although its connection was lost")?;
        self.extra.failure_stops.push(stop.to_string());
        let mut restarted = false;
        if c.mode == CrashMode::KillServer {
            self.client = None;
            self.sessions.clear();
            let pg = self.own.as_mut().ok_or("no own container")?;
            pg.restart_after_kill().await.map_err(|e| err_text(&e))?;
            restarted = true;
        }
        self.client = Some(self.connect_db().await.map_err(|e| err_text(&e))?);
        // The stop stays recorded: a later deploy needs an explicit approval.
        self.runner = runner;
        Ok(json!({
            "mode": c.mode,
            "during_step": c.during_step,
            "stop": { "step": stop.index, "name": stop.step, "cause": stop.cause.kind },
            "server_restarted": restarted,
            "recovered": true,
        }))
    }

    async fn writers_start(&mut self, w: &WritersStep) -> StepResult {
        let stop = Arc::new(AtomicBool::new(false));
        let committed = Arc::new(Mutex::new(Vec::new()));
        let failed = Arc::new(Mutex::new(0usize));
        let mut handles = Vec::new();
        for i in 0..w.count {
            let c = self.connect_db().await.map_err(|e| err_text(&e))?;
            let (stop, committed, failed) = (stop.clone(), committed.clone(), failed.clone());
            handles.push(tokio::spawn(async move {
                // Bounded: at most 5000 writes or until stopped; explicit ids leave the sequence alone.
                for n in 0..5000u32 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let r = c
                        .query_one(
                            "INSERT INTO public.universal_edges (id, src_kind, src_id, dst_kind, dst_id, edge_type, created_at) \
                             VALUES ($3, 'writer', $1, 'probe', $2, 'dry_run_write', now()) RETURNING id",
                            &[&format!("w{i}"), &format!("n{n}"), &(900_000_000i64 + (i as i64) * 100_000 + n as i64)],
                        )
                        .await;
                    match r.and_then(|row| row.try_get::<_, i64>(0)) {
                        Ok(id) => {
                            if let Ok(mut v) = committed.lock() {
                                v.push(id)
                            }
                        }
                        Err(_) => {
                            if let Ok(mut f) = failed.lock() {
                                *f += 1
                            }
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
        self.writers = Some(Writers {
            stop,
            committed,
            failed,
            handles,
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(json!({ "writers": w.count }))
    }

    async fn writers_stop(&mut self) -> StepResult {
        let w = self.writers.take().ok_or("no writers running")?;
        w.stop.store(true, Ordering::SeqCst);
        for h in w.handles {
            h.await.map_err(|e| e.to_string())?;
        }
        let ids = w.committed.lock().map(|v| v.clone()).unwrap_or_default();
        let failed = w.failed.lock().map(|f| *f).unwrap_or(0);
        let found: i64 = self
            .client()?
            .query_one(
                "SELECT count(*) FROM public.universal_edges WHERE id = ANY($1)",
                &[&ids],
            )
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        let missing = ids.len() as i64 - found;
        if ids.is_empty() {
            return Err("the writers committed nothing".into());
        }
        if missing != 0 {
            return Err(format!(
                "{missing} of {} committed writes are missing",
                ids.len()
            ));
        }
        Ok(json!({ "committed_writes_present": true, "missing": missing, "failed_writes": failed }))
    }

    async fn canon_determinism(&mut self, d: &CanonDeterminismStep) -> StepResult {
        let client = self.client()?;
        let rows = client
            .query(d.source_sql.as_str(), &[])
            .await
            .map_err(|e| e.to_string())?;
        let mut docs = 0usize;
        let mut tokens = 0usize;
        let mut bytes_total = 0usize;
        client
            .batch_execute("CREATE TEMP TABLE canon_round_trip (n int PRIMARY KEY, canonical text NOT NULL, tokens jsonb NOT NULL)")
            .await
            .map_err(|e| e.to_string())?;
        let mut expected = Vec::new();
        for (n, row) in rows.iter().enumerate() {
            let body: String = row.try_get(0).map_err(|e| e.to_string())?;
            let a = canon_md::canonicalize(body.as_bytes()).map_err(|e| e.to_string())?;
            let b = canon_md::canonicalize(body.as_bytes()).map_err(|e| e.to_string())?;
            if a.bytes() != b.bytes() || a.tokens() != b.tokens() {
                return Err(format!("document {n}: two runs differ"));
            }
            let again = canon_md::canonicalize(a.bytes()).map_err(|e| e.to_string())?;
            if again.bytes() != a.bytes() {
                return Err(format!("document {n}: not idempotent"));
            }
            let toks: Vec<(usize, usize)> = a
                .tokens()
                .iter()
                .map(|t| (t.byte_start, t.byte_end))
                .collect();
            client
                .execute(
                    "INSERT INTO canon_round_trip VALUES ($1, $2, $3)",
                    &[
                        &(n as i32),
                        &a.text(),
                        &serde_json::to_value(&toks).map_err(|e| e.to_string())?,
                    ],
                )
                .await
                .map_err(|e| e.to_string())?;
            docs += 1;
            tokens += toks.len();
            bytes_total += a.len();
            expected.push((a.sha256_hex(), toks));
        }
        let back = client
            .query(
                "SELECT n, canonical, tokens FROM canon_round_trip ORDER BY n",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        for row in back {
            let n: i32 = row.get(0);
            let text: String = row.get(1);
            let stored: Value = row.get(2);
            let c = canon_md::canonicalize(text.as_bytes()).map_err(|e| e.to_string())?;
            let toks: Vec<(usize, usize)> = c
                .tokens()
                .iter()
                .map(|t| (t.byte_start, t.byte_end))
                .collect();
            let (sha, exp) = &expected[n as usize];
            if &c.sha256_hex() != sha
                || &toks != exp
                || serde_json::to_value(&toks).ok().as_ref() != Some(&stored)
            {
                return Err(format!(
                    "document {n}: positions changed across the database round trip"
                ));
            }
        }
        client
            .batch_execute("DROP TABLE canon_round_trip")
            .await
            .map_err(|e| e.to_string())?;
        Ok(
            json!({ "documents": docs, "tokens": tokens, "canonical_bytes": bytes_total, "deterministic": true, "idempotent": true, "round_trip_stable": true }),
        )
    }

    fn cs(&self, name: &str) -> std::result::Result<&ChangeSetState, String> {
        self.change_sets
            .get(name)
            .ok_or_else(|| format!("no change set named {name}"))
    }

    async fn change_set(&mut self, c: &ChangeSetStep) -> StepResult {
        let client = self.client()?;
        let body: String = client
            .query_one(c.source_sql.as_str(), &[])
            .await
            .map_err(|e| err_any(&e))?
            .try_get(0)
            .map_err(|e| err_any(&e))?;
        let canon = canon_md::canonicalize(body.as_bytes()).map_err(|e| err_any(&e))?;
        let toks = canon.tokens();
        if toks.len() < c.units || c.units == 0 {
            return Err(format!(
                "source has {} tokens, cannot make {} units",
                toks.len(),
                c.units
            ));
        }
        let id = Uuid::new_v4();
        client
            .execute(
                "INSERT INTO cutter_governance.cut_change_set (id, state, source_ref, source_canonical_sha256) VALUES ($1, 'draft', $2, $3)",
                &[&id, &c.source_sql, &canon.sha256_hex()],
            )
            .await
            .map_err(|e| err_any(&e))?;
        let per = toks.len() / c.units;
        let mut units = Vec::new();
        let mut spans = Vec::new();
        for u in 0..c.units {
            let first = &toks[u * per];
            let last = if u + 1 == c.units {
                &toks[toks.len() - 1]
            } else {
                &toks[(u + 1) * per - 1]
            };
            let span = canon
                .span_to_tokens(first.byte_start, last.byte_end)
                .map_err(|e| err_any(&e))?;
            client
                .execute(
                    "INSERT INTO cutter_governance.cut_unit (change_set_id, byte_start, byte_end, start_token_position, end_token_position) VALUES ($1, $2, $3, $4, $5)",
                    &[&id, &(first.byte_start as i64), &(last.byte_end as i64), &(span.start_token_position as i32), &(span.end_token_position as i32)],
                )
                .await
                .map_err(|e| err_any(&e))?;
            units.push(dot_signing::Unit {
                start_token_position: span.start_token_position as u64,
                end_token_position: span.end_token_position as u64,
            });
            spans.push(json!([span.start_token_position, span.end_token_position]));
        }
        let sha = canon.sha256_hex();
        self.change_sets.insert(
            c.name.clone(),
            ChangeSetState {
                id,
                canonical_sha256: sha.clone(),
                units,
                executor: None,
            },
        );
        Ok(
            json!({ "name": c.name, "canonical_sha256": sha, "tokens": toks.len(), "units": spans, "state": "draft" }),
        )
    }

    fn cut_payload(&self, cs: &ChangeSetState) -> dot_signing::CutPayload {
        dot_signing::CutPayload {
            change_set_id: cs.id,
            canonicalization_rule_used: canon_md::RULE.into(),
            canonical_sha256: cs.canonical_sha256.clone(),
            units: cs.units.clone(),
        }
    }

    async fn registered_revision(&self, dot: i32) -> std::result::Result<String, String> {
        let row = self
            .client()?
            .query_one("SELECT tool_revision FROM cutter_governance.dot_tool_revision WHERE dot_id = $1 ORDER BY registered_at DESC LIMIT 1", &[&dot])
            .await
            .map_err(|e| e.to_string())?;
        row.try_get(0).map_err(|e| e.to_string())
    }

    async fn insert_signature(
        &self,
        row: &dot_signing::SignatureRow,
    ) -> std::result::Result<(), tokio_postgres::Error> {
        let c = row.to_columns();
        self.client
            .as_ref()
            .expect("checked by caller")
            .execute(
                "INSERT INTO cutter_governance.dot_pair_signature (id, signature_kind, payload_envelope, payload_hash, signature_payload, signed_at, signer_dot_id, signer_tool_revision, credential_ref, change_set_id, verifies_signature_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
                &[&c.id, &c.signature_kind, &c.payload_envelope, &c.payload_hash, &c.signature_payload, &c.signed_at, &c.signer_dot_id, &c.signer_tool_revision, &c.credential_ref, &c.change_set_id, &c.verifies_signature_id],
            )
            .await
            .map(|_| ())
    }

    async fn sign(&mut self, s: &SignStep) -> StepResult {
        self.client()?;
        let (dot, cref) = match s.kind {
            SignatureKind::ExecutorCut => (992, "mem:dot-992"),
            SignatureKind::VerifierCut => (991, "mem:dot-991"),
        };
        let registered = self.registered_revision(dot).await?;
        let rev = s.signer_tool_revision.clone().unwrap_or(registered);
        let cref = dot_signing::CredentialRef::parse(cref).map_err(|e| e.to_string())?;
        let cs = self.cs(&s.change_set)?;
        let payload = self.cut_payload(cs);
        let row = match s.kind {
            SignatureKind::ExecutorCut => dot_signing::sign_executor(
                &payload,
                &dot_signing::Signer::executor(rev.clone(), cref),
                &self.suite.keys,
            ),
            SignatureKind::VerifierCut => {
                let exec = cs.executor.as_ref().ok_or("sign the executor_cut first")?;
                dot_signing::sign_verifier(
                    exec,
                    &payload,
                    &dot_signing::Signer::verifier(rev.clone(), cref),
                    &self.suite.keys,
                )
            }
        }
        .map_err(|e| e.to_string())?;
        self.insert_signature(&row)
            .await
            .map_err(|e| format!("the database rejected the {:?} signature: {e}", s.kind))?;
        let same_cs = row.change_set_id() == Some(self.cs(&s.change_set)?.id);
        if s.kind == SignatureKind::ExecutorCut {
            if let Some(c) = self.change_sets.get_mut(&s.change_set) {
                c.executor = Some(row.clone());
            }
        }
        let (cs_col, sig_col) = row.references.to_columns();
        Ok(json!({
            "kind": s.kind,
            "signer_dot_id": row.signer_dot_id,
            "accepted_by_database": true,
            "envelope_change_set_matches": same_cs,
            "references": if cs_col.is_some() { "change_set" } else if sig_col.is_some() { "signature" } else { "none" },
            "scheme": row.signature_payload.split(':').take(2).collect::<Vec<_>>().join(":"),
            "payload_hash_hex_len": row.payload_hash.len(),
        }))
    }

    async fn broken_reference(&mut self, b: &BrokenReferenceStep) -> StepResult {
        let cs = self.cs(&b.change_set)?;
        let exec = cs.executor.clone().ok_or("sign the executor_cut first")?;
        let (csid, sig) = match b.references.as_str() {
            "none" => (None, None),
            "both" => (Some(cs.id), Some(exec.signature_id)),
            x => return Err(format!("references must be none or both, not {x}")),
        };
        let lib = match dot_signing::CrossRef::from_columns(csid, sig) {
            Ok(_) => return Err("the library accepted a broken cross reference".into()),
            Err(e) => e.name(),
        };
        let mut cols = exec.to_columns();
        cols.id = Uuid::new_v4();
        cols.change_set_id = csid;
        cols.verifies_signature_id = sig;
        let db = self
            .client()?
            .execute(
                "INSERT INTO cutter_governance.dot_pair_signature (id, signature_kind, payload_envelope, payload_hash, signature_payload, signed_at, signer_dot_id, signer_tool_revision, credential_ref, change_set_id, verifies_signature_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
                &[&cols.id, &cols.signature_kind, &cols.payload_envelope, &cols.payload_hash, &cols.signature_payload, &cols.signed_at, &cols.signer_dot_id, &cols.signer_tool_revision, &cols.credential_ref, &cols.change_set_id, &cols.verifies_signature_id],
            )
            .await;
        let constraint = match db {
            Ok(_) => return Err("the database accepted a broken cross reference".into()),
            Err(e) => e
                .as_db_error()
                .map(|d| {
                    (
                        d.code().code().to_string(),
                        d.constraint().unwrap_or("").to_string(),
                    )
                })
                .unwrap_or_default(),
        };
        Ok(
            json!({ "references": b.references, "library": { "rejected": true, "error": lib }, "database": { "rejected": true, "sqlstate": constraint.0, "constraint": constraint.1 } }),
        )
    }

    async fn ensure_listener(&mut self) -> std::result::Result<(), String> {
        if self.listener.is_none() {
            let cfg = self.config().map_err(|e| err_text(&e))?;
            self.listener = Some(
                cutter_signals::Listener::connect(&cfg)
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(())
    }

    async fn load_signatures(
        &self,
        cs: Uuid,
    ) -> std::result::Result<Vec<dot_signing::SignatureRow>, String> {
        let rows = self
            .client()?
            .query(
                "SELECT s.id, s.signature_kind, s.payload_envelope, s.payload_hash, s.signature_payload, s.signed_at, s.signer_dot_id, s.signer_tool_revision, s.credential_ref, s.change_set_id, s.verifies_signature_id \
                 FROM cutter_governance.dot_pair_signature s \
                 WHERE s.change_set_id = $1 OR s.verifies_signature_id IN (SELECT id FROM cutter_governance.dot_pair_signature WHERE change_set_id = $1) \
                 ORDER BY s.signature_kind",
                &[&cs],
            )
            .await
            .map_err(|e| e.to_string())?;
        rows.iter()
            .map(|r| {
                let cols = dot_signing::SignatureColumns {
                    id: r.get(0),
                    signature_kind: r.get(1),
                    payload_envelope: r.get(2),
                    payload_hash: r.get(3),
                    signature_payload: r.get(4),
                    signed_at: r.get(5),
                    signer_dot_id: r.get(6),
                    signer_tool_revision: r.get(7),
                    credential_ref: r.get(8),
                    change_set_id: r.get(9),
                    verifies_signature_id: r.get(10),
                };
                dot_signing::SignatureRow::from_columns(cols).map_err(|e| e.to_string())
            })
            .collect()
    }

    async fn verify(&mut self, v: &VerifyStep) -> StepResult {
        self.ensure_listener().await?;
        let cs_id = self.cs(&v.change_set)?.id;
        let client = self.client()?;
        if v.tamper_payload {
            client
                .execute(
                    "UPDATE cutter_governance.dot_pair_signature SET payload_envelope = jsonb_set(payload_envelope, '{canonical_sha256}', to_jsonb(repeat('0', 64))) WHERE change_set_id = $1",
                    &[&cs_id],
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        if v.drop_signature {
            client
                .execute("DELETE FROM cutter_governance.dot_pair_signature WHERE verifies_signature_id IN (SELECT id FROM cutter_governance.dot_pair_signature WHERE change_set_id = $1)", &[&cs_id])
                .await
                .map_err(|e| e.to_string())?;
        }
        let rows = self.load_signatures(cs_id).await?;
        let exec = rows.iter().find(|r| r.signer_dot_id == 992);
        let verif = rows.iter().find(|r| r.signer_dot_id == 991);
        let mut outcomes = Vec::new();
        let mut signals = Vec::new();
        let mut drift = false;
        // Other keys than the signers': every present signature must fail as wrong_key.
        let other_keys = v.wrong_key.then(|| {
            let mut s = dot_signing::MemoryStore::new();
            for name in ["dot-992", "dot-991"] {
                if let Ok(r) = dot_signing::CredentialRef::memory(name) {
                    s.insert(&r, random_key());
                }
            }
            s
        });
        let keys = match &other_keys {
            Some(k) if !crate::fault::sabotaged("wrong_key_ignored") => k,
            _ => &self.suite.keys,
        };
        for (dot, row) in [(992, exec), (991, verif)] {
            let registered = self.registered_revision(dot).await?;
            let res = dot_signing::verify(row, keys, &registered);
            outcomes.push(res.name().to_string());
            if let Some(kind) = res.signal_kind() {
                let k: cutter_signals::SignalKind = kind
                    .parse()
                    .map_err(|e: cutter_signals::Error| e.to_string())?;
                if k == cutter_signals::SignalKind::DotPairDrift {
                    drift = true;
                }
                let sig = cutter_signals::emit(
                    self.client()?,
                    k,
                    cs_id,
                    dot,
                    json!({ "outcome": res.name(), "signer_dot_id": dot }),
                )
                .await
                .map_err(|e| e.to_string())?;
                signals.push(json!({ "kind": sig.kind.as_str(), "routed_to": sig.routed_to, "emitter_dot_id": sig.emitter_dot_id }));
            }
        }
        let state = if drift {
            self.client()?
                .execute("UPDATE cutter_governance.cut_change_set SET state = 'invalid_drift', tool_revision_match = false, updated_at = now() WHERE id = $1", &[&cs_id])
                .await
                .map_err(|e| e.to_string())?;
            "invalid_drift"
        } else if outcomes.iter().all(|o| o == "valid") {
            self.client()?
                .execute("UPDATE cutter_governance.cut_change_set SET state = 'verified', tool_revision_match = true, updated_at = now() WHERE id = $1", &[&cs_id])
                .await
                .map_err(|e| e.to_string())?;
            "verified"
        } else {
            "draft"
        };
        let db_state: String = self
            .client()?
            .query_one(
                "SELECT state FROM cutter_governance.cut_change_set WHERE id = $1",
                &[&cs_id],
            )
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        if outcomes != v.expect {
            return Err(format!(
                "verification of change set {} gave {}, expected {}",
                v.change_set,
                outcomes.join(", "),
                v.expect.join(", ")
            ));
        }
        Ok(
            json!({ "outcomes": outcomes, "signals_emitted": signals, "change_set_state": db_state, "expected_state": state }),
        )
    }

    async fn acknowledge(&mut self, a: &AcknowledgeStep) -> StepResult {
        let cs = self.cs(&a.change_set)?.id;
        let kind: cutter_signals::SignalKind = a
            .kind
            .parse()
            .map_err(|e: cutter_signals::Error| e.to_string())?;
        let id = if a.expect == "unknown_signal" {
            Uuid::new_v4()
        } else {
            let f = cutter_signals::SignalFilter {
                kind: Some(kind),
                change_set_id: Some(cs),
                acknowledged: None,
                limit: Some(1),
            };
            let list = cutter_signals::list(self.client()?, &f)
                .await
                .map_err(|e| e.to_string())?;
            list.first()
                .map(|s| s.id)
                .ok_or_else(|| format!("no {} signal stored for {}", a.kind, a.change_set))?
        };
        let res = cutter_signals::acknowledge(self.client()?, id, &a.by).await;
        let got = match &res {
            Ok(_) => "ok",
            Err(cutter_signals::Error::AlreadyAcknowledged { .. }) => "already_acknowledged",
            Err(cutter_signals::Error::UnknownSignal(_)) => "unknown_signal",
            Err(_) => "error",
        };
        if got != a.expect {
            return Err(format!(
                "acknowledge gave {got}, expected {}: {:?}",
                a.expect,
                res.err().map(|e| e.to_string())
            ));
        }
        Ok(
            json!({ "kind": a.kind, "by": a.by, "result": got, "acknowledged_by": res.ok().and_then(|s| s.acknowledged_by) }),
        )
    }

    async fn guard(&mut self, g: &GuardStep) -> StepResult {
        let target = match g.target.as_str() {
            "nonexistent" => "dryrun-no-such-container".to_string(),
            "foreign" => {
                // A container of another run (another owner) on the same engine.
                let other = RunIdentity::new();
                let mut spec = PgSpec::new(&self.suite.image.reference, "foreign");
                spec.publish = false;
                let pg = PgContainer::start(&self.suite.docker, &other, &spec)
                    .await
                    .map_err(|e| err_text(&e))?;
                let res =
                    crate::guard::ensure_owned(&self.suite.docker, &self.suite.run, &pg.id).await;
                pg.remove().await.map_err(|e| err_text(&e))?;
                return match res {
                    Ok(()) => Err("the guard accepted a container of another run".into()),
                    Err(e) => {
                        Ok(json!({ "target": "foreign", "refused": true, "error_kind": e.kind }))
                    }
                };
            }
            "own" => {
                let id = self.pg()?.id.clone();
                crate::guard::ensure_owned(&self.suite.docker, &self.suite.run, &id)
                    .await
                    .map_err(|e| err_text(&e))?;
                return Ok(json!({ "target": "own", "refused": false }));
            }
            x => {
                return Err(format!(
                    "guard target must be foreign, nonexistent or own, not {x}"
                ))
            }
        };
        match crate::guard::ensure_owned(&self.suite.docker, &self.suite.run, &target).await {
            Ok(()) => Err(format!("the guard accepted {target}")),
            Err(e) => Ok(json!({ "target": g.target, "refused": true, "error_kind": e.kind })),
        }
    }
}

/// `existing_objects` of a compare: the schema changes outside the schemas that are new since
/// the snapshot (objects of pre-existing schemas, and unqualified ones such as extensions).
/// `equal` fails naming each such object; returns `equal` or `differs`.
fn existing_objects(
    c: &CompareStep,
    want: Equality,
    base: &Fingerprint,
    now: &Fingerprint,
    diff: &fingerprint::FingerprintDiff,
) -> std::result::Result<&'static str, String> {
    let schemas = |f: &Fingerprint| -> std::collections::BTreeSet<String> {
        f.schema
            .objects
            .keys()
            .filter(|(k, _)| k == "schema")
            .map(|(_, i)| i.clone())
            .collect()
    };
    let new: Vec<String> = schemas(now).difference(&schemas(base)).cloned().collect();
    // An object is in a new schema when its identity is the schema itself or is qualified by
    // it (`s.x`, or `table s.x` for comments, privileges and other objects).
    let in_new = |ident: &str| {
        new.iter().any(|s| {
            ident == s
                || ident.starts_with(&format!("{s}."))
                || ident.ends_with(&format!(" {s}"))
                || ident.contains(&format!(" {s}."))
        })
    };
    let outside: Vec<String> = diff
        .schema
        .iter()
        .filter(|ch| !in_new(&ch.identity))
        .map(|ch| {
            let sigil = match ch.kind {
                ChangeKind::Added => "added",
                ChangeKind::Removed => "removed",
                ChangeKind::Changed => "changed",
            };
            format!("{sigil} {} {}", ch.object_kind, ch.identity)
        })
        .collect();
    let eq = outside.is_empty();
    match (want, eq) {
        (Equality::Equal, false) => Err(format!(
            "{} object(s) outside the new schema(s) [{}] changed since snapshot {} (a pre-existing object was altered):\n{}",
            outside.len(),
            new.join(", "),
            c.with,
            outside.join("\n")
        )),
        (Equality::Differs, true) => Err(format!(
            "no object outside the new schema(s) changed since snapshot {}, expected a difference",
            c.with
        )),
        _ => Ok(if eq { "equal" } else { "differs" }),
    }
}

fn to_injection(i: &Inject) -> Injection {
    match i {
        Inject::FailBefore(k) => Injection::FailBefore(*k),
        Inject::FailInside(k) => Injection::FailInside(*k),
        Inject::VerifyFails(k) => Injection::VerifyFails(*k),
        Inject::SleepInside { step, seconds } => Injection::SleepInside {
            step: *step,
            seconds: *seconds,
        },
    }
}

fn event_json(e: &migrate::StepEvent) -> Value {
    let mut v = json!({ "step": e.index, "phase": e.phase, "status": e.status });
    if let Some(err) = &e.error {
        v["cause"] = json!(err.kind);
    }
    v
}

/// Containers of this run with this role (another run's containers never count).
async fn count_role(docker: &Docker, run: &RunIdentity, role: &str) -> Result<usize> {
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

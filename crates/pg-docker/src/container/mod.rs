//! PostgreSQL 16 containers of a run, on testcontainers: the image contract, provisioning with
//! labels, a random password and a 127.0.0.1-only port, readiness, exec, uploads, kill/restart, removal.

mod exec;
mod pg_image;
mod secret;
mod sql;
mod transfer;
mod volume;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::PortBinding;
use bollard::query_parameters::{
    KillContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use testcontainers::core::AccessMode;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ImageExt, TestcontainersError};

use crate::docker::{classify, RunIdentity};
use crate::error::{Error, ErrorKind, Result};

pub use exec::{exec_env, exec_in, psql_script, QUIET_NOTICES};
pub use pg_image::Postgres16;
use secret::short_rand;
pub use secret::Secret;
pub use sql::{clone_sql, drop_sql};
use volume::{
    count_created, create_named_volume, sanitize, seed_volume, tar_stream, upload_tar_to,
};
pub use volume::{create_volume, create_volume_with, created_count, remove_volume};

/// Data directory inside the container (the official image's PGDATA).
pub const PGDATA: &str = "/var/lib/postgresql/data";
/// Superuser and database the harness creates, as on the production server.
pub const DB_USER: &str = "directus";
pub const DB_NAME: &str = "directus";
const READY_LINE: &str = "database system is ready to accept connections";

/// What to start.
#[derive(Debug, Clone)]
pub struct PgSpec {
    pub image: String,
    /// Role label (restore-test, baseline, scenario-S17, source ...).
    pub role: String,
    /// Publish 5432 on 127.0.0.1 with a random host port.
    pub publish: bool,
    /// Server settings passed as `-c key=value`.
    pub settings: Vec<(String, String)>,
    /// Start on an existing volume (already initialised data directory) instead of a new one.
    pub existing_volume: Option<String>,
    /// Password to use (needed when starting on an existing data directory).
    pub password: Option<Secret>,
    /// Further volumes to mount (e.g. the baseline's physical copy).
    pub extra_mounts: Vec<ExtraMount>,
    /// Further environment variables (`KEY=value`).
    pub env: Vec<String>,
    /// Start on a copy of another server's data directory: a `pg_basebackup` tar (see
    /// [`PgContainer::basebackup_to`]) unpacked into PGDATA before the first start. The
    /// copy keeps the source's roles, so `password` must be the source's.
    pub data_tar: Option<std::path::PathBuf>,
    /// Container name (else `dryrun-<run>-<role>-<random>`); its volume is then `<name>-data`.
    pub name: Option<String>,
    /// Labels added to the run's on both the container and its data volume (e.g. kept,
    /// persistent environment).
    pub labels: Vec<(String, String)>,
}

/// A volume mounted besides the data directory.
#[derive(Debug, Clone)]
pub struct ExtraMount {
    pub volume: String,
    pub target: String,
    pub read_only: bool,
    /// Removed together with the container (otherwise another container owns it).
    pub owned: bool,
}

impl PgSpec {
    pub fn new(image: &str, role: &str) -> Self {
        PgSpec {
            image: image.to_string(),
            role: role.to_string(),
            publish: true,
            settings: Vec::new(),
            existing_volume: None,
            password: None,
            extra_mounts: Vec::new(),
            env: Vec::new(),
            data_tar: None,
            name: None,
            labels: Vec::new(),
        }
    }
}

/// Result of a command run inside a container.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// A running PostgreSQL container owned by this run.
pub struct PgContainer {
    docker: Docker,
    pub id: String,
    pub name: String,
    pub volume: String,
    pub host_port: Option<u16>,
    pub image: String,
    pub run_id: String,
    password: Secret,
    /// Extra volumes removed with the container.
    owned_volumes: Vec<String>,
    removed: bool,
    /// Attached to a container another command created (a persistent environment): never
    /// removed by this process, neither on drop nor by [`PgContainer::remove`].
    attached: bool,
    /// testcontainers' handle of a container this process started (none when attached).
    tc: Option<ContainerAsync<Postgres16>>,
}

impl std::fmt::Debug for PgContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgContainer")
            .field("name", &self.name)
            .field("volume", &self.volume)
            .finish_non_exhaustive()
    }
}

/// How long a start (creation, init, the ready lines and the probe) may take.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(180);

impl PgContainer {
    /// Create volume + container, start it and wait until PostgreSQL accepts connections.
    #[tracing::instrument(target = "harness::container", name = "pg_start", skip_all, fields(role = %spec.role))]
    pub async fn start(docker: &Docker, run: &RunIdentity, spec: &PgSpec) -> Result<PgContainer> {
        // testcontainers pulls an image the engine lacks; no registry may be contacted, so a
        // missing image is refused here.
        if let Err(e) = docker.inspect_image(&spec.image).await {
            return Err(image_error(e, &spec.image));
        }
        let fresh = spec.existing_volume.is_none();
        let mut labels = run.labels(&spec.role);
        labels.extend(spec.labels.iter().cloned());
        let volume = match (&spec.existing_volume, &spec.name) {
            (Some(v), _) => v.clone(),
            (None, Some(n)) => {
                create_named_volume(docker, &format!("{n}-data"), labels.clone(), None).await?
            }
            (None, None) => {
                let v = format!(
                    "dryrun-{}-{}-{}",
                    run.run_id.to_lowercase(),
                    sanitize(&spec.role),
                    short_rand()
                );
                create_named_volume(docker, &v, labels.clone(), None).await?
            }
        };
        let password = spec.password.clone().unwrap_or_else(Secret::random);
        let name = spec.name.clone().unwrap_or_else(|| {
            format!(
                "dryrun-{}-{}-{}",
                run.run_id.to_lowercase(),
                sanitize(&spec.role),
                short_rand()
            )
        });
        let mut extra = spec.extra_mounts.clone();
        if crate::fault::action("upload") == Some(crate::fault::Action::DiskFull) {
            // Fault injection: the dump is uploaded into /tmp, here a 1 MiB tmpfs volume
            // (the engine's archive upload does not write into tmpfs mounts).
            let opts = HashMap::from([
                ("type".to_string(), "tmpfs".to_string()),
                ("device".to_string(), "tmpfs".to_string()),
                ("o".to_string(), "size=1m,mode=1777".to_string()),
            ]);
            match create_volume_with(docker, run, &spec.role, Some(opts)).await {
                Ok(small) => extra.push(ExtraMount {
                    volume: small,
                    target: "/tmp".into(),
                    read_only: false,
                    owned: true,
                }),
                Err(e) => {
                    if fresh {
                        let _ = remove_volume(docker, &volume).await;
                    }
                    return Err(e);
                }
            }
        }
        let owned_volumes: Vec<String> = extra
            .iter()
            .filter(|m| m.owned)
            .map(|m| m.volume.clone())
            .collect();
        let cleanup = |docker: Docker, volume: String, owned: Vec<String>, name: String| async move {
            let _ = remove_container(&docker, &name).await;
            if fresh {
                let _ = remove_volume(&docker, &volume).await;
            }
            for v in &owned {
                let _ = remove_volume(&docker, v).await;
            }
        };
        if let Some(tar) = &spec.data_tar {
            if let Err(e) = seed_volume(docker, run, spec, &volume, tar).await {
                cleanup(docker.clone(), volume, owned_volumes, name).await;
                return Err(e);
            }
        }
        let initdb = fresh && spec.data_tar.is_none();
        let image = Postgres16::new(
            &spec.image,
            &password,
            &spec.env,
            if initdb { 2 } else { 1 },
        )
        .with_settings(&spec.settings);
        let mut request = image
            .with_container_name(&name)
            .with_labels(labels)
            .with_mount(testcontainers::core::Mount::volume_mount(&volume, PGDATA))
            .with_shm_size(256 * 1024 * 1024)
            .with_startup_timeout(STARTUP_TIMEOUT);
        for m in &extra {
            let mut mount = testcontainers::core::Mount::volume_mount(&m.volume, &m.target);
            if m.read_only {
                mount = mount.with_access_mode(AccessMode::ReadOnly);
            }
            request = request.with_mount(mount);
        }
        // testcontainers publishes every exposed port on all interfaces; the harness publishes
        // 5432 on 127.0.0.1 only (a random port), or nothing.
        let publish = spec.publish;
        let request = request.with_host_config_modifier(move |hc| {
            hc.publish_all_ports = Some(false);
            hc.port_bindings = Some(if publish {
                HashMap::from([(
                    "5432/tcp".to_string(),
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".into()),
                        host_port: Some(String::new()),
                    }]),
                )])
            } else {
                HashMap::new()
            });
        });
        let started = request.start().await;
        // Counted as before the move: once the engine created the container.
        if !matches!(
            started,
            Err(TestcontainersError::Client(
                testcontainers::core::client::ClientError::CreateContainer(_)
            ))
        ) {
            count_created(&spec.role);
        }
        crate::engine_ledger::record_call("create", &name);
        let tc = match started {
            Ok(c) => c,
            Err(e) => {
                let err = start_error(e, &name, &spec.image);
                cleanup(docker.clone(), volume, owned_volumes, name).await;
                return Err(err);
            }
        };
        let mut pg = PgContainer {
            docker: docker.clone(),
            id: tc.id().to_string(),
            name,
            volume,
            host_port: None,
            image: spec.image.clone(),
            run_id: run.run_id.clone(),
            password,
            owned_volumes,
            removed: false,
            attached: false,
            tc: Some(tc),
        };
        // From here on, `pg` removes itself on drop if anything fails.
        pg.read_port().await?;
        if spec.data_tar.is_some() && spec.password.is_none() {
            // The copy carries its source's password: this container gets its own.
            pg.reset_password().await?;
        }
        Ok(pg)
    }

    /// The server's log (the container's stderr) from `since` (unix seconds) up to and
    /// including the first line containing `marker`, which the caller has just made the
    /// server log. The log is followed, so a line still on its way through Docker is waited
    /// for (at most `timeout`), never guessed at.
    pub async fn log_until(&self, since: i64, marker: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let mut logs = self.docker.logs(
            &self.id,
            Some(
                LogsOptionsBuilder::default()
                    .follow(true)
                    .stdout(false)
                    .stderr(true)
                    .since(since as i32)
                    .build(),
            ),
        );
        let mut text = String::new();
        loop {
            match tokio::time::timeout_at(deadline.into(), logs.next()).await {
                Err(_) => {
                    return Err(Error::new(
                        ErrorKind::ServerLogIncomplete,
                        format!(
                        "The log of container {} did not show the marker {marker:?} within {} s.",
                        self.name,
                        timeout.as_secs()
                    ),
                    ))
                }
                Ok(None) => {
                    return Err(Error::new(
                        ErrorKind::ServerLogIncomplete,
                        format!(
                            "The log of container {} ended before the marker {marker:?}.",
                            self.name
                        ),
                    ))
                }
                Ok(Some(Err(e))) => return Err(classify(e)),
                Ok(Some(Ok(chunk))) => {
                    text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
                    if text.contains(marker) {
                        return Ok(text);
                    }
                }
            }
        }
    }

    /// The 127.0.0.1 port Docker bound to 5432 (it changes when the container restarts).
    async fn read_port(&mut self) -> Result<()> {
        let info = self.docker.inspect_container(&self.id, None).await?;
        self.host_port = info
            .network_settings
            .and_then(|n| n.ports)
            .and_then(|p| p.get("5432/tcp").cloned().flatten())
            .and_then(|b| {
                b.into_iter()
                    .filter(|b| b.host_ip.as_deref() == Some("127.0.0.1"))
                    .find_map(|b| b.host_port.and_then(|p| p.parse().ok()))
            });
        Ok(())
    }

    /// Start the container again (after a kill or a stop) and wait for the probe: PostgreSQL
    /// runs crash recovery first. The ready line is not awaited here: the log keeps the lines
    /// of the earlier start, the probe alone tells.
    async fn start_again(&mut self) -> Result<()> {
        crate::engine_ledger::record_call("start", &self.id);
        let started = match &self.tc {
            Some(tc) => tokio::time::timeout(STARTUP_TIMEOUT, tc.start())
                .await
                .map_err(|_| {
                    TestcontainersError::WaitContainer(
                        testcontainers::core::error::WaitContainerError::StartupTimeout,
                    )
                })
                .and_then(|r| r),
            None => {
                return Err(Error::new(
                    ErrorKind::AttachedNotRestartable,
                    format!(
                        "{} belongs to a persistent environment; the harness does not restart it.",
                        self.name
                    ),
                ))
            }
        };
        if let Err(e) = started {
            let tail = self.log_tail(15).await;
            let mut err = start_error(e, &self.name, &self.image);
            if !tail.is_empty() {
                err.message.push_str(&format!(" Last log lines:\n{tail}"));
            }
            return Err(err);
        }
        self.read_port().await
    }

    /// The last `n` lines of the container's log (empty if the engine cannot say).
    async fn log_tail(&self, n: usize) -> String {
        let mut logs = self.docker.logs(
            &self.id,
            Some(
                LogsOptionsBuilder::default()
                    .stdout(true)
                    .stderr(true)
                    .tail(&n.to_string())
                    .build(),
            ),
        );
        let mut text = String::new();
        while let Some(Ok(chunk)) = logs.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        last_lines(&text, n)
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }
    pub fn password(&self) -> &Secret {
        &self.password
    }

    /// tokio-postgres config for a database of this container (127.0.0.1 only).
    pub fn pg_config(&self, db: &str) -> Result<tokio_postgres::Config> {
        let port = self.host_port.ok_or_else(|| {
            Error::new(
                ErrorKind::NoPort,
                format!("container {} publishes no port", self.name),
            )
        })?;
        let mut c = tokio_postgres::Config::new();
        c.host("127.0.0.1")
            .port(port)
            .user(DB_USER)
            .password(self.password.expose())
            .dbname(db)
            .application_name("dryrun-harness")
            // The harness's own sessions do not receive server NOTICEs (e.g. "… does not
            // exist, skipping"): warnings and errors still arrive.
            .options(QUIET_NOTICES)
            .connect_timeout(Duration::from_secs(10));
        Ok(c)
    }

    /// Open a client connection to `db`; the connection task runs on the current runtime.
    pub async fn connect(&self, db: &str) -> Result<tokio_postgres::Client> {
        let cfg = self.pg_config(db)?;
        let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(|e| {
            Error::new(
                ErrorKind::ConnectFailed,
                format!("cannot connect to database {db} in {}: {e}", self.name),
            )
        })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// Set the superuser's password to this container's own (over the local socket, through
    /// stdin: it appears on no command line and in no log).
    async fn reset_password(&self) -> Result<()> {
        let sql = format!(
            "ALTER ROLE \"{DB_USER}\" PASSWORD '{}';\n",
            self.password.expose()
        );
        let mut out = Vec::new();
        let (code, err) = self
            .exec_io(
                &psql_script(DB_USER, "postgres", &[]),
                &[],
                Some(std::io::Cursor::new(sql.into_bytes())),
                &mut out,
            )
            .await?;
        if code != 0 {
            return Err(Error::new(
                ErrorKind::PasswordResetFailed,
                format!(
                    "Setting the password in {} failed (exit {code}): {}",
                    self.name,
                    err.trim()
                ),
            ));
        }
        Ok(())
    }

    /// SIGKILL the container's main process (the PostgreSQL postmaster).
    pub async fn kill(&self) -> Result<()> {
        crate::engine_ledger::record_call("kill", &self.id);
        self.docker
            .kill_container(
                &self.id,
                Some(
                    KillContainerOptionsBuilder::default()
                        .signal("SIGKILL")
                        .build(),
                ),
            )
            .await?;
        // Wait until the engine reports it stopped.
        for _ in 0..100 {
            let info = self.docker.inspect_container(&self.id, None).await?;
            if !info.state.and_then(|s| s.running).unwrap_or(false) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(Error::new(
            ErrorKind::KillFailed,
            format!("container {} still running after SIGKILL", self.name),
        ))
    }

    /// Start again after a kill; PostgreSQL runs crash recovery before it is ready.
    pub async fn restart_after_kill(&mut self) -> Result<()> {
        self.start_again().await
    }

    /// Whether the container is running.
    pub async fn running(&self) -> Result<bool> {
        let info = self.docker.inspect_container(&self.id, None).await?;
        Ok(info.state.and_then(|s| s.running).unwrap_or(false))
    }

    /// Stop PostgreSQL cleanly (fast shutdown), keeping container and volume.
    pub async fn stop(&self) -> Result<()> {
        crate::engine_ledger::record_call("stop", &self.id);
        if let Some(tc) = &self.tc {
            return tc
                .stop_with_timeout(Some(30))
                .await
                .map_err(|e| start_error(e, &self.name, &self.image));
        }
        self.docker
            .stop_container(
                &self.id,
                Some(
                    bollard::query_parameters::StopContainerOptionsBuilder::default()
                        .t(30)
                        .build(),
                ),
            )
            .await?;
        Ok(())
    }

    /// Remove the container; the volume too unless `keep_volume`.
    pub async fn remove_keep_volume(mut self, keep_volume: bool) -> Result<()> {
        if self.attached {
            return Err(Error::new(
                ErrorKind::AttachedNotRemovable,
                format!(
                    "{} belongs to a persistent environment; only `dryrun env down {}` removes it.",
                    self.name, self.name
                ),
            ));
        }
        self.removed = true;
        match self.tc.take() {
            Some(tc) => remove_tc(&self.docker, tc).await?,
            None => remove_container(&self.docker, &self.id).await?,
        }
        if !keep_volume {
            remove_volume(&self.docker, &self.volume).await?;
        }
        for v in &self.owned_volumes {
            remove_volume(&self.docker, v).await?;
        }
        Ok(())
    }

    pub async fn remove(self) -> Result<()> {
        self.remove_keep_volume(false).await
    }

    /// Keep container and volume (the user asked `--keep`); they stay labelled for `dryrun gc`.
    pub fn keep(mut self) -> (String, String) {
        self.removed = true;
        if let Some(tc) = self.tc.take() {
            // testcontainers removes a container when its handle drops; a kept one must outlive
            // the process (TESTCONTAINERS_COMMAND=keep would keep every container instead).
            std::mem::forget(tc);
        }
        (self.name.clone(), self.volume.clone())
    }
}

impl PgContainer {
    /// Attach to a running harness container created by another command (a persistent
    /// environment): its password is read from the container's environment through the
    /// engine's inspect API (never logged), its port from the 127.0.0.1 binding. The handle
    /// never removes the container.
    pub async fn attach(docker: &Docker, name: &str) -> Result<PgContainer> {
        let info = docker
            .inspect_container(name, None)
            .await
            .map_err(|e| gone_or(e, name))?;
        let config = info.config.clone().unwrap_or_default();
        let password = config
            .env
            .unwrap_or_default()
            .into_iter()
            .find_map(|kv| kv.strip_prefix("POSTGRES_PASSWORD=").map(str::to_string))
            .map(Secret)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::EnvNoPassword,
                    format!("Container {name} carries no POSTGRES_PASSWORD; the harness cannot connect to it."),
                )
                .with_hint("Recreate the environment with `dryrun env down NAME` and `dryrun env up`.")
            })?;
        let labels = config.labels.unwrap_or_default();
        let volume = info
            .mounts
            .unwrap_or_default()
            .into_iter()
            .find(|m| m.destination.as_deref() == Some(PGDATA))
            .and_then(|m| m.name)
            .unwrap_or_default();
        let host_port = info
            .network_settings
            .and_then(|n| n.ports)
            .and_then(|p| p.get("5432/tcp").cloned().flatten())
            .and_then(|b| {
                b.into_iter()
                    .filter(|b| b.host_ip.as_deref() == Some("127.0.0.1"))
                    .find_map(|b| b.host_port.and_then(|p| p.parse().ok()))
            });
        Ok(PgContainer {
            docker: docker.clone(),
            id: info.id.unwrap_or_else(|| name.to_string()),
            name: info
                .name
                .unwrap_or_else(|| name.to_string())
                .trim_start_matches('/')
                .to_string(),
            volume,
            host_port,
            image: config.image.unwrap_or_default(),
            run_id: labels
                .get(crate::docker::LABEL_RUN)
                .cloned()
                .unwrap_or_default(),
            password,
            owned_volumes: Vec::new(),
            removed: true,
            attached: true,
            tc: None,
        })
    }
}

pub async fn remove_container(docker: &Docker, id: &str) -> Result<()> {
    crate::engine_ledger::record_call("remove", id);
    match docker
        .remove_container(
            id,
            Some(
                RemoveContainerOptionsBuilder::default()
                    .force(true)
                    .v(true)
                    .build(),
            ),
        )
        .await
    {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(classify(e)),
    }
}

impl Drop for PgContainer {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        // Async drop: remove on a separate thread with its own runtime (also on panic).
        let docker = self.docker.clone();
        let (id, vol) = (self.id.clone(), self.volume.clone());
        let owned = self.owned_volumes.clone();
        let tc = self.tc.take();
        let handle = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    match tc {
                        Some(tc) => {
                            let _ = remove_tc(&docker, tc).await;
                        }
                        None => {
                            let _ = remove_container(&docker, &id).await;
                        }
                    }
                    let _ = remove_volume(&docker, &vol).await;
                    for v in &owned {
                        let _ = remove_volume(&docker, v).await;
                    }
                });
            }
        });
        let _ = handle.join();
    }
}

/// Remove a container started through testcontainers. The engine call is the harness's own
/// (a container already gone counts as removed): testcontainers' `rm` leaves its handle armed
/// when the removal fails, and its drop then logs an ERROR for a container that is simply gone
/// (another run's sweep, a kill). So the handle is disarmed first (forgotten: it holds only the
/// client and the id), then the container removed.
async fn remove_tc(docker: &Docker, tc: ContainerAsync<Postgres16>) -> Result<()> {
    let id = tc.id().to_string();
    std::mem::forget(tc);
    remove_container(docker, &id).await
}

/// A failed start (or stop) through testcontainers, as the harness reports it.
fn start_error(e: TestcontainersError, name: &str, image: &str) -> Error {
    use testcontainers::core::client::ClientError;
    use testcontainers::core::error::{ExecError, WaitContainerError};
    use testcontainers::core::logs::WaitLogError;
    let exited = |lines: &[bytes::Bytes]| {
        let text: String = lines.iter().map(|l| String::from_utf8_lossy(l)).collect();
        Error::new(
            ErrorKind::ContainerExited,
            format!(
                "Container {name} stopped before PostgreSQL was ready. Last log lines:\n{}",
                last_lines(&text, 15)
            ),
        )
        .with_hint("Check the image with `dryrun image`; PG_IMAGE must be a PostgreSQL 16 image honouring the official image's contract.")
    };
    match e {
        TestcontainersError::Client(ClientError::CreateContainer(b)) => image_error(b, image),
        TestcontainersError::Client(
            ClientError::StartContainer(b) | ClientError::Init(b) | ClientError::StopContainer(b),
        ) => gone_or(b, name),
        TestcontainersError::WaitContainer(WaitContainerError::WaitLog(
            WaitLogError::EndOfStream(lines),
        ))
        | TestcontainersError::Exec(ExecError::WaitLog(WaitLogError::EndOfStream(lines))) => {
            exited(&lines)
        }
        TestcontainersError::WaitContainer(WaitContainerError::StartupTimeout) => Error::new(
            ErrorKind::ContainerNotReady,
            format!(
                "Container {name} did not become ready within {} s (the ready line, then pg_isready over TCP inside the container).",
                STARTUP_TIMEOUT.as_secs()
            ),
        )
        .with_hint("The Docker host may be overloaded; see `docker logs` of the container while it starts, then run again."),
        e => Error::new(
            ErrorKind::ContainerStartFailed,
            format!("Starting container {name} ({image}) failed: {e}."),
        )
        .with_hint("See the engine's message above and its log (journalctl -u docker); then run again."),
    }
}

fn image_error(e: bollard::errors::Error, image: &str) -> Error {
    match &e {
        bollard::errors::Error::DockerResponseServerError { status_code: 404, message } if message.contains("image") || message.contains("No such") => {
            Error::new(ErrorKind::ImageMissing, format!("The image {image} is not present on the Docker Engine ({message})."))
                .with_hint("Build it with `make image` (or `dryrun image`); no registry is needed. Set PG_IMAGE to use another local PostgreSQL 16 image.")
        }
        _ => classify(e),
    }
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A container that stopped or vanished under the harness gets its own clear error.
fn gone_or(e: bollard::errors::Error, container: &str) -> Error {
    match &e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404 | 409,
            message,
        } if message.contains("not running") || message.contains("No such container") => {
            Error::new(
                ErrorKind::ContainerGone,
                format!("Container {container} stopped or was removed from outside the harness ({message})."),
            )
            .with_hint("Something else on this engine killed or removed it (docker kill/rm, the OOM killer, an engine restart); see `docker events`, then run again. The run's other containers and volumes were removed.")
        }
        _ => classify(e),
    }
}

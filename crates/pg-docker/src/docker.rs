//! The Docker Engine connection (testcontainers' bollard client, API-version probe at start-up),
//! run labels and owners, and the sweep (never a live run's, kept or persistent resources).

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder,
};
use bollard::Docker;
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};

/// Label carried by every container and volume the harness creates.
pub const LABEL_HARNESS: &str = "io.dot-iu-cutter.harness";
pub const LABEL_HARNESS_VALUE: &str = "dryrun";
/// Label naming the run that owns the resource.
pub const LABEL_RUN: &str = "io.dot-iu-cutter.run";
/// Owner process of the run: host name, pid and the process start time (to survive pid reuse).
pub const LABEL_OWNER_HOST: &str = "io.dot-iu-cutter.owner-host";
pub const LABEL_OWNER_PID: &str = "io.dot-iu-cutter.owner-pid";
pub const LABEL_OWNER_START: &str = "io.dot-iu-cutter.owner-start";
/// Role of a resource inside a run (restore-test, baseline, scenario, source ...).
pub const LABEL_ROLE: &str = "io.dot-iu-cutter.role";
/// A persistent dry-run environment (`dryrun env up`): removed only by `dryrun env down NAME`.
pub const LABEL_PERSISTENT: &str = "io.dot-iu-cutter.persistent";
/// Name of the persistent environment (also the container's name).
pub const LABEL_ENV: &str = "io.dot-iu-cutter.env";
/// A container kept by `restore-test --keep`: left alone by every sweep and by `dryrun gc`;
/// `dryrun gc --all` removes it once the command that kept it has exited.
pub const LABEL_KEPT: &str = "io.dot-iu-cutter.kept";
/// SHA-256 and file name of the dump an environment was restored from, and when (UTC).
pub const LABEL_DUMP_SHA256: &str = "io.dot-iu-cutter.dump-sha256";
pub const LABEL_DUMP_NAME: &str = "io.dot-iu-cutter.dump-name";
pub const LABEL_CREATED: &str = "io.dot-iu-cutter.created";

/// Why the sweep leaves a resource alone whatever its owner: a persistent environment (only
/// `dryrun env down NAME` removes it) or a kept container (only `dryrun gc --all`, once its
/// owner has exited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    None,
    Kept,
    Persistent,
}

pub fn protection(labels: &HashMap<String, String>) -> Protection {
    if labels.get(LABEL_PERSISTENT).map(String::as_str) == Some("true") {
        Protection::Persistent
    } else if labels.get(LABEL_KEPT).map(String::as_str) == Some("true") {
        Protection::Kept
    } else {
        Protection::None
    }
}

/// Whether a sweep over every run (`run = None`) may remove a resource with these labels:
/// never a live run's, never a persistent environment's, a kept one only with `kept`.
pub fn sweepable(labels: &HashMap<String, String>, kept: bool) -> bool {
    if owner_alive(labels) {
        return false;
    }
    match protection(labels) {
        Protection::None => true,
        Protection::Kept => kept,
        Protection::Persistent => false,
    }
}

/// Identity of one harness run: its id and the process that owns it.
#[derive(Debug, Clone, Serialize)]
pub struct RunIdentity {
    pub run_id: String,
    pub host: String,
    pub pid: u32,
    pub start_ticks: String,
}

impl RunIdentity {
    pub fn new() -> Self {
        let pid = std::process::id();
        let run_id = format!(
            "{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        RunIdentity {
            run_id,
            host: hostname(),
            pid,
            start_ticks: process_start_ticks(pid).unwrap_or_default(),
        }
    }

    /// Labels for a container or volume of this run.
    pub fn labels(&self, role: &str) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_HARNESS.to_string(), LABEL_HARNESS_VALUE.to_string()),
            (LABEL_RUN.to_string(), self.run_id.clone()),
            (LABEL_OWNER_HOST.to_string(), self.host.clone()),
            (LABEL_OWNER_PID.to_string(), self.pid.to_string()),
            (LABEL_OWNER_START.to_string(), self.start_ticks.clone()),
            (LABEL_ROLE.to_string(), role.to_string()),
        ])
    }
}

impl Default for RunIdentity {
    fn default() -> Self {
        Self::new()
    }
}

/// Owner labels naming this host's init process (pid 1), which lives as long as the host: a
/// persistent environment is owned by the host, not by the `dryrun env up` that made it, so an
/// older `dryrun` (whose sweep knows no persistent label) also takes it for a live run's.
pub fn host_owner_labels() -> Vec<(String, String)> {
    vec![
        (LABEL_OWNER_HOST.to_string(), hostname()),
        (LABEL_OWNER_PID.to_string(), "1".to_string()),
        (
            LABEL_OWNER_START.to_string(),
            process_start_ticks(1).unwrap_or_default(),
        ),
    ]
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Field 22 of /proc/<pid>/stat: start time in clock ticks since boot.
fn process_start_ticks(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19).map(str::to_string)
}

/// Whether the process that owns these labels is still alive on this host.
/// Resources of another host are treated as alive (we cannot tell).
pub fn owner_alive(labels: &HashMap<String, String>) -> bool {
    let host = labels
        .get(LABEL_OWNER_HOST)
        .map(String::as_str)
        .unwrap_or("");
    if host != hostname() {
        return true;
    }
    let Some(pid) = labels
        .get(LABEL_OWNER_PID)
        .and_then(|p| p.parse::<u32>().ok())
    else {
        return false;
    };
    match process_start_ticks(pid) {
        Some(ticks) => labels.get(LABEL_OWNER_START).map(String::as_str) == Some(ticks.as_str()),
        None => false,
    }
}

/// Connect to the engine exactly as testcontainers does (its own client, so `DOCKER_HOST`,
/// the socket and the API version are one configuration for both), then run the start-up
/// probe: one `GET /version` the way every later request is sent. bollard 0.21.1 puts no
/// API version in its request paths (bollard issue #736), so the engine serves its own
/// default; a bollard that sends `/v1.53/...` again meets a refusal on engines older than
/// 1.53 (Docker 20.10 serves at most 1.41). That refusal is reported here, before anything
/// is created, with its own exit code (6) instead of failing later in the middle of a run.
#[tracing::instrument(target = "harness::docker", name = "docker_connect", skip_all)]
pub async fn connect() -> Result<Docker> {
    let host = std::env::var("DOCKER_HOST").unwrap_or_default();
    let where_ = if host.is_empty() {
        "unix:///var/run/docker.sock (the default; DOCKER_HOST is not set)".to_string()
    } else {
        format!("{host} (from DOCKER_HOST)")
    };
    let socket = if host.is_empty() {
        Some("/var/run/docker.sock")
    } else {
        host.strip_prefix("unix://")
    };
    let unreachable = |text: String, denied: bool| {
        if denied {
            let who = std::fs::metadata("/proc/self")
                .map(|m| {
                    use std::os::unix::fs::MetadataExt;
                    format!("uid {} gid {}", m.uid(), m.gid())
                })
                .unwrap_or_else(|_| "this user".into());
            let mode = socket
                .and_then(|s| std::fs::metadata(s).ok())
                .map(|m| {
                    use std::os::unix::fs::{MetadataExt, PermissionsExt};
                    format!(
                        "; the socket has mode {:04o}, owner uid {} gid {}",
                        m.permissions().mode() & 0o7777,
                        m.uid(),
                        m.gid()
                    )
                })
                .unwrap_or_default();
            Error::new(
                ErrorKind::DockerPermissionDenied,
                format!("Permission was denied on the Docker Engine socket at {where_} for {who}{mode}: {text}."),
            )
            .with_hint("Run as a user that may use the socket (root, or a member of its group, usually `docker`: `usermod -aG docker $USER`, then log in again), or set DOCKER_HOST to an engine this user may reach (unix:///path or tcp://127.0.0.1:PORT).")
        } else {
            Error::new(
                ErrorKind::DockerUnreachable,
                format!("The Docker Engine cannot be reached at {where_}: {text}."),
            )
            .with_hint("Start the Docker daemon, or set DOCKER_HOST to a reachable engine (unix:///path or tcp://127.0.0.1:PORT).")
        }
    };
    let docker = testcontainers::core::client::docker_client_instance()
        .await
        .map_err(|e| {
            unreachable(
                crate::error::error_chain(&e),
                crate::error::is_permission_denied(&e),
            )
        })?;
    let docker = match crate::fault::action("docker") {
        Some(crate::fault::Action::ApiVersion(v)) => with_versioned_paths(docker, v),
        _ => docker,
    };
    match docker.version().await {
        Ok(info) => {
            tracing::debug!(target: "harness::docker",
                engine_api = info.api_version.as_deref().unwrap_or("?"),
                engine = info.version.as_deref().unwrap_or("?"),
                "docker engine probed"
            );
            Ok(docker)
        }
        Err(e) => match api_version_refusal(&e) {
            Some(message) => Err(Error::new(
                ErrorKind::DockerApiVersionRefused,
                format!(
                    "The Docker Engine at {where_} refused the API version of this harness's Docker client (bollard {BOLLARD_VERSION}, shared with testcontainers {TESTCONTAINERS_VERSION}): {message}. Nothing was created."
                ),
            )
            .with_hint(format!("The client sends an API version this engine does not serve. Run on an engine that serves it, or keep bollard at {BOLLARD_VERSION} (its request paths carry no version, so any engine answers with its own default; see README, \"Dependencies\"); a newer bollard may need `Docker::negotiate_version` after connecting."))),
            None => Err(unreachable(crate::error::error_chain(&e), crate::error::is_permission_denied(&e))),
        },
    }
}

/// The pinned versions the probe's message names (Cargo.toml pins both with `=`).
const BOLLARD_VERSION: &str = "0.21.1";
const TESTCONTAINERS_VERSION: &str = "0.28.0";

/// testcontainers and the harness must share one bollard: this compiles only if the
/// re-exported `testcontainers::bollard` is the same crate instance as ours.
#[allow(dead_code)]
fn same_bollard(d: Docker) -> testcontainers::bollard::Docker {
    d
}

/// The engine's answer when it refuses the client's API version (400 "client version 1.53 is
/// too new. Maximum supported API version is 1.41", or "... is too old. Minimum ...").
fn api_version_refusal(e: &bollard::errors::Error) -> Option<String> {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 400,
            message,
        } if message.contains("client version")
            && (message.contains("too new") || message.contains("too old")) =>
        {
            Some(message.trim().to_string())
        }
        _ => None,
    }
}

/// Test seam (`DRYRUN_FAULT=docker=api:<v>`): every request path gets the `/v<v>` prefix
/// bollard 0.21.1 drops, so the probe is exercised against a real refusal of the engine.
fn with_versioned_paths(docker: Docker, version: String) -> Docker {
    eprintln!("dryrun-fault: reached docker (API version {version} in every request path)");
    docker.with_request_modifier(move |mut req| {
        let uri = req.uri().to_string();
        let pq = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let base = &uri[..uri.len().saturating_sub(pq.len())];
        if let Ok(u) = format!("{base}/v{version}{pq}").parse() {
            *req.uri_mut() = u;
        }
        req
    })
}

/// Map a bollard error to a harness error (environment unless it is clearly input); the
/// mapping lives with the error type ([`crate::error`]).
pub fn classify(e: bollard::errors::Error) -> Error {
    Error::from(e)
}

/// A container or volume found by label, as seen by the sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Leftover {
    pub kind: &'static str,
    pub id: String,
    pub run: String,
}

fn harness_filter(run: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut labels = vec![format!("{LABEL_HARNESS}={LABEL_HARNESS_VALUE}")];
    if let Some(r) = run {
        labels.push(format!("{LABEL_RUN}={r}"));
    }
    HashMap::from([("label".to_string(), labels)])
}

/// Remove labelled containers and volumes. `run = Some(id)` removes that run's resources
/// (the run's own clean-up, also on interruption). `run = None` removes those of runs whose
/// owner process is gone, except kept containers (only with `kept`, i.e. `dryrun gc --all`)
/// and persistent environments (never: `dryrun env down NAME`). A live run's resources are
/// never removed by `run = None`, whatever `kept` says.
pub async fn sweep(docker: &Docker, run: Option<&str>, kept: bool) -> Result<Vec<Leftover>> {
    let mut removed = Vec::new();
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&harness_filter(run))
                .build(),
        ))
        .await?;
    for c in containers {
        let labels = c.labels.clone().unwrap_or_default();
        if run.is_none() && !sweepable(&labels, kept) {
            continue;
        }
        let Some(id) = c.id.clone() else { continue };
        crate::engine_ledger::record_call("remove", &id);
        let res = docker
            .remove_container(
                &id,
                Some(
                    RemoveContainerOptionsBuilder::default()
                        .force(true)
                        .v(true)
                        .build(),
                ),
            )
            .await;
        match res {
            Ok(()) => {}
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(classify(e)),
        }
        removed.push(Leftover {
            kind: "container",
            id,
            run: labels.get(LABEL_RUN).cloned().unwrap_or_default(),
        });
    }
    let vols = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&harness_filter(run))
                .build(),
        ))
        .await?;
    for v in vols.volumes.unwrap_or_default() {
        if run.is_none() && !sweepable(&v.labels, kept) {
            continue;
        }
        crate::engine_ledger::record_call("remove_volume", &v.name);
        match docker
            .remove_volume(
                &v.name,
                Some(RemoveVolumeOptionsBuilder::default().force(true).build()),
            )
            .await
        {
            Ok(()) => {}
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(classify(e)),
        }
        removed.push(Leftover {
            kind: "volume",
            id: v.name.clone(),
            run: v.labels.get(LABEL_RUN).cloned().unwrap_or_default(),
        });
    }
    Ok(removed)
}

/// Count labelled containers + volumes of one run (or all runs).
pub async fn count_labelled(docker: &Docker, run: Option<&str>) -> Result<(usize, usize)> {
    let c = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&harness_filter(run))
                .build(),
        ))
        .await?
        .len();
    let v = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&harness_filter(run))
                .build(),
        ))
        .await?
        .volumes
        .map(|v| v.len())
        .unwrap_or(0);
    Ok((c, v))
}

/// The engine's containers that are not labelled as the harness's: id, name, state.
/// Recorded before and after a run to prove the run touched nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ForeignContainer {
    pub id: String,
    pub name: String,
    pub state: String,
}

pub async fn foreign_containers(docker: &Docker) -> Result<Vec<ForeignContainer>> {
    let all = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default().all(true).build(),
        ))
        .await?;
    let mut out: Vec<ForeignContainer> = all
        .into_iter()
        .filter(|c| {
            !c.labels.as_ref().is_some_and(|l| {
                l.get(LABEL_HARNESS).map(String::as_str) == Some(LABEL_HARNESS_VALUE)
            })
        })
        .map(|c| ForeignContainer {
            id: c.id.unwrap_or_default(),
            name: c
                .names
                .and_then(|n| n.first().cloned())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            state: c
                .state
                .map(|s| format!("{s:?}").to_lowercase())
                .unwrap_or_default(),
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Remove every container and volume of one run, repeating until a round finds nothing, so
/// a container whose creation was in flight when the run was interrupted is caught too.
pub async fn sweep_run(docker: &Docker, run_id: &str) -> Result<usize> {
    let mut total = 0;
    for round in 0..6 {
        let n = sweep(docker, Some(run_id), true).await?.len();
        total += n;
        if n == 0 && round >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(alive: bool, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut l = RunIdentity::new().labels("t");
        if !alive {
            // pid 0 has no /proc entry: its owner is gone.
            l.insert(LABEL_OWNER_PID.into(), "0".into());
        }
        for (k, v) in extra {
            l.insert(k.to_string(), v.to_string());
        }
        l
    }

    #[test]
    fn sweep_spares_live_runs_environments_and_kept_containers() {
        let persistent = [(LABEL_PERSISTENT, "true"), (LABEL_ENV, "e")];
        let kept = [(LABEL_KEPT, "true")];
        for gc_all in [false, true] {
            assert!(!sweepable(&labels(true, &[]), gc_all), "live run");
            assert!(!sweepable(&labels(true, &kept), gc_all));
            assert!(
                !sweepable(&labels(false, &persistent), gc_all),
                "environment"
            );
            assert!(sweepable(&labels(false, &[]), gc_all), "dead run");
        }
        assert!(!sweepable(&labels(false, &kept), false), "kept, plain gc");
        assert!(sweepable(&labels(false, &kept), true), "kept, gc --all");
        assert_eq!(
            protection(&labels(true, &persistent)),
            Protection::Persistent
        );
    }
}

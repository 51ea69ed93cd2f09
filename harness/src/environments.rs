//! Persistent dry-run environments (HB-09): named, labelled PostgreSQL 16 containers kept after
//! a verified restore test (`dryrun env up|ls|down`), and attaching `dryrun run --env` to one.
//!
//! Connection: each environment publishes 5432 on 127.0.0.1 (random port) and keeps its random
//! password in its container environment (`POSTGRES_PASSWORD`, as every harness container); a
//! later `dryrun` reads both through the engine's inspect API and never prints the password.
//! People connect with `docker exec -it NAME psql -U directus -d directus` (local socket).

use std::collections::HashMap;
use std::time::Instant;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder,
};
use bollard::Docker;
use serde::Serialize;
use tokio_postgres::Client;

use crate::container::{PgContainer, DB_NAME, DB_USER};
use crate::docker::{
    classify, Leftover, RunIdentity, LABEL_CREATED, LABEL_DUMP_NAME, LABEL_DUMP_SHA256, LABEL_ENV,
    LABEL_HARNESS, LABEL_HARNESS_VALUE, LABEL_PERSISTENT, LABEL_RUN,
};
use crate::error::{Error, ErrorKind, Result};
use crate::restore::{KeepAs, RestoreTestOptions, RestoreTestReport, VerifiedInputs};

/// The operations team's naming convention for the HB-05 dry-run server.
pub const DEFAULT_PREFIX: &str = "pg-dry-run-hb05-";
/// Role label of an environment's container and volume.
pub const ROLE: &str = "environment";
/// Advisory lock key held (session-level, in database `postgres`) by the one `run --env` at a
/// time that uses an environment; it writes nothing.
const RUN_LOCK_KEY: i64 = 0x0d07_1c07_0905;

/// `pg-dry-run-hb05-<UTC time>`.
pub fn default_name() -> String {
    format!(
        "{DEFAULT_PREFIX}{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    )
}

/// A Docker container name the harness accepts: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 63.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::EnvNameInvalid,
        format!("{name:?} is not a valid environment name: it becomes the container's name, so it must start with a letter or digit and hold only letters, digits, '_', '.' and '-' (at most 63)."),
    )
    .with_hint(format!("Pick another --name, e.g. {}, or leave it out for the default.", default_name())))
}

/// What `dryrun env ls` shows of one environment (never a password).
#[derive(Debug, Clone, Serialize)]
pub struct EnvInfo {
    pub name: String,
    pub id: String,
    pub image: String,
    pub state: String,
    pub dump_sha256: String,
    pub dump_name: String,
    pub created: String,
    pub connect: String,
}

impl EnvInfo {
    pub fn short_digest(&self) -> &str {
        &self.dump_sha256[..self.dump_sha256.len().min(12)]
    }
}

/// How to open psql in an environment (local socket inside the container; no password).
pub fn connect_command(name: &str) -> String {
    format!("docker exec -it {name} psql -U {DB_USER} -d {DB_NAME}")
}

fn filter(extra: Option<String>) -> HashMap<String, Vec<String>> {
    let mut labels = vec![
        format!("{LABEL_HARNESS}={LABEL_HARNESS_VALUE}"),
        format!("{LABEL_PERSISTENT}=true"),
    ];
    labels.extend(extra);
    HashMap::from([("label".to_string(), labels)])
}

/// Every persistent environment on the engine, sorted by name.
pub async fn list(docker: &Docker) -> Result<Vec<EnvInfo>> {
    let cs = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filter(None))
                .build(),
        ))
        .await?;
    let mut out: Vec<EnvInfo> = cs
        .into_iter()
        .map(|c| {
            let l = c.labels.unwrap_or_default();
            let get = |k: &str| l.get(k).cloned().unwrap_or_default();
            let name = get(LABEL_ENV);
            EnvInfo {
                connect: connect_command(&name),
                name,
                id: c.id.unwrap_or_default(),
                image: c.image.unwrap_or_default(),
                state: c
                    .state
                    .map(|s| format!("{s:?}").to_lowercase())
                    .unwrap_or_default(),
                dump_sha256: get(LABEL_DUMP_SHA256),
                dump_name: get(LABEL_DUMP_NAME),
                created: get(LABEL_CREATED),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The environment called `name`, or `env_unknown` (exit 3) listing the ones that exist.
pub async fn find(docker: &Docker, name: &str) -> Result<EnvInfo> {
    let all = list(docker).await?;
    if let Some(e) = all.iter().find(|e| e.name == name) {
        return Ok(e.clone());
    }
    let known = if all.is_empty() {
        "there is none on this engine".to_string()
    } else {
        format!(
            "the engine has {}",
            all.iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Err(Error::new(
        ErrorKind::EnvUnknown,
        format!("There is no dry-run environment named {name}: {known}."),
    )
    .with_hint("`dryrun env ls` lists the environments; `dryrun env up --dump F --sums S --name NAME` makes one."))
}

/// Refuse a name already used by any container (harness or not) or by a volume the
/// environment would need (`<name>-data`): nothing is replaced or reused.
pub async fn ensure_name_free(docker: &Docker, name: &str) -> Result<()> {
    let in_use = |what: String| {
        Error::new(
            ErrorKind::EnvNameInUse,
            format!("The name {name} is already in use on this engine ({what}); an environment is never replaced."),
        )
        .with_hint(format!(
            "Pick another --name (or leave it out for {DEFAULT_PREFIX}<UTC time>); `dryrun env ls` lists the environments, `dryrun env down {name}` removes one that is no longer needed."
        ))
    };
    match docker.inspect_container(name, None).await {
        Ok(c) => {
            let env = c
                .config
                .and_then(|c| c.labels)
                .and_then(|l| l.get(LABEL_ENV).cloned());
            return Err(in_use(match env {
                Some(_) => "a dry-run environment".into(),
                None => "a container".into(),
            }));
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(e) => return Err(classify(e)),
    }
    let volume = format!("{name}-data");
    match docker.inspect_volume(&volume).await {
        Ok(_) => Err(in_use(format!("volume {volume}"))),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(classify(e)),
    }
}

/// `dryrun env up`: the verified restore test (restore::restore_test_verified), whose
/// container is kept, when it passes, as the persistent environment `name`: labelled
/// persistent with the dump's digest and name and the creation time, port 5432 published on
/// 127.0.0.1. A failed test keeps nothing. Name checks come before any container exists.
pub async fn up(
    docker: &Docker,
    run: &RunIdentity,
    opts: &RestoreTestOptions,
    name: &str,
    inputs: VerifiedInputs,
    started: Instant,
) -> Result<RestoreTestReport> {
    validate_name(name)?;
    ensure_name_free(docker, name).await?;
    let dump_name = opts
        .dump
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let digest = match inputs
        .sums
        .files
        .iter()
        .find(|f| f.role == crate::checksum::FileRole::Dump)
    {
        Some(f) => f.sha256.clone(),
        None => crate::checksum::sha256_file(&opts.dump)?,
    };
    let mut o = opts.clone();
    o.role = ROLE.into();
    o.keep = false;
    // An environment outlives this command (and engine restarts): durable settings.
    o.durable = true;
    let mut labels = vec![
        (LABEL_PERSISTENT.into(), "true".into()),
        (LABEL_ENV.into(), name.into()),
        (LABEL_DUMP_SHA256.into(), digest),
        (LABEL_DUMP_NAME.into(), dump_name),
        (
            LABEL_CREATED.into(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
    ];
    // Owned by the host, not by this process (the run label still names this command, whose
    // interruption removes the half-made environment).
    labels.extend(crate::docker::host_owner_labels());
    o.keep_as = Some(KeepAs {
        name: Some(name.to_string()),
        labels,
        publish: true,
        only_if_passed: true,
    });
    crate::restore::restore_test_verified(docker, run, &o, inputs, started).await
}

/// `dryrun env down NAME`: remove that environment's container and its volumes, nothing else.
pub async fn down(docker: &Docker, name: &str) -> Result<Vec<Leftover>> {
    let env = find(docker, name).await?;
    let mut removed = Vec::new();
    let run = |l: &HashMap<String, String>| l.get(LABEL_RUN).cloned().unwrap_or_default();
    crate::engine_ledger::record_call("remove", &env.id);
    match docker
        .remove_container(
            &env.id,
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
        }) => {}
        Err(e) => return Err(classify(e)),
    }
    removed.push(Leftover {
        kind: "container",
        id: env.id.clone(),
        run: String::new(),
    });
    let vols = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filter(Some(format!("{LABEL_ENV}={name}"))))
                .build(),
        ))
        .await?;
    for v in vols.volumes.unwrap_or_default() {
        crate::engine_ledger::record_call("remove_volume", &v.name);
        match docker
            .remove_volume(
                &v.name,
                Some(RemoveVolumeOptionsBuilder::default().force(true).build()),
            )
            .await
        {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(classify(e)),
        }
        removed.push(Leftover {
            kind: "volume",
            id: v.name.clone(),
            run: run(&v.labels),
        });
    }
    Ok(removed)
}

/// A running environment attached for `dryrun run --env`.
pub struct Attached {
    pub info: EnvInfo,
    pub pg: PgContainer,
}

/// Attach to the environment `name` (running, with its 127.0.0.1 port).
pub async fn attach(docker: &Docker, name: &str) -> Result<Attached> {
    let info = find(docker, name).await?;
    if info.state != "running" {
        return Err(Error::new(
            ErrorKind::EnvNotRunning,
            format!(
                "The dry-run environment {name} is {} (not running).",
                info.state
            ),
        )
        .with_hint(format!(
            "Start it with `docker start {name}` (its data is kept), then run again."
        )));
    }
    let pg = PgContainer::attach(docker, &info.id).await?;
    if pg.host_port.is_none() {
        return Err(Error::new(
            ErrorKind::EnvNoPort,
            format!("The dry-run environment {name} publishes no port on 127.0.0.1, so the harness cannot connect to it."),
        )
        .with_hint("Environments made by `dryrun env up` publish one; recreate it (`dryrun env down NAME`, `dryrun env up …`)."));
    }
    Ok(Attached { info, pg })
}

/// The one `run --env` on an environment at a time: a session-level advisory lock in database
/// `postgres`, released when the session ends (also when the process dies).
pub struct RunLease {
    _client: Client,
}

pub async fn lease(a: &Attached) -> Result<RunLease> {
    let client = a.pg.connect("postgres").await?;
    let got: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&RUN_LOCK_KEY])
        .await?
        .get(0);
    if !got {
        return Err(Error::new(
            ErrorKind::EnvBusy,
            format!(
                "Another `dryrun run --env {}` is using this environment now.",
                a.info.name
            ),
        )
        .with_hint(
            "Wait for it to finish, or make a second environment with `dryrun env up --name …`.",
        ));
    }
    Ok(RunLease { _client: client })
}

/// Whether `name` is a clone database of a scenario (`s07_1a2b3c4d`), as the suite names them.
pub fn is_scenario_clone(name: &str) -> bool {
    // The plan profiles' clones (S07's lock rule, `dryrun run`'s impact section, `dryrun
    // impact --env`): `s07_locks_<8 hex>`, `impact_locks_<8 hex>`.
    if let Some((head, tail)) = name.rsplit_once("_locks_") {
        let scenario = head.len() == 3
            && head.starts_with('s')
            && head[1..].bytes().all(|c| c.is_ascii_digit());
        return (scenario || head == "impact")
            && tail.len() == 8
            && tail
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    }
    let b = name.as_bytes();
    b.len() == 12
        && b[0] == b's'
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3] == b'_'
        && b[4..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// Drop scenario clones an interrupted run left on the environment (under the lease, so no
/// other run is using them); returns their names. The baseline and any other database stay.
pub async fn drop_stale_clones(a: &Attached) -> Result<Vec<String>> {
    let admin = a.pg.connect("postgres").await?;
    let rows = admin
        .query("SELECT datname::text FROM pg_catalog.pg_database", &[])
        .await?;
    let mut dropped = Vec::new();
    for r in rows {
        let n: String = r.get(0);
        if is_scenario_clone(&n) {
            admin
                .batch_execute(&crate::container::drop_sql(&n, true))
                .await?;
            dropped.push(n);
        }
    }
    Ok(dropped)
}

/// The environment server's settings that the restore-time settings would change, as it runs.
pub async fn settings(a: &Attached) -> Result<Vec<(String, String)>> {
    let c = a.pg.connect("postgres").await?;
    let names: Vec<String> = crate::restore::fast_settings()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let rows = c
        .query(
            "SELECT name::text, setting || COALESCE(unit, '') FROM pg_catalog.pg_settings WHERE name = ANY($1) ORDER BY name",
            &[&names],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name(&default_name()).is_ok());
        assert!(default_name().starts_with(DEFAULT_PREFIX));
        for bad in ["", "-x", "a b", "a/b", "ä", &"x".repeat(64)] {
            let e = validate_name(bad).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::EnvNameInvalid);
        }
    }

    #[test]
    fn scenario_clones_are_recognised_and_nothing_else() {
        assert!(is_scenario_clone("s07_1a2b3c4d"));
        assert!(is_scenario_clone("s07_locks_1a2b3c4d"));
        assert!(is_scenario_clone("impact_locks_1a2b3c4d"));
        for n in [
            "s07_locks_1a2b3c4",
            "directus_locks_1a2b3c4d",
            "impact_locks_1A2B3C4D",
            "s7_locks_1a2b3c4d",
            "directus",
            "postgres",
            "template1",
            "s07_1a2b3c4",
            "s07_1A2B3C4D",
            "x07_1a2b3c4d",
            "s07-1a2b3c4d",
        ] {
            assert!(!is_scenario_clone(n), "{n}");
        }
    }
}

//! `Postgres16`: the testcontainers `Image` of the harness (the official image's env contract,
//! port 5432, readiness: the "ready" log line, then `pg_isready` over TCP inside the container).

use std::borrow::Cow;

use testcontainers::core::wait::LogWaitStrategy;
use testcontainers::core::{CmdWaitFor, ContainerPort, ExecCommand, WaitFor};
use testcontainers::Image;

#[allow(unused_imports)]
use super::*;

/// The PostgreSQL 16 image as testcontainers starts it (as testcontainers-modules' postgres
/// does): the official image's environment contract (`POSTGRES_USER`/`_PASSWORD`/`_DB`,
/// `PGDATA`), port 5432, ready when the "ready" line appeared `ready_lines` times (twice on a
/// fresh data directory: the entrypoint's socket-only init server prints it too), then a probe
/// after every start: `pg_isready` over TCP inside the container until it accepts.
/// Both the offline image and the official `postgres:16` honour this contract.
#[derive(Clone)]
pub struct Postgres16 {
    name: String,
    tag: String,
    env: Vec<(String, String)>,
    cmd: Vec<String>,
    ready_lines: usize,
}

impl std::fmt::Debug for Postgres16 {
    // The environment carries the password: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres16")
            .field("name", &self.name)
            .field("tag", &self.tag)
            .field("ready_lines", &self.ready_lines)
            .finish_non_exhaustive()
    }
}

/// What the probe prints once PostgreSQL accepts TCP connections.
const PROBE_OK: &str = "dryrun-probe: accepting connections";

impl Postgres16 {
    /// `reference` is what the engine knows the image by (`repo:tag`, `repo@sha256:…`, an id).
    pub fn new(
        reference: &str,
        password: &Secret,
        extra_env: &[String],
        ready_lines: usize,
    ) -> Self {
        // testcontainers joins name and tag with ':'; split at the last ':' after the last '/'.
        let after_slash = reference.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match reference[after_slash..].rfind(':') {
            Some(i) => (
                reference[..after_slash + i].to_string(),
                reference[after_slash + i + 1..].to_string(),
            ),
            None => (reference.to_string(), "latest".to_string()),
        };
        let mut env: Vec<(String, String)> = vec![
            ("POSTGRES_USER".into(), DB_USER.into()),
            ("POSTGRES_PASSWORD".into(), password.expose().into()),
            ("POSTGRES_DB".into(), DB_NAME.into()),
            ("PGDATA".into(), PGDATA.into()),
            // Throwaway clusters: skip initdb's final fsync of ~40 MB (as the official
            // image allows through the same variable); the server's own settings decide
            // durability from then on.
            ("POSTGRES_INITDB_ARGS".into(), "--no-sync".into()),
        ];
        for kv in extra_env {
            let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            env.retain(|(key, _)| key != k);
            env.push((k.to_string(), v.to_string()));
        }
        Postgres16 {
            name,
            tag,
            env,
            cmd: vec!["postgres".to_string()],
            ready_lines: ready_lines.max(1),
        }
    }

    /// Server settings passed as `-c key=value`.
    pub fn with_settings(mut self, settings: &[(String, String)]) -> Self {
        for (k, v) in settings {
            self.cmd.push("-c".into());
            self.cmd.push(format!("{k}={v}"));
        }
        self
    }

    /// The readiness probe: `pg_isready` over TCP inside the container (the init server
    /// listens on the socket only) until it accepts, then [`PROBE_OK`] on stdout.
    fn probe() -> ExecCommand {
        let script = format!(
            "until pg_isready -q -h 127.0.0.1 -p 5432 -U {DB_USER} -d {DB_NAME}; do sleep 0.1; done; echo '{PROBE_OK}'"
        );
        ExecCommand::new(["sh", "-c", script.as_str()])
            .with_cmd_ready_condition(CmdWaitFor::message_on_stdout(PROBE_OK))
    }
}

impl Image for Postgres16 {
    fn name(&self) -> &str {
        &self.name
    }
    fn tag(&self) -> &str {
        &self.tag
    }
    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::log(
            LogWaitStrategy::stdout_or_stderr(READY_LINE).with_times(self.ready_lines),
        )]
    }
    fn env_vars(
        &self,
    ) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        self.cmd.iter().map(String::as_str)
    }
    fn expose_ports(&self) -> &[ContainerPort] {
        &[ContainerPort::Tcp(5432)]
    }
    fn exec_after_start(
        &self,
        _: testcontainers::core::ContainerState,
    ) -> testcontainers::core::error::Result<Vec<ExecCommand>> {
        Ok(vec![Self::probe()])
    }
}

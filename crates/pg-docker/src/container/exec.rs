//! Commands inside a harness container: exec with streamed stdin/stdout, the psql argv every
//! caller builds the same way, the quiet-notices environment.

use std::path::Path;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::docker::classify;
use crate::error::{Error, Result};

#[allow(unused_imports)]
use super::*;

impl PgContainer {
    /// Run a command as the container's user, capturing output.
    pub async fn exec(&self, cmd: &[&str], quiet: bool) -> Result<ExecOutput> {
        let mut out = Vec::new();
        let (code, stderr) = self
            .exec_io(cmd, &[], None::<tokio::fs::File>, &mut out)
            .await?;
        if !quiet {
            tracing::debug!(
                target: "harness::container::exec",
                container = %self.name, cmd = ?cmd, code, "exec"
            );
        }
        Ok(ExecOutput {
            exit_code: code,
            stdout: out,
            stderr,
        })
    }

    /// Run a command with optional stdin streamed from `input` and stdout streamed into `out`.
    /// Returns the exit code and stderr text.
    pub async fn exec_io<R, W>(
        &self,
        cmd: &[&str],
        env: &[String],
        input: Option<R>,
        out: &mut W,
    ) -> Result<(i64, String)>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + ?Sized,
    {
        exec_in(&self.docker, &self.id, cmd, env, input, out).await
    }
}

/// Session option of every connection and psql the harness opens: no NOTICE messages.
pub const QUIET_NOTICES: &str = "-c client_min_messages=warning";

/// The environment of an exec: psql gets `PGOPTIONS` with [`QUIET_NOTICES`] (appended to a
/// `PGOPTIONS` the caller set, e.g. read-only sessions).
pub fn exec_env(cmd: &[&str], env: &[String]) -> Vec<String> {
    let mut env = env.to_vec();
    if cmd.first() != Some(&"psql") {
        return env;
    }
    match env.iter_mut().find(|e| e.starts_with("PGOPTIONS=")) {
        Some(e) => {
            e.push(' ');
            e.push_str(QUIET_NOTICES);
        }
        None => env.push(format!("PGOPTIONS={QUIET_NOTICES}")),
    }
    env
}

/// psql as the harness runs scripts on stdin: no psqlrc, quiet, stop at the first error;
/// `extra` flags (e.g. `-tA`) follow.
pub fn psql_script<'a>(user: &'a str, db: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        user,
        "-d",
        db,
    ];
    v.extend_from_slice(extra);
    v
}

/// Run a command with optional stdin streamed from `input` and stdout streamed into `out`.
/// Returns the exit code and stderr text.
pub async fn exec_in<R, W>(
    docker: &Docker,
    container: &str,
    cmd: &[&str],
    env: &[String],
    input: Option<R>,
    out: &mut W,
) -> Result<(i64, String)>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + ?Sized,
{
    let env = exec_env(cmd, env);
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                attach_stdin: Some(input.is_some()),
                env: (!env.is_empty()).then(|| env.to_vec()),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| gone_or(e, container))?;
    let started = docker
        .start_exec(&exec.id, None)
        .await
        .map_err(|e| gone_or(e, container))?;
    let mut stderr = Vec::new();
    if let StartExecResults::Attached {
        mut output,
        input: mut stdin,
    } = started
    {
        let writer = async move {
            if let Some(mut r) = input {
                let copied = tokio::io::copy(&mut r, &mut stdin).await;
                let _ = stdin.shutdown().await;
                copied.map(|_| ())
            } else {
                let _ = stdin.shutdown().await;
                Ok(())
            }
        };
        let reader = async {
            while let Some(item) = output.next().await {
                match item.map_err(classify)? {
                    LogOutput::StdOut { message } => out
                        .write_all(&message)
                        .await
                        .map_err(|e| Error::io(Path::new("<exec output>"), "write", e))?,
                    LogOutput::StdErr { message } if stderr.len() < 4 << 20 => {
                        stderr.extend_from_slice(&message)
                    }
                    _ => {}
                }
            }
            out.flush()
                .await
                .map_err(|e| Error::io(Path::new("<exec output>"), "flush", e))?;
            Ok::<(), Error>(())
        };
        let (w, r) = tokio::join!(writer, reader);
        r?;
        if let Err(e) = w {
            // A broken pipe means the command exited early; its exit code tells why.
            tracing::debug!(
                target: "harness::container::exec",
                error = %e, "stdin copy ended early"
            );
        }
    }
    let inspect = docker.inspect_exec(&exec.id).await.map_err(classify)?;
    Ok((
        inspect.exit_code.unwrap_or(-1),
        String::from_utf8_lossy(&stderr).into_owned(),
    ))
}

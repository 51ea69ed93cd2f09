//! The data fingerprint through `docker exec`: the same COPY statements run by psql inside
//! the container, the concatenated streams hashed from its stdout (`backup`, `restore-test`).

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind, Result};

#[allow(unused_imports)]
use super::*;

/// `AsyncWrite` end of a `docker exec`: feeds psql's stdout (concatenated binary COPY
/// streams) into the hasher.
struct HashSink(crate::copyhash::StreamHasher);

impl tokio::io::AsyncWrite for HashSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(
            self.0
                .feed(buf)
                .map(|()| buf.len())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        )
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

pub(super) fn exec_failed(container: &str, what: &str, code: i64, stderr: &str) -> Error {
    Error::new(
        ErrorKind::FingerprintFailed,
        format!(
            "Taking the data fingerprint in {container} failed: {what} exited {code}: {}",
            stderr.trim()
        ),
    )
    .with_hint("Run as a superuser (or the owner of every object) on a reachable database.")
}

/// The data fingerprint computed inside a container: psql reads the catalog, then runs every
/// COPY of the [`CopyPlan`] in one transaction and writes the binary streams to stdout, which are
/// hashed here as they arrive (same definition as [`data_with`]). With `snapshot`, both
/// sessions import that exported snapshot (it must stay open meanwhile); `env` is added to
/// psql's environment (e.g. `PGOPTIONS=-c default_transaction_read_only=on`).
pub async fn data_via_exec(
    docker: &bollard::Docker,
    container: &str,
    user: &str,
    db: &str,
    snapshot: Option<&str>,
    env: &[String],
) -> Result<DataFingerprint> {
    let begin = match snapshot {
        Some(id) => {
            if !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
                return Err(Error::new(
                    ErrorKind::FingerprintBadSnapshot,
                    format!("not a snapshot id: {id:?}"),
                ));
            }
            format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSET TRANSACTION SNAPSHOT '{id}';\n{DATA_TX};\n"
            )
        }
        None => format!("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n{DATA_TX};\n"),
    };
    let script = format!("{begin}{TABLES_SQL};\nCOMMIT;\n");
    let cmd = crate::container::psql_script(user, db, &["-tA"]);
    let mut out = Vec::new();
    let (code, err) = crate::container::exec_in(
        docker,
        container,
        &cmd,
        env,
        Some(std::io::Cursor::new(script.into_bytes())),
        &mut out,
    )
    .await?;
    if code != 0 {
        return Err(exec_failed(container, "psql (catalog)", code, &err));
    }
    let lines: Vec<String> = String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_string)
        .collect();
    let plan = CopyPlan::new(parse_catalog(&lines)?, None, &BTreeMap::new());
    let mut script = begin;
    for j in &plan.jobs {
        script.push_str(&j.sql);
        script.push_str(";\n");
    }
    script.push_str("COMMIT;\n");
    let mut sink = HashSink(crate::copyhash::StreamHasher::new(plan.jobs.len()));
    let cmd = crate::container::psql_script(user, db, &[]);
    let (code, err) = crate::container::exec_in(
        docker,
        container,
        &cmd,
        env,
        Some(std::io::Cursor::new(script.into_bytes())),
        &mut sink,
    )
    .await?;
    if code != 0 {
        return Err(exec_failed(container, "psql (COPY)", code, &err));
    }
    let digests = sink.0.finish().map_err(format_error)?;
    let hashed: BTreeMap<TableKey, crate::copyhash::TableDigest> = plan
        .jobs
        .iter()
        .map(|j| j.key.clone())
        .zip(digests)
        .collect();
    plan.assemble(&BTreeMap::new(), &hashed)
}

//! `dryrun backup`: a read-only backup of a source container as the operations team made it
//! (custom dump, schema-only SQL, exact row counts, SHA256SUMS), streamed through the API.
//!
//! Consistency: one psql session in the source container opens a `REPEATABLE READ READ ONLY`
//! transaction and exports its snapshot; both pg_dump runs import that snapshot
//! (`--snapshot`) while the transaction stays open, and the exact row counts run inside the
//! same transaction before it commits; the content hashes (`fingerprint::data_via_exec`)
//! import it too. Dump, schema, counts and content hashes therefore describe the same
//! instant of the database, however busy it is. Every session is read-only.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bollard::Docker;
use serde::Serialize;
use tokio::io::{
    AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream,
};
use tokio::task::JoinHandle;

use crate::container::exec_in;
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::fsutil::AtomicFile;
use crate::rowcounts::{exact_counts_statements, RowCounts};

/// Every connection the backup makes to the source is read-only.
const READ_ONLY: &str = "PGOPTIONS=-c default_transaction_read_only=on";
/// The snapshot session is read-only too; its transaction idles while pg_dump runs, so a
/// server-side `idle_in_transaction_session_timeout` must not end it.
const SNAPSHOT_SESSION_ENV: &str =
    "PGOPTIONS=-c default_transaction_read_only=on -c idle_in_transaction_session_timeout=0";
/// Opens the transaction and exports its snapshot; psql prints `id|isolation|read_only`.
const EXPORT_SNAPSHOT_SQL: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n\
SELECT pg_export_snapshot(), current_setting('transaction_isolation'), current_setting('transaction_read_only');\n";
/// How long to wait for the exported snapshot id.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub struct BackupOptions {
    pub source: String,
    pub db: String,
    pub user: String,
    pub out: PathBuf,
    /// Suffix of the file names (`directus_full_<stamp>.dump`); default: UTC time.
    pub stamp: Option<String>,
    /// Also write every table's content hash (`directus_content_<stamp>.json`) in the same
    /// snapshot (`--no-content-hashes` turns it off).
    pub content_hashes: bool,
    /// Write into a folder that already holds a backup set (its SHA256SUMS is replaced).
    pub force: bool,
}

/// Refuse an output folder that already holds a backup set (a `SHA256SUMS` or a `*.dump`),
/// unless `force`: a second backup there would silently replace its `SHA256SUMS`.
pub fn check_out_dir(out: &Path, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let Ok(rd) = std::fs::read_dir(out) else {
        return Ok(()); // absent: created later; unreadable: reported when it is created
    };
    let mut found: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n == "SHA256SUMS" || n.ends_with(".dump"))
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    found.sort();
    Err(Error::new(
        ErrorKind::BackupSetExists,
        format!(
            "{} already holds a backup set ({}); writing another one there would replace its SHA256SUMS. Nothing was written.",
            out.display(),
            found.join(", ")
        ),
    )
    .with_hint("Pass a new or empty --out folder, or add --force to write into this one anyway (its SHA256SUMS is replaced; the other files stay)."))
}

#[derive(Debug, Clone, Serialize)]
pub struct BackupFile {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackupResult {
    pub dir: PathBuf,
    pub dump: String,
    pub schema: String,
    pub rowcounts: String,
    /// The content-hash file, unless `--no-content-hashes`.
    pub content: Option<String>,
    pub files: Vec<BackupFile>,
}

async fn exec_to_file(
    docker: &Docker,
    container: &str,
    cmd: &[&str],
    path: &Path,
) -> Result<(i64, String)> {
    let mut af = AtomicFile::create(path)?;
    let std = af.file().try_clone().at(path, "open")?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut f = Counted {
        inner: tokio::fs::File::from_std(std),
        bar: crate::progress::bytes_spinner(&format!(
            "{} → {name}",
            cmd.first().unwrap_or(&"output")
        )),
    };
    let res = exec_in(
        docker,
        container,
        cmd,
        &[READ_ONLY.to_string()],
        None::<tokio::fs::File>,
        &mut f,
    )
    .await?;
    f.bar.finish_and_clear();
    drop(f);
    if res.0 == 0 {
        af.commit()?;
    }
    Ok(res)
}

/// A file being written by a command's output, its bytes counted on a terminal's progress
/// spinner (`progress::bytes_spinner`; hidden off a terminal).
struct Counted {
    inner: tokio::fs::File,
    bar: indicatif::ProgressBar,
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.bar.inc(*n as u64);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The stdout end handed to [`exec_in`]. `exec_in` flushes its output once, when the command's
/// output stream has ended; shutting the pipe there lets the reader see end-of-file although
/// `exec_in` still waits for the stdin side (psql exited early, e.g. a failed connection).
/// A write after the shutdown fails (broken pipe), so `exec_in` would report it: an early
/// flush can never silently cut the output short.
struct CloseOnFlush(DuplexStream);

impl AsyncWrite for CloseOnFlush {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(Pin::new(&mut self.0).poll_flush(cx))?;
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The snapshot exported by the session's transaction.
#[derive(Debug, Clone)]
struct Snapshot {
    id: String,
    isolation: String,
    read_only: String,
}

/// One psql session inside the source container, fed through stdin while it runs
/// (`exec_in` streams stdin and stdout concurrently, driven from a spawned task).
struct SnapshotSession {
    source: String,
    /// psql's stdin; dropping it ends the session (an open transaction is rolled back).
    stdin: Option<DuplexStream>,
    stdout: BufReader<DuplexStream>,
    task: JoinHandle<Result<(i64, String)>>,
}

impl SnapshotSession {
    async fn open(docker: &Docker, source: &str, user: &str, db: &str) -> Result<Self> {
        let (stdin, stdin_rx) = tokio::io::duplex(64 * 1024);
        let (stdout_tx, stdout) = tokio::io::duplex(1 << 20);
        let docker = docker.clone();
        let container = source.to_string();
        let cmd: Vec<String> = crate::container::psql_script(user, db, &["--csv", "-t"])
            .iter()
            .map(|s| s.to_string())
            .collect();
        let task = tokio::spawn(async move {
            let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
            let mut out = CloseOnFlush(stdout_tx);
            exec_in(
                &docker,
                &container,
                &cmd,
                &[SNAPSHOT_SESSION_ENV.to_string()],
                Some(stdin_rx),
                &mut out,
            )
            .await
        });
        Ok(SnapshotSession {
            source: source.to_string(),
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            task,
        })
    }

    fn closed(&self) -> Error {
        Error::new(
            ErrorKind::BackupFailed,
            format!(
                "the snapshot session in {} ended before the backup was complete",
                self.source
            ),
        )
    }

    async fn send(&mut self, sql: &str) -> Result<()> {
        let closed = self.closed();
        match self.stdin.as_mut() {
            Some(stdin) => stdin.write_all(sql.as_bytes()).await.map_err(|_| closed),
            None => Err(closed),
        }
    }

    /// Next line of psql's output; `None` once psql's output has ended.
    async fn read_line(&mut self, within: Duration) -> Result<Option<String>> {
        let mut line = String::new();
        let n = tokio::time::timeout(within, self.stdout.read_line(&mut line))
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::BackupTimeout,
                    format!(
                        "psql in {} did not answer within {} s",
                        self.source,
                        within.as_secs()
                    ),
                )
                .with_hint("Check that the source database accepts connections (pg_isready inside its container) and is not blocked.")
            })?
            .map_err(|e| Error::io(Path::new("<psql output>"), "read", e))?;
        Ok((n > 0).then(|| line.trim_end_matches(['\n', '\r']).to_string()))
    }

    /// Close psql's stdin, read the rest of its output and wait for it to exit:
    /// (exit code, stderr, remaining stdout).
    async fn finish(mut self) -> Result<(i64, String, String)> {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.shutdown().await;
        }
        let mut rest = Vec::new();
        let read = self.stdout.read_to_end(&mut rest).await;
        let (code, stderr) = self.task.await.map_err(|e| {
            Error::new(
                ErrorKind::BackupSessionPanicked,
                format!("the snapshot session task failed: {e}"),
            )
        })??;
        read.map_err(|e| Error::io(Path::new("<psql output>"), "read", e))?;
        Ok((code, stderr, String::from_utf8_lossy(&rest).into_owned()))
    }

    /// End the session after `err` without committing (the server rolls the transaction
    /// back); psql's own complaint, if any, is added to the error (wrong database or user,
    /// server down ...).
    async fn abort(self, mut err: Error) -> Error {
        let source = self.source.clone();
        match tokio::time::timeout(Duration::from_secs(30), self.finish()).await {
            Ok(Ok((code, stderr, _))) => {
                tracing::debug!(source = %source, code, "snapshot session closed after an error");
                if !stderr.trim().is_empty() {
                    err.message = format!(
                        "{} (psql of the snapshot session, exit {code}: {})",
                        err.message,
                        stderr.trim()
                    );
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(source = %source, error = %e, "snapshot session ended with an error")
            }
            Err(_) => tracing::warn!(source = %source, "snapshot session did not end within 30 s"),
        }
        err
    }

    /// Open the transaction and read its exported snapshot.
    async fn export_snapshot(&mut self) -> Result<Snapshot> {
        self.send(EXPORT_SNAPSHOT_SQL).await?;
        let Some(line) = self.read_line(SNAPSHOT_TIMEOUT).await? else {
            return Err(self.closed());
        };
        let rows = backup_set::psql_csv::records(&line).unwrap_or_default();
        let cols = rows.first().map(Vec::as_slice).unwrap_or_default();
        let [id, isolation, read_only] = cols else {
            return Err(Error::new(
                ErrorKind::BackupFailed,
                format!(
                    "unexpected answer to pg_export_snapshot() in {}: {line:?}",
                    self.source
                ),
            ));
        };
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if !id_ok || isolation != "repeatable read" || read_only != "on" {
            return Err(Error::new(
                ErrorKind::BackupFailed,
                format!(
                    "the snapshot session in {} is not a read-only REPEATABLE READ transaction with an exported snapshot: {line:?}",
                    self.source
                ),
            ));
        }
        Ok(Snapshot {
            id: id.to_string(),
            isolation: isolation.to_string(),
            read_only: read_only.to_string(),
        })
    }
}

/// Export the snapshot and run both pg_dump invocations in it; returns the snapshot and the
/// log text so far. The transaction is still open afterwards.
async fn take_in_snapshot(
    docker: &Docker,
    o: &BackupOptions,
    session: &mut SnapshotSession,
    stage: &Path,
    dump: &str,
    schema: &str,
) -> Result<(Snapshot, String)> {
    let snap = session.export_snapshot().await?;
    tracing::info!(source = %o.source, snapshot = %snap.id, isolation = %snap.isolation, "exported snapshot; dumping in it");
    let (user, db) = (o.user.as_str(), o.db.as_str());
    let snapshot_arg = format!("--snapshot={}", snap.id);
    let mut log_text = format!(
        "# snapshot {}: exported by one psql session, transaction BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY \
         (transaction_isolation={}, transaction_read_only={}); pg_dump -F c, pg_dump --schema-only and the row counts all read this snapshot\n\
         # every session: {READ_ONLY} (the snapshot session adds idle_in_transaction_session_timeout=0)\n",
        snap.id, snap.isolation, snap.read_only
    );
    // The source's own clock around the dumps: pg_dump writes the header's creation time in
    // its local zone and the archive does not say which (`preflight::age`); `date` in an exec
    // like pg_dump's (same container, same environment) reads the same zone.
    log_text.push_str(&source_clock(docker, &o.source, "before").await);
    for (what, args, file) in [
        ("pg_dump -F c -Z 6", &["-F", "c", "-Z", "6"][..], dump),
        ("pg_dump --schema-only", &["--schema-only"][..], schema),
    ] {
        let mut cmd = vec!["pg_dump", "-U", user, "-d", db];
        cmd.extend_from_slice(args);
        cmd.push(&snapshot_arg);
        let (code, err) = exec_to_file(docker, &o.source, &cmd, &stage.join(file)).await?;
        log_text.push_str(&format!("# {what} {snapshot_arg} (exit {code})\n{err}\n"));
        if code != 0 {
            return Err(Error::new(
                ErrorKind::BackupFailed,
                format!(
                    "{what} in {} failed (exit {code}): {}",
                    o.source,
                    err.trim()
                ),
            ));
        }
    }
    log_text.push_str(&source_clock(docker, &o.source, "after").await);
    Ok((snap, log_text))
}

/// One `# source clock <which>: <local time with its UTC offset>` line of the log
/// (`backup_set::age::parse_record` reads it back); a clock that cannot be read is said so.
async fn source_clock(docker: &Docker, source: &str, which: &str) -> String {
    let mut out: Vec<u8> = Vec::new();
    let cmd = ["date", "+%Y-%m-%dT%H:%M:%S%z"];
    let prefix = backup_set::age::RECORD_PREFIX;
    let res = exec_in(
        docker,
        source,
        &cmd,
        &[READ_ONLY.to_string()],
        None::<tokio::fs::File>,
        &mut out,
    )
    .await;
    match res {
        Ok((0, _)) => format!(
            "{prefix}{which}: {} (`date` in the source container: the local time zone pg_dump writes the dump header's creation time in)\n",
            String::from_utf8_lossy(&out).trim()
        ),
        Ok((code, err)) => format!("# source clock {which} unknown: `date` exited {code}: {}\n", err.trim()),
        Err(e) => format!("# source clock {which} unknown: {}\n", e.message),
    }
}

/// Take the backup. Files appear in `out` only when all of them are complete.
pub async fn backup(docker: &Docker, o: &BackupOptions) -> Result<BackupResult> {
    check_out_dir(&o.out, o.force)?;
    let info = docker
        .inspect_container(&o.source, None)
        .await
        .map_err(|e| match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => Error::new(
                ErrorKind::SourceNotFound,
                format!(
                    "The source container {} does not exist on this Docker Engine.",
                    o.source
                ),
            )
            .with_hint(
                "Pass --source-container with the name or id shown by the engine's container list.",
            ),
            e => crate::docker::classify(e),
        })?;
    if !info.state.and_then(|s| s.running).unwrap_or(false) {
        return Err(Error::new(
            ErrorKind::SourceNotRunning,
            format!("The source container {} is not running.", o.source),
        )
        .with_hint(
            "Start the production database container first; the backup only reads from it.",
        ));
    }
    let stamp = o
        .stamp
        .clone()
        .unwrap_or_else(|| chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string());
    std::fs::create_dir_all(&o.out).at(&o.out, "create the output directory")?;
    let stage = tempfile::Builder::new()
        .prefix(".backup-")
        .tempdir_in(&o.out)
        .at(&o.out, "create a staging directory in")?;
    let dump = format!("directus_full_{stamp}.dump");
    let schema = format!("directus_schema_{stamp}.sql");
    let counts = format!("directus_rowcounts_{stamp}.psv");
    let log = format!("directus_pg_dump_{stamp}.log");
    let (user, db) = (o.user.as_str(), o.db.as_str());

    // One transaction for everything: its snapshot is exported, both pg_dump runs import it,
    // and the counts run in the transaction itself before it commits.
    let mut session = SnapshotSession::open(docker, &o.source, user, db).await?;
    let taken = take_in_snapshot(docker, o, &mut session, stage.path(), &dump, &schema).await;
    let (snap, mut log_text) = match taken {
        Ok(v) => v,
        Err(e) => return Err(session.abort(e).await),
    };
    // Content hashes: a third session imports the snapshot and streams every table's binary
    // COPY out through docker exec, hashed as it arrives (the scenarios' data fingerprint).
    let content = format!("directus_content_{stamp}.json");
    if o.content_hashes {
        let t = std::time::Instant::now();
        let hashed = crate::fingerprint::data_via_exec(
            docker,
            &o.source,
            user,
            db,
            Some(&snap.id),
            &[READ_ONLY.to_string()],
        )
        .await;
        let fp = match hashed {
            Ok(fp) => fp,
            Err(e) => return Err(session.abort(e).await),
        };
        let file = crate::fingerprint::ContentFile::from_data(&fp);
        if let Err(e) =
            crate::fsutil::write_atomic(&stage.path().join(&content), file.render().as_bytes())
        {
            return Err(session.abort(e.into()).await);
        }
        log_text.push_str(&format!(
            "# content hashes: {} tables, binary COPY of each in snapshot {} ({}; {} ms)\n",
            fp.len(),
            snap.id,
            crate::copyhash::DEFINITION,
            t.elapsed().as_millis()
        ));
        tracing::info!(source = %o.source, snapshot = %snap.id, tables = fp.len(), "content hashes taken in the exported snapshot");
    }
    let sent = match session.send(&exact_counts_statements()).await {
        Ok(()) => session.send("COMMIT;\n").await,
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        return Err(session.abort(e).await);
    }
    let (code, err, text) = session.finish().await?;
    log_text.push_str(&format!(
        "# exact row counts: count(*) per table in the same transaction (snapshot {}), then COMMIT (psql exit {code})\n{err}\n",
        snap.id
    ));
    if code != 0 {
        return Err(Error::new(
            ErrorKind::BackupFailed,
            format!(
                "row counts in {} failed (exit {code}): {}",
                o.source,
                err.trim()
            ),
        ));
    }
    let rc = RowCounts::from_psql_csv(&text)?;
    tracing::info!(source = %o.source, snapshot = %snap.id, tables = rc.counts.len(), "row counts taken in the exported snapshot");
    crate::fsutil::write_atomic(&stage.path().join(&counts), rc.render().as_bytes())?;
    crate::fsutil::write_atomic(&stage.path().join(&log), log_text.as_bytes())?;
    let mut names = vec![dump.clone(), schema.clone(), counts.clone(), log.clone()];
    if o.content_hashes {
        names.push(content.clone());
    }
    crate::checksum::write_sums(stage.path(), &names)?;
    // Move into place: data files first, SHA256SUMS last.
    let mut files = Vec::new();
    for n in names
        .iter()
        .chain(std::iter::once(&"SHA256SUMS".to_string()))
    {
        let from = stage.path().join(n);
        let to = o.out.join(n);
        let bytes = std::fs::metadata(&from).at(&from, "stat")?.len();
        let sha256 = crate::checksum::sha256_file(&from)?;
        std::fs::rename(&from, &to).at(&to, "move into place")?;
        files.push(BackupFile {
            name: n.clone(),
            sha256,
            bytes,
        });
    }
    Ok(BackupResult {
        dir: o.out.clone(),
        dump,
        schema,
        rowcounts: counts,
        content: o.content_hashes.then_some(content),
        files,
    })
}

//! `dryrun backup`: a read-only backup of a source container as the operations team made it
//! (custom dump, schema-only SQL, exact row counts, SHA256SUMS), streamed through the API.

use std::path::{Path, PathBuf};

use bollard::Docker;
use serde::Serialize;

use crate::container::exec_in;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::AtomicFile;
use crate::rowcounts::{exact_counts_script, RowCounts};

/// Every connection the backup makes to the source is read-only.
const READ_ONLY: &str = "PGOPTIONS=-c default_transaction_read_only=on";

#[derive(Debug, Clone)]
pub struct BackupOptions {
    pub source: String,
    pub db: String,
    pub user: String,
    pub out: PathBuf,
    /// Suffix of the file names (`directus_full_<stamp>.dump`); default: UTC time.
    pub stamp: Option<String>,
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
    let mut f = tokio::fs::File::from_std(std);
    let res = exec_in(
        docker,
        container,
        cmd,
        &[READ_ONLY.to_string()],
        None::<tokio::fs::File>,
        &mut f,
    )
    .await?;
    drop(f);
    if res.0 == 0 {
        af.commit()?;
    }
    Ok(res)
}

/// Take the backup. Files appear in `out` only when all of them are complete.
pub async fn backup(docker: &Docker, o: &BackupOptions) -> Result<BackupResult> {
    let info = docker
        .inspect_container(&o.source, None)
        .await
        .map_err(|e| match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => Error::bad_input(
                "source_not_found",
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
        return Err(Error::bad_input(
            "source_not_running",
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
    let mut log_text = String::new();

    let (code, err) = exec_to_file(
        docker,
        &o.source,
        &["pg_dump", "-U", user, "-d", db, "-F", "c", "-Z", "6"],
        &stage.path().join(&dump),
    )
    .await?;
    log_text.push_str(&format!("# pg_dump -F c -Z 6 (exit {code})\n{err}\n"));
    if code != 0 {
        return Err(Error::check(
            "backup_failed",
            format!(
                "pg_dump in {} failed (exit {code}): {}",
                o.source,
                err.trim()
            ),
        ));
    }
    let (code, err) = exec_to_file(
        docker,
        &o.source,
        &["pg_dump", "-U", user, "-d", db, "--schema-only"],
        &stage.path().join(&schema),
    )
    .await?;
    log_text.push_str(&format!("# pg_dump --schema-only (exit {code})\n{err}\n"));
    if code != 0 {
        return Err(Error::check(
            "backup_failed",
            format!(
                "pg_dump --schema-only in {} failed (exit {code}): {}",
                o.source,
                err.trim()
            ),
        ));
    }
    // Exact counts, all in one REPEATABLE READ READ ONLY transaction.
    let sql = exact_counts_script();
    let mut out = Vec::new();
    let input = std::io::Cursor::new(sql.into_bytes());
    let (code, err) = exec_in(
        docker,
        &o.source,
        &[
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            user,
            "-d",
            db,
            "-tA",
            "-F",
            "|",
        ],
        &[READ_ONLY.to_string()],
        Some(input),
        &mut out,
    )
    .await?;
    if code != 0 {
        return Err(Error::check(
            "backup_failed",
            format!(
                "row counts in {} failed (exit {code}): {}",
                o.source,
                err.trim()
            ),
        ));
    }
    let text = String::from_utf8_lossy(&out);
    let rc = RowCounts::from_psql_output(&text)?;
    crate::fsutil::write_atomic(&stage.path().join(&counts), rc.render().as_bytes())?;
    crate::fsutil::write_atomic(&stage.path().join(&log), log_text.as_bytes())?;
    let names = vec![dump.clone(), schema.clone(), counts.clone(), log.clone()];
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
        files,
    })
}

//! Moving data in and out of a running server: a file streamed into the container, a tar
//! unpacked into it, a physical copy (`pg_basebackup`) out of it.

use std::path::Path;

use bollard::query_parameters::UploadToContainerOptionsBuilder;

use crate::docker::classify;
use crate::error::{Error, ErrorKind, Result};

#[allow(unused_imports)]
use super::*;

impl PgContainer {
    /// Stream a host file into the container at `dest_dir/name` (a tar with one entry,
    /// built on the fly; memory does not grow with the file size).
    pub async fn upload_file(&self, src: &Path, dest_dir: &str, name: &str) -> Result<()> {
        let meta = std::fs::metadata(src).map_err(|e| Error::io(src, "read", e))?;
        let mut header = tar::Header::new_gnu();
        header
            .set_path(name)
            .map_err(|e| Error::new(ErrorKind::BadFileName, format!("{}: {e}", src.display())))?;
        header.set_size(meta.len());
        header.set_mode(0o644);
        header.set_uid(999);
        header.set_gid(999);
        header.set_mtime(0);
        header.set_cksum();
        let file = tokio::fs::File::open(src)
            .await
            .map_err(|e| Error::io(src, "open", e))?;
        crate::fault::hit("upload").await;
        let pad = (512 - (meta.len() % 512) as usize) % 512;
        let bar = crate::byte_progress::bytes(&format!("upload {name}"), meta.len());
        let body = tar_stream(header, file, pad, bar);
        self.docker
            .upload_to_container(
                &self.id,
                Some(
                    UploadToContainerOptionsBuilder::default()
                        .path(dest_dir)
                        .build(),
                ),
                bollard::body_try_stream(body),
            )
            .await
            .map_err(|e| {
                let text = e.to_string();
                if text.contains("no space left") {
                    Error::new(
                        ErrorKind::DiskFull,
                        format!(
                            "No space left on the Docker host while copying {} into {}.",
                            src.display(),
                            self.name
                        ),
                    )
                    .with_hint(
                        "Free disk space on the engine's storage (docker system df) and run again.",
                    )
                } else {
                    classify(e)
                }
            })
    }

    /// Unpack a tar file from the host into `dest` (streamed; ownership as in the tar).
    pub async fn upload_tar(&self, tar: &Path, dest: &str) -> Result<()> {
        upload_tar_to(&self.docker, &self.id, &self.name, tar, dest).await
    }

    /// A physical copy of this server's data directory (`pg_basebackup -Ft -X fetch`, a
    /// consistent snapshot with its WAL) streamed into `path`; returns its size in bytes.
    pub async fn basebackup_to(&self, path: &Path) -> Result<u64> {
        let mut f = tokio::fs::File::create(path)
            .await
            .map_err(|e| Error::io(path, "create", e))?;
        let (code, err) = self
            .exec_io(
                &[
                    "pg_basebackup",
                    "-U",
                    DB_USER,
                    "-D",
                    "-",
                    "-F",
                    "t",
                    "-X",
                    "fetch",
                    "-c",
                    "fast",
                ],
                &[],
                None::<tokio::fs::File>,
                &mut f,
            )
            .await?;
        // exec_in flushed the file; no fsync: the copy is a throwaway read back in this run.
        drop(f);
        if code != 0 {
            return Err(Error::new(
                ErrorKind::BasebackupFailed,
                format!(
                    "pg_basebackup in {} failed (exit {code}): {}",
                    self.name,
                    err.trim()
                ),
            )
            .with_hint("The baseline server must run with wal_level replica and max_wal_senders > 0 (the harness's restore settings keep both)."));
        }
        let len = std::fs::metadata(path)
            .map_err(|e| Error::io(path, "stat", e))?
            .len();
        Ok(len)
    }
}

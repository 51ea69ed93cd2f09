//! Labelled volumes of a run (create, remove, count per role) and streaming files into a
//! container or volume as tar, through the engine.

use std::collections::HashMap;
use std::path::Path;
use std::pin::Pin;
use std::sync::Mutex;

use bollard::models::{ContainerCreateBody, Mount, MountType, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveVolumeOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};

use crate::docker::{classify, RunIdentity};
use crate::error::{Error, Result};

#[allow(unused_imports)]
use super::*;

/// How many containers were started per role label (scenarios prove "no container was touched").
static CREATED: Mutex<Vec<(String, usize)>> = Mutex::new(Vec::new());

pub fn created_count(role: &str) -> usize {
    CREATED
        .lock()
        .ok()
        .and_then(|c| c.iter().find(|(r, _)| r == role).map(|(_, n)| *n))
        .unwrap_or(0)
}

pub(super) fn count_created(role: &str) {
    if let Ok(mut c) = CREATED.lock() {
        match c.iter_mut().find(|(r, _)| r == role) {
            Some((_, n)) => *n += 1,
            None => c.push((role.to_string(), 1)),
        }
    }
}

/// Create a labelled volume.
pub async fn create_volume(docker: &Docker, run: &RunIdentity, role: &str) -> Result<String> {
    create_volume_with(docker, run, role, None).await
}

/// Create a labelled volume with driver options (e.g. a size-limited tmpfs).
pub async fn create_volume_with(
    docker: &Docker,
    run: &RunIdentity,
    role: &str,
    driver_opts: Option<HashMap<String, String>>,
) -> Result<String> {
    let name = format!(
        "dryrun-{}-{}-{}",
        run.run_id.to_lowercase(),
        sanitize(role),
        short_rand()
    );
    create_named_volume(docker, &name, run.labels(role), driver_opts).await
}

/// Create a volume with exactly this name and these labels.
pub(super) async fn create_named_volume(
    docker: &Docker,
    name: &str,
    labels: HashMap<String, String>,
    driver_opts: Option<HashMap<String, String>>,
) -> Result<String> {
    let name = name.to_string();
    crate::engine_ledger::record_call("create_volume", &name);
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(name.clone()),
            labels: Some(labels),
            driver_opts,
            ..Default::default()
        })
        .await?;
    Ok(name)
}

pub async fn remove_volume(docker: &Docker, name: &str) -> Result<()> {
    crate::engine_ledger::record_call("remove_volume", name);
    match docker
        .remove_volume(
            name,
            Some(RemoveVolumeOptionsBuilder::default().force(true).build()),
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

pub(super) fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Unpack a host tar file into `dest` of a container (created or running), streamed.
pub(super) async fn upload_tar_to(
    docker: &Docker,
    id: &str,
    name: &str,
    tar: &Path,
    dest: &str,
) -> Result<()> {
    let file = tokio::fs::File::open(tar)
        .await
        .map_err(|e| Error::io(tar, "open", e))?;
    let body = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
    docker
        .upload_to_container(
            id,
            Some(
                UploadToContainerOptionsBuilder::default()
                    .path(dest)
                    .build(),
            ),
            bollard::body_try_stream(body),
        )
        .await
        .map_err(|e| gone_or(e, name))
}

/// Unpack a `pg_basebackup` tar into a data volume before PostgreSQL first starts on it.
/// testcontainers starts a container right after creating it, so the copy goes in through a
/// helper container created (never started) on the volume and removed again.
pub(super) async fn seed_volume(
    docker: &Docker,
    run: &RunIdentity,
    spec: &PgSpec,
    volume: &str,
    tar: &Path,
) -> Result<()> {
    let role = format!("{}-seed", spec.role);
    let name = format!(
        "dryrun-{}-{}-{}",
        run.run_id.to_lowercase(),
        sanitize(&role),
        short_rand()
    );
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        labels: Some(run.labels(&role)),
        host_config: Some(bollard::models::HostConfig {
            mounts: Some(vec![Mount {
                target: Some(PGDATA.into()),
                source: Some(volume.to_string()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    crate::engine_ledger::record_call("create", &name);
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(&name).build()),
            body,
        )
        .await
        .map_err(|e| image_error(e, &spec.image))?;
    let t = std::time::Instant::now();
    let res = upload_tar_to(docker, &name, &name, tar, PGDATA).await;
    tracing::info!(
        target: "harness::container",
        bytes = std::fs::metadata(tar).map(|m| m.len()).unwrap_or(0),
        ms = t.elapsed().as_millis() as u64,
        ok = res.is_ok(),
        "volume seeded from a physical copy"
    );
    let removed = remove_container(docker, &name).await;
    res.and(removed)
}

/// A tar stream with one entry: header, the file's bytes, padding and the end marker.
pub(super) fn tar_stream(
    header: tar::Header,
    file: tokio::fs::File,
    pad: usize,
    bar: Box<dyn crate::byte_progress::Counter + Send>,
) -> Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>> {
    let head =
        futures_util::stream::once(async move { Ok(Bytes::copy_from_slice(header.as_bytes())) });
    let body = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).inspect(move |c| {
        if let Ok(b) = c {
            bar.advance(b.len() as u64);
        }
    });
    let tail = futures_util::stream::once(async move { Ok(Bytes::from(vec![0u8; pad + 1024])) });
    Box::pin(head.chain(body.map_err(std::io::Error::other)).chain(tail))
}

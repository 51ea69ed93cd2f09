//! The PostgreSQL 16 image: resolve `PG_IMAGE` / `postgres:16` / the offline-built image, and
//! build `dot-iu-cutter/postgres:16` from debootstrap + the pgserver wheel through the API.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use crate::error::{Error, ErrorKind, IoContext, Result};

/// Tag of the image built offline.
pub const OFFLINE_TAG: &str = "dot-iu-cutter/postgres:16";
/// The official image, preferred when the engine has it.
pub const OFFICIAL_TAG: &str = "postgres:16";
/// Label carrying the recipe hash of an offline-built image.
pub const LABEL_RECIPE: &str = "io.dot-iu-cutter.recipe";
/// The wheel carrying PostgreSQL 16.2 and its pinned SHA-256.
pub const WHEEL_SPEC: &str = "pgserver==0.1.4";
pub const WHEEL_SHA256: &str = "d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813";
pub const WHEEL_FILE: &str =
    "pgserver-0.1.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
const SUITE: &str = "bookworm";
const DOCKERFILE: &str = include_str!("../../../harness/image/Dockerfile");
const ENTRYPOINT: &str = include_str!("../../../harness/image/docker-entrypoint.sh");

/// Hash of everything the offline image is made from.
pub fn recipe_hash() -> String {
    let mut s = String::new();
    s.push_str("recipe-v1\n");
    s.push_str(DOCKERFILE);
    s.push_str(ENTRYPOINT);
    s.push_str(WHEEL_SHA256);
    s.push_str(SUITE);
    s.push_str("minbase");
    backup_set::checksum::sha256_bytes(s.as_bytes())[..16].to_string()
}

/// The image a run uses, and how it was chosen.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageChoice {
    pub reference: String,
    pub id: String,
    pub source: &'static str,
}

async fn image_labels(
    docker: &Docker,
    reference: &str,
) -> Option<(String, HashMap<String, String>)> {
    let info = docker.inspect_image(reference).await.ok()?;
    let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
    Some((info.id.unwrap_or_default(), labels))
}

/// Choose the image: `PG_IMAGE` if given (must exist), else `postgres:16` if present, else the
/// offline image if present with the current recipe. Never pulls.
pub async fn resolve(docker: &Docker, requested: Option<&str>) -> Result<ImageChoice> {
    crate::fault::hit("image").await;
    if let Some(r) = requested.filter(|r| !r.is_empty()) {
        return match image_labels(docker, r).await {
            Some((id, _)) => Ok(ImageChoice { reference: r.into(), id, source: "PG_IMAGE" }),
            None => Err(Error::new(ErrorKind::ImageMissing, format!("The image {r} named by PG_IMAGE / --image is not present on the Docker Engine, and no registry can be reached to pull it."))
                .with_hint("Unset PG_IMAGE to use the offline image, or build it with `make image`.")),
        };
    }
    if let Some((id, _)) = image_labels(docker, OFFICIAL_TAG).await {
        return Ok(ImageChoice {
            reference: OFFICIAL_TAG.into(),
            id,
            source: "official",
        });
    }
    match image_labels(docker, OFFLINE_TAG).await {
        Some((id, labels)) if labels.get(LABEL_RECIPE) == Some(&recipe_hash()) => {
            Ok(ImageChoice { reference: OFFLINE_TAG.into(), id, source: "offline-build" })
        }
        Some(_) => Err(Error::new(ErrorKind::ImageOutdated, format!("The image {OFFLINE_TAG} was built from an older recipe (label {LABEL_RECIPE} differs from {}).", recipe_hash()))
            .with_hint("Rebuild it with `make image` (or `dryrun image`).")),
        None => Err(Error::new(ErrorKind::ImageMissing, format!("No PostgreSQL 16 image on the Docker Engine: neither {OFFICIAL_TAG} nor {OFFLINE_TAG} is present, and no registry can be reached to pull one."))
            .with_hint("Build the offline image with `make image` (needs root, debootstrap and python3 -m pip); or set PG_IMAGE to a local PostgreSQL 16 image.")),
    }
}

/// Ensure an image exists: resolve it, or build the offline one when `build` is set.
pub async fn ensure(
    docker: &Docker,
    requested: Option<&str>,
    cache: &Path,
    force: bool,
) -> Result<ImageChoice> {
    if !force {
        match resolve(docker, requested).await {
            Ok(c) => return Ok(c),
            Err(e) if requested.is_some() => return Err(e),
            Err(_) => {}
        }
    }
    build_offline(docker, cache).await?;
    resolve(docker, None).await
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    tracing::info!(target: "harness::image", ?cmd, "{what}");
    let out = cmd.output().map_err(|e| {
        Error::new(ErrorKind::ToolMissing, format!("Cannot run {what} ({:?}): {e}.", cmd.get_program()))
            .with_hint("Install it (apt-get install debootstrap; python3 with pip) or use an existing PostgreSQL 16 image through PG_IMAGE.")
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(12).collect();
        return Err(Error::new(
            ErrorKind::ImageBuildFailed,
            format!(
                "{what} failed ({}):\n{}",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ),
        ));
    }
    Ok(())
}

/// What the image step does about debootstrap on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebootstrapPlan {
    /// It is installed here.
    Present(PathBuf),
    /// It is missing, and this process may install it: root, with apt-get at this path.
    Install { apt_get: PathBuf },
    /// It is missing and cannot be installed by this process; the paragraph says what to run.
    Refuse(String),
}

/// An executable named `name` in the directories of `path` (a `PATH` value), and with
/// `system_dirs` also in the sbin directories a non-root `PATH` often lacks.
pub fn find_tool(name: &str, path: &std::ffi::OsStr, system_dirs: bool) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let extra: &[&str] = if system_dirs {
        &["/usr/sbin", "/sbin"]
    } else {
        &[]
    };
    std::env::split_paths(path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Decide: debootstrap present, or install it (root and apt-get), or refuse with what to run.
/// `path` is the `PATH` searched (plus /usr/sbin and /sbin when `system_dirs`).
pub fn debootstrap_plan(
    path: &std::ffi::OsStr,
    system_dirs: bool,
    is_root: bool,
) -> DebootstrapPlan {
    let find = |name: &str| find_tool(name, path, system_dirs);
    if let Some(p) = find("debootstrap") {
        return DebootstrapPlan::Present(p);
    }
    match (find("apt-get"), is_root) {
        (Some(apt_get), true) => DebootstrapPlan::Install { apt_get },
        (Some(_), false) => DebootstrapPlan::Refuse(format!(
            "Building the offline PostgreSQL 16 image needs debootstrap, which is not installed, and this process (not root) cannot install it. Run `sudo apt-get update && sudo apt-get install -y debootstrap` (or run `make image` as root, which installs it), then run the command again; or set PG_IMAGE to a PostgreSQL 16 image the engine already has (no build needed), or load {OFFICIAL_TAG} into the engine."
        )),
        (None, _) => DebootstrapPlan::Refuse(format!(
            "Building the offline PostgreSQL 16 image needs debootstrap, which is not installed, and there is no apt-get to install it with. Install debootstrap with this system's package manager (it is in every Debian-family distribution; elsewhere see https://wiki.debian.org/Debootstrap), then run the command again; or set PG_IMAGE to a PostgreSQL 16 image the engine already has, or load {OFFICIAL_TAG} into the engine."
        )),
    }
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective uid).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Make sure debootstrap can run: find it, or install it with apt-get when root (logged), or
/// refuse with one paragraph saying what to run. Returns the program to run.
fn ensure_debootstrap() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    match debootstrap_plan(&path, true, is_root()) {
        DebootstrapPlan::Present(p) => Ok(p),
        DebootstrapPlan::Install { apt_get } => {
            tracing::warn!(target: "harness::image",
                "debootstrap is missing: installing it with apt-get (root) for the image build"
            );
            run(
                Command::new(&apt_get)
                    .args(["update", "-qq"])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
                "apt-get update",
            )?;
            run(
                Command::new(&apt_get)
                    .args(["install", "-y", "-qq", "debootstrap"])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
                "apt-get install -y debootstrap",
            )?;
            match debootstrap_plan(&path, true, true) {
                DebootstrapPlan::Present(p) => {
                    tracing::warn!(
                        target: "harness::image",
                        path = %p.display(), "debootstrap installed"
                    );
                    Ok(p)
                }
                _ => Err(Error::new(ErrorKind::ToolMissing, "apt-get install -y debootstrap succeeded, but no debootstrap program is on PATH or in /usr/sbin.")
                    .with_hint("Check `dpkg -L debootstrap`, or set PG_IMAGE to an existing PostgreSQL 16 image.")),
            }
        }
        DebootstrapPlan::Refuse(msg) => Err(Error::new(ErrorKind::ToolMissing, msg).with_hint(
            "Install debootstrap (Debian/Ubuntu: apt-get install -y debootstrap) or set PG_IMAGE.",
        )),
    }
}

/// The Debian mirror configured for apt on this machine (or `DEBIAN_MIRROR`).
fn debian_mirror() -> Result<String> {
    if let Ok(m) = std::env::var("DEBIAN_MIRROR") {
        return Ok(m);
    }
    let mut texts = Vec::new();
    if let Ok(t) = std::fs::read_to_string("/etc/apt/sources.list") {
        texts.push(t);
    }
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        for e in rd.flatten() {
            if let Ok(t) = std::fs::read_to_string(e.path()) {
                texts.push(t);
            }
        }
    }
    for t in &texts {
        // deb822 stanzas: URIs + Suites containing the suite, not the security archive.
        for stanza in t.split("\n\n") {
            let field = |name: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
                    .unwrap_or_default()
            };
            let suites = field("Suites:");
            let uris = field("URIs:");
            if suites.split_whitespace().any(|s| s == SUITE) {
                if let Some(u) = uris.split_whitespace().find(|u| !u.contains("security")) {
                    return Ok(u.to_string());
                }
            }
        }
        // One-line format: deb URI SUITE components.
        for line in t.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.len() >= 3 && w[0] == "deb" {
                let (uri, suite) = if w[1].starts_with('[') {
                    match w.iter().position(|x| x.ends_with(']')) {
                        Some(i) if w.len() > i + 2 => (w[i + 1], w[i + 2]),
                        _ => continue,
                    }
                } else {
                    (w[1], w[2])
                };
                if suite == SUITE && !uri.contains("security") {
                    return Ok(uri.to_string());
                }
            }
        }
    }
    Err(Error::new(
        ErrorKind::NoDebianMirror,
        "No Debian mirror is configured in /etc/apt/sources.list(.d).",
    ))
    .map_err(|e| e.with_hint("Set DEBIAN_MIRROR to the Debian archive URL apt uses."))
}

/// Build the offline image: debootstrap rootfs (cached), pgserver wheel (pinned SHA-256),
/// a build context tar written to the cache, then the engine's build API.
pub async fn build_offline(docker: &Docker, cache: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(cache).at(cache, "create cache directory")?;
    let cache = std::path::absolute(cache).at(cache, "resolve")?;
    // 1. Root file system.
    let rootfs = cache.join("rootfs-bookworm-minbase");
    let done = cache.join("rootfs-bookworm-minbase.done");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&rootfs);
        let debootstrap = ensure_debootstrap()?;
        let mirror = debian_mirror()?;
        run(
            Command::new(debootstrap)
                .args(["--variant=minbase", SUITE])
                .arg(&rootfs)
                .arg(&mirror),
            "debootstrap",
        )?;
        for junk in ["var/cache/apt/archives", "var/lib/apt/lists"] {
            let d = rootfs.join(junk);
            if let Ok(rd) = std::fs::read_dir(&d) {
                for e in rd.flatten() {
                    if e.path().is_file() {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
        std::fs::write(&done, b"ok").at(&done, "write")?;
    }
    // 2. Wheel.
    let wheel_dir = cache.join("wheel");
    let wheel = wheel_dir.join(WHEEL_FILE);
    if !wheel.exists()
        || backup_set::checksum::sha256_file(&wheel, &crate::byte_progress::Hashing)?
            != WHEEL_SHA256
    {
        run(
            Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--python-version",
                    "3.11",
                    "--platform",
                    "manylinux2014_x86_64",
                    "-d",
                ])
                .arg(&wheel_dir)
                .arg(WHEEL_SPEC),
            "pip download of the pgserver wheel",
        )?;
    }
    let got = backup_set::checksum::sha256_file(&wheel, &crate::byte_progress::Hashing)?;
    if got != WHEEL_SHA256 {
        return Err(Error::new(
            ErrorKind::WheelChecksum,
            format!(
                "{} has SHA-256 {got}, expected {WHEEL_SHA256}.",
                wheel.display()
            ),
        )
        .with_hint("Delete the file and run `make image` again."));
    }
    let wheel_x = cache.join("wheel-extracted");
    if !wheel_x.join("pgserver/pginstall/bin/postgres").exists() {
        let _ = std::fs::remove_dir_all(&wheel_x);
        run(
            Command::new("python3")
                .args(["-m", "zipfile", "-e"])
                .arg(&wheel)
                .arg(&wheel_x),
            "unzip of the wheel",
        )?;
    }
    // 3. Build context (written to disk, then streamed to the engine).
    let ctx_path = cache.join("context.tar");
    {
        let mut af = backup_set::fsutil::AtomicFile::create(&ctx_path)?;
        write_context(af.file(), &rootfs, &wheel_x).at(&ctx_path, "write the build context")?;
        af.commit()?;
    }
    tracing::info!(target: "harness::image",
        secs = started.elapsed().as_secs_f64(),
        "build context ready"
    );
    // 4. Build via the API.
    let labels = HashMap::from([(LABEL_RECIPE.to_string(), recipe_hash())]);
    let opts = BuildImageOptionsBuilder::default()
        .t(OFFLINE_TAG)
        .dockerfile("Dockerfile")
        .rm(true)
        .forcerm(true)
        .labels(&labels)
        .build();
    let file = tokio::fs::File::open(&ctx_path)
        .await
        .map_err(|e| Error::io(&ctx_path, "open", e))?;
    let body = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
    let mut stream = docker.build_image(opts, None, Some(bollard::body_try_stream(body)));
    let mut log = String::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| {
            Error::new(
                ErrorKind::ImageBuildFailed,
                format!(
                    "The engine refused to build {OFFLINE_TAG}: {e}\n{}",
                    last(&log)
                ),
            )
        })?;
        if let Some(s) = info.stream {
            tracing::debug!(target: "harness::image", "{}", s.trim_end());
            log.push_str(&s);
        }
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(Error::new(
                ErrorKind::ImageBuildFailed,
                format!("Building {OFFLINE_TAG} failed: {err}\n{}", last(&log)),
            ));
        }
    }
    let _ = std::fs::remove_file(&ctx_path);
    tracing::info!(target: "harness::image", secs = started.elapsed().as_secs_f64(), "image built");
    Ok(())
}

fn last(s: &str) -> String {
    let l: Vec<&str> = s.lines().collect();
    l[l.len().saturating_sub(10)..].join("\n")
}

fn write_context(out: &mut std::fs::File, rootfs: &Path, wheel_x: &Path) -> std::io::Result<()> {
    let mut ctx = tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, out));
    ctx.follow_symlinks(false);
    add_bytes(&mut ctx, "Dockerfile", DOCKERFILE.as_bytes(), 0o644)?;
    add_bytes(
        &mut ctx,
        "docker-entrypoint.sh",
        ENTRYPOINT.as_bytes(),
        0o755,
    )?;
    // rootfs.tar: nested archive so that ADD extracts it with ownership and modes intact.
    let nested = tempfile::NamedTempFile::new_in(rootfs.parent().unwrap_or(Path::new(".")))?;
    {
        let mut t = tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, nested.as_file()));
        t.follow_symlinks(false);
        append_tree(&mut t, rootfs, Path::new(""))?;
        t.into_inner()?.flush()?;
    }
    let mut nf = std::fs::File::open(nested.path())?;
    let len = nf.metadata()?.len();
    let mut h = tar::Header::new_gnu();
    h.set_size(len);
    h.set_mode(0o644);
    h.set_mtime(0);
    ctx.append_data(&mut h, "rootfs.tar", &mut nf)?;
    // pg/: pgserver/pginstall/{bin,lib,share} + pgserver.libs (no headers).
    for sub in [
        "pgserver/pginstall/bin",
        "pgserver/pginstall/lib",
        "pgserver/pginstall/share",
        "pgserver.libs",
    ] {
        ctx.append_dir_all(PathBuf::from("pg").join(sub), wheel_x.join(sub))?;
    }
    ctx.into_inner()?.flush()?;
    Ok(())
}

fn add_bytes<W: Write>(
    t: &mut tar::Builder<W>,
    name: &str,
    data: &[u8],
    mode: u32,
) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_mtime(0);
    t.append_data(&mut h, name, data)
}

/// Append a root file system tree, skipping device nodes, sockets and fifos (the engine
/// provides /dev), keeping ownership, modes and symlinks.
fn append_tree<W: Write>(t: &mut tar::Builder<W>, root: &Path, rel: &Path) -> std::io::Result<()> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = rel.join(e.file_name());
        let ft = e.file_type()?;
        if ft.is_dir() {
            t.append_path_with_name(e.path(), &name)?;
            if name.as_os_str() != "proc" && name.as_os_str() != "sys" && name.as_os_str() != "dev"
            {
                append_tree(t, root, &name)?;
            }
        } else if ft.is_file() || ft.is_symlink() {
            t.append_path_with_name(e.path(), &name)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tool(dir: &Path, name: &str) {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    #[test]
    fn debootstrap_missing_is_installed_by_root_with_apt_and_refused_otherwise() {
        let t = tempfile::tempdir().expect("tmp");
        let (with_apt, with_both, bare) =
            (t.path().join("a"), t.path().join("b"), t.path().join("c"));
        for d in [&with_apt, &with_both, &bare] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        tool(&with_apt, "apt-get");
        tool(&with_both, "apt-get");
        tool(&with_both, "debootstrap");
        // A file that is not executable does not count.
        std::fs::write(bare.join("debootstrap"), "").expect("write");
        let p = |d: &Path| d.as_os_str().to_owned();
        assert_eq!(
            debootstrap_plan(&p(&with_both), false, false),
            DebootstrapPlan::Present(with_both.join("debootstrap"))
        );
        assert_eq!(
            debootstrap_plan(&p(&with_apt), false, true),
            DebootstrapPlan::Install {
                apt_get: with_apt.join("apt-get")
            }
        );
        match debootstrap_plan(&p(&with_apt), false, false) {
            DebootstrapPlan::Refuse(m) => {
                assert!(
                    m.contains("sudo apt-get update && sudo apt-get install -y debootstrap"),
                    "{m}"
                );
                assert!(m.contains("PG_IMAGE"), "{m}");
                assert!(!m.contains('\n'), "one paragraph: {m}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        match debootstrap_plan(&p(&bare), false, true) {
            DebootstrapPlan::Refuse(m) => assert!(m.contains("no apt-get"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_image_step_without_debootstrap_on_path_refuses_before_building() {
        // The real decision on this machine's tools, with a PATH lacking debootstrap and
        // apt-get and not root: a one-paragraph refusal, nothing run.
        let t = tempfile::tempdir().expect("tmp");
        let plan = debootstrap_plan(t.path().as_os_str(), false, false);
        assert!(matches!(plan, DebootstrapPlan::Refuse(_)), "{plan:?}");
    }
}

//! The suite built into `dryrun`: scenarios, snapshots, checks, the stand-in P0 and the bundled
//! fixture, unpacked into a cache folder so the binary alone runs the suite outside a checkout.

use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use crate::error::{Error, Result};

static SCENARIOS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../scenarios");
static SNAPSHOTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../snapshots");
static CHECKS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../checks");
static P0: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../migrations/p0");
static FINGERPRINT: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../migrations/fingerprint");
static FIXTURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../fixtures");

/// The folders of the bundle, each with where it goes in an unpacked suite.
fn parts() -> [(&'static str, &'static Dir<'static>); 6] {
    [
        ("scenarios", &SCENARIOS),
        ("snapshots", &SNAPSHOTS),
        ("checks", &CHECKS),
        ("migrations/p0", &P0),
        ("migrations/fingerprint", &FINGERPRINT),
        ("fixtures", &FIXTURES),
    ]
}

/// Every file of a folder, recursively: (path relative to the folder, contents).
fn files(d: &'static Dir<'static>) -> Vec<(&'static Path, &'static [u8])> {
    let mut out = Vec::new();
    for f in d.files() {
        out.push((f.path(), f.contents()));
    }
    for sub in d.dirs() {
        out.extend(files(sub));
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

/// `(path, sha256)` of each committed scenario and snapshot file (`scenarios/S01-….yaml`,
/// `snapshots/S01-….snap`), as built into this binary.
pub fn committed_suite() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for (top, d) in [("scenarios", &SCENARIOS), ("snapshots", &SNAPSHOTS)] {
        for (p, bytes) in files(d) {
            v.push((
                format!("{top}/{}", p.display()),
                crate::checksum::sha256_bytes(bytes),
            ));
        }
    }
    v
}

/// One SHA-256 over the committed scenarios and snapshots (path and digest of each): what the
/// HB-05 closure line is bound to.
pub fn suite_digest() -> String {
    let mut text = String::new();
    for (p, d) in committed_suite() {
        text.push_str(&format!("{d}  {p}\n"));
    }
    crate::checksum::sha256_bytes(text.as_bytes())
}

/// The harness's version as reports name it: the crate version and the bundle's digest.
pub fn harness_version() -> String {
    format!(
        "dryrun {} (suite {})",
        env!("CARGO_PKG_VERSION"),
        &suite_digest()[..12]
    )
}

/// Where the bundle is unpacked: `DRYRUN_HOME`, else `$XDG_CACHE_HOME/dryrun`, else
/// `$HOME/.cache/dryrun`, else the system's temporary folder.
fn cache_root() -> PathBuf {
    if let Some(h) = std::env::var_os("DRYRUN_HOME") {
        return PathBuf::from(h);
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(x).join("dryrun");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache").join("dryrun");
    }
    std::env::temp_dir().join("dryrun")
}

/// The suite as built into this binary, unpacked once per bundle digest into the cache folder
/// (written into a temporary sibling and renamed into place, so a half-written suite is never
/// used; an existing complete one is reused). Returns the folder, shaped like a checkout.
pub fn unpack() -> Result<PathBuf> {
    unpack_into(&cache_root())
}

/// [`unpack`] into `root`.
pub fn unpack_into(root: &Path) -> Result<PathBuf> {
    let digest = {
        let mut text = String::new();
        for (top, d) in parts() {
            for (p, bytes) in files(d) {
                text.push_str(&format!(
                    "{}  {top}/{}\n",
                    crate::checksum::sha256_bytes(bytes),
                    p.display()
                ));
            }
        }
        crate::checksum::sha256_bytes(text.as_bytes())
    };
    let dest = root.join(format!("suite-{}", &digest[..16]));
    if dest.join(".complete").is_file() {
        return Ok(dest);
    }
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, "create the cache folder", e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".suite-")
        .tempdir_in(root)
        .map_err(|e| Error::io(root, "create a folder in", e))?;
    for (top, d) in parts() {
        for (p, bytes) in files(d) {
            let path = tmp.path().join(top).join(p);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create", e))?;
            }
            std::fs::write(&path, bytes).map_err(|e| Error::io(&path, "write", e))?;
        }
    }
    let marker = tmp.path().join(".complete");
    std::fs::write(&marker, format!("{digest}\n")).map_err(|e| Error::io(&marker, "write", e))?;
    let staged = tmp.keep();
    match std::fs::rename(&staged, &dest) {
        Ok(()) => Ok(dest),
        // Another dryrun unpacked the same bundle first: use its copy.
        Err(_) if dest.join(".complete").is_file() => {
            let _ = std::fs::remove_dir_all(&staged);
            Ok(dest)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staged);
            Err(Error::io(&dest, "move the unpacked suite into", e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundle is the checkout's suite: every committed scenario and snapshot, byte for byte.
    #[test]
    fn the_bundle_holds_the_checkouts_scenarios_and_snapshots() {
        let m = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let repo = m.parent().map(Path::to_path_buf).unwrap_or(m);
        let suite = committed_suite();
        assert_eq!(
            suite.iter().filter(|(p, _)| p.ends_with(".yaml")).count(),
            26
        );
        for (p, d) in &suite {
            let on_disk = crate::checksum::sha256_file(&repo.join(p)).expect(p);
            assert_eq!(&on_disk, d, "{p} differs from the checkout: rebuild");
        }
    }

    #[test]
    fn unpacked_once_shaped_like_a_checkout() {
        let t = tempfile::tempdir().expect("tmp");
        let a = unpack_into(t.path()).expect("unpack");
        let b = unpack_into(t.path()).expect("again");
        assert_eq!(a, b);
        assert!(crate::checkout::is_checkout(&a), "{}", a.display());
        assert!(a.join("fixtures/directus_full_fixture.dump").is_file());
        assert!(a.join("checks/hb08.yaml").is_file());
        let leftovers: Vec<_> = std::fs::read_dir(t.path())
            .expect("ls")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".suite-"))
            .collect();
        assert!(leftovers.is_empty(), "a staging folder was left");
    }
}

//! File-system helpers: atomic writes (temp file + rename) so nothing is left half-written.
//! Owns the rule that every artefact either exists complete or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// Write `bytes` to `path` through a temporary file in the same directory, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).at(dir, "create directory")?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).at(dir, "create a temporary file in")?;
    tmp.write_all(bytes).at(path, "write")?;
    tmp.as_file().sync_all().at(path, "sync")?;
    set_readable(tmp.path());
    tmp.persist(path)
        .map_err(|e| crate::error::Error::io(path, "rename into place", e.error))?;
    Ok(())
}

/// A file being written in place of `path`; it only appears under its name on `commit`.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<Self> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).at(dir, "create directory")?;
        let tmp = tempfile::NamedTempFile::new_in(dir).at(dir, "create a temporary file in")?;
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
        })
    }
    pub fn file(&mut self) -> &mut std::fs::File {
        self.tmp.as_file_mut()
    }
    pub fn commit(self) -> Result<PathBuf> {
        self.tmp.as_file().sync_all().at(&self.path, "sync")?;
        set_readable(self.tmp.path());
        let path = self.path.clone();
        self.tmp
            .persist(&path)
            .map_err(|e| crate::error::Error::io(&path, "rename into place", e.error))?;
        Ok(path)
    }
}

/// Temporary files are created 0600; artefacts are ordinary 0644 files.
fn set_readable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644));
}

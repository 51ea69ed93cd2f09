//! Finding the checkout a command works on: `--repo DIR`, or the nearest directory at or above
//! the current one that holds both `scenarios/` and `migrations/p0/`, else the built-in suite.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Whether `dir` looks like the harness checkout.
pub fn is_checkout(dir: &Path) -> bool {
    dir.join("scenarios").is_dir() && dir.join("migrations").join("p0").is_dir()
}

/// The nearest checkout at or above `start`; `start` itself when there is none (so that the
/// scenario discovery names the folder it looked in).
pub fn find_from(start: &Path) -> PathBuf {
    start
        .ancestors()
        .find(|d| is_checkout(d))
        .unwrap_or(start)
        .to_path_buf()
}

/// `--repo DIR` if given (it must exist), else the checkout found from the current directory.
pub fn resolve(repo: Option<&Path>) -> Result<PathBuf> {
    match repo {
        Some(r) => {
            if !r.is_dir() {
                return Err(Error::new(
                    ErrorKind::RepoNotFound,
                    format!(
                        "The checkout {} given by --repo is not a directory.",
                        r.display()
                    ),
                )
                .with_hint("Pass the directory that holds scenarios/ and migrations/p0/."));
            }
            std::path::absolute(r).map_err(|e| Error::io(r, "resolve", e))
        }
        None => {
            let cwd = std::env::current_dir().map_err(|e| {
                Error::new(
                    ErrorKind::Cwd,
                    format!("cannot read the current directory: {e}"),
                )
            })?;
            Ok(find_from(&cwd))
        }
    }
}

/// Where `dryrun run` finds its suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuiteHome {
    /// A checkout (`--repo`, or found upward from the current directory): its files win.
    Checkout(PathBuf),
    /// No checkout here: the suite built into the binary, unpacked ([`crate::bundle`]).
    Bundled(PathBuf),
}

impl SuiteHome {
    pub fn root(&self) -> &Path {
        match self {
            SuiteHome::Checkout(p) | SuiteHome::Bundled(p) => p,
        }
    }
}

/// `--repo DIR` if given; else the checkout found from the current directory (or the current
/// directory itself when it holds a `scenarios/` folder of its own); else, when there is
/// neither, the suite built into the binary.
pub fn resolve_suite(repo: Option<&Path>) -> Result<SuiteHome> {
    let root = resolve(repo)?;
    if repo.is_some() || is_checkout(&root) || root.join("scenarios").is_dir() {
        return Ok(SuiteHome::Checkout(root));
    }
    Ok(SuiteHome::Bundled(crate::bundle::unpack()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_upward_from_a_subdirectory_and_not_above_a_plain_folder() {
        let t = tempfile::tempdir().expect("tmp");
        let root = t.path().join("co");
        std::fs::create_dir_all(root.join("scenarios")).expect("mk");
        std::fs::create_dir_all(root.join("migrations/p0/deploy")).expect("mk");
        assert_eq!(find_from(&root.join("migrations/p0/deploy")), root);
        assert_eq!(find_from(&root), root);
        let other = t.path().join("other");
        std::fs::create_dir_all(other.join("scenarios")).expect("mk");
        assert_eq!(find_from(&other), other);
    }
}

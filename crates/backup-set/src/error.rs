//! The backup set's error: a category (which the harness maps to its exit code), a short
//! machine-readable kind, a message naming the file, a hint for the user, and the I/O error
//! that caused it when there is one.

use std::path::Path;

/// What kind of failure an [`Error`] is; the harness maps each 1:1 to its own category and
/// exit code (bad input 3, environment 4, check failed 1, internal 70).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A check failed.
    CheckFailed,
    /// A file is missing, malformed, corrupt or does not match its checksum.
    BadInput,
    /// The environment is unavailable (disk full).
    Environment,
    /// A bug.
    Internal,
}

/// An error of the backup set: what went wrong, about which file, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub category: Category,
    /// Short machine-readable kind, e.g. `checksum_mismatch`; snapshots record it.
    pub kind: &'static str,
    /// One-paragraph description naming the file.
    pub message: String,
    /// What the user should do next.
    pub hint: Option<String>,
    /// The I/O error behind it, if any ([`Error::io`]).
    #[source]
    pub source: Option<std::io::Error>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(category: Category, kind: &'static str, message: impl Into<String>) -> Self {
        Error {
            category,
            kind,
            message: message.into(),
            hint: None,
            source: None,
        }
    }
    pub fn bad_input(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(Category::BadInput, kind, message)
    }
    pub fn check(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(Category::CheckFailed, kind, message)
    }
    pub fn env(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(Category::Environment, kind, message)
    }
    pub fn internal(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(Category::Internal, kind, message)
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// An I/O error on a named file: disk full is an environment problem, a missing
    /// or unreadable input is bad input. The I/O error is kept as the source.
    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        let disk_full = err.raw_os_error() == Some(28);
        let e = if disk_full {
            Error::env(
                "disk_full",
                format!(
                    "No space left on device while trying to {action} {}.",
                    path.display()
                ),
            )
            .with_hint(
                "Free disk space (docker system df shows what the engine holds) and run again.",
            )
        } else if err.kind() == std::io::ErrorKind::NotFound {
            Error::bad_input(
                "file_not_found",
                format!(
                    "Cannot {action} {}: the file does not exist.",
                    path.display()
                ),
            )
            .with_hint("Check the path; relative paths are resolved from the current directory.")
        } else {
            Error::bad_input(
                "io_error",
                format!("Cannot {action} {}: {err}.", path.display()),
            )
            .with_hint("Check that the path names a regular file this user may read (and its directory one it may write, for outputs).")
        };
        Error {
            source: Some(err),
            ..e
        }
    }
    /// Full one-paragraph report for the terminal (as the harness prints its own errors).
    pub fn report(&self) -> String {
        match &self.hint {
            Some(h) => format!("error[{}]: {}\n  hint: {}", self.kind, self.message, h),
            None => format!("error[{}]: {}", self.kind, self.message),
        }
    }
}

/// Convenience to attach a path to a failing I/O operation.
pub trait IoContext<T> {
    fn at(self, path: &Path, action: &str) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &Path, action: &str) -> Result<T> {
        self.map_err(|e| Error::io(path, action, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_errors_are_classified_and_keep_their_cause() {
        let p = Path::new("x.dump");
        let e = Error::io(p, "open", std::io::Error::from_raw_os_error(28));
        assert_eq!((e.category, e.kind), (Category::Environment, "disk_full"));
        assert_eq!(
            e.message,
            "No space left on device while trying to open x.dump."
        );
        assert!(e.source().is_some());
        let e = Error::io(p, "open", std::io::ErrorKind::NotFound.into());
        assert_eq!((e.category, e.kind), (Category::BadInput, "file_not_found"));
        assert_eq!(e.message, "Cannot open x.dump: the file does not exist.");
        let e = Error::io(p, "read", std::io::ErrorKind::PermissionDenied.into());
        assert_eq!((e.category, e.kind), (Category::BadInput, "io_error"));
        assert!(e.hint.is_some() && e.source().is_some());
        assert!(Error::bad_input("k", "m").source().is_none());
        assert_eq!(
            Error::bad_input("k", "m").with_hint("h").report(),
            "error[k]: m\n  hint: h"
        );
    }
}

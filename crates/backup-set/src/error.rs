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

/// What went wrong, machine-readable; the category follows from it (the harness maps both
/// 1:1 into its own kinds, so every kind keeps its exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    // bad input (exit 3)
    ChecksMalformed,
    ChecksumMismatch,
    DumpCorrupt,
    DumpEmpty,
    DumpLacksTables,
    DumpNotCustomFormat,
    DumpTruncated,
    DumpVersionUnsupported,
    FileNotFound,
    IoError,
    PsvMalformed,
    SumsMalformed,
    SumsNoEntry,
    // the environment (exit 4)
    DiskFull,
    // a bug in the harness (exit 70)
    CountOutput,
    ObserveOutput,
    PsqlCsv,
}

impl ErrorKind {
    /// Its name in reports, snapshots and `error[...]` lines (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ChecksMalformed => "checks_malformed",
            ErrorKind::ChecksumMismatch => "checksum_mismatch",
            ErrorKind::DumpCorrupt => "dump_corrupt",
            ErrorKind::DumpEmpty => "dump_empty",
            ErrorKind::DumpLacksTables => "dump_lacks_tables",
            ErrorKind::DumpNotCustomFormat => "dump_not_custom_format",
            ErrorKind::DumpTruncated => "dump_truncated",
            ErrorKind::DumpVersionUnsupported => "dump_version_unsupported",
            ErrorKind::FileNotFound => "file_not_found",
            ErrorKind::IoError => "io_error",
            ErrorKind::PsvMalformed => "psv_malformed",
            ErrorKind::SumsMalformed => "sums_malformed",
            ErrorKind::SumsNoEntry => "sums_no_entry",
            ErrorKind::DiskFull => "disk_full",
            ErrorKind::CountOutput => "count_output",
            ErrorKind::ObserveOutput => "observe_output",
            ErrorKind::PsqlCsv => "psql_csv",
        }
    }

    /// The category it belongs to, which decides the exit code.
    pub fn category(self) -> Category {
        use ErrorKind::*;
        match self {
            ChecksMalformed
            | ChecksumMismatch
            | DumpCorrupt
            | DumpEmpty
            | DumpLacksTables
            | DumpNotCustomFormat
            | DumpTruncated
            | DumpVersionUnsupported
            | FileNotFound
            | IoError
            | PsvMalformed
            | SumsMalformed
            | SumsNoEntry => Category::BadInput,
            DiskFull => Category::Environment,
            CountOutput | ObserveOutput | PsqlCsv => Category::Internal,
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An error of the backup set: what went wrong, about which file, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// What went wrong, machine-readable (`checksum_mismatch`); snapshots record its name.
    pub kind: ErrorKind,
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
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            source: None,
        }
    }
    /// Its category, which follows from the kind.
    pub fn category(&self) -> Category {
        self.kind.category()
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
            Error::new(
                ErrorKind::DiskFull,
                format!(
                    "No space left on device while trying to {action} {}.",
                    path.display()
                ),
            )
            .with_hint(
                "Free disk space (docker system df shows what the engine holds) and run again.",
            )
        } else if err.kind() == std::io::ErrorKind::NotFound {
            Error::new(
                ErrorKind::FileNotFound,
                format!(
                    "Cannot {action} {}: the file does not exist.",
                    path.display()
                ),
            )
            .with_hint("Check the path; relative paths are resolved from the current directory.")
        } else {
            Error::new(
                ErrorKind::IoError,
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
        assert_eq!(
            (e.category(), e.kind),
            (Category::Environment, ErrorKind::DiskFull)
        );
        assert_eq!(
            e.message,
            "No space left on device while trying to open x.dump."
        );
        assert!(e.source().is_some());
        let e = Error::io(p, "open", std::io::ErrorKind::NotFound.into());
        assert_eq!(
            (e.category(), e.kind),
            (Category::BadInput, ErrorKind::FileNotFound)
        );
        assert_eq!(e.message, "Cannot open x.dump: the file does not exist.");
        let e = Error::io(p, "read", std::io::ErrorKind::PermissionDenied.into());
        assert_eq!(
            (e.category(), e.kind),
            (Category::BadInput, ErrorKind::IoError)
        );
        assert!(e.hint.is_some() && e.source().is_some());
        assert!(Error::new(ErrorKind::PsvMalformed, "m").source().is_none());
        assert_eq!(
            Error::new(ErrorKind::PsvMalformed, "m")
                .with_hint("h")
                .report(),
            "error[psv_malformed]: m\n  hint: h"
        );
    }
}

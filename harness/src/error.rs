//! Error type of the harness and its mapping to process exit codes.
//! Owns the promise that every failure has a category, a subject and a hint for the user.

use std::path::Path;

/// Exit codes of `dryrun`, documented in the README.
pub mod exit {
    /// Everything passed (notes allowed).
    pub const OK: u8 = 0;
    /// A check failed: restore error, smoke-test mismatch, scenario failure, failure-stop.
    pub const CHECK_FAILED: u8 = 1;
    /// Command-line usage error (clap).
    pub const USAGE: u8 = 2;
    /// Bad input: a file is missing, malformed, corrupt or does not match its checksum.
    pub const BAD_INPUT: u8 = 3;
    /// The environment is unavailable: Docker unreachable, image missing, disk full.
    pub const ENVIRONMENT: u8 = 4;
    /// A run after a failed attempt without `--retry-approved-by`.
    pub const APPROVAL_REQUIRED: u8 = 5;
    /// The Docker Engine refused the API version the Docker client sends (the start-up probe).
    pub const DOCKER_API: u8 = 6;
    /// Interrupted by SIGINT / SIGTERM; resources of the run were removed.
    pub const INTERRUPTED: u8 = 130;
    /// A bug in the harness.
    pub const INTERNAL: u8 = 70;
}

/// Category of an error, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    CheckFailed,
    BadInput,
    Environment,
    ApprovalRequired,
    DockerApi,
    Interrupted,
    Internal,
}

impl Category {
    pub fn exit_code(self) -> u8 {
        match self {
            Category::CheckFailed => exit::CHECK_FAILED,
            Category::BadInput => exit::BAD_INPUT,
            Category::Environment => exit::ENVIRONMENT,
            Category::ApprovalRequired => exit::APPROVAL_REQUIRED,
            Category::DockerApi => exit::DOCKER_API,
            Category::Interrupted => exit::INTERRUPTED,
            Category::Internal => exit::INTERNAL,
        }
    }
}

/// A harness error: what went wrong, about which file or resource, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub category: Category,
    /// Short machine-readable kind, e.g. `checksum_mismatch`; snapshots record it.
    pub kind: &'static str,
    /// One-paragraph description naming the file or resource.
    pub message: String,
    /// What the user should do next.
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(category: Category, kind: &'static str, message: impl Into<String>) -> Self {
        Error {
            category,
            kind,
            message: message.into(),
            hint: None,
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
    /// or unreadable input is bad input.
    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        let disk_full = err.raw_os_error() == Some(28);
        if disk_full {
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
        }
    }
    pub fn exit_code(&self) -> u8 {
        self.category.exit_code()
    }
    /// Full one-paragraph report for the terminal.
    pub fn report(&self) -> String {
        match &self.hint {
            Some(h) => format!("error[{}]: {}\n  hint: {}", self.kind, self.message, h),
            None => format!("error[{}]: {}", self.kind, self.message),
        }
    }
}

impl From<bollard::errors::Error> for Error {
    fn from(e: bollard::errors::Error) -> Self {
        crate::docker::classify(e)
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        let msg = match e.as_db_error() {
            Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
            None => e.to_string(),
        };
        Error::check("database_error", msg)
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

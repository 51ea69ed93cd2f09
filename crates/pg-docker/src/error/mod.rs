//! Error type of the harness and its mapping to process exit codes.
//! Owns the promise that every failure has a category, a subject and a hint for the user.

mod kind;

use std::path::Path;

pub use kind::ErrorKind;

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
    /// What went wrong, machine-readable (`checksum_mismatch`); snapshots record its name.
    pub kind: ErrorKind,
    /// One-paragraph description naming the file or resource.
    pub message: String,
    /// What the user should do next.
    pub hint: Option<String>,
    /// The error behind it, if any (an I/O error of the backup set, a database or engine error).
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` (its category, so the exit code, follows from it).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            source: None,
        }
    }
    /// The error that caused it, kept as its `source()`.
    pub fn caused_by(mut self, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(e));
        self
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// An I/O error on a named file: disk full is an environment problem, a missing
    /// or unreadable input is bad input (the backup set's wording, [`backup_set::Error::io`]).
    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        backup_set::Error::io(path, action, err).into()
    }
    /// Its category, which follows from the kind.
    pub fn category(&self) -> Category {
        self.kind.category()
    }
    pub fn exit_code(&self) -> u8 {
        self.category().exit_code()
    }
    /// Full one-paragraph report for the terminal.
    pub fn report(&self) -> String {
        match &self.hint {
            Some(h) => format!("error[{}]: {}\n  hint: {}", self.kind, self.message, h),
            None => format!("error[{}]: {}", self.kind, self.message),
        }
    }
}

/// The backup set's errors keep their category (so their exit code), kind, message and hint.
impl From<backup_set::Error> for Error {
    fn from(e: backup_set::Error) -> Self {
        let kind = ErrorKind::from(e.kind);
        Error {
            kind,
            message: e.message,
            hint: e.hint,
            source: e
                .source
                .map(|s| Box::new(s) as Box<dyn std::error::Error + Send + Sync>),
        }
    }
}

impl From<bollard::errors::Error> for Error {
    fn from(e: bollard::errors::Error) -> Self {
        classify(e)
    }
}

/// The error and its causes, joined with ": " (bollard's own text often hides the cause,
/// e.g. "client error (Connect)" for a refused or forbidden socket).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = c.source();
    }
    out
}

/// Whether an I/O error anywhere in the cause chain is EACCES / EPERM.
pub(crate) fn is_permission_denied(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::PermissionDenied {
                return true;
            }
        }
        cur = c.source();
    }
    error_chain(e).contains("ermission denied")
}

/// Map a bollard error to a harness error (environment unless it is clearly input).
fn classify(e: bollard::errors::Error) -> Error {
    use bollard::errors::Error as B;
    let err = match &e {
        B::DockerResponseServerError {
            status_code,
            message,
        } => {
            let kind = match *status_code {
                404 => ErrorKind::DockerNotFound,
                409 => ErrorKind::DockerConflict,
                _ => ErrorKind::DockerError,
            };
            Error::new(
                kind,
                format!("The Docker Engine answered {status_code}: {message}"),
            )
            .with_hint(match kind {
                ErrorKind::DockerNotFound => "The container, volume or image is gone (removed by hand or by `dryrun gc`?); run again.",
                ErrorKind::DockerConflict => "Another operation holds the resource; wait for it or remove leftovers with `dryrun gc`, then run again.",
                _ => "See the engine's message above and its log (journalctl -u docker); then run again.",
            })
        }
        _ if is_permission_denied(&e) => Error::new(
            ErrorKind::DockerPermissionDenied,
            format!("Docker API call failed: permission denied ({}).", error_chain(&e)),
        )
        .with_hint("Run as a user that may use the Docker socket (root or its group, usually `docker`), or set DOCKER_HOST to an engine this user may reach."),
        _ => Error::new(ErrorKind::DockerError, format!("Docker API call failed: {}", error_chain(&e)))
            .with_hint("Check that the Docker daemon is running and reachable (DOCKER_HOST names it when set)."),
    };
    err.caused_by(e)
}

impl From<tokio_postgres::Error> for Error {
    /// A statement the server refused is a failed check (exit 1); a connection that is gone
    /// (closed, an I/O error, SQLSTATE class 08, or the server shutting down: 57P01..57P03)
    /// is the environment (exit 4), as for Docker.
    fn from(e: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        let err = match e.as_db_error() {
            Some(db) => {
                let msg = format!("{} (SQLSTATE {})", db.message(), db.code().code());
                let state = db.code();
                let gone = state.code().starts_with("08")
                    || [
                        SqlState::ADMIN_SHUTDOWN,
                        SqlState::CRASH_SHUTDOWN,
                        SqlState::CANNOT_CONNECT_NOW,
                    ]
                    .contains(state);
                if gone {
                    Error::new(ErrorKind::DatabaseConnectionLost, msg)
                } else {
                    Error::new(ErrorKind::DatabaseError, msg)
                }
            }
            None => {
                let io = std::error::Error::source(&e)
                    .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some());
                if e.is_closed() || io {
                    Error::new(
                        ErrorKind::DatabaseConnectionLost,
                        format!("The connection to the database was lost: {e}."),
                    )
                    .with_hint("Check that the PostgreSQL container is still running (`docker ps`) and that Docker has memory and disk to spare, then run again.")
                } else {
                    Error::new(ErrorKind::DatabaseError, e.to_string())
                }
            }
        };
        err.caused_by(e)
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

    /// The backup set's errors reach the user exactly as the harness's own would.
    #[test]
    fn backup_set_errors_keep_category_exit_code_kind_message_and_hint() {
        let p = Path::new("x.dump");
        let full = Error::io(p, "write", std::io::Error::from_raw_os_error(28));
        assert_eq!(
            (full.kind, full.exit_code()),
            (ErrorKind::DiskFull, exit::ENVIRONMENT)
        );
        assert_eq!(
            full.report(),
            "error[disk_full]: No space left on device while trying to write x.dump.\n  hint: Free disk space (docker system df shows what the engine holds) and run again."
        );
        let gone = Error::io(p, "open", std::io::ErrorKind::NotFound.into());
        assert_eq!(
            (gone.kind, gone.exit_code()),
            (ErrorKind::FileNotFound, exit::BAD_INPUT)
        );
        // every kind of the backup set keeps its name, category and exit code
        use backup_set::ErrorKind as B;
        for (k, code) in [
            (B::PsvMalformed, exit::BAD_INPUT),
            (B::DiskFull, exit::ENVIRONMENT),
            (B::DumpLacksTables, exit::BAD_INPUT),
        ] {
            let e: Error = backup_set::Error::new(k, "m").with_hint("h").into();
            assert_eq!(e.exit_code(), code, "{k:?}");
            assert_eq!(
                (e.kind.as_str(), e.message.as_str(), e.hint.as_deref()),
                (k.as_str(), "m", Some("h"))
            );
        }
        // and its source: the I/O error behind it
        let e: Error =
            backup_set::Error::io(p, "open", std::io::Error::from_raw_os_error(28)).into();
        assert!(std::error::Error::source(&e).is_some());
    }
}

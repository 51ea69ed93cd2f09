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
    /// or unreadable input is bad input (the backup set's wording, [`backup_set::Error::io`]).
    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        backup_set::Error::io(path, action, err).into()
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

/// The backup set's errors keep their category (so their exit code), kind, message and hint.
impl From<backup_set::Error> for Error {
    fn from(e: backup_set::Error) -> Self {
        let category = match e.category {
            backup_set::Category::CheckFailed => Category::CheckFailed,
            backup_set::Category::BadInput => Category::BadInput,
            backup_set::Category::Environment => Category::Environment,
            backup_set::Category::Internal => Category::Internal,
        };
        Error {
            category,
            kind: e.kind,
            message: e.message,
            hint: e.hint,
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
    match &e {
        B::DockerResponseServerError {
            status_code,
            message,
        } => {
            let kind = match *status_code {
                404 => "docker_not_found",
                409 => "docker_conflict",
                _ => "docker_error",
            };
            Error::env(
                kind,
                format!("The Docker Engine answered {status_code}: {message}"),
            )
            .with_hint(match kind {
                "docker_not_found" => "The container, volume or image is gone (removed by hand or by `dryrun gc`?); run again.",
                "docker_conflict" => "Another operation holds the resource; wait for it or remove leftovers with `dryrun gc`, then run again.",
                _ => "See the engine's message above and its log (journalctl -u docker); then run again.",
            })
        }
        _ if is_permission_denied(&e) => Error::env(
            "docker_permission_denied",
            format!("Docker API call failed: permission denied ({}).", error_chain(&e)),
        )
        .with_hint("Run as a user that may use the Docker socket (root or its group, usually `docker`), or set DOCKER_HOST to an engine this user may reach."),
        _ => Error::env("docker_error", format!("Docker API call failed: {}", error_chain(&e)))
            .with_hint("Check that the Docker daemon is running and reachable (DOCKER_HOST names it when set)."),
    }
}

impl From<tokio_postgres::Error> for Error {
    /// A statement the server refused is a failed check (exit 1); a connection that is gone
    /// (closed, an I/O error, SQLSTATE class 08, or the server shutting down: 57P01..57P03)
    /// is the environment (exit 4), as for Docker.
    fn from(e: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        match e.as_db_error() {
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
                    Error::env("database_connection_lost", msg)
                } else {
                    Error::check("database_error", msg)
                }
            }
            None => {
                let io = std::error::Error::source(&e)
                    .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some());
                if e.is_closed() || io {
                    Error::env(
                        "database_connection_lost",
                        format!("The connection to the database was lost: {e}."),
                    )
                    .with_hint("Check that the PostgreSQL container is still running (`docker ps`) and that Docker has memory and disk to spare, then run again.")
                } else {
                    Error::check("database_error", e.to_string())
                }
            }
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

    /// The backup set's errors reach the user exactly as the harness's own would.
    #[test]
    fn backup_set_errors_keep_category_exit_code_kind_message_and_hint() {
        let p = Path::new("x.dump");
        let full = Error::io(p, "write", std::io::Error::from_raw_os_error(28));
        assert_eq!(
            (full.kind, full.exit_code()),
            ("disk_full", exit::ENVIRONMENT)
        );
        assert_eq!(
            full.report(),
            "error[disk_full]: No space left on device while trying to write x.dump.\n  hint: Free disk space (docker system df shows what the engine holds) and run again."
        );
        let gone = Error::io(p, "open", std::io::ErrorKind::NotFound.into());
        assert_eq!(
            (gone.kind, gone.exit_code()),
            ("file_not_found", exit::BAD_INPUT)
        );
        for (c, code) in [
            (backup_set::Category::BadInput, exit::BAD_INPUT),
            (backup_set::Category::Environment, exit::ENVIRONMENT),
            (backup_set::Category::CheckFailed, exit::CHECK_FAILED),
            (backup_set::Category::Internal, exit::INTERNAL),
        ] {
            let e: Error = backup_set::Error::new(c, "k", "m").with_hint("h").into();
            assert_eq!(e.exit_code(), code, "{c:?}");
            assert_eq!(
                (e.kind, e.message.as_str(), e.hint.as_deref()),
                ("k", "m", Some("h"))
            );
        }
    }
}

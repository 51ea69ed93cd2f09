//! The kinds of harness error, one variant each, with the category (so the exit code) each
//! belongs to; the name each gives reports and snapshots is its snake_case `as_str`.

use super::Category;

/// What went wrong, machine-readable: `Error::new` takes it, and the category and exit code
/// follow from it. Grouped by category; a kind is named once, where it is raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    // bad input (exit 3)
    AtInPast,
    AtMalformed,
    CrossProjectDependency,
    MaxAgeInvalid,
    PlanDependency,
    TimezoneUnknown,
    AmbiguousPlan,
    ApprovalRequiresName,
    ArchiveExists,
    BackupSetAmbiguous,
    BackupSetExists,
    BadFileName,
    BadInjection,
    BadLoad,
    BadStep,
    CanonError,
    ChecksMalformed,
    ChecksumMismatch,
    ContentDefinition,
    ContentMalformed,
    DumpCorrupt,
    DumpEmpty,
    DumpLacksTables,
    DumpNotCustomFormat,
    DumpTruncated,
    DumpVersionUnsupported,
    EnvDumpMismatch,
    EnvNameInUse,
    EnvNameInvalid,
    EnvUnknown,
    FileNotFound,
    ImpactRulesInvalid,
    ImpactRulesUnreadable,
    IoError,
    MalformedPlan,
    NoFailureStop,
    NoScenarioSelected,
    NoScenarios,
    PlanContract,
    PlanFileMissing,
    PlanSchema,
    PsvMalformed,
    RepoNotFound,
    ReportExists,
    ReportMalformed,
    ReportUnreadable,
    ScenarioDuplicateId,
    ScenarioIdMismatch,
    ScenarioMalformed,
    SourceNotFound,
    SourceNotRunning,
    SqitchConf,
    SumsMalformed,
    SumsNoEntry,
    TargetNotOwned,
    UnsupportedScript,
    VectorsMalformed,
    // a failed check (exit 1)
    ArchiveFailed,
    ArchiveRequired,
    BackupFailed,
    BaselineRestoreFailed,
    ClusterStateLeak,
    DatabaseError,
    FingerprintFailed,
    FixtureLoadFailed,
    ImpactBegin,
    ImpactCatalog,
    ImpactCommit,
    ImpactLoad,
    ImpactLocks,
    ImpactPlot,
    ImpactRestoreFailed,
    ImpactStats,
    RestoreFailed,
    ServerLogMarker,
    SmokeQueryFailed,
    // the environment (exit 4)
    BackupTimeout,
    BasebackupFailed,
    ConnectFailed,
    ContainerExited,
    ContainerGone,
    ContainerNotReady,
    ContainerStartFailed,
    DatabaseConnectionLost,
    DiskFull,
    DockerConflict,
    DockerError,
    DockerNotFound,
    DockerPermissionDenied,
    DockerUnreachable,
    EnvBusy,
    EnvImageMismatch,
    EnvNoPassword,
    EnvNoPort,
    EnvNotRunning,
    ImageBuildFailed,
    ImageMissing,
    ImageOutdated,
    ImpactLoadConnection,
    KillFailed,
    NoDebianMirror,
    PasswordResetFailed,
    ServerLogIncomplete,
    ToolMissing,
    WheelChecksum,
    // approval required (exit 5)
    FailureStopActive,
    RetryNeedsApproval,
    X,
    // the Docker API version (exit 6)
    DockerApiVersionRefused,
    // interrupted (exit 130)
    Interrupted,
    // a bug in the harness (exit 70)
    ArchiveEncode,
    AttachedNotRemovable,
    AttachedNotRestartable,
    BackupSessionPanicked,
    BaselineSet,
    ChecksNotLoaded,
    CountOutput,
    Cwd,
    DeployTask,
    FingerprintBadRow,
    FingerprintBadSnapshot,
    FingerprintBadStream,
    Json,
    Junit,
    NoAttempt,
    NoDatabase,
    NoEngine,
    NoPort,
    ObserveOutput,
    Panic,
    PlanBuild,
    PlanFileNotEmbedded,
    PsqlCsv,
    RestoreReportWithoutDump,
    SharedRestoreMismatch,
    Signal,
    TokenPositions,
    Usage,
    WriterTask,
}

impl ErrorKind {
    /// Its name in reports, snapshots and `error[...]` lines (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::AtInPast => "at_in_past",
            ErrorKind::AtMalformed => "at_malformed",
            ErrorKind::CrossProjectDependency => "cross_project_dependency",
            ErrorKind::MaxAgeInvalid => "max_age_invalid",
            ErrorKind::PlanDependency => "plan_dependency",
            ErrorKind::TimezoneUnknown => "timezone_unknown",
            ErrorKind::AmbiguousPlan => "ambiguous_plan",
            ErrorKind::ApprovalRequiresName => "approval_requires_name",
            ErrorKind::ArchiveExists => "archive_exists",
            ErrorKind::BackupSetAmbiguous => "backup_set_ambiguous",
            ErrorKind::BackupSetExists => "backup_set_exists",
            ErrorKind::BadFileName => "bad_file_name",
            ErrorKind::BadInjection => "bad_injection",
            ErrorKind::BadLoad => "bad_load",
            ErrorKind::BadStep => "bad_step",
            ErrorKind::CanonError => "canon_error",
            ErrorKind::ChecksMalformed => "checks_malformed",
            ErrorKind::ChecksumMismatch => "checksum_mismatch",
            ErrorKind::ContentDefinition => "content_definition",
            ErrorKind::ContentMalformed => "content_malformed",
            ErrorKind::DumpCorrupt => "dump_corrupt",
            ErrorKind::DumpEmpty => "dump_empty",
            ErrorKind::DumpLacksTables => "dump_lacks_tables",
            ErrorKind::DumpNotCustomFormat => "dump_not_custom_format",
            ErrorKind::DumpTruncated => "dump_truncated",
            ErrorKind::DumpVersionUnsupported => "dump_version_unsupported",
            ErrorKind::EnvDumpMismatch => "env_dump_mismatch",
            ErrorKind::EnvNameInUse => "env_name_in_use",
            ErrorKind::EnvNameInvalid => "env_name_invalid",
            ErrorKind::EnvUnknown => "env_unknown",
            ErrorKind::FileNotFound => "file_not_found",
            ErrorKind::ImpactRulesInvalid => "impact_rules_invalid",
            ErrorKind::ImpactRulesUnreadable => "impact_rules_unreadable",
            ErrorKind::IoError => "io_error",
            ErrorKind::MalformedPlan => "malformed_plan",
            ErrorKind::NoFailureStop => "no_failure_stop",
            ErrorKind::NoScenarioSelected => "no_scenario_selected",
            ErrorKind::NoScenarios => "no_scenarios",
            ErrorKind::PlanContract => "plan_contract",
            ErrorKind::PlanFileMissing => "plan_file_missing",
            ErrorKind::PlanSchema => "plan_schema",
            ErrorKind::PsvMalformed => "psv_malformed",
            ErrorKind::RepoNotFound => "repo_not_found",
            ErrorKind::ReportExists => "report_exists",
            ErrorKind::ReportMalformed => "report_malformed",
            ErrorKind::ReportUnreadable => "report_unreadable",
            ErrorKind::ScenarioDuplicateId => "scenario_duplicate_id",
            ErrorKind::ScenarioIdMismatch => "scenario_id_mismatch",
            ErrorKind::ScenarioMalformed => "scenario_malformed",
            ErrorKind::SourceNotFound => "source_not_found",
            ErrorKind::SourceNotRunning => "source_not_running",
            ErrorKind::SqitchConf => "sqitch_conf",
            ErrorKind::SumsMalformed => "sums_malformed",
            ErrorKind::SumsNoEntry => "sums_no_entry",
            ErrorKind::TargetNotOwned => "target_not_owned",
            ErrorKind::UnsupportedScript => "unsupported_script",
            ErrorKind::VectorsMalformed => "vectors_malformed",
            ErrorKind::ArchiveFailed => "archive_failed",
            ErrorKind::ArchiveRequired => "archive_required",
            ErrorKind::BackupFailed => "backup_failed",
            ErrorKind::BaselineRestoreFailed => "baseline_restore_failed",
            ErrorKind::ClusterStateLeak => "cluster_state_leak",
            ErrorKind::DatabaseError => "database_error",
            ErrorKind::FingerprintFailed => "fingerprint_failed",
            ErrorKind::FixtureLoadFailed => "fixture_load_failed",
            ErrorKind::ImpactBegin => "impact_begin",
            ErrorKind::ImpactCatalog => "impact_catalog",
            ErrorKind::ImpactCommit => "impact_commit",
            ErrorKind::ImpactLoad => "impact_load",
            ErrorKind::ImpactLocks => "impact_locks",
            ErrorKind::ImpactPlot => "impact_plot",
            ErrorKind::ImpactRestoreFailed => "impact_restore_failed",
            ErrorKind::ImpactStats => "impact_stats",
            ErrorKind::RestoreFailed => "restore_failed",
            ErrorKind::ServerLogMarker => "server_log_marker",
            ErrorKind::SmokeQueryFailed => "smoke_query_failed",
            ErrorKind::BackupTimeout => "backup_timeout",
            ErrorKind::BasebackupFailed => "basebackup_failed",
            ErrorKind::ConnectFailed => "connect_failed",
            ErrorKind::ContainerExited => "container_exited",
            ErrorKind::ContainerGone => "container_gone",
            ErrorKind::ContainerNotReady => "container_not_ready",
            ErrorKind::ContainerStartFailed => "container_start_failed",
            ErrorKind::DatabaseConnectionLost => "database_connection_lost",
            ErrorKind::DiskFull => "disk_full",
            ErrorKind::DockerConflict => "docker_conflict",
            ErrorKind::DockerError => "docker_error",
            ErrorKind::DockerNotFound => "docker_not_found",
            ErrorKind::DockerPermissionDenied => "docker_permission_denied",
            ErrorKind::DockerUnreachable => "docker_unreachable",
            ErrorKind::EnvBusy => "env_busy",
            ErrorKind::EnvImageMismatch => "env_image_mismatch",
            ErrorKind::EnvNoPassword => "env_no_password",
            ErrorKind::EnvNoPort => "env_no_port",
            ErrorKind::EnvNotRunning => "env_not_running",
            ErrorKind::ImageBuildFailed => "image_build_failed",
            ErrorKind::ImageMissing => "image_missing",
            ErrorKind::ImageOutdated => "image_outdated",
            ErrorKind::ImpactLoadConnection => "impact_load",
            ErrorKind::KillFailed => "kill_failed",
            ErrorKind::NoDebianMirror => "no_debian_mirror",
            ErrorKind::PasswordResetFailed => "password_reset_failed",
            ErrorKind::ServerLogIncomplete => "server_log_incomplete",
            ErrorKind::ToolMissing => "tool_missing",
            ErrorKind::WheelChecksum => "wheel_checksum",
            ErrorKind::FailureStopActive => "failure_stop_active",
            ErrorKind::RetryNeedsApproval => "retry_needs_approval",
            ErrorKind::X => "x",
            ErrorKind::DockerApiVersionRefused => "docker_api_version_refused",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::ArchiveEncode => "archive_encode",
            ErrorKind::AttachedNotRemovable => "attached_not_removable",
            ErrorKind::AttachedNotRestartable => "attached_not_restartable",
            ErrorKind::BackupSessionPanicked => "backup_session_panicked",
            ErrorKind::BaselineSet => "baseline_set",
            ErrorKind::ChecksNotLoaded => "checks_not_loaded",
            ErrorKind::CountOutput => "count_output",
            ErrorKind::Cwd => "cwd",
            ErrorKind::DeployTask => "deploy_task",
            ErrorKind::FingerprintBadRow => "fingerprint_bad_row",
            ErrorKind::FingerprintBadSnapshot => "fingerprint_bad_snapshot",
            ErrorKind::FingerprintBadStream => "fingerprint_bad_stream",
            ErrorKind::Json => "json",
            ErrorKind::Junit => "junit",
            ErrorKind::NoAttempt => "no_attempt",
            ErrorKind::NoDatabase => "no_database",
            ErrorKind::NoEngine => "no_engine",
            ErrorKind::NoPort => "no_port",
            ErrorKind::ObserveOutput => "observe_output",
            ErrorKind::Panic => "panic",
            ErrorKind::PlanBuild => "plan_build",
            ErrorKind::PlanFileNotEmbedded => "plan_file_not_embedded",
            ErrorKind::PsqlCsv => "psql_csv",
            ErrorKind::RestoreReportWithoutDump => "restore_report_without_dump",
            ErrorKind::SharedRestoreMismatch => "shared_restore_mismatch",
            ErrorKind::Signal => "signal",
            ErrorKind::TokenPositions => "token_positions",
            ErrorKind::Usage => "usage",
            ErrorKind::WriterTask => "writer_task",
        }
    }

    /// The category it belongs to, which decides the exit code.
    pub fn category(self) -> Category {
        use ErrorKind::*;
        match self {
            AtInPast
            | AtMalformed
            | CrossProjectDependency
            | MaxAgeInvalid
            | PlanDependency
            | TimezoneUnknown
            | AmbiguousPlan
            | ApprovalRequiresName
            | ArchiveExists
            | BackupSetAmbiguous
            | BackupSetExists
            | BadFileName
            | BadInjection
            | BadLoad
            | BadStep
            | CanonError
            | ChecksMalformed
            | ChecksumMismatch
            | ContentDefinition
            | ContentMalformed
            | DumpCorrupt
            | DumpEmpty
            | DumpLacksTables
            | DumpNotCustomFormat
            | DumpTruncated
            | DumpVersionUnsupported
            | EnvDumpMismatch
            | EnvNameInUse
            | EnvNameInvalid
            | EnvUnknown
            | FileNotFound
            | ImpactRulesInvalid
            | ImpactRulesUnreadable
            | IoError
            | MalformedPlan
            | NoFailureStop
            | NoScenarioSelected
            | NoScenarios
            | PlanContract
            | PlanFileMissing
            | PlanSchema
            | PsvMalformed
            | RepoNotFound
            | ReportExists
            | ReportMalformed
            | ReportUnreadable
            | ScenarioDuplicateId
            | ScenarioIdMismatch
            | ScenarioMalformed
            | SourceNotFound
            | SourceNotRunning
            | SqitchConf
            | SumsMalformed
            | SumsNoEntry
            | TargetNotOwned
            | UnsupportedScript
            | VectorsMalformed => Category::BadInput,
            ArchiveFailed
            | ArchiveRequired
            | BackupFailed
            | BaselineRestoreFailed
            | ClusterStateLeak
            | DatabaseError
            | FingerprintFailed
            | FixtureLoadFailed
            | ImpactBegin
            | ImpactCatalog
            | ImpactCommit
            | ImpactLoad
            | ImpactLocks
            | ImpactPlot
            | ImpactRestoreFailed
            | ImpactStats
            | RestoreFailed
            | ServerLogMarker
            | SmokeQueryFailed => Category::CheckFailed,
            BackupTimeout
            | BasebackupFailed
            | ConnectFailed
            | ContainerExited
            | ContainerGone
            | ContainerNotReady
            | ContainerStartFailed
            | DatabaseConnectionLost
            | DiskFull
            | DockerConflict
            | DockerError
            | DockerNotFound
            | DockerPermissionDenied
            | DockerUnreachable
            | EnvBusy
            | EnvImageMismatch
            | EnvNoPassword
            | EnvNoPort
            | EnvNotRunning
            | ImageBuildFailed
            | ImageMissing
            | ImageOutdated
            | ImpactLoadConnection
            | KillFailed
            | NoDebianMirror
            | PasswordResetFailed
            | ServerLogIncomplete
            | ToolMissing
            | WheelChecksum => Category::Environment,
            FailureStopActive | RetryNeedsApproval | X => Category::ApprovalRequired,
            DockerApiVersionRefused => Category::DockerApi,
            Interrupted => Category::Interrupted,
            ArchiveEncode
            | AttachedNotRemovable
            | AttachedNotRestartable
            | BackupSessionPanicked
            | BaselineSet
            | ChecksNotLoaded
            | CountOutput
            | Cwd
            | DeployTask
            | FingerprintBadRow
            | FingerprintBadSnapshot
            | FingerprintBadStream
            | Json
            | Junit
            | NoAttempt
            | NoDatabase
            | NoEngine
            | NoPort
            | ObserveOutput
            | Panic
            | PlanBuild
            | PlanFileNotEmbedded
            | PsqlCsv
            | RestoreReportWithoutDump
            | SharedRestoreMismatch
            | Signal
            | TokenPositions
            | Usage
            | WriterTask => Category::Internal,
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

/// The backup set's kinds, each as the harness kind of the same name (exhaustive: a new kind
/// of the backup set must be mapped here).
impl From<backup_set::ErrorKind> for ErrorKind {
    fn from(k: backup_set::ErrorKind) -> Self {
        use backup_set::ErrorKind as B;
        match k {
            B::ChecksMalformed => ErrorKind::ChecksMalformed,
            B::ChecksumMismatch => ErrorKind::ChecksumMismatch,
            B::CountOutput => ErrorKind::CountOutput,
            B::DiskFull => ErrorKind::DiskFull,
            B::DumpCorrupt => ErrorKind::DumpCorrupt,
            B::DumpEmpty => ErrorKind::DumpEmpty,
            B::DumpLacksTables => ErrorKind::DumpLacksTables,
            B::DumpNotCustomFormat => ErrorKind::DumpNotCustomFormat,
            B::DumpTruncated => ErrorKind::DumpTruncated,
            B::DumpVersionUnsupported => ErrorKind::DumpVersionUnsupported,
            B::FileNotFound => ErrorKind::FileNotFound,
            B::IoError => ErrorKind::IoError,
            B::ObserveOutput => ErrorKind::ObserveOutput,
            B::PsqlCsv => ErrorKind::PsqlCsv,
            B::PsvMalformed => ErrorKind::PsvMalformed,
            B::SumsMalformed => ErrorKind::SumsMalformed,
            B::SumsNoEntry => ErrorKind::SumsNoEntry,
        }
    }
}

//! The scenario file format: one YAML file per HB-05 scenario, parsed into typed steps.
//! Owns the vocabulary of steps and expectations; unknown keys are rejected.

use serde::{Deserialize, Serialize};

pub use crate::scenario::stepref::StepRef;

/// The set-up a scenario's steps run in (its file's `environment:`): the restore-test
/// pipeline, a clone of the run's baseline, a server of its own, or no server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setup {
    /// Restore-phase scenario: works on copies of the run's dump through the restore-test
    /// pipeline (judging the run's one restore of the dump when the copy is that dump, else
    /// restoring the copy in a container of its own).
    Restore,
    /// Its own database, cloned from the run's restored baseline (template copy).
    Clone,
    /// Its own server (container), restored from the verified dump (crash scenarios).
    Container,
    /// Library only, no database.
    Library,
}

/// Data of a `container` scenario's own server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerData {
    /// A physical copy (`pg_basebackup`) of the run's restored baseline: no second restore.
    #[default]
    BaselineCopy,
    /// A fresh restore of the verified dump (the end-to-end scenario exercises the restore).
    FreshRestore,
}

impl ServerData {
    pub fn is_default(&self) -> bool {
        *self == ServerData::BaselineCopy
    }
}

/// A scenario file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    /// The expected outcome, as SPEC §8 states it.
    pub expected: String,
    pub environment: Setup,
    /// `container` scenarios only: where the own server's data comes from.
    #[serde(default, skip_serializing_if = "ServerData::is_default")]
    pub server_data: ServerData,
    /// Steps are written as one-key maps (`- deploy: {...}`), hence singleton_map.
    #[serde(with = "serde_yaml_ng::with::singleton_map_recursive")]
    pub steps: Vec<Step>,
}

/// How to derive a scenario's working copy of the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mutation {
    None,
    /// Flip one byte of the dump; SHA256SUMS keeps the original digest.
    FlipByte,
    /// Cut the dump; SHA256SUMS is recomputed, so only the restore can notice.
    Truncate,
    /// Give the first `CREATE INDEX ... USING btree` of the dump's table of contents an access
    /// method no server has (same length: no offset moves); SHA256SUMS is recomputed. The
    /// restore then reports a non-benign error naming that index, beside the benign one.
    BreakIndex,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepareDump {
    pub mutate: Mutation,
    /// Byte offset (flip_byte) or kept length as a fraction of the file (truncate).
    #[serde(default)]
    pub offset: Option<u64>,
    #[serde(default)]
    pub keep_fraction: Option<f64>,
    /// Change tables' counts in the row-count snapshot: one `{table, delta}` or a list of
    /// them; `table: "*"` drifts every table of the snapshot.
    #[serde(default)]
    pub rowcount_drift: Option<OneOrMany<RowcountDrift>>,
}

/// One item or a list of items.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn items(&self) -> &[T] {
        match self {
            OneOrMany::One(t) => std::slice::from_ref(t),
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowcountDrift {
    pub table: String,
    pub delta: i64,
}

/// Expected verdict of a restore test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoreExpect {
    Pass,
    /// Refused before provisioning (bad input).
    Refused,
    /// Provisioned, then failed at a stage.
    Fail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreTestStep {
    pub expect: RestoreExpect,
    /// Stage that must have stopped the run (`restore`, `smoke`, `content`).
    #[serde(default)]
    pub stopped_at: Option<crate::restore::Stage>,
    /// The error kind the test must have been refused with (before provisioning).
    #[serde(default)]
    pub error_kind: Option<RefusalKind>,
    /// Number of containers the step may create.
    #[serde(default)]
    pub containers_created: Option<usize>,
    /// Whose restore the test must have judged: `shared`, the run's one restore of the same
    /// verified dump, or `own`, one in a container of its own (a dump no other test restores).
    #[serde(default)]
    pub restore: Option<crate::restore::RestoreSource>,
    /// Whether pg_restore must have reported an error triage did not find benign.
    #[serde(default)]
    pub fatal_restore_errors: Option<bool>,
    /// The kinds of benign note the restore must have recorded (`missing_role`), exactly, one
    /// entry per message (`[missing_role]`: exactly one such message).
    #[serde(default)]
    pub benign_notes: Option<Vec<String>>,
    /// Every non-benign pg_restore message names the object `prepare_dump` broke
    /// (`mutate: break_index`), and there is at least one.
    #[serde(default)]
    pub names_broken_object: bool,
}

/// The error kinds a restore test is refused with before any container exists: its inputs
/// (the sums file and every listed file's checksum, the dump's header and table of contents,
/// the row-count snapshot, the checks file, the content-hash file; `restore::preflight_inputs`).
/// Compared with `Error.kind` through [`RefusalKind::as_str`].
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RefusalKind {
    /// A listed file's SHA-256 differs from the sums file (`checksum`).
    ChecksumMismatch,
    /// The sums file is not `sha256sum` output (`checksum`).
    SumsMalformed,
    /// The sums file lists no entry for the dump or the snapshot (`checksum`).
    SumsNoEntry,
    /// An input file does not exist.
    FileNotFound,
    /// An input file could not be read.
    IoError,
    /// No space left while reading or writing an input.
    DiskFull,
    /// The row-count snapshot is malformed (`rowcounts`).
    PsvMalformed,
    /// The dump is empty (`dumpinfo`).
    DumpEmpty,
    /// The dump is not in pg_dump's custom format (`dumpinfo`).
    DumpNotCustomFormat,
    /// The dump ends inside its header or table of contents (`dumpinfo`).
    DumpTruncated,
    /// The dump's archive version is not supported (`dumpinfo`).
    DumpVersionUnsupported,
    /// The dump's header or table of contents is unreadable (`dumpinfo`).
    DumpCorrupt,
    /// The checks file is malformed (`checks`).
    ChecksMalformed,
    /// The dump lacks tables the checks need (`checks`).
    DumpLacksTables,
    /// The content-hash file is malformed (`fingerprint`).
    ContentMalformed,
    /// The content-hash file was made with another hash definition (`fingerprint`).
    ContentDefinition,
}

impl RefusalKind {
    /// Its name in a scenario file: the name of the error kind it stands for.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The error kind it stands for (a `match`, so the compiler holds each to a real kind).
    pub fn error_kind(self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            RefusalKind::ChecksumMismatch => ErrorKind::ChecksumMismatch,
            RefusalKind::SumsMalformed => ErrorKind::SumsMalformed,
            RefusalKind::SumsNoEntry => ErrorKind::SumsNoEntry,
            RefusalKind::FileNotFound => ErrorKind::FileNotFound,
            RefusalKind::IoError => ErrorKind::IoError,
            RefusalKind::DiskFull => ErrorKind::DiskFull,
            RefusalKind::PsvMalformed => ErrorKind::PsvMalformed,
            RefusalKind::DumpEmpty => ErrorKind::DumpEmpty,
            RefusalKind::DumpNotCustomFormat => ErrorKind::DumpNotCustomFormat,
            RefusalKind::DumpTruncated => ErrorKind::DumpTruncated,
            RefusalKind::DumpVersionUnsupported => ErrorKind::DumpVersionUnsupported,
            RefusalKind::DumpCorrupt => ErrorKind::DumpCorrupt,
            RefusalKind::ChecksMalformed => ErrorKind::ChecksMalformed,
            RefusalKind::DumpLacksTables => ErrorKind::DumpLacksTables,
            RefusalKind::ContentMalformed => ErrorKind::ContentMalformed,
            RefusalKind::ContentDefinition => ErrorKind::ContentDefinition,
        }
    }
}

/// The execution-day preflight (`preflight::evaluate`'s criteria) on the scenario's dump set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreflightStep {
    pub max_age_minutes: i64,
    /// Scenario clock: minutes after the dump's own creation time (an instant only once the
    /// source's zone is known).
    pub clock_minutes_after_dump: i64,
    /// The source's time zone (`--source-timezone`, IANA); none: only what the backup set says.
    #[serde(default)]
    pub source_timezone: Option<String>,
    /// Which criteria: `age` (default), or `all` (age, checksums, this scenario's own fresh
    /// restore of the dump, the closure, which a suite run never has).
    #[serde(default)]
    pub criteria: PreflightCriteria,
    /// The verdict: `pass` is GO, `stop` NO-GO.
    pub expect: PassStop,
    /// The criteria that must fail, exactly (every other one must pass).
    #[serde(default)]
    pub failing: Vec<PreflightCriterion>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreflightCriteria {
    #[default]
    Age,
    All,
}

/// The preflight's criteria by name (`preflight::Criterion::name`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PreflightCriterion {
    BackupAge,
    Checksums,
    RestoreTest,
    Closure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PassStop {
    Pass,
    Stop,
}

/// A failure injected into the P0 deploy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Inject {
    FailBefore(StepRef),
    FailInside(StepRef),
    VerifyFails(StepRef),
    SleepInside { step: StepRef, seconds: f64 },
}

impl Inject {
    /// The step it targets.
    pub fn step(&self) -> &StepRef {
        match self {
            Inject::FailBefore(k) | Inject::FailInside(k) | Inject::VerifyFails(k) => k,
            Inject::SleepInside { step, .. } => step,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployStep {
    /// Deploy the steps up to this one only (`k-1` at k = 1: none).
    #[serde(default)]
    pub upto: Option<StepRef>,
    #[serde(default)]
    pub inject: Option<Inject>,
    #[serde(default)]
    pub lock_timeout_ms: Option<u64>,
    #[serde(default)]
    pub statement_timeout_ms: Option<u64>,
    /// Apply `lock_timeout_ms` / `statement_timeout_ms` to this step's deploy transaction
    /// only (the other steps, and every verify, keep the default limits), so a slow machine
    /// cannot make an earlier step time out instead.
    #[serde(default)]
    pub limits_step: Option<StepRef>,
    /// Put the server's record of the statements this deploy ran (`step 3 verify`, in log
    /// order) into the observation. Every deploy checks that record against its events.
    #[serde(default)]
    pub server_record: bool,
    pub expect: DeployExpect,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployExpect {
    pub outcome: DeployOutcomeKind,
    /// The step that stopped the run, by its role in the plan.
    #[serde(default)]
    pub stop_step: Option<StepRef>,
    /// Failure kind (`lock_timeout`, `statement_timeout`, `injected`, `verify_failed`,
    /// `connection_lost`, ...: the runner's [`crate::migrate::FailureKind`]).
    #[serde(default)]
    pub cause: Option<crate::migrate::FailureKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DeployOutcomeKind {
    Applied,
    Stopped,
    /// Refused before running anything (an active failure-stop without approval).
    Refused,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevertStep {
    /// Export governance rows to an archive artefact first.
    #[serde(default)]
    pub archive: bool,
    /// Expect the revert to find nothing to do.
    #[serde(default)]
    pub expect_noop: Option<bool>,
}

/// Compare the current fingerprint with a named snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareStep {
    pub with: String,
    pub schema: Equality,
    pub data: Equality,
    /// Tables excluded from the data comparison (written on purpose by the scenario).
    #[serde(default)]
    pub data_except: Vec<String>,
    /// Restrict the data comparison to these schemas (e.g. the business tables in `public`).
    #[serde(default)]
    pub data_schemas: Vec<String>,
    /// Leave the tables of the plan's own schema out of the data comparison (what P0 creates
    /// and seeds; everything that existed before stays in, whatever the database holds).
    #[serde(default)]
    pub data_except_plan: bool,
    /// Schema objects outside the schemas that are new since the snapshot (every object of a
    /// pre-existing schema, and anything unqualified): `equal` = none added, removed or changed.
    #[serde(default)]
    pub existing_objects: Option<Equality>,
    /// Tables whose data (row count or content hash) must differ from the snapshot, each named
    /// when it does not (e.g. a content-only write of a scenario session).
    #[serde(default)]
    pub data_changed: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Equality {
    Equal,
    Differs,
    Ignore,
}

/// A second session: runs SQL on its own connection, optionally leaving the transaction open.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionStep {
    pub name: String,
    pub sql: String,
    /// `commit` or `open` (keep the transaction, and its locks, open).
    #[serde(default)]
    pub keep_open: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalarExpect {
    pub sql: String,
    pub equals: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashMode {
    /// SIGKILL the server's container (postmaster) through the Docker API, then restart it.
    KillServer,
    /// Cut the client's TCP connection while the step runs.
    CutConnection,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashStep {
    pub mode: CrashMode,
    /// The step during which the crash happens (it sleeps after its DDL).
    pub during_step: StepRef,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WritersStep {
    pub count: usize,
    /// `writers_stop` only: the runs (`deploy`, `revert`) each of whose windows must hold a
    /// committed write (every such run while the writers ran).
    #[serde(default)]
    pub inside: Vec<WindowPhase>,
}

/// A run of the plan that concurrent writers must have committed inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum WindowPhase {
    Deploy,
    Revert,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanonVectorsStep {
    pub file: String,
    pub expect_passed: usize,
    pub expect_failed: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanonDeterminismStep {
    /// Query returning `text` bodies to canonicalize (from the restored database).
    pub source_sql: String,
    /// The properties the step computes, as they must come out.
    pub expect: DeterminismExpect,
}

/// What `canon_determinism` must find for every document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeterminismExpect {
    /// Two independent runs give the same bytes and the same tokens.
    pub deterministic: bool,
    /// The canonical form canonicalizes to itself.
    pub idempotent: bool,
    /// Stored in the database and read back, the form and its token positions are unchanged.
    pub round_trip_stable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSetStep {
    pub name: String,
    /// Query returning one `text` body: the source document of the change set.
    pub source_sql: String,
    /// Number of cut units to make over the token stream.
    pub units: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureKind {
    ExecutorCut,
    VerifierCut,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignStep {
    pub change_set: String,
    pub kind: SignatureKind,
    /// Tool revision the signer reports (default: the registered one).
    #[serde(default)]
    pub signer_tool_revision: Option<String>,
}

/// Insert a signature row whose cross reference breaks the exactly-one rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokenReferenceStep {
    pub change_set: String,
    pub references: BrokenReferences,
}

/// How a broken signature row breaks the exactly-one cross-reference rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokenReferences {
    /// Zero references (neither the change set nor a signature).
    None,
    /// Two references (both the change set and a signature).
    Both,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyStep {
    pub change_set: String,
    /// Alter the stored envelope before verifying.
    #[serde(default)]
    pub tamper_payload: bool,
    /// Delete the verifier signature before verifying.
    #[serde(default)]
    pub drop_signature: bool,
    /// Verify with other keys than the signers' (fresh random keys for both DOTs).
    #[serde(default)]
    pub wrong_key: bool,
    /// Outcomes expected, in signature order (`valid`, `tampered_payload`, `missing_signature`,
    /// `tool_revision_mismatch`, ...).
    pub expect: Vec<dot_signing::VerificationKind>,
    /// The change set's state the database must hold afterwards, read back (`draft`,
    /// `verified`, `invalid_drift`); whether given or not, it must be the one the verdict
    /// calls for.
    #[serde(default)]
    pub state: Option<ChangeSetStateKind>,
}

/// A change set's state as the governance table stores it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ChangeSetStateKind {
    Draft,
    Verified,
    InvalidDrift,
}

impl ChangeSetStateKind {
    /// Its spelling in the database.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwaitSignalStep {
    pub kind: cutter_signals::SignalKind,
    pub change_set: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeStep {
    pub kind: cutter_signals::SignalKind,
    pub change_set: String,
    pub by: String,
    /// `ok`, `already_acknowledged` or `unknown_signal`.
    pub expect: cutter_signals::Acknowledgement,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardStep {
    pub target: GuardTarget,
}

/// What the production guard is pointed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardTarget {
    /// A container of another run (another owner) on the same engine: refused.
    Foreign,
    /// A container name that does not exist: refused.
    Nonexistent,
    /// The scenario's own server: accepted.
    Own,
}

/// `teardown: {}`: no parameters (the step always removes the environment and checks that no
/// container of the scenario is left; an unknown key is an error).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeardownStep {}

/// `lock_rule: {max_on_existing: AccessShareLock}`: the plan, deployed and reverted statement
/// by statement on a clone of its own (`impact::profile`), takes no lock on a pre-existing
/// relation stronger than this mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockRuleStep {
    pub max_on_existing: crate::impact::rules::LockMode,
}

/// One step of a scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    PrepareDump(PrepareDump),
    RestoreTest(RestoreTestStep),
    Preflight(PreflightStep),
    Snapshot(String),
    Deploy(DeployStep),
    ApproveRetry(String),
    Revert(RevertStep),
    Compare(CompareStep),
    Session(SessionStep),
    Commit(String),
    Scalar(ScalarExpect),
    Crash(CrashStep),
    WritersStart(WritersStep),
    WritersStop(WritersStep),
    CanonVectors(CanonVectorsStep),
    CanonDeterminism(CanonDeterminismStep),
    ChangeSet(ChangeSetStep),
    Sign(SignStep),
    BrokenReference(BrokenReferenceStep),
    Verify(VerifyStep),
    AwaitSignal(AwaitSignalStep),
    Acknowledge(AcknowledgeStep),
    Guard(GuardStep),
    LockRule(LockRuleStep),
    /// Remove the scenario's environment and check no container of it is left.
    Teardown(TeardownStep),
    /// Its steps once for each step k of the plan, in plan order (`k` in a step reference
    /// names it); every k must observe the same outcome.
    ForEachStep(Vec<Step>),
}

impl Step {
    /// Every plan step it names (a loop's body included).
    pub fn step_refs(&self) -> Vec<&StepRef> {
        match self {
            Step::Deploy(d) => d
                .upto
                .iter()
                .chain(d.inject.as_ref().map(Inject::step))
                .chain(d.limits_step.iter())
                .chain(d.expect.stop_step.iter())
                .collect(),
            Step::Crash(c) => vec![&c.during_step],
            Step::ForEachStep(body) => body.iter().flat_map(Step::step_refs).collect(),
            _ => Vec::new(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Step::PrepareDump(_) => "prepare_dump",
            Step::RestoreTest(_) => "restore_test",
            Step::Preflight(_) => "preflight",
            Step::Snapshot(_) => "snapshot",
            Step::Deploy(_) => "deploy",
            Step::ApproveRetry(_) => "approve_retry",
            Step::Revert(_) => "revert",
            Step::Compare(_) => "compare",
            Step::Session(_) => "session",
            Step::Commit(_) => "commit",
            Step::Scalar(_) => "scalar",
            Step::Crash(_) => "crash",
            Step::WritersStart(_) => "writers_start",
            Step::WritersStop(_) => "writers_stop",
            Step::CanonVectors(_) => "canon_vectors",
            Step::CanonDeterminism(_) => "canon_determinism",
            Step::ChangeSet(_) => "change_set",
            Step::Sign(_) => "sign",
            Step::BrokenReference(_) => "broken_reference",
            Step::Verify(_) => "verify",
            Step::AwaitSignal(_) => "await_signal",
            Step::Acknowledge(_) => "acknowledge",
            Step::Guard(_) => "guard",
            Step::LockRule(_) => "lock_rule",
            Step::Teardown(_) => "teardown",
            Step::ForEachStep(_) => "for_each_step",
        }
    }
}

#[cfg(test)]
mod restore_test_step_tests {
    use super::*;
    use strum::IntoEnumIterator;

    /// Each refusal kind is spelled the same in a scenario file as in `Error.kind`.
    #[test]
    fn refusal_kinds_serialize_as_their_error_kinds() {
        for k in RefusalKind::iter() {
            let v = serde_json::to_value(k).expect("serialize");
            assert_eq!(v, serde_json::json!(k.as_str()));
            let back: RefusalKind = serde_json::from_value(v).expect("deserialize");
            assert_eq!(back, k);
        }
    }

    /// Each refusal kind names the error kind it stands for: the same name in scenario
    /// files, snapshots and reports; a bad input (exit 3), or no disk space (exit 4).
    #[test]
    fn refusal_kinds_are_error_kinds_of_bad_input() {
        for k in RefusalKind::iter() {
            assert_eq!(k.as_str(), k.error_kind().as_str(), "{k}");
            let c = k.error_kind().category();
            assert!(
                c == crate::error::Category::BadInput
                    || k.error_kind() == crate::error::ErrorKind::DiskFull,
                "{k}: {c:?}"
            );
        }
    }
}

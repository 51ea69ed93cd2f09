//! The step kinds of a scenario, one module per family, each kind a type implementing
//! [`StepKind`]; [`dispatch`] is the one place a parsed [`Step`] meets its kind.
//!
//! Adding a step kind touches its family module (a type implementing [`StepKind`]), the
//! `Step` enum of `scenario::model`, and the one arm of [`dispatch`]: nothing else.

pub mod canon;
pub mod faults;
pub mod infra;
pub mod locks;
pub mod migration;
pub mod restore;
pub mod sessions;
pub mod signing;
pub mod writers;

use serde::Serialize;
use serde_json::{json, Value};

use crate::scenario::context::Ctx;
use crate::scenario::model::Step;

/// Why a step failed: the harness could not do what it asked, or what it observed is not
/// what the scenario expects. Its text is the scenario's failure message (after `file:line:`).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The harness, the engine or the database failed (with the error's kind).
    #[error("[{}] {}", .0.kind, .0.message)]
    Harness(#[from] crate::error::Error),
    /// The step ran and what it observed differs from the scenario's expectation (or the
    /// scenario asked for something impossible, such as an unknown session).
    #[error("{0}")]
    Failed(String),
    /// The observation could not be recorded.
    #[error("the observation of step {step} is not serializable: {source}")]
    Observation {
        step: &'static str,
        source: serde_json::Error,
    },
}

/// The backup set's errors are the harness's (same kind and message).
impl From<backup_set::Error> for StepError {
    fn from(e: backup_set::Error) -> Self {
        StepError::Harness(e.into())
    }
}

impl From<String> for StepError {
    fn from(s: String) -> Self {
        StepError::Failed(s)
    }
}

impl From<&str> for StepError {
    fn from(s: &str) -> Self {
        StepError::Failed(s.to_string())
    }
}

/// One step kind: its name in a scenario file, whether it only reads (the cached fingerprint
/// of the database survives it), its parameters (from the model) and its typed observation.
pub(crate) trait StepKind {
    /// The step's key in a scenario file (`- deploy: {...}`) and the `step` of its observation.
    const NAME: &'static str;
    /// True when the step cannot change the scenario's database.
    const READS_ONLY: bool;
    /// Its parameters as parsed (`scenario::model`).
    type Params;
    /// What it records for the snapshot (deterministic facts only).
    type Observation: Serialize;

    async fn run(p: &Self::Params, ctx: &mut Ctx<'_>) -> Result<Self::Observation, StepError>;
}

/// Run one step of kind `K`: invalidate the cached fingerprint unless it only reads, run it,
/// and record its observation as `{ step: NAME, ...observation }`.
async fn exec<K: StepKind>(p: &K::Params, ctx: &mut Ctx<'_>) -> Result<Value, StepError> {
    if !K::READS_ONLY {
        ctx.current = None;
        ctx.pristine = false;
    }
    let obs = K::run(p, ctx).await?;
    let obs = serde_json::to_value(obs).map_err(|source| StepError::Observation {
        step: K::NAME,
        source,
    })?;
    let mut o = json!({ "step": K::NAME });
    if let (Some(m), Value::Object(add)) = (o.as_object_mut(), obs) {
        m.extend(add);
    }
    Ok(o)
}

/// The one dispatch from a parsed step to its kind.
pub(crate) async fn dispatch(ctx: &mut Ctx<'_>, step: &Step) -> Result<Value, StepError> {
    use canon::*;
    use faults::*;
    use infra::*;
    use locks::*;
    use migration::*;
    use restore::*;
    use sessions::*;
    use signing::*;
    use writers::*;
    match step {
        Step::PrepareDump(p) => exec::<PrepareDumpKind>(p, ctx).await,
        Step::RestoreTest(p) => exec::<RestoreTestKind>(p, ctx).await,
        Step::Preflight(p) => exec::<PreflightKind>(p, ctx).await,
        Step::Snapshot(p) => exec::<SnapshotKind>(p, ctx).await,
        Step::Deploy(p) => exec::<DeployKind>(p, ctx).await,
        Step::ApproveRetry(p) => exec::<ApproveRetryKind>(p, ctx).await,
        Step::Revert(p) => exec::<RevertKind>(p, ctx).await,
        Step::Compare(p) => exec::<CompareKind>(p, ctx).await,
        Step::Session(p) => exec::<SessionKind>(p, ctx).await,
        Step::Commit(p) => exec::<CommitKind>(p, ctx).await,
        Step::Scalar(p) => exec::<ScalarKind>(p, ctx).await,
        Step::Crash(p) => exec::<CrashKind>(p, ctx).await,
        Step::WritersStart(p) => exec::<WritersStartKind>(p, ctx).await,
        Step::WritersStop(p) => exec::<WritersStopKind>(p, ctx).await,
        Step::CanonVectors(p) => exec::<CanonVectorsKind>(p, ctx).await,
        Step::CanonDeterminism(p) => exec::<CanonDeterminismKind>(p, ctx).await,
        Step::ChangeSet(p) => exec::<ChangeSetKind>(p, ctx).await,
        Step::Sign(p) => exec::<SignKind>(p, ctx).await,
        Step::BrokenReference(p) => exec::<BrokenReferenceKind>(p, ctx).await,
        Step::Verify(p) => exec::<VerifyKind>(p, ctx).await,
        Step::AwaitSignal(p) => exec::<AwaitSignalKind>(p, ctx).await,
        Step::Acknowledge(p) => exec::<AcknowledgeKind>(p, ctx).await,
        Step::Guard(p) => exec::<GuardKind>(p, ctx).await,
        Step::LockRule(p) => exec::<LockRuleKind>(p, ctx).await,
        Step::Teardown(p) => exec::<TeardownKind>(p, ctx).await,
        // Run by the scenario loop (`env::for_each_step`), never dispatched as one step.
        Step::ForEachStep(_) => Err(StepError::Failed(
            "for_each_step runs only at the top level of a scenario's steps".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every step of every scenario file dispatches to the kind of the same name.
    #[test]
    fn kind_names_match_the_model() {
        fn name_of(step: &Step) -> &'static str {
            use canon::*;
            use faults::*;
            use infra::*;
            use locks::*;
            use migration::*;
            use restore::*;
            use sessions::*;
            use signing::*;
            use writers::*;
            match step {
                Step::PrepareDump(_) => PrepareDumpKind::NAME,
                Step::RestoreTest(_) => RestoreTestKind::NAME,
                Step::Preflight(_) => PreflightKind::NAME,
                Step::Snapshot(_) => SnapshotKind::NAME,
                Step::Deploy(_) => DeployKind::NAME,
                Step::ApproveRetry(_) => ApproveRetryKind::NAME,
                Step::Revert(_) => RevertKind::NAME,
                Step::Compare(_) => CompareKind::NAME,
                Step::Session(_) => SessionKind::NAME,
                Step::Commit(_) => CommitKind::NAME,
                Step::Scalar(_) => ScalarKind::NAME,
                Step::Crash(_) => CrashKind::NAME,
                Step::WritersStart(_) => WritersStartKind::NAME,
                Step::WritersStop(_) => WritersStopKind::NAME,
                Step::CanonVectors(_) => CanonVectorsKind::NAME,
                Step::CanonDeterminism(_) => CanonDeterminismKind::NAME,
                Step::ChangeSet(_) => ChangeSetKind::NAME,
                Step::Sign(_) => SignKind::NAME,
                Step::BrokenReference(_) => BrokenReferenceKind::NAME,
                Step::Verify(_) => VerifyKind::NAME,
                Step::AwaitSignal(_) => AwaitSignalKind::NAME,
                Step::Acknowledge(_) => AcknowledgeKind::NAME,
                Step::Guard(_) => GuardKind::NAME,
                Step::LockRule(_) => LockRuleKind::NAME,
                Step::Teardown(_) => TeardownKind::NAME,
                Step::ForEachStep(_) => "for_each_step",
            }
        }
        fn visit<'a>(steps: &'a [Step], out: &mut Vec<&'a Step>) {
            for s in steps {
                out.push(s);
                if let Step::ForEachStep(body) = s {
                    visit(body, out);
                }
            }
        }
        let m = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let repo = m.parent().map(std::path::Path::to_path_buf).unwrap_or(m);
        let files = crate::scenario::parser::discover(&repo.join("scenarios")).expect("scenarios");
        let mut seen = std::collections::BTreeSet::new();
        for f in &files {
            let mut all = Vec::new();
            visit(&f.scenario.steps, &mut all);
            for s in all {
                assert_eq!(name_of(s), s.name(), "{}", f.path.display());
                seen.insert(s.name());
            }
        }
        assert_eq!(
            seen.len(),
            26,
            "every step kind is used by a scenario: {seen:?}"
        );
    }
}

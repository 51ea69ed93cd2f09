//! Restore-phase steps: a mutated working copy of the dump (`prepare_dump`), the verified
//! restore test on it (`restore_test`) and the backup-age preflight (`preflight`).
//!
//! The step kinds are here; `observation` holds what they record, `prepare` the working copy
//! (`prepare_dump`), `restore_test` the restore test and `preflight` the preflight.

mod observation;
mod preflight;
mod prepare;
mod restore_test;

use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};

pub use observation::*;
pub use prepare::DriftHow;

type Res<T> = std::result::Result<T, StepError>;

/// `prepare_dump`: a working copy of the dump set, mutated as the scenario asks.
pub struct PrepareDumpKind;

impl StepKind for PrepareDumpKind {
    const NAME: &'static str = "prepare_dump";
    const READS_ONLY: bool = false;
    type Params = PrepareDump;
    type Observation = PrepareDumpObservation;

    async fn run(p: &PrepareDump, ctx: &mut Ctx<'_>) -> Res<PrepareDumpObservation> {
        ctx.prepare_dump(p)
    }
}

/// `restore_test`: the HB-08 restore test of the working copy, its verdict as expected.
pub struct RestoreTestKind;

impl StepKind for RestoreTestKind {
    const NAME: &'static str = "restore_test";
    const READS_ONLY: bool = false;
    type Params = RestoreTestStep;
    type Observation = RestoreTestObservation;

    async fn run(p: &RestoreTestStep, ctx: &mut Ctx<'_>) -> Res<RestoreTestObservation> {
        ctx.restore_test(p).await
    }
}

/// `preflight`: the backup-age preflight on the working copy.
pub struct PreflightKind;

impl StepKind for PreflightKind {
    const NAME: &'static str = "preflight";
    const READS_ONLY: bool = true;
    type Params = PreflightStep;
    type Observation = PreflightObservation;

    async fn run(p: &PreflightStep, ctx: &mut Ctx<'_>) -> Res<PreflightObservation> {
        ctx.preflight(p)
    }
}

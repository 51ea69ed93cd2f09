//! Guard and infrastructure steps: the production guard refusing a foreign target (`guard`)
//! and the teardown that proves no container of the scenario is left (`teardown`).

use serde::Serialize;

use crate::container::{PgContainer, PgSpec};
use crate::docker::RunIdentity;
use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};

/// `guard`: the production guard refuses (or allows) a target.
pub struct GuardKind;

impl StepKind for GuardKind {
    const NAME: &'static str = "guard";
    const READS_ONLY: bool = true;
    type Params = GuardStep;
    type Observation = GuardObservation;

    async fn run(
        p: &GuardStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<GuardObservation, StepError> {
        ctx.guard(p).await
    }
}

/// `teardown`: remove the environment now; no container of the scenario may be left.
pub struct TeardownKind;

impl StepKind for TeardownKind {
    const NAME: &'static str = "teardown";
    const READS_ONLY: bool = false;
    type Params = TeardownStep;
    type Observation = TeardownObservation;

    async fn run(
        _: &TeardownStep,
        ctx: &mut Ctx<'_>,
    ) -> std::result::Result<TeardownObservation, StepError> {
        ctx.teardown().await?;
        let mine = count_role(ctx.suite.docker()?, &ctx.suite.run, &ctx.role).await?;
        if mine != 0 {
            return Err(StepError::from(format!(
                "{mine} container(s) of this scenario left after teardown"
            )));
        }
        Ok(TeardownObservation {})
    }
}

/// The teardown left no container of the scenario (the step fails naming any it finds, so
/// the count is no snapshot content).
#[derive(Debug, Serialize)]
pub struct TeardownObservation {}

/// What the guard did with its target.
#[derive(Debug, Serialize)]
pub struct GuardObservation {
    pub target: GuardTarget,
    pub refused: bool,
    /// The kind of the refusal's error (none when accepted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
}

impl Ctx<'_> {
    async fn guard(&mut self, g: &GuardStep) -> std::result::Result<GuardObservation, StepError> {
        let refused = |e: crate::error::Error| GuardObservation {
            target: g.target,
            refused: true,
            error_kind: Some(e.kind.to_string()),
        };
        let target = match g.target {
            GuardTarget::Nonexistent => "dryrun-no-such-container".to_string(),
            GuardTarget::Foreign => {
                // A container of another run (another owner) on the same engine.
                let other = RunIdentity::new();
                let mut spec = PgSpec::new(&self.suite.image.reference, "foreign");
                spec.publish = false;
                let pg = PgContainer::start(self.suite.docker()?, &other, &spec).await?;
                let res =
                    crate::guard::ensure_owned(self.suite.docker()?, &self.suite.run, &pg.id).await;
                pg.remove().await?;
                return match res {
                    Ok(()) => Err("the guard accepted a container of another run".into()),
                    Err(e) => Ok(refused(e)),
                };
            }
            GuardTarget::Own => {
                let id = self.pg()?.id.clone();
                crate::guard::ensure_owned(self.suite.docker()?, &self.suite.run, &id).await?;
                return Ok(GuardObservation {
                    target: g.target,
                    refused: false,
                    error_kind: None,
                });
            }
        };
        match crate::guard::ensure_owned(self.suite.docker()?, &self.suite.run, &target).await {
            Ok(()) => Err(format!("the guard accepted {target}").into()),
            Err(e) => Ok(refused(e)),
        }
    }
}

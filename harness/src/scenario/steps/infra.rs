//! Guard and infrastructure steps: the production guard refusing a foreign target (`guard`)
//! and the teardown that proves no container of the scenario is left (`teardown`).

use serde_json::{json, Value};

use crate::container::{PgContainer, PgSpec};
use crate::docker::RunIdentity;
use crate::scenario::env::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};

/// `guard`: the production guard refuses (or allows) a target.
pub struct GuardKind;

impl StepKind for GuardKind {
    const NAME: &'static str = "guard";
    const READS_ONLY: bool = true;
    type Params = GuardStep;
    type Observation = Value;

    async fn run(p: &GuardStep, ctx: &mut Ctx<'_>) -> std::result::Result<Value, StepError> {
        Ok(ctx.guard(p).await?)
    }
}

/// `teardown`: remove the environment now; no container of the scenario may be left.
pub struct TeardownKind;

impl StepKind for TeardownKind {
    const NAME: &'static str = "teardown";
    const READS_ONLY: bool = false;
    type Params = bool;
    type Observation = Value;

    async fn run(p: &bool, ctx: &mut Ctx<'_>) -> std::result::Result<Value, StepError> {
        let _ = p;
        ctx.teardown().await.map_err(|e| err_text(&e))?;
        let mine = count_role(&ctx.suite.docker, &ctx.suite.run, &ctx.role)
            .await
            .map_err(|e| err_text(&e))?;
        if mine != 0 {
            return Err(StepError::from(format!(
                "{mine} container(s) of this scenario left after teardown"
            )));
        }
        Ok(json!({ "containers_left": mine }))
    }
}

impl Ctx<'_> {
    async fn guard(&mut self, g: &GuardStep) -> StepResult {
        let target = match g.target.as_str() {
            "nonexistent" => "dryrun-no-such-container".to_string(),
            "foreign" => {
                // A container of another run (another owner) on the same engine.
                let other = RunIdentity::new();
                let mut spec = PgSpec::new(&self.suite.image.reference, "foreign");
                spec.publish = false;
                let pg = PgContainer::start(&self.suite.docker, &other, &spec)
                    .await
                    .map_err(|e| err_text(&e))?;
                let res =
                    crate::guard::ensure_owned(&self.suite.docker, &self.suite.run, &pg.id).await;
                pg.remove().await.map_err(|e| err_text(&e))?;
                return match res {
                    Ok(()) => Err("the guard accepted a container of another run".into()),
                    Err(e) => {
                        Ok(json!({ "target": "foreign", "refused": true, "error_kind": e.kind }))
                    }
                };
            }
            "own" => {
                let id = self.pg()?.id.clone();
                crate::guard::ensure_owned(&self.suite.docker, &self.suite.run, &id)
                    .await
                    .map_err(|e| err_text(&e))?;
                return Ok(json!({ "target": "own", "refused": false }));
            }
            x => {
                return Err(format!(
                    "guard target must be foreign, nonexistent or own, not {x}"
                ))
            }
        };
        match crate::guard::ensure_owned(&self.suite.docker, &self.suite.run, &target).await {
            Ok(()) => Err(format!("the guard accepted {target}")),
            Err(e) => Ok(json!({ "target": g.target, "refused": true, "error_kind": e.kind })),
        }
    }
}

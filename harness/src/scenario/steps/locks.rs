//! `lock_rule` (S07): the plan deployed and reverted statement by statement on a clone of the
//! baseline of its own (`impact::profile`), and no lock it takes on a pre-existing relation
//! stronger than the scenario's limit (ACCESS SHARE for P0, SPEC §7a).

use serde::Serialize;
use uuid::Uuid;

use crate::impact::profile::StepProfile;
use crate::scenario::context::Ctx;
use crate::scenario::model::LockRuleStep;
use crate::scenario::steps::{StepError, StepKind};
use crate::scenario::suite::Suite;

/// `lock_rule: {max_on_existing: MODE}`.
pub struct LockRuleKind;

/// The rule held, or the step failed naming each breach; every hold with its statement is
/// evidence (it depends on the plan).
#[derive(Debug, Serialize)]
pub struct LockRuleObservation {}

impl StepKind for LockRuleKind {
    const NAME: &'static str = "lock_rule";
    /// It works on a database of its own; the scenario's database is not touched.
    const READS_ONLY: bool = true;
    type Params = LockRuleStep;
    type Observation = LockRuleObservation;

    async fn run(p: &LockRuleStep, ctx: &mut Ctx<'_>) -> Result<LockRuleObservation, StepError> {
        let steps = profile_on_clone(ctx.suite, &ctx.file.scenario.id.to_lowercase()).await?;
        let mut breaches = Vec::new();
        let mut holds = Vec::new();
        for s in &steps {
            if let Some(e) = &s.error {
                breaches.push(format!("{} {} failed: {e}", s.phase, s.step));
            }
            for h in &s.holds {
                holds.push(serde_json::json!({
                    "step": s.step, "phase": s.phase.to_string(), "relation": h.relation,
                    "mode": h.mode.to_string(), "by": h.by, "held_ms": h.held_ms.round(),
                }));
                if h.mode > p.max_on_existing {
                    breaches.push(format!(
                        "{} {} took {} on the pre-existing {} ({}), stronger than {}",
                        s.phase,
                        s.step,
                        h.mode.sql(),
                        h.relation,
                        h.by,
                        p.max_on_existing.sql()
                    ));
                }
            }
        }
        ctx.evidence(
            serde_json::json!({ "locks_on_existing": holds, "steps_profiled": steps.len() }),
        );
        if !breaches.is_empty() {
            return Err(StepError::Failed(breaches.join("; ")));
        }
        Ok(LockRuleObservation {})
    }
}

/// The run's plan deployed and reverted statement by statement (`impact::profile`) on a
/// database of its own, cloned from the suite's baseline and dropped after; the baseline and
/// every other clone are untouched. S07's lock rule and `dryrun run`'s impact section use it.
pub async fn profile_on_clone(
    suite: &Suite,
    label: &str,
) -> crate::error::Result<Vec<StepProfile>> {
    let b = suite.baseline().await?;
    let name = format!(
        "{label}_locks_{}",
        &Uuid::new_v4().simple().to_string()[..8]
    );
    let admin = b.pg.connect("postgres").await?;
    {
        let _g = suite.clone_lock.lock().await;
        admin
            .batch_execute(&crate::container::clone_sql(&name))
            .await
            .map_err(crate::error::Error::from)?;
    }
    crate::guard::ensure_target(suite.docker()?, &suite.run, &b.pg.id, b.env.as_deref()).await?;
    let plan = suite.plan()?;
    let profiled = async {
        let client = b.pg.connect(&name).await?;
        crate::impact::profile::profile_plan(&client, &plan, std::time::Instant::now()).await
    }
    .await;
    let dropped = admin
        .batch_execute(&crate::container::drop_sql(&name, false))
        .await
        .map_err(crate::error::Error::from);
    let steps = profiled?;
    dropped?;
    Ok(steps)
}

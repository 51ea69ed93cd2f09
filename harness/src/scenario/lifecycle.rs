//! The per-scenario context and its set-up / teardown for each `environment` (restore, clone,
//! container, library); runs a scenario's steps in order and records its observed outcome.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{json, Value};

use crate::migrate::{Limits, Runner};
pub(crate) use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::outcome::{Extra, Failure, Outcome};
use crate::scenario::parser::ScenarioFile;
use crate::scenario::suite::Suite;

/// Run one scenario to completion (setup, steps, teardown).
pub async fn run(suite: &Suite, file: &ScenarioFile) -> std::result::Result<Outcome, Failure> {
    let started = Instant::now();
    let sc = &file.scenario;
    let fail0 = |m: String| Failure {
        location: file.location(0),
        message: m,
        partial: Outcome {
            id: sc.id.clone(),
            title: sc.title.clone(),
            environment: sc.environment,
            observations: vec![],
            extra: Extra::default(),
        },
    };
    let plan = suite.plan().map_err(|e| fail0(err_text(&e)))?;
    let tmp = tempfile::Builder::new()
        .prefix("dryrun-scenario-")
        .tempdir()
        .map_err(|e| fail0(e.to_string()))?;
    let mut ctx = Ctx {
        suite,
        file,
        tmp,
        own: None,
        dbname: None,
        client: None,
        runner: Runner::new(plan, Limits::default()),
        snapshots: HashMap::new(),
        sessions: HashMap::new(),
        dumps: suite.dumps.clone(),
        change_sets: HashMap::new(),
        listener: None,
        writers: None,
        obs: Vec::new(),
        extra: Extra::default(),
        role: format!("scenario-{}", sc.id.to_lowercase()),
        current: None,
        stamp: None,
        clone_horizon: None,
        clone_wal_mark: None,
        pristine: false,
        drifted: Vec::new(),
        broken_object: None,
        at: (0, ""),
        k: None,
        cluster_entry: None,
    };
    // (line, message) of the first failure.
    let mut failure: Option<(usize, String)> = None;
    let first_line = file.step_lines.first().copied().unwrap_or(1);
    let t = Instant::now();
    let setup = ctx.setup().await;
    tracing::debug!(scenario = %sc.id, ms = t.elapsed().as_millis() as u64, "setup");
    if let Err(e) = setup {
        failure = Some((first_line, format!("setup failed: {}", err_text(&e))));
    }
    if failure.is_none() {
        crate::fault::hit("scenario").await;
    }
    if failure.is_none() {
        for (i, step) in sc.steps.iter().enumerate() {
            let t = Instant::now();
            let line = file.step_lines.get(i).copied().unwrap_or(1);
            let res = match step {
                Step::ForEachStep(body) => {
                    let lines = file.body_lines.get(i).cloned().unwrap_or_default();
                    for_each_step(&mut ctx, body, &lines, line).await
                }
                _ => {
                    ctx.at = (line, step.name());
                    crate::scenario::steps::dispatch(&mut ctx, step)
                        .await
                        .map_err(|e| (line, e.to_string()))
                }
            };
            tracing::debug!(scenario = %sc.id, step = step.name(), ms = t.elapsed().as_millis() as u64, ok = res.is_ok(), "step");
            match res {
                Ok(v) => {
                    let mut o = json!({ "step": step.name() });
                    if let (Some(m), Value::Object(add)) = (o.as_object_mut(), v) {
                        m.extend(add);
                    }
                    ctx.obs.push(o);
                }
                Err((line, msg)) => {
                    failure = Some((line, msg));
                    break;
                }
            }
        }
    }
    let teardown = ctx.teardown().await;
    ctx.extra.elapsed_ms = started.elapsed().as_millis();
    ctx.extra.approvals = ctx.runner.approvals().to_vec();
    let outcome = Outcome {
        id: sc.id.clone(),
        title: sc.title.clone(),
        environment: sc.environment,
        observations: std::mem::take(&mut ctx.obs),
        extra: ctx.extra.clone(),
    };
    match (failure, teardown) {
        // A teardown failure after a failed step is still said (a cluster-global leak names
        // the objects the scenario left on the shared server).
        (Some((line, m)), Err(e)) => Err(Failure {
            location: format!("{}:{line}", file.path.display()),
            message: format!("{m}\nteardown failed: {}", err_text(&e)),
            partial: outcome,
        }),
        (Some((line, m)), Ok(())) => Err(Failure {
            location: format!("{}:{line}", file.path.display()),
            message: m,
            partial: outcome,
        }),
        (None, Err(e)) => Err(Failure {
            location: file.location(0),
            message: format!("teardown failed: {}", err_text(&e)),
            partial: outcome,
        }),
        (None, Ok(())) => Ok(outcome),
    }
}

/// `for_each_step`: its body once for each step k of the plan, in plan order. Every k must
/// observe the same outcome (the observations are written relative to the plan: `k`, `last`,
/// equal / differs), so the snapshot holds k = 1's once; a k that observes otherwise fails,
/// naming k, its step and the body line. Returns `{body: [...]}` or `(line, message)`.
async fn for_each_step(
    ctx: &mut Ctx<'_>,
    body: &[Step],
    lines: &[usize],
    line: usize,
) -> std::result::Result<Value, (usize, String)> {
    let names = ctx.runner.plan.step_names();
    let n = names.len();
    ctx.at = (line, "for_each_step");
    ctx.evidence(json!({ "iterations": n, "steps": names }));
    let mut first: Option<Vec<Value>> = None;
    for (k0, name) in names.iter().enumerate() {
        let k = k0 + 1;
        ctx.k = Some(k);
        let mut seen = Vec::with_capacity(body.len());
        for (j, step) in body.iter().enumerate() {
            let at = lines.get(j).copied().unwrap_or(line);
            let here = || format!("k = {k} of {n} ({name})");
            if matches!(step, Step::ForEachStep(_)) {
                ctx.k = None;
                return Err((at, "for_each_step cannot be nested".into()));
            }
            ctx.at = (at, step.name());
            let v = crate::scenario::steps::dispatch(ctx, step)
                .await
                .map_err(|e| (at, format!("{}: {e}", here())))?;
            if let Some(want) = first.as_ref().and_then(|f: &Vec<Value>| f.get(j)) {
                if *want != v {
                    ctx.k = None;
                    return Err((
                        at,
                        format!(
                            "{}: {} observed {v}, but k = 1 observed {want}: the outcome must be the same for every step of the plan",
                            here(),
                            step.name()
                        ),
                    ));
                }
            }
            seen.push(v);
        }
        if first.is_none() {
            first = Some(seen);
        }
    }
    ctx.k = None;
    Ok(json!({ "body": first.unwrap_or_default() }))
}

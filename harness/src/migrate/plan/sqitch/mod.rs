//! Sqitch projects as P0 plans: `sqitch.plan` (pragmas, changes, tags, dependencies, reworked
//! changes), `sqitch.conf`, and the psql conventions of their scripts, checked and stripped for the runner.
//!
//! This module reads a project into the runner's steps ([`load`]); the parts live in
//! `grammar` (sqitch.plan, Sqitch's grammar and the dependency rules), `conf` (sqitch.conf),
//! `script` (the scripts' psql conventions: statements, outer `BEGIN`/`COMMIT`, refusals with
//! `file:line`) and `archive` (the archive generator for a plan that brings none).

mod archive;
mod conf;
mod grammar;
mod script;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::Path;

use super::Step;
use crate::error::{Error, ErrorKind, Result};
use crate::fingerprint::sha256_hex;

pub use archive::generic_archive_sql;
pub use conf::check_conf;
pub use grammar::{parse_plan, Change, Dependency, SqitchPlan, Tag};
pub use script::{prepare_script, Prepared, ScriptKind};

/// A Sqitch project read as the runner's steps.
#[derive(Debug, Clone)]
pub struct Project {
    pub plan: SqitchPlan,
    /// One step per change instance, in plan order; an earlier instance of a reworked change
    /// is named `name@TAG`.
    pub steps: Vec<Step>,
    /// The one schema the deploy scripts create.
    pub schema: String,
    /// `(relative path, sha256)` of sqitch.plan and, when present, sqitch.conf.
    pub files: Vec<(String, String)>,
}

/// Read the project in `dir` through `read` (a file's text by relative path) and `exists`.
pub fn load(
    dir: &Path,
    read: &dyn Fn(&str) -> Result<String>,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Project> {
    let shown = |rel: &str| dir.join(rel).display().to_string();
    let plan_text = read("sqitch.plan")?;
    let plan = parse_plan(&plan_text, &shown("sqitch.plan"))?;
    let mut files = vec![("sqitch.plan".to_string(), sha256_hex(plan_text.as_bytes()))];
    if exists("sqitch.conf") {
        let conf = read("sqitch.conf")?;
        check_conf(&conf, &shown("sqitch.conf"))?;
        files.push(("sqitch.conf".to_string(), sha256_hex(conf.as_bytes())));
    }
    let mut steps = Vec::with_capacity(plan.changes.len());
    let mut schemas = BTreeSet::new();
    for c in &plan.changes {
        let (stem, step_name) = if c.rework_tags.is_empty() {
            (c.name.clone(), c.name.clone())
        } else {
            let cands: Vec<String> = c
                .rework_tags
                .iter()
                .map(|t| format!("{}@{t}", c.name))
                .collect();
            let pick = cands
                .iter()
                .find(|s| exists(&format!("deploy/{s}.sql")))
                .unwrap_or(&cands[0])
                .clone();
            (pick.clone(), pick)
        };
        let mut texts = Vec::with_capacity(3);
        let mut hashes = Vec::with_capacity(3);
        for kind in [ScriptKind::Deploy, ScriptKind::Verify, ScriptKind::Revert] {
            let rel = format!("{kind}/{stem}.sql");
            if !exists(&rel) {
                let why = if c.rework_tags.is_empty() {
                    String::new()
                } else {
                    format!(" (change \"{}\" is reworked later in the plan, so this instance's scripts carry the tag: `sqitch rework` copies them to {kind}/{}@<tag>.sql)", c.name, c.name)
                };
                return Err(Error::new(
                    ErrorKind::PlanFileMissing,
                    format!(
                        "{}:{}: change \"{}\" has no {kind} script {}{why}.",
                        shown("sqitch.plan"),
                        c.line,
                        c.name,
                        shown(&rel)
                    ),
                )
                .with_hint("Every change needs deploy/, verify/ and revert/ scripts, as `sqitch add` creates them."));
            }
            let text = read(&rel)?;
            hashes.push((rel.clone(), sha256_hex(text.as_bytes())));
            let p = prepare_script(&text, &shown(&rel), kind)?;
            if kind == ScriptKind::Deploy {
                schemas.extend(p.creates_schemas.iter().cloned());
            }
            texts.push(p.sql);
        }
        let mut t = texts.into_iter();
        let (Some(deploy), Some(verify), Some(revert)) = (t.next(), t.next(), t.next()) else {
            return Err(Error::new(
                ErrorKind::PlanBuild,
                "three scripts prepared but not found",
            ));
        };
        steps.push(Step {
            name: step_name,
            deploy,
            verify,
            revert,
            files: hashes,
        });
    }
    let schema = match schemas.len() {
        1 => schemas.into_iter().next().unwrap_or_default(),
        0 => {
            return Err(Error::new(
                ErrorKind::PlanSchema,
                format!("{}: no deploy script creates a schema (CREATE SCHEMA), so the harness cannot tell which schema the plan owns (the one it archives before a revert and whose absence means \"not deployed\").", shown("sqitch.plan")),
            )
            .with_hint("P0 creates its own schema (SPEC §7a: cutter_governance): add CREATE SCHEMA to the first change's deploy script."))
        }
        _ => {
            return Err(Error::new(
                ErrorKind::PlanSchema,
                format!("{}: the deploy scripts create {} schemas ({}); the harness proves a plan that owns exactly one schema.", shown("sqitch.plan"), schemas.len(), schemas.into_iter().collect::<Vec<_>>().join(", ")),
            )
            .with_hint("Bring the changes of one schema as the plan (P0 owns cutter_governance)."))
        }
    };
    Ok(Project {
        plan,
        steps,
        schema,
        files,
    })
}

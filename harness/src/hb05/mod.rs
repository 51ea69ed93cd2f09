//! `dryrun run`: the HB-05 closure — runs S01..S26, keeps every attempt, and writes the
//! closure report (Markdown, JSON, JUnit XML) listing every artefact with its SHA-256.
//!
//! `run` is the order of it: the previous attempts and the retry gate (`attempts`), the inputs
//! verified before any engine is contacted (`inputs`), the scenarios run on one suite with the
//! impact section (`execute`), and the attempt assembled and written (`attempts`); the report
//! as data is `model`, its Markdown and JUnit `render`.

mod attempts;
mod execute;
mod inputs;
pub mod model;
pub mod render;

use std::path::PathBuf;

use crate::error::Result;

pub use attempts::{previous_attempts, retry_gate};
pub use inputs::selection_differs;
pub use model::*;
pub use render::{markdown, summary_markdown};

pub struct RunOptions {
    pub repo: PathBuf,
    pub report: PathBuf,
    pub retry_approved_by: Option<String>,
    pub image: Option<String>,
    /// Scenarios run at the same time.
    pub jobs: usize,
    /// Backup set to run on (default: the bundled fixture in `fixtures/`).
    pub fixtures: Option<PathBuf>,
    /// Identity of this run (labels of every container and volume it creates).
    pub run: crate::docker::RunIdentity,
    /// Run in this persistent environment (`dryrun env up`) instead of a fresh baseline.
    pub env: Option<String>,
    /// Told about each scenario as it starts and finishes (the console), if any.
    pub progress: Option<std::sync::Arc<dyn crate::console::Progress>>,
    /// P0 plan folder (`--plan`; default `P0_PLAN_DIR`, else the built-in `migrations/p0`).
    pub plan: Option<PathBuf>,
    /// Which scenarios run (`--scenarios`); anything but all is a partial result.
    pub selection: crate::scenario::contract::Selection,
}

/// Run the suite once as a new attempt. Refuses to run after a failed attempt without approval.
pub async fn run(o: &RunOptions) -> Result<ClosureReport> {
    let started_utc = attempts::now_utc();
    let mut report = previous_attempts(&o.report)?;
    retry_gate(&report, o.retry_approved_by.as_deref(), &o.report)?;
    let inputs = inputs::verify(o)?;
    let executed = execute::execute(o, &inputs).await?;
    let attempt = attempts::assemble(o, &inputs, executed, started_utc)?;
    report.attempts.push(attempt);
    report.closure = attempts::closure_line(report.attempts.last());
    attempts::write(&o.report, &report)?;
    Ok(report)
}

//! What a scenario produced: its deterministic observations (the snapshot's content), the
//! rest (strategy, settings, evidence, artefacts) and, when it stopped early, the failure.

use serde::Serialize;
use serde_json::Value;

use crate::migrate;
use crate::scenario::model::Setup;

/// What a scenario produced: the deterministic observations (snapshotted) and the rest.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub id: String,
    pub title: String,
    pub environment: Setup,
    pub observations: Vec<Value>,
    /// Not snapshotted: artefacts with their SHA-256, strategy, timings.
    #[serde(skip)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Extra {
    pub artefacts: Vec<(String, String)>,
    pub strategy: String,
    pub settings: Vec<(String, String)>,
    pub failure_stops: Vec<String>,
    pub approvals: Vec<migrate::Approval>,
    pub elapsed_ms: u128,
    /// Plan- and data-specific facts of its steps (not snapshot content).
    pub evidence: Vec<crate::scenario::evidence::Evidence>,
}

/// A failed scenario: where (file:line) and why.
#[derive(Debug)]
pub struct Failure {
    pub location: String,
    pub message: String,
    pub partial: Outcome,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

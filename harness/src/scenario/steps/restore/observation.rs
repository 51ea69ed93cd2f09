//! What the restore-phase steps record in their snapshots: the working copy, the restore
//! test's verdict and facts (those that vary after a fatal error marked so), the preflight's.

use serde::{Serialize, Serializer};

use crate::error::ErrorKind;
use crate::restore::{RestoreSource, Stage};
use crate::scenario::model::*;

/// The working copy made: whether the dump still matches its sums file. Which tables were
/// drifted (the scenario's own words) and how is evidence: an exact file's counts move by the
/// delta; an estimate's tables are renamed in the file, `t` → `t~drifted`, since an estimate
/// proves the table set, not a count (`rowcounts::compare_observed`).
#[derive(Debug, Serialize)]
pub struct PrepareDumpObservation {
    pub dump_matches_sums: bool,
}

/// The verdict of a restore test step: `pass` or `fail` from its report, `refused` when it
/// returned an error instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RestoreVerdict {
    Pass,
    Fail,
    Refused,
}

impl RestoreVerdict {
    /// The verdict a scenario's `expect` asks for.
    pub fn expected(e: RestoreExpect) -> Self {
        match e {
            RestoreExpect::Pass => RestoreVerdict::Pass,
            RestoreExpect::Fail => RestoreVerdict::Fail,
            RestoreExpect::Refused => RestoreVerdict::Refused,
        }
    }
}

/// A restore test: its verdict, what it observed (by how far it got) and the containers it
/// created (the step fails when any is left).
#[derive(Debug, Serialize)]
pub struct RestoreTestObservation {
    pub verdict: RestoreVerdict,
    #[serde(flatten)]
    pub outcome: RestoreTestOutcome,
    pub containers_created: usize,
}

/// Refused before provisioning (only the error's kind) or provisioned (its report's facts).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum RestoreTestOutcome {
    Refused { error_kind: ErrorKind },
    Ran(Box<RanObservation>),
}

impl RestoreTestObservation {
    /// The stage that stopped a provisioned test (none when refused or passed).
    pub fn stopped_at(&self) -> Option<Stage> {
        match &self.outcome {
            RestoreTestOutcome::Ran(r) => r.stopped_at,
            RestoreTestOutcome::Refused { .. } => None,
        }
    }

    /// The kind of the error a refused test returned.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        match &self.outcome {
            RestoreTestOutcome::Refused { error_kind } => Some(*error_kind),
            RestoreTestOutcome::Ran(_) => None,
        }
    }

    /// Whether pg_restore reported an error triage did not find benign (none if it never ran).
    pub fn fatal_restore_errors(&self) -> Option<bool> {
        match &self.outcome {
            RestoreTestOutcome::Ran(r) => r.fatal_restore_errors,
            RestoreTestOutcome::Refused { .. } => None,
        }
    }
}

/// The facts of a provisioned restore test's report that hold for every dump (its counts,
/// table names, exit code and messages are evidence).
#[derive(Debug, Serialize)]
pub struct RanObservation {
    /// Whose restore it judged: the run's shared one of the same dump, or its own.
    pub restore: RestoreSource,
    pub stopped_at: Option<Stage>,
    /// The kinds of pg_restore's benign messages (`missing_role`, ...); after a fatal error
    /// which ones appeared depends on how far the parallel restore got.
    pub benign_restore_errors: OrVaries<Option<std::collections::BTreeSet<String>>>,
    pub fatal_restore_errors: Option<bool>,
    /// What the smoke test named: `none`, or `every_drifted_table` when the scenario drifted
    /// the snapshot and each drifted table was named (anything else: how many it named).
    pub differences: Option<Differences>,
    /// Every key table of the checks file present and matching.
    pub key_tables_match: Option<bool>,
    /// Whether the DOT pair is active in the restored database (the step fails on a pass
    /// without it); evidence, not snapshot.
    #[serde(skip)]
    pub dot_pair_active: Option<bool>,
}

/// What the smoke test's differences were, relative to what the scenario drifted.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Differences {
    None,
    EveryDriftedTable,
    #[serde(untagged)]
    Other(String),
}

/// A fact that is deterministic unless the restore hit a fatal error: after one, how far the
/// parallel restore got (and so which benign messages and notes appeared) depends on timing,
/// and the snapshot shows [`OrVaries::VARIES`] instead.
#[derive(Debug)]
pub enum OrVaries<T> {
    Known(T),
    Varies,
}

impl<T> OrVaries<T> {
    /// What the snapshot shows for a fact that varies.
    pub const VARIES: &'static str = "[varies after a fatal error]";

    pub(super) fn unless(varies: bool, known: impl FnOnce() -> T) -> Self {
        if varies {
            OrVaries::Varies
        } else {
            OrVaries::Known(known())
        }
    }
}

impl<T: Serialize> Serialize for OrVaries<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            OrVaries::Known(t) => t.serialize(s),
            OrVaries::Varies => s.serialize_str(Self::VARIES),
        }
    }
}

/// The preflight's verdict and the criteria that failed with their kinds (the clock, the limit
/// and the age are the scenario's own input: asserted, not shown).
#[derive(Debug, Serialize)]
pub struct PreflightObservation {
    pub outcome: PassStop,
    pub failed: Vec<FailedCriterion>,
}

#[derive(Debug, Serialize)]
pub struct FailedCriterion {
    pub criterion: &'static str,
    pub kind: &'static str,
}

//! One scenario run and held against its snapshot: the one path both front ends call (the
//! libtest-mimic runner with insta, `dryrun run` with a diff).

use crate::scenario::outcome::Extra;
use crate::scenario::parser::ScenarioFile;
use crate::scenario::suite::Suite;

/// How the observed outcome is held against its snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotCheck {
    /// insta's assert workflow (`cargo test`: `.snap.new` files, `INSTA_UPDATE`, `CI`).
    Insta,
    /// A plain comparison with a unified diff, nothing written (the CLI).
    Diff,
}

/// One scenario run and checked against its snapshot.
#[derive(Debug)]
pub struct Checked {
    /// `None` when the scenario ran and matched its snapshot; else why not (`file:line: ...`).
    pub failure: Option<String>,
    /// The unified diff of a snapshot mismatch (`SnapshotCheck::Diff` only).
    pub diff: Option<String>,
    /// What is not snapshotted (strategy, settings, artefacts, timings), also of a failure.
    pub extra: Extra,
}

impl Checked {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Run one scenario (set-up, steps, teardown) and check its outcome against its snapshot:
/// the one path from a parsed file to a verdict, for the CLI and the test runner alike.
pub async fn run_checked(suite: &Suite, file: &ScenarioFile, check: SnapshotCheck) -> Checked {
    let snapshots = suite.snapshots();
    match crate::scenario::lifecycle::run(suite, file).await {
        Ok(out) => {
            let res = match check {
                SnapshotCheck::Insta => {
                    crate::scenario::snapshot::check(&snapshots, file, &out).map_err(|m| (m, None))
                }
                SnapshotCheck::Diff => crate::scenario::snapshot::compare(&snapshots, file, &out)
                    .map_err(|m| (m.to_string(), Some(m.diff))),
            };
            match res {
                Ok(()) => Checked {
                    failure: None,
                    diff: None,
                    extra: out.extra,
                },
                Err((m, diff)) => Checked {
                    failure: Some(m),
                    diff,
                    extra: out.extra,
                },
            }
        }
        Err(fl) => Checked {
            failure: Some(fl.to_string()),
            diff: None,
            extra: fl.partial.extra,
        },
    }
}

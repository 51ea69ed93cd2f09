//! `restore_test`: the HB-08 restore test of the working copy, its verdict and facts checked
//! against what the scenario expects and drifted, the containers it created counted.

use super::observation::*;
use super::prepare::DRIFT_ALIAS;
use super::Res;
use crate::restore::{self, RestoreSource, RestoreTestOptions, RestoreTestReport, Stage};
use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::steps::StepError;

impl Ctx<'_> {
    pub(super) async fn restore_test(
        &mut self,
        r: &RestoreTestStep,
    ) -> Res<RestoreTestObservation> {
        let opts = self.suite.restore_options(&self.dumps, &self.role);
        let before = crate::container::created_count(&self.role);
        let res = self.restore_or_judge(&opts).await;
        let created = crate::container::created_count(&self.role) - before;
        let left = count_role(self.suite.docker()?, &self.suite.run, &self.role).await?;
        let (verdict, outcome) = match &res {
            Err(e) => (
                RestoreVerdict::Refused,
                RestoreTestOutcome::Refused { error_kind: e.kind },
            ),
            Ok(rep) => {
                // After a fatal error, how far the parallel restore got (and so which benign
                // messages and notes appeared before it) depends on timing: not snapshotted.
                let fatal = rep
                    .restore
                    .as_ref()
                    .is_some_and(|r| r.messages.iter().any(|m| !m.benign));
                self.extra.artefacts.extend(
                    rep.verified
                        .iter()
                        .map(|v| (v.file.clone(), v.sha256.clone())),
                );
                let smoke = rep.smoke.as_ref();
                let named: std::collections::BTreeSet<&str> = smoke
                    .iter()
                    .flat_map(|s| s.differences.iter().map(|d| d.table.as_str()))
                    .collect();
                let drifted: std::collections::BTreeSet<&str> =
                    self.drifted.iter().map(String::as_str).collect();
                let ran = RanObservation {
                    restore: rep.judged.restore,
                    stopped_at: rep.stopped_at,
                    benign_restore_errors: OrVaries::unless(fatal, || {
                        rep.restore.as_ref().map(|r| {
                            r.messages
                                .iter()
                                .filter(|m| m.benign)
                                .map(|m| m.kind.clone())
                                .collect()
                        })
                    }),
                    fatal_restore_errors: rep
                        .restore
                        .as_ref()
                        .map(|r| r.messages.iter().any(|m| !m.benign)),
                    differences: smoke.map(|_| {
                        if named.is_empty() {
                            Differences::None
                        } else if !drifted.is_empty()
                            && drifted.iter().all(|d| {
                                named.contains(d)
                                    || named.contains(format!("{d}{DRIFT_ALIAS}").as_str())
                            })
                            && named.iter().all(|t| {
                                drifted.contains(t)
                                    || t.strip_suffix(DRIFT_ALIAS)
                                        .is_some_and(|d| drifted.contains(d))
                            })
                        {
                            Differences::EveryDriftedTable
                        } else {
                            Differences::Other(format!("{} table(s)", named.len()))
                        }
                    }),
                    key_tables_match: smoke
                        .filter(|s| !s.key_tables.is_empty())
                        .map(|s| s.key_tables.iter().all(|k| k.matches)),
                    dot_pair_active: smoke.and_then(|s| s.dot_pair_ok),
                };
                // Which restore each restore test judged in the report's strategy column (the
                // container and the dump's digest are in the evidence).
                let judged = match rep.judged.restore {
                    RestoreSource::Shared => {
                        "restore test judging the run's one restore of its dump"
                    }
                    RestoreSource::Own => "restore test in a container of its own",
                };
                if self.extra.strategy.starts_with("none") {
                    self.extra.strategy = judged.to_string();
                } else {
                    self.extra.strategy = format!("{}; {judged}", self.extra.strategy);
                }
                self.evidence(serde_json::json!({
                    "judged": rep.judged,
                    "restore_exit_code": rep.restore.as_ref().map(|r| r.exit_code),
                    "messages": rep.restore.as_ref().map(|r| r.messages.iter().map(|m| serde_json::json!({
                        "benign": m.benign,
                        "kind": m.kind,
                        "message": m.message.lines().next().unwrap_or(""),
                    })).collect::<Vec<_>>()),
                    "notes": rep.notes,
                    "tables_restored": smoke.map(|s| s.tables_restored),
                    "tables_expected": smoke.and_then(|s| s.tables_expected),
                    "differences": smoke.map(|s| s.differences.iter().map(|d| d.relative()).collect::<Vec<_>>()),
                    "key_tables_matching": smoke.map(|s| s.key_tables.iter().filter(|k| k.matches).count()),
                    "dot_pair_active": smoke.and_then(|s| s.dot_pair_ok),
                }));
                let verdict = if rep.verdict.is_pass() {
                    RestoreVerdict::Pass
                } else {
                    RestoreVerdict::Fail
                };
                (verdict, RestoreTestOutcome::Ran(Box::new(ran)))
            }
        };
        let obs = RestoreTestObservation {
            verdict,
            outcome,
            containers_created: created,
        };
        let want = RestoreVerdict::expected(r.expect);
        if obs.verdict != want {
            let why = match &res {
                Err(e) => err_text(e),
                Ok(rep) => rep.reason.clone().unwrap_or_default(),
            };
            return Err(StepError::Failed(format!(
                "restore test verdict {}, expected {want}: {why}",
                obs.verdict
            )));
        }
        if let (RestoreVerdict::Pass, RestoreTestOutcome::Ran(ran)) = (obs.verdict, &obs.outcome) {
            // A pass holds the smoke test's claims: the DOT pair active, every key table
            // matching, no table differing.
            if ran.dot_pair_active == Some(false) {
                return Err(StepError::Failed(
                    "the restore test passed, but the DOT pair is not active in the restored database".into(),
                ));
            }
            if ran.key_tables_match == Some(false) {
                return Err(StepError::Failed(
                    "the restore test passed, but a key table of the checks file does not match"
                        .into(),
                ));
            }
            if !matches!(ran.differences, None | Some(Differences::None)) {
                return Err(StepError::Failed(format!(
                    "the restore test passed, but the smoke test named differences: {:?}",
                    ran.differences
                )));
            }
        }
        if let Some(want) = r.fatal_restore_errors {
            if obs.fatal_restore_errors() != Some(want) {
                return Err(StepError::Failed(format!(
                    "fatal restore errors present: {}, expected {want} (triage of pg_restore's messages)",
                    or_none(obs.fatal_restore_errors())
                )));
            }
        }
        if let (Some(want), Ok(rep)) = (&r.benign_notes, &res) {
            // The notes the report recorded, one per benign message: `[missing_role]` is
            // exactly one such note.
            const NOTE: &str = "known-benign restore error (";
            let mut got: Vec<&str> = rep
                .notes
                .iter()
                .filter_map(|n| n.strip_prefix(NOTE))
                .filter_map(|n| n.split_once(')').map(|(k, _)| k))
                .collect();
            got.sort_unstable();
            let mut want_list: Vec<&str> = want.iter().map(String::as_str).collect();
            want_list.sort_unstable();
            let benign = rep
                .restore
                .iter()
                .flat_map(|x| x.messages.iter().filter(|m| m.benign))
                .count();
            if got != want_list || benign != got.len() {
                return Err(StepError::Failed(format!(
                    "benign restore notes recorded {got:?} ({benign} benign message(s)), expected {want_list:?}: {}",
                    rep.notes.join(" | ")
                )));
            }
        }
        if r.names_broken_object {
            let object = self.broken_object.clone().ok_or(
                "names_broken_object: no prepare_dump broke an object (mutate: break_index)",
            )?;
            let fatal: Vec<&str> = res
                .as_ref()
                .ok()
                .and_then(|rep| rep.restore.as_ref())
                .map(|x| {
                    x.messages
                        .iter()
                        .filter(|m| !m.benign)
                        .map(|m| m.message.as_str())
                        .collect()
                })
                .unwrap_or_default();
            if fatal.is_empty() {
                return Err(StepError::Failed(format!(
                    "pg_restore reported no non-benign error for the broken index {object}"
                )));
            }
            if let Some(other) = fatal.iter().find(|m| !m.contains(object.as_str())) {
                return Err(StepError::Failed(format!(
                    "a non-benign restore error does not name the broken index {object}: {}",
                    other.lines().next().unwrap_or("")
                )));
            }
        }
        if let Some(s) = r.stopped_at {
            if obs.stopped_at() != Some(s) {
                return Err(StepError::Failed(format!(
                    "restore test stopped at {}, expected {s}",
                    or_none(obs.stopped_at())
                )));
            }
        }
        if let Some(k) = r.error_kind {
            if obs.error_kind() != Some(k.error_kind()) {
                return Err(StepError::Failed(format!(
                    "restore test error kind {}, expected {k}",
                    or_none(obs.error_kind())
                )));
            }
        }
        if let (Ok(rep), false) = (&res, self.drifted.is_empty()) {
            // Every table whose snapshot count was drifted must be named by the smoke test.
            let named: std::collections::BTreeSet<&str> = rep
                .smoke
                .iter()
                .flat_map(|s| s.differences.iter().map(|d| d.table.as_str()))
                .collect();
            // An estimate's drifted table is detected under either name: the restored table
            // the file no longer lists, or the renamed entry the restore lacks (a partitioned
            // parent not listed is compared in its partitions, so only the latter shows).
            let missed: Vec<&str> = self
                .drifted
                .iter()
                .map(String::as_str)
                .filter(|t| {
                    !named.contains(t) && !named.contains(format!("{t}{DRIFT_ALIAS}").as_str())
                })
                .collect();
            if !missed.is_empty() {
                return Err(StepError::Failed(format!(
                    "the smoke test missed the drift of {} of {} drifted table(s): {}",
                    missed.len(),
                    self.drifted.len(),
                    missed.join(", ")
                )));
            }
        }
        if let (Some(want), RestoreTestOutcome::Ran(ran)) = (r.restore, &obs.outcome) {
            if ran.restore != want {
                return Err(StepError::Failed(format!(
                    "the restore test judged {} restore, expected {want} (the working copy's dump {} the run's dump)",
                    ran.restore,
                    if ran.restore == RestoreSource::Shared { "is" } else { "is not" }
                )));
            }
        }
        if let Some(n) = r.containers_created {
            if created != n {
                return Err(StepError::Failed(format!(
                    "{created} container(s) created, expected {n}"
                )));
            }
        }
        if left != 0 {
            return Err(StepError::Failed(format!(
                "{left} container(s) left after the restore test"
            )));
        }
        if obs.verdict != RestoreVerdict::Pass {
            let at = obs
                .stopped_at()
                .map(Stage::as_str)
                .or(obs.error_kind().map(crate::error::ErrorKind::as_str));
            self.extra
                .failure_stops
                .push(format!("restore-test stopped: {}", at.unwrap_or("?")));
        }
        Ok(obs)
    }
}

impl Ctx<'_> {
    /// The restore test of the working copy. When its dump is the run's dump (same SHA-256,
    /// same pipeline) it judges the run's one restore of it, with clone creation held off the
    /// server while the smoke test reads it; any other dump is restored in a container of its
    /// own, and counted as one more restore of the run.
    async fn restore_or_judge(
        &self,
        opts: &RestoreTestOptions,
    ) -> crate::error::Result<RestoreTestReport> {
        let started = std::time::Instant::now();
        let inputs = restore::preflight_inputs(opts)?;
        let docker = self.suite.docker()?;
        let run = &self.suite.run;
        if inputs.sums.dump_sha256() == Some(self.suite.dump_sha256().await?.as_str()) {
            let r = self.suite.run_restore().await?;
            let _g = self.suite.clone_lock.lock().await;
            let shared = restore::SharedRestore {
                pg: &r.pg,
                outcome: &r.outcome,
                dump_sha256: &r.dump_sha256,
                restore_ms: r.restore_ms,
                settings: &r.settings,
            };
            return restore::judge_shared(docker, run, opts, inputs, shared, started).await;
        }
        let rep = restore::restore_test_verified(docker, run, opts, inputs, started).await?;
        self.suite
            .count_restore(&format!("{}'s own restore test", self.file.scenario.id));
        Ok(rep)
    }
}

/// An optional fact as the failure messages show it (`none` when absent).
fn or_none(v: Option<impl std::fmt::Display>) -> String {
    v.map_or_else(|| "none".to_string(), |v| v.to_string())
}

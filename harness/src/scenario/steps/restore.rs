//! Restore-phase steps: a mutated working copy of the dump (`prepare_dump`), the verified
//! restore test on it (`restore_test`) and the backup-age preflight (`preflight`).

use std::path::Path;

use serde::{Serialize, Serializer};

use crate::error::Error;
use crate::restore::{self, Stage};
use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};
use crate::scenario::suite::DumpSet;

type Res<T> = std::result::Result<T, StepError>;

/// `prepare_dump`: a working copy of the dump set, mutated as the scenario asks.
pub struct PrepareDumpKind;

impl StepKind for PrepareDumpKind {
    const NAME: &'static str = "prepare_dump";
    const READS_ONLY: bool = false;
    type Params = PrepareDump;
    type Observation = PrepareDumpObservation;

    async fn run(p: &PrepareDump, ctx: &mut Ctx<'_>) -> Res<PrepareDumpObservation> {
        ctx.prepare_dump(p)
    }
}

/// `restore_test`: the HB-08 restore test of the working copy, its verdict as expected.
pub struct RestoreTestKind;

impl StepKind for RestoreTestKind {
    const NAME: &'static str = "restore_test";
    const READS_ONLY: bool = false;
    type Params = RestoreTestStep;
    type Observation = RestoreTestObservation;

    async fn run(p: &RestoreTestStep, ctx: &mut Ctx<'_>) -> Res<RestoreTestObservation> {
        ctx.restore_test(p).await
    }
}

/// `preflight`: the backup-age preflight on the working copy.
pub struct PreflightKind;

impl StepKind for PreflightKind {
    const NAME: &'static str = "preflight";
    const READS_ONLY: bool = true;
    type Params = PreflightStep;
    type Observation = PreflightObservation;

    async fn run(p: &PreflightStep, ctx: &mut Ctx<'_>) -> Res<PreflightObservation> {
        ctx.preflight(p)
    }
}

/// The working copy made: whether the dump still matches its sums file. Which tables were
/// drifted (the scenario's own words) and how is evidence: an exact file's counts move by the
/// delta; an estimate's tables are renamed in the file, `t` → `t~drifted`, since an estimate
/// proves the table set, not a count (`rowcounts::compare_observed`).
#[derive(Debug, Serialize)]
pub struct PrepareDumpObservation {
    pub dump_matches_sums: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftHow {
    /// Exact counts: each count moved by its delta.
    CountChanged,
    /// Estimates: each table renamed in the file (the restored one is then not listed).
    TableUnlisted,
}

/// What an estimate file's drifted table is renamed to (`public.t` → `public.t~drifted`).
const DRIFT_ALIAS: &str = "~drifted";

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
    Refused { error_kind: &'static str },
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
    pub fn error_kind(&self) -> Option<&'static str> {
        match &self.outcome {
            RestoreTestOutcome::Refused { error_kind } => Some(error_kind),
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

    fn unless(varies: bool, known: impl FnOnce() -> T) -> Self {
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

/// An I/O error on a file of the working copy, as the harness error of that file.
fn io<'a>(path: &'a Path, action: &'a str) -> impl FnOnce(std::io::Error) -> StepError + 'a {
    move |e| StepError::Harness(Error::io(path, action, e))
}

/// An optional fact as the failure messages show it (`none` when absent).
fn or_none(v: Option<impl std::fmt::Display>) -> String {
    v.map_or_else(|| "none".to_string(), |v| v.to_string())
}

impl Ctx<'_> {
    fn prepare_dump(&mut self, p: &PrepareDump) -> Res<PrepareDumpObservation> {
        let dir = self.tmp.path();
        let src = &self.suite.dumps;
        let name = |p: &Path| p.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        let dump = dir.join(name(&src.dump));
        let sums = dir.join("SHA256SUMS");
        let rc = dir.join(name(&src.rowcounts));
        const COPY: &str = "copy into the working copy";
        std::fs::copy(&src.dump, &dump).map_err(io(&src.dump, COPY))?;
        std::fs::copy(&src.sums, &sums).map_err(io(&src.sums, COPY))?;
        std::fs::copy(&src.rowcounts, &rc).map_err(io(&src.rowcounts, COPY))?;
        // The other files the sums list (schema, log) come along, as a DBA copies a backup set.
        let src_dir = src.sums.parent().unwrap_or(Path::new("."));
        for e in crate::checksum::parse_sums(&src.sums)? {
            let (from, to) = (src_dir.join(&e.file), dir.join(&e.file));
            if from.is_file() && !to.exists() {
                std::fs::copy(&from, &to).map_err(io(&from, COPY))?;
            }
        }
        let mut recompute = Vec::new();
        match p.mutate {
            Mutation::None => {}
            Mutation::FlipByte => {
                // In place: one byte read and written back (memory does not grow with the dump).
                use std::io::{Read, Seek, SeekFrom, Write};
                const FLIP: &str = "flip a byte of";
                let mut f = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&dump)
                    .map_err(io(&dump, FLIP))?;
                let len = f.metadata().map_err(io(&dump, FLIP))?.len();
                let off = p.offset.unwrap_or(len / 2).min(len.saturating_sub(1));
                let mut b = [0u8; 1];
                f.seek(SeekFrom::Start(off)).map_err(io(&dump, FLIP))?;
                f.read_exact(&mut b).map_err(io(&dump, FLIP))?;
                f.seek(SeekFrom::Start(off)).map_err(io(&dump, FLIP))?;
                f.write_all(&[b[0] ^ 0xff]).map_err(io(&dump, FLIP))?;
            }
            Mutation::Truncate => {
                const CUT: &str = "truncate";
                let len = std::fs::metadata(&dump).map_err(io(&dump, CUT))?.len();
                let keep = (len as f64 * p.keep_fraction.unwrap_or(0.5)) as u64;
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&dump)
                    .map_err(io(&dump, CUT))?;
                f.set_len(keep).map_err(io(&dump, CUT))?;
                recompute.push(dump.clone());
            }
            Mutation::BreakIndex => {
                self.broken_object = Some(break_index(&dump)?);
                recompute.push(dump.clone());
            }
        }
        if p.mutate != Mutation::BreakIndex {
            self.broken_object = None;
        }
        self.drifted.clear();
        let mut drift_how = DriftHow::CountChanged;
        if let Some(drifts) = &p.rowcount_drift {
            let mut counts = crate::rowcounts::RowCounts::parse_file(&rc)?;
            let estimate = counts.kind == crate::rowcounts::CountKind::Estimate;
            if estimate {
                drift_how = DriftHow::TableUnlisted;
            }
            let mut keys = Vec::new();
            for d in drifts.items() {
                if d.table == "*" {
                    keys.extend(counts.counts.keys().cloned());
                    continue;
                }
                let (s, t) = d
                    .table
                    .split_once('.')
                    .ok_or("rowcount_drift.table must be schema.table or \"*\"")?;
                let k = (s.to_string(), t.to_string());
                if !counts.counts.contains_key(&k) {
                    return Err(format!("{} not in the snapshot", d.table).into());
                }
                keys.push(k);
            }
            for d in drifts.items() {
                if d.delta == 0 {
                    return Err("rowcount_drift.delta must not be 0".into());
                }
            }
            let delta = |k: &(String, String)| {
                drifts
                    .items()
                    .iter()
                    .find(|d| d.table == "*" || d.table == format!("{}.{}", k.0, k.1))
                    .map_or(0, |d| d.delta)
            };
            for k in keys {
                if estimate {
                    // The table leaves the file under another name: the restore has a table
                    // the snapshot does not list (and the snapshot one the restore lacks).
                    if let Some(v) = counts.counts.remove(&k) {
                        counts
                            .counts
                            .insert((k.0.clone(), format!("{}{DRIFT_ALIAS}", k.1)), v);
                    }
                } else if let Some(v) = counts.counts.get_mut(&k) {
                    *v += delta(&k);
                }
                self.drifted.push(format!("{}.{}", k.0, k.1));
            }
            self.drifted.sort();
            self.drifted.dedup();
            std::fs::write(&rc, counts.render()).map_err(io(&rc, "write"))?;
            recompute.push(rc.clone());
        }
        if !recompute.is_empty() {
            let entries = crate::checksum::parse_sums(&sums)?;
            let mut text = String::new();
            for e in entries {
                let path = dir.join(&e.file);
                let digest = if recompute.contains(&path) {
                    crate::checksum::sha256_file(&path)?
                } else {
                    e.digest
                };
                text.push_str(&format!("{digest}  {}\n", e.name));
            }
            std::fs::write(&sums, text).map_err(io(&sums, "write"))?;
        }
        let entries = crate::checksum::parse_sums(&sums)?;
        let matches = crate::checksum::verify_listed(&dump, &sums, &entries).is_ok();
        self.dumps = DumpSet {
            dump,
            sums,
            rowcounts: rc,
        };
        self.evidence(serde_json::json!({
            "mutation": p.mutate,
            "drift": drift_how,
            "tables_drifted": self.drifted,
            "broken_object": self.broken_object,
        }));
        Ok(PrepareDumpObservation {
            dump_matches_sums: matches,
        })
    }

    async fn restore_test(&mut self, r: &RestoreTestStep) -> Res<RestoreTestObservation> {
        let opts = self.suite.restore_options(&self.dumps, &self.role);
        let before = crate::container::created_count(&self.role);
        let res = restore::restore_test(self.suite.docker()?, &self.suite.run, &opts).await;
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
                self.evidence(serde_json::json!({
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
                let verdict = if rep.verdict == "pass" {
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
            if obs.error_kind() != Some(k.as_str()) {
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
            let at = obs.stopped_at().map(Stage::as_str).or(obs.error_kind());
            self.extra
                .failure_stops
                .push(format!("restore-test stopped: {}", at.unwrap_or("?")));
        }
        Ok(obs)
    }

    /// The same evaluation as `dryrun preflight` (`preflight::age_criterion` and
    /// `preflight::criteria`), the clock set relative to the dump header's own instant.
    fn preflight(&mut self, p: &PreflightStep) -> Res<PreflightObservation> {
        use crate::preflight::{age, criteria};
        let info = crate::dumpinfo::inspect(&self.dumps.dump)?;
        // The zone is only the scenario's own (`source_timezone`), never the set's record or
        // file name: the clock is relative to the header's instant, so the zone only has to be
        // known, and every backup set (`run --fixtures`) gives the same verdicts.
        let zones = age::ZoneSources {
            explicit: p
                .source_timezone
                .as_deref()
                .map(age::parse_zone)
                .transpose()?,
            record: None,
            file_name: None,
        };
        let clock = chrono::Duration::minutes(p.clock_minutes_after_dump);
        let limit = chrono::Duration::minutes(p.max_age_minutes);
        let (age_c, created, _) =
            crate::preflight::age_criterion(&info, &zones, |c| c + clock, limit);
        if created.is_some() && age_c.pass != (clock <= limit) {
            return Err(StepError::Failed(format!(
                "the age criterion of {} says {} at {} min after its creation with a limit of {} min",
                self.dumps.dump.display(),
                if age_c.pass { "pass" } else { "stop" },
                p.clock_minutes_after_dump,
                p.max_age_minutes
            )));
        }
        let mut all = vec![age_c];
        if p.criteria == PreflightCriteria::All {
            let dump_sha = crate::checksum::sha256_file(&self.dumps.dump)?;
            all.push(criteria::checksums(&self.dumps.dump, &self.dumps.sums)?);
            // A fresh-restore scenario's set-up restored this very dump (its checksums verified
            // first) and stops the scenario unless pg_restore passed: reaching a step is its pass.
            let fresh = self.file.scenario.environment == Environment::Container
                && self.file.scenario.server_data == ServerData::FreshRestore
                && self.own.is_some();
            let ev = fresh.then(|| criteria::RestoreEvidence {
                source: "this scenario's fresh restore of the verified dump".into(),
                dump_sha256: dump_sha.clone(),
                verdict: "pass".into(),
                stopped_at: None,
                reason: None,
                // Hooks of the run are declared on its reports; this restore is the scenario's.
                test_hooks: vec![],
            });
            all.push(criteria::restore_test(ev.as_ref(), &dump_sha));
            let digest = self.suite.plan()?.digest();
            all.push(criteria::closure(None, &digest));
        }
        let outcome = if all.iter().all(|c| c.pass) {
            PassStop::Pass
        } else {
            PassStop::Stop
        };
        let failed: Vec<&crate::preflight::Criterion> = all.iter().filter(|c| !c.pass).collect();
        let why = || {
            all.iter()
                .map(|c| {
                    format!(
                        "{} {}: {}",
                        c.name,
                        if c.pass { "PASS" } else { "FAIL" },
                        c.reason
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        if outcome != p.expect {
            return Err(StepError::Failed(format!(
                "preflight {outcome}, expected {}: {}",
                p.expect,
                why()
            )));
        }
        let want: Vec<&str> = p.failing.iter().map(|c| c.into()).collect();
        let got: Vec<&str> = failed.iter().map(|c| c.name).collect();
        if want != got {
            return Err(StepError::Failed(format!(
                "preflight criteria failing: {got:?}, expected {want:?}: {}",
                why()
            )));
        }
        for c in &failed {
            self.extra
                .failure_stops
                .push(format!("preflight stop: {}", c.kind.unwrap_or("?")));
        }
        self.evidence(serde_json::json!({
            "dump_created_local": info.created.map(|c| c.to_string()),
            "dump_created_utc": created.map(|c| c.to_rfc3339()),
            "criteria": all,
        }));
        Ok(PreflightObservation {
            outcome,
            failed: failed
                .iter()
                .map(|c| FailedCriterion {
                    criterion: c.name,
                    kind: c.kind.unwrap_or("?"),
                })
                .collect(),
        })
    }
}

/// The access method a broken index gets: as long as `btree`, so no offset of the archive moves.
const BROKEN_AM: &[u8] = b"nobam";

/// How much of the archive's start is searched: its table of contents comes first.
const TOC_PREFIX: u64 = 64 << 20;

/// Give the first `CREATE INDEX ... USING btree` of the archive's table of contents the access
/// method [`BROKEN_AM`] (in place, same length); returns the index as `name ON schema.table`.
fn break_index(dump: &Path) -> Res<String> {
    use std::io::{Read, Seek, SeekFrom, Write};
    const BREAK: &str = "break an index of";
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dump)
        .map_err(io(dump, BREAK))?;
    let mut bytes = Vec::new();
    (&mut f)
        .take(TOC_PREFIX)
        .read_to_end(&mut bytes)
        .map_err(io(dump, BREAK))?;
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)
            .and_then(|h| h.windows(needle.len()).position(|w| w == needle))
            .map(|i| i + from)
    };
    let mut from = 0;
    while let Some(start) = find(&bytes, b"CREATE INDEX ", from) {
        let end = find(&bytes, b";", start).unwrap_or(bytes.len());
        let stmt = String::from_utf8_lossy(&bytes[start..end]).into_owned();
        let am = find(&bytes[..end], b" USING btree ", start);
        match (am, stmt.split_whitespace().collect::<Vec<_>>().as_slice()) {
            (Some(at), [_, _, name, "ON", table, ..]) => {
                let at = at + " USING ".len();
                f.seek(SeekFrom::Start(at as u64))
                    .map_err(io(dump, BREAK))?;
                f.write_all(BROKEN_AM).map_err(io(dump, BREAK))?;
                return Ok(format!("{name} ON {table}"));
            }
            _ => from = end,
        }
    }
    Err(StepError::Failed(format!(
        "{}: no `CREATE INDEX ... USING btree` in its table of contents to break",
        dump.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first btree index of the table of contents is broken in place, its name returned;
    /// an index without `USING btree` is passed over, and a dump without one is an error.
    #[test]
    fn break_index_renames_the_access_method_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.dump");
        let text = b"PGDMP..CREATE INDEX h ON public.u USING hash (b);..CREATE INDEX i ON public.t USING btree (a);..data USING btree ";
        std::fs::write(&p, text).expect("write");
        assert_eq!(break_index(&p).expect("broken"), "i ON public.t");
        let after = std::fs::read(&p).expect("read");
        assert_eq!(after.len(), text.len());
        let s = String::from_utf8_lossy(&after);
        assert!(
            s.contains("CREATE INDEX i ON public.t USING nobam (a);"),
            "{s}"
        );
        assert!(
            s.contains("USING hash (b)") && s.ends_with("data USING btree "),
            "{s}"
        );
        std::fs::write(&p, b"PGDMP no index here").expect("write");
        assert!(break_index(&p).is_err());
    }
}

//! Restore-phase steps: a mutated working copy of the dump (`prepare_dump`), the verified
//! restore test on it (`restore_test`) and the backup-age preflight (`preflight`).

use std::path::Path;

use serde_json::{json, Value};

use crate::restore;
use crate::scenario::env::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};
use crate::scenario::suite::DumpSet;

/// `prepare_dump`: a working copy of the dump set, mutated as the scenario asks.
pub struct PrepareDumpKind;

impl StepKind for PrepareDumpKind {
    const NAME: &'static str = "prepare_dump";
    const READS_ONLY: bool = false;
    type Params = PrepareDump;
    type Observation = Value;

    async fn run(p: &PrepareDump, ctx: &mut Ctx<'_>) -> std::result::Result<Value, StepError> {
        Ok(ctx.prepare_dump(p)?)
    }
}

/// `restore_test`: the HB-08 restore test of the working copy, its verdict as expected.
pub struct RestoreTestKind;

impl StepKind for RestoreTestKind {
    const NAME: &'static str = "restore_test";
    const READS_ONLY: bool = false;
    type Params = RestoreTestStep;
    type Observation = Value;

    async fn run(p: &RestoreTestStep, ctx: &mut Ctx<'_>) -> std::result::Result<Value, StepError> {
        Ok(ctx.restore_test(p).await?)
    }
}

/// `preflight`: the backup-age preflight on the working copy.
pub struct PreflightKind;

impl StepKind for PreflightKind {
    const NAME: &'static str = "preflight";
    const READS_ONLY: bool = true;
    type Params = PreflightStep;
    type Observation = Value;

    async fn run(p: &PreflightStep, ctx: &mut Ctx<'_>) -> std::result::Result<Value, StepError> {
        Ok(ctx.preflight(p)?)
    }
}

impl Ctx<'_> {
    fn prepare_dump(&mut self, p: &PrepareDump) -> StepResult {
        let dir = self.tmp.path();
        let src = &self.suite.dumps;
        let name = |p: &Path| p.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        let dump = dir.join(name(&src.dump));
        let sums = dir.join("SHA256SUMS");
        let rc = dir.join(name(&src.rowcounts));
        let io = |e: std::io::Error| e.to_string();
        std::fs::copy(&src.dump, &dump).map_err(io)?;
        std::fs::copy(&src.sums, &sums).map_err(io)?;
        std::fs::copy(&src.rowcounts, &rc).map_err(io)?;
        // The other files the sums list (schema, log) come along, as a DBA copies a backup set.
        let src_dir = src.sums.parent().unwrap_or(Path::new("."));
        for e in crate::checksum::parse_sums(&src.sums).map_err(|e| err_text(&e))? {
            let (from, to) = (src_dir.join(&e.file), dir.join(&e.file));
            if from.is_file() && !to.exists() {
                std::fs::copy(&from, &to).map_err(io)?;
            }
        }
        let mut recompute = Vec::new();
        match p.mutate {
            Mutation::None => {}
            Mutation::FlipByte => {
                // In place: one byte read and written back (memory does not grow with the dump).
                use std::io::{Read, Seek, SeekFrom, Write};
                let mut f = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&dump)
                    .map_err(io)?;
                let len = f.metadata().map_err(io)?.len();
                let off = p.offset.unwrap_or(len / 2).min(len.saturating_sub(1));
                let mut b = [0u8; 1];
                f.seek(SeekFrom::Start(off)).map_err(io)?;
                f.read_exact(&mut b).map_err(io)?;
                f.seek(SeekFrom::Start(off)).map_err(io)?;
                f.write_all(&[b[0] ^ 0xff]).map_err(io)?;
            }
            Mutation::Truncate => {
                let len = std::fs::metadata(&dump).map_err(io)?.len();
                let keep = (len as f64 * p.keep_fraction.unwrap_or(0.5)) as u64;
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&dump)
                    .map_err(io)?;
                f.set_len(keep).map_err(io)?;
                recompute.push(dump.clone());
            }
        }
        self.drifted.clear();
        if let Some(drifts) = &p.rowcount_drift {
            let mut counts =
                crate::rowcounts::RowCounts::parse_file(&rc).map_err(|e| err_text(&e))?;
            for d in drifts.items() {
                if d.table == "*" {
                    for ((s, t), v) in counts.counts.iter_mut() {
                        *v += d.delta;
                        self.drifted.push(format!("{s}.{t}"));
                    }
                    continue;
                }
                let (s, t) = d
                    .table
                    .split_once('.')
                    .ok_or("rowcount_drift.table must be schema.table or \"*\"")?;
                let v = counts
                    .counts
                    .get_mut(&(s.to_string(), t.to_string()))
                    .ok_or_else(|| format!("{} not in the snapshot", d.table))?;
                *v += d.delta;
                self.drifted.push(d.table.clone());
            }
            self.drifted.sort();
            self.drifted.dedup();
            std::fs::write(&rc, counts.render()).map_err(io)?;
            recompute.push(rc.clone());
        }
        if !recompute.is_empty() {
            let entries = crate::checksum::parse_sums(&sums).map_err(|e| err_text(&e))?;
            let mut text = String::new();
            for e in entries {
                let path = dir.join(&e.file);
                let digest = if recompute.contains(&path) {
                    crate::checksum::sha256_file(&path).map_err(|e| err_text(&e))?
                } else {
                    e.digest
                };
                text.push_str(&format!("{digest}  {}\n", e.name));
            }
            std::fs::write(&sums, text).map_err(io)?;
        }
        let entries = crate::checksum::parse_sums(&sums).map_err(|e| err_text(&e))?;
        let matches = crate::checksum::verify_listed(&dump, &sums, &entries).is_ok();
        self.dumps = DumpSet {
            dump,
            sums,
            rowcounts: rc,
        };
        Ok(json!({
            "mutation": p.mutate,
            "rowcount_drift": match p.rowcount_drift.as_ref().map(|d| d.items()) {
                None => json!(null),
                Some([one]) if one.table != "*" => json!(one.table),
                Some(_) => json!({ "tables_drifted": self.drifted.len() }),
            },
            "dump_matches_sums": matches,
        }))
    }

    async fn restore_test(&mut self, r: &RestoreTestStep) -> StepResult {
        let opts = self.suite.restore_options(&self.dumps, &self.role);
        let before = crate::container::created_count(&self.role);
        let res = restore::restore_test(&self.suite.docker, &self.suite.run, &opts).await;
        let created = crate::container::created_count(&self.role) - before;
        let left = count_role(&self.suite.docker, &self.suite.run, &self.role)
            .await
            .map_err(|e| err_text(&e))?;
        let v = match &res {
            Err(e) => {
                json!({ "verdict": "refused", "error_kind": e.kind, "containers_created": created, "containers_left": left })
            }
            Ok(rep) => {
                // After a fatal error, how far the parallel restore got (and so which benign
                // messages and notes appeared before it) depends on timing: not snapshotted.
                let fatal = rep
                    .restore
                    .as_ref()
                    .is_some_and(|r| r.messages.iter().any(|m| !m.benign));
                const VARIES: &str = "[varies after a fatal error]";
                self.extra.artefacts.extend(
                    rep.verified
                        .iter()
                        .map(|v| (v.file.clone(), v.sha256.clone())),
                );
                json!({
                    "verdict": rep.verdict,
                    "stopped_at": rep.stopped_at,
                    "restore_exit_code": rep.restore.as_ref().map(|r| r.exit_code),
                    // Benign messages in full; fatal ones only counted (with -j their wording and
                    // number depend on which worker hits the damage first).
                    "benign_restore_errors": if fatal { json!(VARIES) } else { json!(rep.restore.as_ref().map(|r| r.messages.iter().filter(|m| m.benign).map(|m| json!({"kind": m.kind, "message": m.message.lines().next().unwrap_or("")})).collect::<Vec<_>>())) },
                    "fatal_restore_errors": rep.restore.as_ref().map(|r| r.messages.iter().any(|m| !m.benign)),
                    "notes": if fatal { json!(VARIES) } else { json!(rep.notes.len()) },
                    "tables_restored": rep.smoke.as_ref().map(|s| s.tables_restored),
                    "tables_expected": rep.smoke.as_ref().and_then(|s| s.tables_expected),
                    "differences": rep.smoke.as_ref().map(|s| s.differences.iter().map(|d| d.relative()).collect::<Vec<_>>()),
                    "key_tables_matching": rep.smoke.as_ref().map(|s| s.key_tables.iter().filter(|k| k.matches).count()),
                    "dot_pair_active": rep.smoke.as_ref().map(|s| s.dot_pair_ok),
                    "containers_created": created,
                    "containers_left": left,
                })
            }
        };
        let verdict = v["verdict"].as_str().unwrap_or("");
        let want = match r.expect {
            RestoreExpect::Pass => "pass",
            RestoreExpect::Fail => "fail",
            RestoreExpect::Refused => "refused",
        };
        if verdict != want {
            let why = match &res {
                Err(e) => err_text(e),
                Ok(rep) => rep.reason.clone().unwrap_or_default(),
            };
            return Err(format!(
                "restore test verdict {verdict}, expected {want}: {why}"
            ));
        }
        if let Some(want) = r.fatal_restore_errors {
            if v["fatal_restore_errors"].as_bool() != Some(want) {
                return Err(format!(
                    "fatal restore errors present: {}, expected {want} (triage of pg_restore's messages)",
                    show(&v["fatal_restore_errors"])
                ));
            }
        }
        if let Some(s) = &r.stopped_at {
            if v["stopped_at"].as_str() != Some(s.as_str()) {
                return Err(format!(
                    "restore test stopped at {}, expected {s}",
                    show(&v["stopped_at"])
                ));
            }
        }
        if let Some(k) = &r.error_kind {
            if v["error_kind"].as_str() != Some(k.as_str()) {
                return Err(format!(
                    "restore test error kind {}, expected {k}",
                    show(&v["error_kind"])
                ));
            }
        }
        if let (Ok(rep), false) = (&res, self.drifted.is_empty()) {
            // Every table whose snapshot count was drifted must be named by the smoke test.
            let named: std::collections::BTreeSet<&str> = rep
                .smoke
                .iter()
                .flat_map(|s| s.differences.iter().map(|d| d.table.as_str()))
                .collect();
            let missed: Vec<&str> = self
                .drifted
                .iter()
                .map(String::as_str)
                .filter(|t| !named.contains(t))
                .collect();
            if !missed.is_empty() {
                return Err(format!(
                    "the smoke test missed the drift of {} of {} drifted table(s): {}",
                    missed.len(),
                    self.drifted.len(),
                    missed.join(", ")
                ));
            }
        }
        if let Some(n) = r.containers_created {
            if created != n {
                return Err(format!("{created} container(s) created, expected {n}"));
            }
        }
        if left != 0 {
            return Err(format!("{left} container(s) left after the restore test"));
        }
        if verdict != "pass" {
            self.extra.failure_stops.push(format!(
                "restore-test stopped: {}",
                v["stopped_at"]
                    .as_str()
                    .or(v["error_kind"].as_str())
                    .unwrap_or("?")
            ));
        }
        Ok(v)
    }

    fn preflight(&mut self, p: &PreflightStep) -> StepResult {
        let info = crate::dumpinfo::inspect(&self.dumps.dump).map_err(|e| err_text(&e))?;
        let created = info.created.ok_or("dump has no creation time")?;
        let now = created + chrono::Duration::minutes(p.clock_minutes_after_dump);
        let res = crate::preflight::check_backup_age(Some(created), now, p.max_age_minutes);
        let (outcome, kind) = match &res {
            Ok(_) => (PassStop::Pass, None),
            Err(e) => (PassStop::Stop, Some(e.kind)),
        };
        if outcome != p.expect {
            return Err(format!(
                "preflight {}, expected {}: {}",
                show(&json!(outcome)),
                show(&json!(p.expect)),
                res.err().map(|e| e.message).unwrap_or_default()
            ));
        }
        if let Some(k) = kind {
            self.extra
                .failure_stops
                .push(format!("preflight stop: {k}"));
        }
        Ok(
            json!({ "age_minutes": p.clock_minutes_after_dump, "max_age_minutes": p.max_age_minutes, "outcome": outcome, "stop_kind": kind }),
        )
    }
}

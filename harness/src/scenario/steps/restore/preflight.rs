//! `preflight`: the same backup-age evaluation as `dryrun preflight` on the working copy, the
//! clock set relative to the dump header's own instant.

use super::{FailedCriterion, PreflightObservation, Res};
use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::steps::StepError;

impl Ctx<'_> {
    /// The same evaluation as `dryrun preflight` (`preflight::age_criterion` and
    /// `preflight::criteria`), the clock set relative to the dump header's own instant.
    pub(super) fn preflight(&mut self, p: &PreflightStep) -> Res<PreflightObservation> {
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
            let fresh = self.file.scenario.environment == Setup::Container
                && self.file.scenario.server_data == ServerData::FreshRestore
                && self.own.is_some();
            let ev = fresh.then(|| criteria::RestoreEvidence {
                source: "this scenario's fresh restore of the verified dump".into(),
                dump_sha256: dump_sha.clone(),
                verdict: crate::restore::Verdict::Pass,
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

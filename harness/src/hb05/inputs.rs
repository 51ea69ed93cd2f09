//! The inputs of `dryrun run`, verified before the engine is contacted: the scenario files and
//! the selection, the backup set, the P0 plan and the scenarios' contract with it, the impact
//! rules; and why the selection is not exactly the committed S01..S26.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::migrate::Plan;
use crate::scenario::parser;
use crate::scenario::snapshot;
use crate::scenario::suite::DumpSet;

use super::{PlanRecord, RunOptions};

/// Why the discovered scenario files are not exactly the committed S01..S26 of this binary
/// (each file by SHA-256 against [`crate::bundle::committed_suite`], and their snapshots).
pub fn selection_differs(files: &[parser::ScenarioFile], snapshots: &Path) -> Vec<String> {
    let committed = crate::bundle::committed_suite();
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in files {
        let name = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let key = format!("scenarios/{name}");
        seen.insert(key.clone());
        match committed.iter().find(|(p, _)| *p == key) {
            None => out.push(format!("{key} is not a committed scenario")),
            Some((_, d)) if *d != f.sha256 => {
                out.push(format!("{key} differs from the committed one"))
            }
            Some(_) => {}
        }
        let snap = snapshot::snapshot_path(snapshots, f);
        let skey = format!(
            "snapshots/{}",
            snap.file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default()
        );
        let on_disk = crate::checksum::sha256_file(&snap).ok();
        match committed.iter().find(|(p, _)| *p == skey) {
            Some((_, d)) if Some(d) == on_disk.as_ref() => {}
            Some(_) => out.push(format!("{skey} differs from the committed one")),
            None => out.push(format!("{skey} is not a committed snapshot")),
        }
    }
    for (p, _) in committed
        .iter()
        .filter(|(p, _)| p.starts_with("scenarios/"))
    {
        if !seen.contains(p) {
            out.push(format!("{p} was not run"));
        }
    }
    out
}

/// What `run` verified: the selected scenario files, the backup set and its dump's digest, the
/// plan (and the folder it came from), the impact rules, and why the selection is partial.
pub(super) struct Inputs {
    pub files: Vec<parser::ScenarioFile>,
    pub dumps: DumpSet,
    pub dump_sha256: String,
    pub plan_dir: Option<PathBuf>,
    pub plan: Plan,
    pub plan_record: PlanRecord,
    pub impact_rules: crate::impact::rules::ImpactRules,
    pub selection: Vec<String>,
}

/// Verify everything `run` needs before any container exists.
pub(super) fn verify(o: &RunOptions) -> Result<Inputs> {
    let files = parser::discover(&o.repo.join("scenarios"))?;
    // The verified inputs are checked before the engine is contacted.
    let dumps = match &o.fixtures {
        Some(d) => DumpSet::from_dir(d)?,
        None => DumpSet::bundled(&o.repo),
    };
    // Every listed checksum, the header, the snapshot's format; a dump without the DOT pair's
    // and the TAC tables would fail most scenarios: refused here.
    let verified = backup_set::BackupSet {
        dump: &dumps.dump,
        sums: &dumps.sums,
        rowcounts: Some(&dumps.rowcounts),
    }
    .verify(
        backup_set::Needs::Fixed {
            needs: crate::checks::suite_needs(),
            who: "the P0 migration and the HB-05 scenarios",
            way_out: "`dryrun run` needs a backup of the Directus database (public.dot_tools and the TAC tables); to prove that this backup restores, run `dryrun restore-test --dump F --sums S --checks counts`.",
        },
        &crate::progress::ByteBars,
    )?;
    let dump_sha256 = verified.dump_sha256();
    let plan_dir = o
        .plan
        .clone()
        .or_else(|| std::env::var_os("P0_PLAN_DIR").map(PathBuf::from));
    let plan = match &plan_dir {
        None => crate::migrate::Plan::embedded()?,
        Some(d) => crate::migrate::Plan::load(d).map_err(|e| {
            let hint = format!(
                "--plan (or P0_PLAN_DIR) names a folder shaped like migrations/p0 (plan.yaml) or a Sqitch project (sqitch.plan), with the deploy/, verify/, revert/ scripts it names. {}",
                e.hint.clone().unwrap_or_default()
            );
            e.with_hint(hint.trim_end().to_string())
        })?,
    };
    let plan_record = PlanRecord::of(&plan);
    let impact_rules = crate::impact::rules_of(&o.repo)?;
    // The selection, then the plan's contract: what the selected scenarios need of the plan,
    // checked before any container exists.
    let files: Vec<parser::ScenarioFile> =
        files.into_iter().filter(|f| o.selection.takes(f)).collect();
    if files.is_empty() {
        return Err(Error::new(
            ErrorKind::NoScenarioSelected,
            format!(
                "--scenarios {} selects no scenario of {}.",
                o.selection,
                o.repo.join("scenarios").display()
            ),
        )
        .with_hint("Use --scenarios all, rollback, or ids of files in scenarios/ (S07,S08)."));
    }
    let unmet: Vec<String> = files
        .iter()
        .flat_map(|f| {
            crate::scenario::contract::unmet(&plan, f)
                .into_iter()
                .map(move |u| format!("{}: {u}", f.scenario.id))
        })
        .collect();
    if !unmet.is_empty() {
        return Err(Error::new(
            ErrorKind::PlanContract,
            format!(
                "The P0 plan {} does not provide what the selected scenarios need, so nothing was started: {}.",
                plan_record.source,
                unmet.join("; ")
            ),
        )
        .with_hint("Add what is missing to the plan (SPEC §7a: the governance tables in cutter_governance), or run the rollback scenarios alone with --scenarios rollback (a partial result: the report says HB-05 cannot close)."));
    }
    let mut selection = selection_differs(&files, &o.repo.join("snapshots"));
    if o.selection != crate::scenario::contract::Selection::All {
        selection.insert(
            0,
            format!(
                "--scenarios {} ran a selection; HB-05 needs every committed scenario",
                o.selection
            ),
        );
    }
    Ok(Inputs {
        files,
        dumps,
        dump_sha256,
        plan_dir,
        plan,
        plan_record,
        impact_rules,
        selection,
    })
}

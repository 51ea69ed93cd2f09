//! What a scenario needs of the plan it runs on (the governance tables the signing and signal
//! libraries write to, a step naming a relation), checked before any container exists.

use std::collections::BTreeSet;

use crate::migrate::Plan;
use crate::scenario::model::Step;
use crate::scenario::parser::ScenarioFile;
use crate::scenario::stepref::{first_naming, StepBase};

/// The schema the libraries write to (`dot-signing::sql`, `cutter-signals::schema`).
pub const GOVERNANCE_SCHEMA: &str = "cutter_governance";

/// The tables of SPEC §7a the libraries write to: `dot_tool_revision` (the registry),
/// `cut_change_set`, `cut_unit`, `dot_pair_signature` (`dot-signing::sql`) and `signal`
/// (`cutter-signals::schema`).
pub const GOVERNANCE_TABLES: [&str; 5] = [
    "dot_tool_revision",
    "cut_change_set",
    "cut_unit",
    "dot_pair_signature",
    "signal",
];

/// Whether a step writes through the signing or signal libraries.
fn uses_governance(s: &Step) -> bool {
    match s {
        Step::ChangeSet(_)
        | Step::Sign(_)
        | Step::BrokenReference(_)
        | Step::Verify(_)
        | Step::AwaitSignal(_)
        | Step::Acknowledge(_) => true,
        Step::ForEachStep(body) => body.iter().any(uses_governance),
        _ => false,
    }
}

/// Whether `plan` creates `cutter_governance.<table>` in one of its deploy scripts (quotes and
/// case ignored, `IF NOT EXISTS` allowed).
fn creates_table(plan: &Plan, table: &str) -> bool {
    let want = format!("{GOVERNANCE_SCHEMA}.{table}");
    plan.steps.iter().any(|s| {
        let text = s
            .deploy
            .to_lowercase()
            .replace('"', "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        ["create table ", "create table if not exists "]
            .iter()
            .any(|p| {
                let pat = format!("{p}{want}");
                text.match_indices(&pat).any(|(i, _)| {
                    !text[i + pat.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            })
    })
}

/// What the plan lacks for one scenario (empty when nothing).
pub fn unmet(plan: &Plan, f: &ScenarioFile) -> Vec<String> {
    let mut out = BTreeSet::new();
    if f.scenario.steps.iter().any(uses_governance) {
        if plan.schema != GOVERNANCE_SCHEMA {
            out.insert(format!(
                "the plan's schema is {}, the signing and signal libraries write to {GOVERNANCE_SCHEMA}",
                plan.schema
            ));
        }
        for t in GOVERNANCE_TABLES {
            if !creates_table(plan, t) {
                out.insert(format!(
                    "no deploy script creates {GOVERNANCE_SCHEMA}.{t} (SPEC §7a; the signing and signal libraries write to it)"
                ));
            }
        }
    }
    for s in &f.scenario.steps {
        for r in s.step_refs() {
            if let StepBase::FirstNaming(rel) = &r.base {
                if first_naming(plan, rel).is_none() {
                    out.insert(format!("no deploy script names {rel} (step `{r}`)"));
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Which scenarios a run takes (`dryrun run --scenarios`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selection {
    /// Every scenario: the only selection that can close HB-05.
    #[default]
    All,
    /// The rollback scenarios S07..S19 that need nothing of the plan beyond its steps.
    Rollback,
    /// These ids.
    Ids(Vec<String>),
}

impl std::str::FromStr for Selection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "all" => Ok(Selection::All),
            "rollback" => Ok(Selection::Rollback),
            list => {
                let ids: Vec<String> = list
                    .split(',')
                    .map(|x| x.trim().to_uppercase())
                    .filter(|x| !x.is_empty())
                    .collect();
                let ok = !ids.is_empty()
                    && ids.iter().all(|i| {
                        i.len() == 3
                            && i.starts_with('S')
                            && i[1..].chars().all(|c| c.is_ascii_digit())
                    });
                if ok {
                    Ok(Selection::Ids(ids))
                } else {
                    Err(format!(
                        "{s:?} is not a selection: write all, rollback, or scenario ids such as S07,S08"
                    ))
                }
            }
        }
    }
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selection::All => f.write_str("all"),
            Selection::Rollback => f.write_str("rollback"),
            Selection::Ids(ids) => f.write_str(&ids.join(",")),
        }
    }
}

impl Selection {
    /// Whether `f` is selected (`Rollback`: S07..S19 without a governance step).
    pub fn takes(&self, f: &ScenarioFile) -> bool {
        let id = &f.scenario.id;
        match self {
            Selection::All => true,
            Selection::Ids(ids) => ids.contains(id),
            Selection::Rollback => {
                let n: usize = id.trim_start_matches('S').parse().unwrap_or(0);
                (7..=19).contains(&n) && !f.scenario.steps.iter().any(uses_governance)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<ScenarioFile> {
        let m = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let repo = m.parent().map(std::path::Path::to_path_buf).unwrap_or(m);
        crate::scenario::parser::discover(&repo.join("scenarios")).expect("scenarios")
    }

    #[test]
    fn the_stand_in_meets_every_scenario() {
        let plan = Plan::embedded().expect("plan");
        for f in files() {
            assert_eq!(unmet(&plan, &f), Vec::<String>::new(), "{}", f.scenario.id);
        }
    }

    #[test]
    fn a_plan_without_the_signature_table_fails_the_signing_scenarios_only() {
        let mut plan = Plan::embedded().expect("plan");
        for s in &mut plan.steps {
            s.deploy = s.deploy.replace("dot_pair_signature", "other_signature");
        }
        let mut red = Vec::new();
        for f in files() {
            let u = unmet(&plan, &f);
            if !u.is_empty() {
                assert!(
                    u.iter()
                        .any(|m| m.contains("cutter_governance.dot_pair_signature")),
                    "{u:?}"
                );
                red.push(f.scenario.id.clone());
            }
        }
        assert_eq!(red, ["S11", "S22", "S23", "S24", "S25", "S26"]);
        // The rollback selection needs none of it.
        let rb: Vec<String> = files()
            .into_iter()
            .filter(|f| Selection::Rollback.takes(f))
            .map(|f| f.scenario.id)
            .collect();
        assert_eq!(
            rb,
            ["S07", "S08", "S09", "S10", "S12", "S13", "S14", "S15", "S16", "S17", "S18", "S19"]
        );
    }

    #[test]
    fn a_plan_that_never_names_dot_tools_cannot_run_s15() {
        let mut plan = Plan::embedded().expect("plan");
        for s in &mut plan.steps {
            s.deploy = s.deploy.replace("dot_tools", "dot_tool_list");
        }
        let s15 = files()
            .into_iter()
            .find(|f| f.scenario.id == "S15")
            .expect("S15");
        let u = unmet(&plan, &s15);
        assert_eq!(u.len(), 1, "{u:?}");
        assert!(u[0].contains("public.dot_tools"), "{u:?}");
    }

    #[test]
    fn selections_parse() {
        assert_eq!("all".parse(), Ok(Selection::All));
        assert_eq!("rollback".parse(), Ok(Selection::Rollback));
        assert_eq!(
            "s07, S08".parse(),
            Ok(Selection::Ids(vec!["S07".into(), "S08".into()]))
        );
        assert!("S7x".parse::<Selection>().is_err());
        assert!("".parse::<Selection>().is_err());
    }
}

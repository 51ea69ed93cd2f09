//! Lint before running: squawk's migration rules over every deploy and revert script of the
//! plan, each finding with its file:line, judged against the rule set (enforced, waived, info).

use serde::{Deserialize, Serialize};
use squawk_linter::{Linter, Rule};
use squawk_syntax::SourceFile;

use super::rules::ImpactRules;
use crate::migrate::Plan;

/// What a finding means for the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Judgement {
    /// An enforced rule: a breach.
    Breach,
    /// An enforced rule, accepted by a waiver (its reason is kept).
    Waived,
    /// A rule the set does not enforce: reported only.
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The plan file, relative to the plan folder (`deploy/04_cut_unit.sql`).
    pub file: String,
    pub line: usize,
    pub rule: String,
    pub message: String,
    pub judgement: Judgement,
    /// The waiver's reason, when waived.
    pub reason: Option<String>,
}

impl Finding {
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The plan's scripts as `(file, text)`, deploy and revert of each step (verify scripts only
/// read and are not linted). Files are named as the plan lists them.
pub fn scripts(plan: &Plan) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in &plan.steps {
        let file = |kind: &str| {
            s.files
                .iter()
                .map(|(f, _)| f.clone())
                .find(|f| f.starts_with(&format!("{kind}/")))
                .unwrap_or_else(|| format!("{kind}/{}.sql", s.name))
        };
        out.push((file("deploy"), s.deploy.clone()));
        out.push((file("revert"), s.revert.clone()));
    }
    out
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Lint one script with squawk's default rules and the enforced ones (PostgreSQL 16, run inside a transaction as the
/// runner does) and judge each finding.
pub fn lint_script(file: &str, text: &str, rules: &ImpactRules) -> Vec<Finding> {
    let parse = SourceFile::parse(text);
    let mut linter = linter_for(rules);
    linter.settings.pg_version = "16.2".parse().unwrap_or_default();
    linter.settings.assume_in_transaction = true;
    let mut out: Vec<Finding> = linter
        .lint(&parse, text)
        .into_iter()
        .map(|v| {
            let rule = v.code.to_string();
            let enforced = rules.lint.enforce.iter().any(|r| r == &rule);
            let waiver = rules.waiver(&rule, file);
            Finding {
                file: file.to_string(),
                line: line_of(text, usize::from(v.text_range.start())),
                message: v.message.clone(),
                judgement: match (enforced, waiver) {
                    (false, _) => Judgement::Info,
                    (true, Some(_)) => Judgement::Waived,
                    (true, None) => Judgement::Breach,
                },
                reason: waiver.map(|w| w.reason.clone()),
                rule,
            }
        })
        .collect();
    out.sort_by(|a, b| (a.line, &a.rule).cmp(&(b.line, &b.rule)));
    out
}

/// Squawk's default rules plus every enforced one (some are opt-in, e.g. the timeout rules).
fn linter_for(rules: &ImpactRules) -> Linter {
    let enforced: Vec<Rule> = rules
        .lint
        .enforce
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect();
    Linter::with_rules(&enforced, &[])
}

/// Lint every deploy and revert script of `plan`.
pub fn lint_plan(plan: &Plan, rules: &ImpactRules) -> Vec<Finding> {
    scripts(plan)
        .iter()
        .flat_map(|(f, t)| lint_script(f, t, rules))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ImpactRules {
        ImpactRules::load(None).expect("bundled")
    }

    #[test]
    fn lock_heavy_statements_are_named_with_file_and_line() {
        let sql = "SELECT 1;\nCREATE INDEX t_a_idx ON public.tac_logical_unit (code);\n\
                   ALTER TABLE public.t ADD CONSTRAINT t_fk FOREIGN KEY (a) REFERENCES public.u (id);\n\
                   ALTER TABLE public.t ALTER COLUMN b TYPE bigint;\n";
        let f = lint_script("deploy/x.sql", sql, &rules());
        let has = |rule: &str, line: usize| {
            f.iter()
                .any(|x| x.rule == rule && x.line == line && x.judgement == Judgement::Breach)
        };
        assert!(has("require-concurrent-index-creation", 2), "{f:#?}");
        assert!(has("adding-foreign-key-constraint", 3), "{f:#?}");
        assert!(has("changing-column-type", 4), "{f:#?}");
        assert_eq!(f[0].location().split(':').next(), Some("deploy/x.sql"));
    }

    #[test]
    fn a_waiver_accepts_a_finding_with_its_reason_and_unenforced_rules_are_info() {
        let mut r = rules();
        r.lint.waive.push(super::super::rules::Waiver {
            rule: "changing-column-type".into(),
            file: "deploy/x.sql".into(),
            reason: "empty table".into(),
        });
        r.lint
            .enforce
            .retain(|x| x != "require-concurrent-index-creation");
        let sql =
            "CREATE INDEX i ON public.t (a);\nALTER TABLE public.t ALTER COLUMN b TYPE bigint;\n";
        let f = lint_script("deploy/x.sql", sql, &r);
        let j = |rule: &str| f.iter().find(|x| x.rule == rule).map(|x| x.judgement);
        assert_eq!(j("changing-column-type"), Some(Judgement::Waived));
        assert_eq!(
            j("require-concurrent-index-creation"),
            Some(Judgement::Info)
        );
        assert!(f.iter().any(|x| x.reason.as_deref() == Some("empty table")));
    }
}

#[cfg(test)]
mod p0 {
    use super::*;

    /// The stand-in P0 breaks no enforced rule of the bundled set (its findings are info).
    #[test]
    fn the_stand_in_p0_passes_the_p0_lint_rules() {
        let plan = Plan::embedded().expect("embedded plan");
        let rules = ImpactRules::load(None).expect("bundled");
        let f = lint_plan(&plan, &rules);
        let breaches: Vec<String> = f
            .iter()
            .filter(|x| x.judgement == Judgement::Breach)
            .map(|x| format!("{} {}: {}", x.location(), x.rule, x.message))
            .collect();
        assert!(breaches.is_empty(), "{breaches:#?}");
        // It is linted at all: its reverts drop its own tables (reported, not enforced).
        assert!(f
            .iter()
            .any(|x| x.rule == "ban-drop-table" && x.file.starts_with("revert/")));
    }
}

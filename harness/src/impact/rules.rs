//! The operations team's impact rule set (`checks/p0-impact.yaml`): the strongest lock allowed on
//! a pre-existing relation, the longest step, whether rewrites are allowed, the lint rules.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// PostgreSQL's table lock modes, weakest first (the order of their conflicts).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
)]
pub enum LockMode {
    AccessShareLock,
    RowShareLock,
    RowExclusiveLock,
    ShareUpdateExclusiveLock,
    ShareLock,
    ShareRowExclusiveLock,
    ExclusiveLock,
    AccessExclusiveLock,
}

impl LockMode {
    /// The SQL name (`ACCESS EXCLUSIVE`).
    pub fn sql(self) -> &'static str {
        match self {
            LockMode::AccessShareLock => "ACCESS SHARE",
            LockMode::RowShareLock => "ROW SHARE",
            LockMode::RowExclusiveLock => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusiveLock => "SHARE UPDATE EXCLUSIVE",
            LockMode::ShareLock => "SHARE",
            LockMode::ShareRowExclusiveLock => "SHARE ROW EXCLUSIVE",
            LockMode::ExclusiveLock => "EXCLUSIVE",
            LockMode::AccessExclusiveLock => "ACCESS EXCLUSIVE",
        }
    }
}

/// A finding of an enforced lint rule accepted on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub rule: String,
    /// The plan file (relative to the plan folder, e.g. `deploy/04_cut_unit.sql`).
    pub file: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintRules {
    pub enforce: Vec<String>,
    pub waive: Vec<Waiver>,
}

/// `checks/p0-impact.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpactRules {
    pub max_lock_on_existing: LockMode,
    pub max_step_ms: u64,
    /// The longest a write may wait while a step runs (`--load`).
    pub max_writer_stall_ms: u64,
    pub rewrite_existing: bool,
    pub lint: LintRules,
    /// Where the rules were read from (not in the file, and not written with the rules: the
    /// reports carry it as `rules_source`, so a report read back parses under
    /// `deny_unknown_fields`).
    #[serde(skip)]
    pub source: String,
}

/// The harness's own lint rule (squawk has none like it): a statement that creates, alters,
/// drops, writes, locks, grants on or comments on an object outside the schemas the plan owns.
pub const OUTSIDE_OWN_SCHEMAS: &str = "outside-own-schemas";

/// The rule set committed with the harness.
pub const BUNDLED: &str = include_str!("../../../checks/p0-impact.yaml");

impl ImpactRules {
    /// Parse a rule set; `name` is the file it came from, for the error.
    pub fn parse(text: &str, name: &str) -> Result<ImpactRules> {
        let mut r: ImpactRules = serde_yaml_ng::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::ImpactRulesInvalid,
                format!("The impact rule set {name} cannot be read: {e}."),
            )
            .with_hint("See checks/p0-impact.yaml for every key; lock modes are written as PostgreSQL names them in pg_locks (e.g. AccessShareLock).")
        })?;
        for rule in r
            .lint
            .enforce
            .iter()
            .chain(r.lint.waive.iter().map(|w| &w.rule))
        {
            if rule != OUTSIDE_OWN_SCHEMAS && rule.parse::<squawk_linter::Rule>().is_err() {
                return Err(Error::new(
                    ErrorKind::ImpactRulesInvalid,
                    format!("The impact rule set {name} names the lint rule `{rule}`, which squawk does not have."),
                )
                .with_hint("Use the rule names of https://squawkhq.com/docs/rules (e.g. require-concurrent-index-creation), or the harness's own outside-own-schemas."));
            }
        }
        if let Some(w) = r.lint.waive.iter().find(|w| w.reason.trim().is_empty()) {
            return Err(Error::new(
                ErrorKind::ImpactRulesInvalid,
                format!(
                    "The impact rule set {name} waives `{}` in {} without a reason.",
                    w.rule, w.file
                ),
            )
            .with_hint("Every waiver says why the finding is accepted (`reason:`)."));
        }
        r.source = name.to_string();
        Ok(r)
    }

    /// The file given, or the bundled rule set.
    pub fn load(path: Option<&Path>) -> Result<ImpactRules> {
        match path {
            None => ImpactRules::parse(BUNDLED, "checks/p0-impact.yaml (bundled)"),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    Error::new(
                        ErrorKind::ImpactRulesUnreadable,
                        format!("The impact rule set {} cannot be read: {e}.", p.display()),
                    )
                    .with_hint("Pass --rules FILE with a readable rule set, or leave it out for checks/p0-impact.yaml.")
                })?;
                ImpactRules::parse(&text, &p.display().to_string())
            }
        }
    }

    /// The waiver covering a finding of `rule` in `file`, if any.
    pub fn waiver(&self, rule: &str, file: &str) -> Option<&Waiver> {
        self.lint
            .waive
            .iter()
            .find(|w| w.rule == rule && w.file == file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_rules_parse_and_order_lock_modes() {
        let r = ImpactRules::load(None).expect("bundled rules");
        assert_eq!(r.max_lock_on_existing, LockMode::AccessShareLock);
        assert!(LockMode::AccessExclusiveLock > LockMode::ShareLock);
        assert!(LockMode::RowExclusiveLock > LockMode::AccessShareLock);
        assert_eq!(
            "ShareRowExclusiveLock".parse::<LockMode>().ok(),
            Some(LockMode::ShareRowExclusiveLock)
        );
        assert_eq!(
            LockMode::ShareUpdateExclusiveLock.sql(),
            "SHARE UPDATE EXCLUSIVE"
        );
    }

    /// A report carries its rules (the closure report's attempts are read back by the retry
    /// gate and `dryrun preflight`): what is written parses again.
    #[test]
    fn rules_written_into_a_report_read_back() {
        let r = ImpactRules::load(None).expect("bundled rules");
        let json = serde_json::to_string(&r).expect("json");
        let back: ImpactRules = serde_json::from_str(&json).expect("read back");
        assert_eq!(back.max_lock_on_existing, r.max_lock_on_existing);
        assert_eq!(back.lint, r.lint);
        assert_eq!(back.max_step_ms, r.max_step_ms);
    }

    #[test]
    fn bad_rule_sets_are_refused_with_the_reason() {
        let base = BUNDLED.replace("max_step_ms: 60000", "max_step_ms: 60000\nextra: 1");
        assert_eq!(
            ImpactRules::parse(&base, "x.yaml").unwrap_err().kind,
            crate::error::ErrorKind::ImpactRulesInvalid
        );
        let unknown = BUNDLED.replace("- changing-column-type", "- no-such-rule");
        let e = ImpactRules::parse(&unknown, "x.yaml").unwrap_err();
        assert!(e.message.contains("no-such-rule"), "{}", e.message);
        let reasonless = BUNDLED.replace(
            "waive: []",
            "waive:\n    - {rule: changing-column-type, file: deploy/a.sql, reason: \" \"}",
        );
        let e = ImpactRules::parse(&reasonless, "x.yaml").unwrap_err();
        assert!(e.message.contains("without a reason"), "{}", e.message);
        let mode = BUNDLED.replace("AccessShareLock\nmax", "TotalLock\nmax");
        assert!(ImpactRules::parse(&mode, "x.yaml").is_err());
    }
}

//! A plan step named by its role in the plan (`first`, `last`, `k`, `k-1`, `first naming
//! public.dot_tools`), resolved against whichever plan runs: never a number that fits one plan.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::migrate::Plan;

/// What a [`StepRef`] counts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepBase {
    /// Step 1.
    First,
    /// The plan's last step.
    Last,
    /// The step `for_each_step` is at.
    K,
    /// The first step whose deploy script names this relation (`schema.table` or `table`).
    FirstNaming(String),
    /// A fixed 1-based number: only for tests of the harness itself; a committed scenario
    /// never uses one (a unit test over `scenarios/` holds it to that).
    Number(usize),
}

/// A step of the plan by role, with an offset back from it (`k-1`, `last-1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Repr", into = "String")]
pub struct StepRef {
    pub base: StepBase,
    /// Steps back from the base (0, or 1 for `k-1`).
    pub back: usize,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Number(usize),
    Text(String),
}

impl TryFrom<Repr> for StepRef {
    type Error = String;
    fn try_from(r: Repr) -> Result<Self, String> {
        match r {
            Repr::Number(0) => Err("steps are numbered from 1".into()),
            Repr::Number(n) => Ok(StepRef {
                base: StepBase::Number(n),
                back: 0,
            }),
            Repr::Text(t) => t.parse(),
        }
    }
}

impl std::str::FromStr for StepRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "{s:?} is not a plan step: write first, last, k (inside for_each_step), \
                 `first naming <schema.table>`, optionally followed by -N (e.g. k-1, last-1)"
            )
        };
        if let Some(rel) = s.strip_prefix("first naming ") {
            let rel = rel.trim();
            if rel.is_empty() || rel.contains(char::is_whitespace) {
                return Err(bad());
            }
            return Ok(StepRef {
                base: StepBase::FirstNaming(rel.to_string()),
                back: 0,
            });
        }
        let (head, back) = match s.split_once('-') {
            Some((h, n)) => (h, n.parse::<usize>().map_err(|_| bad())?),
            None => (s, 0),
        };
        let base = match head {
            "first" => StepBase::First,
            "last" => StepBase::Last,
            "k" => StepBase::K,
            n => match n.parse::<usize>() {
                Ok(n) if n > 0 => StepBase::Number(n),
                _ => return Err(bad()),
            },
        };
        Ok(StepRef { base, back })
    }
}

impl fmt::Display for StepRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.base {
            StepBase::First => write!(f, "first")?,
            StepBase::Last => write!(f, "last")?,
            StepBase::K => write!(f, "k")?,
            StepBase::FirstNaming(r) => write!(f, "first naming {r}")?,
            StepBase::Number(n) => write!(f, "{n}")?,
        }
        if self.back > 0 {
            write!(f, "-{}", self.back)?;
        }
        Ok(())
    }
}

impl From<StepRef> for String {
    fn from(r: StepRef) -> String {
        r.to_string()
    }
}

impl StepRef {
    /// The 1-based step it names in `plan` (`k`: the loop's current step); 0 only through an
    /// offset past the first step (`k-1` at k = 1: "no step", which `upto` accepts).
    pub fn resolve(&self, plan: &Plan, k: Option<usize>) -> Result<usize, String> {
        let n = plan.steps.len();
        let base = match &self.base {
            StepBase::First => 1,
            StepBase::Last => n,
            StepBase::K => k.ok_or_else(|| {
                format!("step `{self}` names the loop's step, but it is not inside for_each_step")
            })?,
            StepBase::FirstNaming(rel) => first_naming(plan, rel).ok_or_else(|| {
                format!(
                    "no deploy script of the plan names {rel}: step `{self}` needs a step that \
                     touches it (the plan's contract)"
                )
            })?,
            StepBase::Number(k) => *k,
        };
        if base > n {
            return Err(format!(
                "step `{self}` is step {base}, but the plan has {n} steps"
            ));
        }
        base.checked_sub(self.back).ok_or_else(|| {
            format!("step `{self}` lies before the first step of the plan (it resolves below 0)")
        })
    }

    /// Like [`StepRef::resolve`], for a step that must exist (an injection, a crash, a stop).
    pub fn resolve_step(&self, plan: &Plan, k: Option<usize>) -> Result<usize, String> {
        match self.resolve(plan, k)? {
            0 => Err(format!(
                "step `{self}` resolves to no step here (k = {}): it names the step before the first",
                k.unwrap_or(0)
            )),
            i => Ok(i),
        }
    }

    /// Whether it is written as a fixed number (only the harness's own tests may).
    pub fn is_number(&self) -> bool {
        matches!(self.base, StepBase::Number(_))
    }
}

/// The first step (1-based) whose deploy script names `rel`: as written (`public.dot_tools`)
/// or, for a qualified name, its table alone as a whole word (`dot_tools`, not `dot_tools_x`).
pub fn first_naming(plan: &Plan, rel: &str) -> Option<usize> {
    let table = rel.rsplit('.').next().unwrap_or(rel);
    let word = |text: &str, w: &str| {
        text.match_indices(w).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = text[i + w.len()..].chars().next();
            let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !ident(before) && !ident(after)
        })
    };
    plan.steps
        .iter()
        .position(|s| {
            let text = s.deploy.to_lowercase();
            word(&text, &rel.to_lowercase()) || word(&text, &table.to_lowercase())
        })
        .map(|i| i + 1)
}

/// Where a 1-based step stands in a plan of `n` steps, as a snapshot may show it: the
/// expected role when it matches (`k`, `last`, ...), else `step i of n`.
pub fn relative(i: usize, n: usize, expected: Option<(&StepRef, usize)>) -> String {
    match expected {
        Some((r, want)) if want == i => r.to_string(),
        _ if i == 1 => "first".into(),
        _ if i == n => "last".into(),
        _ => format!("step {i} of {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan::embedded().expect("embedded plan")
    }

    #[test]
    fn roles_parse_and_print_back() {
        for s in [
            "first",
            "last",
            "k",
            "k-1",
            "last-1",
            "first naming public.dot_tools",
            "3",
        ] {
            let r: StepRef = s.parse().expect(s);
            assert_eq!(r.to_string(), s);
        }
        for bad in ["", "second", "k+1", "k-x", "first naming ", "0"] {
            assert!(bad.parse::<StepRef>().is_err(), "{bad:?} parsed");
        }
        let from_yaml: StepRef = serde_yaml_ng::from_str("k-1").expect("yaml");
        assert_eq!(from_yaml.back, 1);
        let number: StepRef = serde_yaml_ng::from_str("4").expect("yaml number");
        assert!(number.is_number());
        assert!(serde_yaml_ng::from_str::<StepRef>("0").is_err());
    }

    #[test]
    fn roles_resolve_against_the_plan() {
        let p = plan();
        let n = p.steps.len();
        let r = |s: &str, k| s.parse::<StepRef>().expect(s).resolve(&p, k);
        assert_eq!(r("first", None), Ok(1));
        assert_eq!(r("last", None), Ok(n));
        assert_eq!(r("last-1", None), Ok(n - 1));
        assert_eq!(r("k", Some(3)), Ok(3));
        assert_eq!(r("k-1", Some(1)), Ok(0));
        assert!(r("k", None).is_err());
        assert!(r("first-1", None).is_ok_and(|v| v == 0));
        assert!("k-1"
            .parse::<StepRef>()
            .expect("k-1")
            .resolve_step(&p, Some(1))
            .is_err());
        assert!(r(&format!("{}", n + 1), None).is_err());
        // The stand-in's registry step is the first to name public.dot_tools.
        let dot_tools = r("first naming public.dot_tools", None).expect("dot_tools");
        assert!(p.steps[dot_tools - 1].deploy.contains("dot_tools"));
        assert!(p.steps[..dot_tools - 1]
            .iter()
            .all(|s| !s.deploy.contains("public.dot_tools")));
        assert!(r("first naming public.no_such_table", None).is_err());
    }

    #[test]
    fn naming_matches_whole_words_only() {
        let mut p = plan();
        p.steps.truncate(1);
        p.steps[0].deploy = "CREATE TABLE x.dot_tools_copy (id int);".into();
        assert_eq!(first_naming(&p, "public.dot_tools"), None);
        p.steps[0].deploy = "REFERENCES public.DOT_TOOLS (id)".into();
        assert_eq!(first_naming(&p, "public.dot_tools"), Some(1));
    }

    /// The committed scenarios name plan steps by role only: a number fits one plan.
    #[test]
    fn committed_scenarios_name_no_step_by_number() {
        let m = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let repo = m.parent().map(std::path::Path::to_path_buf).unwrap_or(m);
        let files = crate::scenario::parser::discover(&repo.join("scenarios")).expect("scenarios");
        let mut refs = 0;
        for f in &files {
            for s in &f.scenario.steps {
                for r in s.step_refs() {
                    refs += 1;
                    assert!(!r.is_number(), "{}: step {r} is a number", f.path.display());
                }
            }
        }
        assert!(refs > 10, "only {refs} step references found");
    }

    #[test]
    fn relative_positions() {
        let k: StepRef = "k".parse().expect("k");
        assert_eq!(relative(3, 7, Some((&k, 3))), "k");
        assert_eq!(relative(1, 7, Some((&k, 3))), "first");
        assert_eq!(relative(7, 7, None), "last");
        assert_eq!(relative(4, 7, Some((&k, 3))), "step 4 of 7");
    }
}

//! What a scenario records beside its snapshot: the facts that differ between correct runs
//! (step names, counts, hashes, object lists, the plan's own events), kept for the report.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One step's plan- and data-specific facts. The snapshot holds what every correct run
/// observes; this holds the rest, so the closure report can show it to the signers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    /// 1-based line of the step in its scenario file.
    pub line: usize,
    /// The step kind (`deploy`, `compare`, ...).
    pub step: String,
    /// Inside `for_each_step`: the plan step k (1-based) and its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<LoopStep>,
    pub facts: Value,
}

/// The iteration of a `for_each_step` a fact was observed in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LoopStep {
    pub k: usize,
    pub name: String,
}

impl Evidence {
    /// One line for the Markdown report: `line 12 deploy (k = 3 03_cut_change_set): {...}`.
    pub fn line_text(&self) -> String {
        let k = self
            .k
            .as_ref()
            .map(|l| format!(" (k = {} {})", l.k, l.name))
            .unwrap_or_default();
        format!("line {} {}{k}: {}", self.line, self.step, self.facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_the_step_and_the_iteration() {
        let e = Evidence {
            line: 12,
            step: "deploy".into(),
            k: Some(LoopStep {
                k: 3,
                name: "03_cut_change_set".into(),
            }),
            facts: serde_json::json!({"applied": ["01_schema"]}),
        };
        assert_eq!(
            e.line_text(),
            r#"line 12 deploy (k = 3 03_cut_change_set): {"applied":["01_schema"]}"#
        );
    }
}

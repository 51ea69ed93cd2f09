//! Checking a scenario's observed outcome against its insta snapshot in `snapshots/`: insta's
//! assert workflow under `cargo test`, a plain comparison with a unified diff for the CLI.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::scenario::parser::ScenarioFile;
use crate::scenario::suite::Outcome;

/// What is snapshotted: deterministic facts only.
#[derive(Serialize)]
struct Snap<'a> {
    id: &'a str,
    title: &'a str,
    expected: &'a str,
    environment: &'a crate::scenario::model::Environment,
    observations: &'a [serde_json::Value],
}

/// Snapshot name of a scenario (its file stem, e.g. `S07-p0-forward`).
pub fn snapshot_name(file: &ScenarioFile) -> String {
    file.path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| file.scenario.id.clone())
}

/// Path of the stored snapshot.
pub fn snapshot_path(snapshots: &Path, file: &ScenarioFile) -> std::path::PathBuf {
    snapshots.join(format!("{}.snap", snapshot_name(file)))
}

/// Redaction layer shared by both comparisons: anything time-, id- or path-like that slipped
/// into an observation (regex, replacement).
const FILTERS: [(&str, &str); 3] = [
    (
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "[uuid]",
    ),
    (
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:\d{2})?)?",
        "[timestamp]",
    ),
    (r"/tmp/[A-Za-z0-9._/-]+", "[tmp]"),
];

fn snap<'a>(file: &'a ScenarioFile, outcome: &'a Outcome) -> Snap<'a> {
    Snap {
        id: &outcome.id,
        title: &outcome.title,
        expected: &file.scenario.expected,
        environment: &outcome.environment,
        observations: &outcome.observations,
    }
}

/// A snapshot that does not match the observed outcome: where, and the unified diff
/// (`-` the stored snapshot, `+` what was observed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `file:line` of the scenario.
    pub location: String,
    pub snapshot: PathBuf,
    pub diff: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: observed outcome differs from snapshot {} (review: `cargo insta test --review`, or fix the scenario)",
            self.location,
            self.snapshot.display()
        )
    }
}

/// The observed outcome serialized exactly as `assert_yaml_snapshot!` writes a `.snap` body
/// (insta's YAML serializer, then the same filters).
pub fn observed_yaml(file: &ScenarioFile, outcome: &Outcome) -> String {
    let text = insta::_macro_support::serialize_value(
        &snap(file, outcome),
        insta::_macro_support::SerializationFormat::Yaml,
    );
    let mut text = std::borrow::Cow::Owned(text);
    for (re, rep) in FILTERS {
        if let Ok(re) = regex::Regex::new(re) {
            if let std::borrow::Cow::Owned(t) = re.replace_all(&text, rep) {
                text = std::borrow::Cow::Owned(t);
            }
        }
    }
    normalize(&text)
}

/// insta's normalization of a file snapshot's contents: trailing whitespace off, LF endings.
fn normalize(s: &str) -> String {
    s.trim_end().replace("\r\n", "\n")
}

/// Compare the outcome with `snapshots/<name>.snap` without insta's assert machinery (no
/// panic, nothing printed, nothing written): the CLI's result of a changed snapshot.
pub fn compare(snapshots: &Path, file: &ScenarioFile, outcome: &Outcome) -> Result<(), Mismatch> {
    let path = snapshot_path(snapshots, file);
    let observed = observed_yaml(file, outcome);
    let stored = match insta::Snapshot::from_file(&path) {
        Ok(s) => s.as_text().map(|t| normalize(&t.to_string())),
        Err(_) => None,
    };
    let (stored, old_name) = match stored {
        Some(s) => (s, path.display().to_string()),
        None => (String::new(), format!("{} (missing)", path.display())),
    };
    if stored == observed {
        return Ok(());
    }
    let diff = unified_diff(&stored, &observed, &old_name);
    Err(Mismatch {
        location: file.location(0),
        snapshot: path,
        diff,
    })
}

/// Unified diff of two texts, 3 lines of context, headers naming the snapshot and "observed".
pub fn unified_diff(old: &str, new: &str, old_name: &str) -> String {
    let old = format!("{old}\n");
    let new = format!("{new}\n");
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, "observed")
        .to_string()
}

/// Assert the outcome against `snapshots/<name>.snap`. A mismatch returns the diff insta printed.
pub fn check(snapshots: &Path, file: &ScenarioFile, outcome: &Outcome) -> Result<(), String> {
    let snap = snap(file, outcome);
    let name = snapshot_name(file);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshots);
    settings.set_input_file(&file.path);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(file.scenario.title.clone());
    for (re, rep) in FILTERS {
        settings.add_filter(re, rep);
    }
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| {
            insta::assert_yaml_snapshot!(name.as_str(), &snap);
        })
    }));
    res.map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "snapshot assertion failed".into());
        format!(
            "{}: observed outcome differs from snapshot {}: {msg}",
            file.location(0),
            snapshot_path(snapshots, file).display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        let m = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        m.parent().map(Path::to_path_buf).unwrap_or(m)
    }

    /// `cargo insta test --unreferenced=reject` without cargo-insta: every stored snapshot
    /// belongs to a scenario file, and every scenario file has its snapshot.
    #[test]
    fn every_snapshot_has_a_scenario_and_every_scenario_a_snapshot() {
        let repo = repo();
        let files = crate::scenario::parser::discover(&repo.join("scenarios")).expect("scenarios");
        let names: Vec<String> = files.iter().map(snapshot_name).collect();
        let mut orphans = Vec::new();
        for e in std::fs::read_dir(repo.join("snapshots"))
            .expect("snapshots/")
            .flatten()
        {
            let p = e.path();
            let stem = p.file_stem().map(|s| s.to_string_lossy().to_string());
            match (p.extension().and_then(|x| x.to_str()), stem) {
                (Some("snap"), Some(stem)) if names.contains(&stem) => {}
                _ => orphans.push(p.display().to_string()),
            }
        }
        assert!(
            orphans.is_empty(),
            "snapshots without a scenario (or pending .snap.new files): {orphans:?}"
        );
        for f in &files {
            assert!(
                snapshot_path(&repo.join("snapshots"), f).is_file(),
                "no snapshot for {}",
                f.path.display()
            );
        }
    }

    #[test]
    fn diff_names_both_sides_and_marks_the_changed_line() {
        let d = unified_diff("a: 1\nb: 2\nc: 3", "a: 1\nb: 5\nc: 3", "snapshots/X.snap");
        assert!(d.contains("--- snapshots/X.snap"), "{d}");
        assert!(d.contains("+++ observed"), "{d}");
        assert!(d.contains("-b: 2") && d.contains("+b: 5"), "{d}");
        assert!(!d.contains("-a: 1"), "{d}");
    }
}

//! Checking a scenario's observed outcome against its insta snapshot in `snapshots/`: insta's
//! assert workflow under `cargo test`, a plain comparison with a unified diff for the CLI.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::scenario::outcome::Outcome;
use crate::scenario::parser::ScenarioFile;

/// What is snapshotted: deterministic facts only.
#[derive(Serialize)]
struct Snap<'a> {
    id: &'a str,
    title: &'a str,
    expected: &'a str,
    environment: &'a crate::scenario::model::Setup,
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

/// insta's settings for a scenario's snapshot, the same for both front ends: the snapshot
/// folder, the scenario file as input file, no module prefix or expression, the title as
/// description and the [`FILTERS`].
fn settings(snapshot_dir: &Path, file: &ScenarioFile) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshot_dir);
    settings.set_input_file(&file.path);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(file.scenario.title.clone());
    for (re, rep) in FILTERS {
        settings.add_filter(re, rep);
    }
    settings
}

/// The one snapshot assertion both front ends run (so both render the outcome the same way:
/// insta's YAML serializer, then the filters). Call it with [`settings`] bound.
fn assert_snap(name: &str, snap: &Snap<'_>) {
    insta::assert_yaml_snapshot!(name, snap);
}

/// A [`insta::Comparator`] that records the observed snapshot's text (insta's rendering, as it
/// would be written to a `.snap` file) and lets the assertion pass: nothing is printed, written
/// or panicked. The comparison itself is [`compare`]'s.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl insta::Comparator for Capture {
    fn matches(&self, _stored: &insta::Snapshot, observed: &insta::Snapshot) -> bool {
        if let Ok(mut c) = self.0.lock() {
            *c = observed.as_text().map(|t| t.to_string());
        }
        true
    }
    fn dyn_clone(&self) -> Box<dyn insta::Comparator> {
        Box::new(self.clone())
    }
}

/// A `.snap` file whose body insta reads as empty: the reference the capture needs (insta
/// asks a comparator only when a stored snapshot exists).
const PLACEHOLDER: &str = "---\nsource: placeholder\n---\n";

/// The observed outcome exactly as `cargo test` (insta's `assert_yaml_snapshot!`) writes the
/// body of its `.snap` file, normalized the way insta compares it. Only public insta API:
/// the assertion runs with a capturing [`insta::Comparator`] against a placeholder in a
/// temporary folder, so the real `snapshots/` is neither read nor touched by insta.
///
/// Outside `cargo test` insta locates its workspace through `INSTA_WORKSPACE_ROOT` (the
/// `dryrun` binary sets it to the checkout; without it insta runs `cargo metadata`).
pub fn observed_yaml(file: &ScenarioFile, outcome: &Outcome) -> Result<String, String> {
    let name = snapshot_name(file);
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temporary folder: {e}"))?;
    std::fs::write(dir.path().join(format!("{name}.snap")), PLACEHOLDER)
        .map_err(|e| format!("cannot write into {}: {e}", dir.path().display()))?;
    let capture = Capture::default();
    let mut settings = settings(dir.path(), file);
    settings.set_comparator(Box::new(capture.clone()));
    let snap = snap(file, outcome);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| assert_snap(&name, &snap))
    }))
    .map_err(|p| format!("insta could not render the outcome: {}", panic_text(&*p)))?;
    let text = capture.0.lock().ok().and_then(|mut c| c.take());
    text.ok_or_else(|| "insta rendered no text snapshot for the outcome".to_string())
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "snapshot assertion failed".into())
}

/// Compare the outcome with `snapshots/<name>.snap` without insta's assert workflow (no
/// panic, nothing printed, nothing written): the CLI's result of a changed snapshot. Both
/// sides are insta's own text: the stored body as insta reads it, the observed one as
/// [`observed_yaml`] renders it.
pub fn compare(snapshots: &Path, file: &ScenarioFile, outcome: &Outcome) -> Result<(), Mismatch> {
    let path = snapshot_path(snapshots, file);
    let location = file.location(0);
    let observed = observed_yaml(file, outcome).map_err(|why| Mismatch {
        location: location.clone(),
        snapshot: path.clone(),
        diff: format!("(no diff: {why})"),
    })?;
    let stored = match insta::Snapshot::from_file(&path) {
        Ok(s) => s.as_text().map(|t| t.to_string()),
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
        location,
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

/// Assert the outcome against `snapshots/<name>.snap` with insta's own workflow (`cargo test`,
/// `cargo insta review`). A mismatch returns the diff insta printed.
pub fn check(snapshots: &Path, file: &ScenarioFile, outcome: &Outcome) -> Result<(), String> {
    let snap = snap(file, outcome);
    let name = snapshot_name(file);
    let settings = settings(snapshots, file);
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| assert_snap(&name, &snap))
    }));
    res.map_err(|p| {
        format!(
            "{}: observed outcome differs from snapshot {}: {}",
            file.location(0),
            snapshot_path(snapshots, file).display(),
            panic_text(&*p)
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

    /// The two front ends agree: for every committed snapshot (written by insta under
    /// `cargo test`), the outcome it records, rendered the CLI's way ([`observed_yaml`]), is
    /// the stored text byte for byte, and [`compare`] accepts it; one changed value is a
    /// mismatch with its diff.
    #[test]
    fn the_cli_renders_every_committed_snapshot_as_insta_wrote_it() {
        let repo = repo();
        let snapshots = repo.join("snapshots");
        let files = crate::scenario::parser::discover(&repo.join("scenarios")).expect("scenarios");
        assert!(!files.is_empty());
        for f in &files {
            let path = snapshot_path(&snapshots, f);
            let stored = insta::Snapshot::from_file(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let stored = stored.as_text().expect("a text snapshot").to_string();
            let v: serde_json::Value = serde_yaml_ng::from_str(&stored).expect("yaml body");
            let mut outcome = Outcome {
                id: v["id"].as_str().expect("id").to_string(),
                title: v["title"].as_str().expect("title").to_string(),
                environment: f.scenario.environment,
                observations: v["observations"].as_array().cloned().unwrap_or_default(),
                extra: Default::default(),
            };
            let observed = observed_yaml(f, &outcome).expect("rendered");
            assert_eq!(observed, stored, "{}", path.display());
            assert_eq!(compare(&snapshots, f, &outcome), Ok(()));
            outcome.id.push('x');
            let m = compare(&snapshots, f, &outcome).expect_err("a changed id");
            assert!(
                m.diff.contains(&format!("+id: {}", outcome.id)),
                "{}",
                m.diff
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

//! Checking a scenario's observed outcome against its insta snapshot in `snapshots/`.
//! Settings are bound inside each call (insta settings are thread-local).

use std::path::Path;

use serde::Serialize;

use crate::scenario::engine::Outcome;
use crate::scenario::parser::ScenarioFile;

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

/// Assert the outcome against `snapshots/<name>.snap`. A mismatch returns the diff insta printed.
pub fn check(snapshots: &Path, file: &ScenarioFile, outcome: &Outcome) -> Result<(), String> {
    let snap = Snap {
        id: &outcome.id,
        title: &outcome.title,
        expected: &file.scenario.expected,
        environment: &outcome.environment,
        observations: &outcome.observations,
    };
    let name = snapshot_name(file);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshots);
    settings.set_input_file(&file.path);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(file.scenario.title.clone());
    // Redaction layer: anything time- or id-like that slipped into an observation.
    settings.add_filter(
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "[uuid]",
    );
    settings.add_filter(
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:\d{2})?)?",
        "[timestamp]",
    );
    settings.add_filter(r"/tmp/[A-Za-z0-9._/-]+", "[tmp]");
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

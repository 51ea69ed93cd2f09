//! Parsing scenario files: YAML → [`Scenario`], with file:line:column on every error and the
//! line of every step, so a failure points at the scenario line. Owns discovery of files.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::scenario::model::Scenario;

/// A parsed scenario with where it came from.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    pub path: PathBuf,
    pub text: String,
    pub scenario: Scenario,
    /// 1-based line of each step, parallel to `scenario.steps`.
    pub step_lines: Vec<usize>,
    /// For each step, the lines of the items of its own block list (the body of a
    /// `for_each_step`); empty for the others.
    pub body_lines: Vec<Vec<usize>>,
    pub sha256: String,
}

impl ScenarioFile {
    pub fn location(&self, step: usize) -> String {
        format!(
            "{}:{}",
            self.path.display(),
            self.step_lines.get(step).copied().unwrap_or(1)
        )
    }
}

pub fn parse_file(path: &Path) -> Result<ScenarioFile> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io(path, "read the scenario", e))?;
    parse_text(path, &text)
}

pub fn parse_text(path: &Path, text: &str) -> Result<ScenarioFile> {
    let scenario: Scenario = serde_yaml_ng::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!("{}:{}:{}", path.display(), l.line(), l.column()))
            .unwrap_or_else(|| path.display().to_string());
        Error::new(ErrorKind::ScenarioMalformed, format!("{at}: {e}"))
            .with_hint("Fix the file at that line: top-level keys are id, title, expected, environment, steps; each step is a one-key map of a known kind (README.md, \"The scenario suite\"; harness/src/scenario/model.rs). Unknown keys and step kinds are rejected.")
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let want = format!("{}-", scenario.id);
    if !stem.starts_with(&want) {
        return Err(Error::new(
            ErrorKind::ScenarioIdMismatch,
            format!(
                "{}: id {:?} does not match the file name (expected it to start with {want:?}).",
                path.display(),
                scenario.id
            ),
        )
        .with_hint("Name scenario files `<id>-<slug>.yaml` (e.g. S07-p0-forward.yaml): rename the file or fix its `id:` line."));
    }
    let (step_lines, body_lines) = step_lines(text);
    let bodies_match = scenario
        .steps
        .iter()
        .zip(&body_lines)
        .all(|(s, b)| match s {
            crate::scenario::model::Step::ForEachStep(body) => body.len() == b.len(),
            _ => true,
        });
    if step_lines.len() != scenario.steps.len() || !bodies_match {
        return Err(Error::new(
            ErrorKind::ScenarioMalformed,
            format!(
                "{}: write `steps:` as a block list, one `- kind: ...` item per step.",
                path.display()
            ),
        )
        .with_hint("Write each step on its own `  - kind: {...}` line under `steps:` so failures can name its line."));
    }
    Ok(ScenarioFile {
        path: path.to_path_buf(),
        text: text.to_string(),
        scenario,
        step_lines,
        body_lines,
        sha256: crate::checksum::sha256_bytes(text.as_bytes()),
    })
}

/// Lines of the items of the top-level `steps:` block list, and for each the lines of the
/// items of its own block list one level deeper (a `for_each_step`'s body).
fn step_lines(text: &str) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut out = Vec::new();
    let mut bodies: Vec<Vec<usize>> = Vec::new();
    let mut in_steps = false;
    let mut indent: Option<usize> = None;
    let mut inner: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let ind = line.len() - trimmed.len();
        if ind == 0 {
            in_steps = line.starts_with("steps:");
            continue;
        }
        if in_steps && trimmed.starts_with("- ") {
            match indent {
                None => {
                    indent = Some(ind);
                    out.push(i + 1);
                    bodies.push(Vec::new());
                    inner = None;
                }
                Some(x) if x == ind => {
                    out.push(i + 1);
                    bodies.push(Vec::new());
                    inner = None;
                }
                Some(x) if ind > x => {
                    let j = *inner.get_or_insert(ind);
                    if j == ind {
                        if let Some(b) = bodies.last_mut() {
                            b.push(i + 1);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    (out, bodies)
}

/// Every `*.yaml` in `dir`, sorted by name, each parsed on its own: a malformed file (or a
/// second file declaring an id already taken) is an `Err` beside its path, the others parse.
/// Only an unreadable folder or one with no scenario file is an error of the whole plan.
pub fn discover_each(dir: &Path) -> Result<Vec<(PathBuf, Result<ScenarioFile>)>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "list the scenarios folder", e))?;
    let mut paths: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Error::new(
            ErrorKind::NoScenarios,
            format!("{} holds no scenario file (*.yaml).", dir.display()),
        )
        .with_hint("`dryrun run` reads scenarios/*.yaml under the current directory: run it from the repository root (where scenarios/S01..S26 are)."));
    }
    let mut out: Vec<(PathBuf, Result<ScenarioFile>)> = Vec::new();
    for p in paths {
        let f = parse_file(&p).and_then(|f| {
            let prev = out
                .iter()
                .filter_map(|(_, r)| r.as_ref().ok())
                .find(|o| o.scenario.id == f.scenario.id);
            match prev {
                None => Ok(f),
                Some(prev) => Err(Error::new(
                    ErrorKind::ScenarioDuplicateId,
                    format!(
                        "{} and {} both declare id {}.",
                        prev.path.display(),
                        f.path.display(),
                        f.scenario.id
                    ),
                )
                .with_hint("Ids must be unique: give one of the files its own id and rename it to `<id>-<slug>.yaml`, or remove the copy.")),
            }
        });
        out.push((p, f));
    }
    Ok(out)
}

/// Every `*.yaml` in `dir`, sorted by name, parsed; ids must be unique. Zero files is an error,
/// and so is the first malformed file: the CLI refuses the whole plan before it starts.
pub fn discover(dir: &Path) -> Result<Vec<ScenarioFile>> {
    discover_each(dir)?.into_iter().map(|(_, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A typo in a closed set (here the guard's target) fails at parse time, naming the
    /// file, line and column, before any container could start.
    #[test]
    fn a_typo_in_a_closed_set_names_file_line_and_column() {
        let text = "id: S99\ntitle: t\nexpected: e\nenvironment: clone\nsteps:\n  - guard: {target: foriegn}\n";
        let e = parse_text(Path::new("scenarios/S99-typo.yaml"), text)
            .expect_err("a typo must be refused");
        assert_eq!(e.kind, crate::error::ErrorKind::ScenarioMalformed);
        assert_eq!(e.exit_code(), 3, "bad input");
        assert!(
            e.message.starts_with("scenarios/S99-typo.yaml:6:"),
            "{}",
            e.message
        );
        assert!(e.message.contains("foriegn"), "{}", e.message);
        assert!(
            e.message.contains("foreign"),
            "names the variants: {}",
            e.message
        );
    }

    /// The restore test's closed sets: a typo in `stopped_at` (or `error_kind`) fails at parse
    /// time naming the line, not when the step compares its observation.
    #[test]
    fn a_typo_in_a_restore_expectation_names_the_line() {
        let head = "id: S99\ntitle: t\nexpected: e\nenvironment: restore\nsteps:\n  - prepare_dump: {mutate: none}\n";
        for (step, typo, known) in [
            ("{expect: fail, stopped_at: restor}", "restor", "restore"),
            (
                "{expect: refused, error_kind: checksum_mismatc}",
                "checksum_mismatc",
                "checksum_mismatch",
            ),
        ] {
            let text = format!("{head}  - restore_test: {step}\n");
            let e = parse_text(Path::new("scenarios/S99-typo.yaml"), &text)
                .expect_err("a typo must be refused");
            assert_eq!(e.kind, crate::error::ErrorKind::ScenarioMalformed);
            assert!(
                e.message.starts_with("scenarios/S99-typo.yaml:7:"),
                "{}",
                e.message
            );
            assert!(e.message.contains(typo), "{}", e.message);
            assert!(
                e.message.contains(known),
                "names the variants: {}",
                e.message
            );
        }
        let text = format!("{head}  - restore_test: {{expect: fail, stopped_at: content}}\n");
        let f = parse_text(Path::new("scenarios/S99-ok.yaml"), &text).expect("a known stage");
        match &f.scenario.steps[1] {
            crate::scenario::model::Step::RestoreTest(r) => {
                assert_eq!(r.stopped_at, Some(crate::restore::Stage::Content))
            }
            s => panic!("{}", s.name()),
        }
    }

    /// A typo in a deploy's expected failure cause, a verification outcome, a signal kind or an
    /// acknowledgement outcome fails at parse time naming its line, like any closed set.
    #[test]
    fn a_typo_in_a_cause_or_an_outcome_names_its_line() {
        let head =
            "id: S99\ntitle: t\nexpected: e\nenvironment: clone\nsteps:\n  - snapshot: base\n";
        for (step, typo) in [
            (
                "  - deploy: {expect: {outcome: stopped, stop_step: 3, cause: injectd}}\n",
                "injectd",
            ),
            (
                "  - verify: {change_set: cs1, expect: [valid, tamperd_payload]}\n",
                "tamperd_payload",
            ),
            (
                "  - await_signal: {kind: dot_pair_drfit, change_set: cs1}\n",
                "dot_pair_drfit",
            ),
            (
                "  - acknowledge: {kind: dot_pair_drift, change_set: cs1, by: g2, expect: okay}\n",
                "okay",
            ),
        ] {
            let e = parse_text(
                Path::new("scenarios/S99-typo.yaml"),
                &format!("{head}{step}"),
            )
            .expect_err("a typo must be refused");
            assert_eq!(e.kind, crate::error::ErrorKind::ScenarioMalformed);
            assert!(
                e.message.starts_with("scenarios/S99-typo.yaml:7:"),
                "{}",
                e.message
            );
            assert!(e.message.contains(typo), "{}", e.message);
        }
        let good = format!(
            "{head}  - deploy: {{expect: {{outcome: stopped, stop_step: 3, cause: injected}}}}\n"
        );
        let f = parse_text(Path::new("scenarios/S99-good.yaml"), &good).expect("parses");
        match &f.scenario.steps[1] {
            crate::scenario::model::Step::Deploy(d) => {
                assert_eq!(d.expect.cause, Some(crate::migrate::FailureKind::Injected))
            }
            other => panic!("not a deploy: {other:?}"),
        }
    }

    /// The test runner's convention: a malformed file is an error beside its own path, the
    /// others parse; the CLI's `discover` refuses the whole plan with that file's error.
    #[test]
    fn a_malformed_file_is_its_own_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = "id: S01\ntitle: t\nexpected: e\nenvironment: library\nsteps:\n  - canon_vectors: {file: f, expect_passed: 1, expect_failed: 0}\n";
        std::fs::write(dir.path().join("S01-good.yaml"), good).expect("write");
        std::fs::write(dir.path().join("S02-bad.yaml"), "id: S02\nstepz: []\n").expect("write");
        let each = discover_each(dir.path()).expect("the folder is readable");
        assert_eq!(each.len(), 2);
        assert!(each[0].1.is_ok(), "{:?}", each[0].1.as_ref().err());
        let bad = each[1].1.as_ref().expect_err("S02 is malformed");
        assert_eq!(bad.kind, crate::error::ErrorKind::ScenarioMalformed);
        assert!(bad.message.contains("S02-bad.yaml:"), "{}", bad.message);
        let whole = discover(dir.path()).expect_err("the CLI refuses the plan");
        assert_eq!(whole.kind, crate::error::ErrorKind::ScenarioMalformed);
        assert_eq!(whole.exit_code(), 3);
    }

    /// Every scenario file parses, re-emits (the model serialized back to YAML) and re-parses
    /// to the same model: nothing in a file is parsed and then lost.
    #[test]
    fn every_scenario_file_round_trips() {
        let m = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let repo = m.parent().map(Path::to_path_buf).unwrap_or(m);
        let files = discover(&repo.join("scenarios")).expect("scenarios");
        assert_eq!(files.len(), 26);
        for f in &files {
            let emitted = serde_yaml_ng::to_string(&f.scenario).expect("emit");
            let again: Scenario = serde_yaml_ng::from_str(&emitted)
                .unwrap_or_else(|e| panic!("{}: re-parse: {e}\n{emitted}", f.path.display()));
            // The model has no PartialEq; its derived Debug shows every field.
            assert_eq!(
                format!("{:?}", f.scenario),
                format!("{again:?}"),
                "{}",
                f.path.display()
            );
            assert_eq!(
                again.steps.len(),
                f.step_lines.len(),
                "{}",
                f.path.display()
            );
        }
    }
}

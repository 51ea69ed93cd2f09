//! No Rust source file of the workspace is over 800 lines: every `*.rs` under the workspace root
//! (`target` and hidden folders skipped) is counted, and each one over the limit is named.

use std::path::{Path, PathBuf};

/// The most lines a source file may have.
const LIMIT: usize = 800;

fn workspace() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Every `*.rs` file under `dir`, skipping `target` folders and hidden ones (`.git`, …).
fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry
            .file_type()
            .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()));
        if kind.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rs_files(&path, out);
            }
        } else if kind.is_file() && name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Lines as `wc -l` counts them, plus a last line without its newline.
fn lines(text: &str) -> usize {
    text.lines().count()
}

#[test]
fn no_source_file_is_over_the_limit() {
    let root = workspace();
    let mut files = Vec::new();
    rs_files(&root, &mut files);
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("harness/tests/file_sizes.rs")),
        "the walk of {} did not find this file",
        root.display()
    );
    let mut over: Vec<(usize, String)> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
            let n = lines(&text);
            let rel = f.strip_prefix(&root).unwrap_or(f).display().to_string();
            (n > LIMIT).then_some((n, rel))
        })
        .collect();
    over.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let listed: Vec<String> = over
        .iter()
        .map(|(n, f)| format!("  {f}: {n} lines"))
        .collect();
    assert!(
        over.is_empty(),
        "{} source file(s) over {LIMIT} lines (split them by concern, see ARCHITECTURE.md):\n{}",
        over.len(),
        listed.join("\n")
    );
}

#[test]
fn lines_are_counted_like_wc() {
    assert_eq!(lines(""), 0);
    assert_eq!(lines("a\n"), 1);
    assert_eq!(lines("a\nb"), 2);
    assert_eq!(lines("a\r\nb\r\n"), 2);
    assert_eq!(lines("\n\n"), 2);
}

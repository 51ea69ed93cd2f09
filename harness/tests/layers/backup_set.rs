//! The `backup-set` crate stays pure and synchronous: its manifest, and what it reaches in
//! `Cargo.lock`, name no async runtime, Docker, database client, terminal drawing or harness.

use std::collections::{BTreeMap, BTreeSet};

use crate::graph::{crates, repo};

/// Crates the backup set must never depend on: the compiler then enforces that it stays pure and
/// synchronous (no async runtime, no Docker, no database connection, no terminal drawing).
pub const NOT_IN_THE_BACKUP_SET: &[&str] = &[
    "tokio",
    "bollard",
    "testcontainers",
    "tokio-postgres",
    "indicatif",
    "dryrun-harness",
];

/// The dependency names of a manifest's `[dependencies]` (and target-specific ones), with the
/// `package = "…"` of a renamed one.
pub fn manifest_dependencies(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = h.trim_matches(['[', ']']).trim().to_string();
            // `[dependencies.tokio]`
            if let Some(name) = section
                .strip_prefix("dependencies.")
                .or_else(|| section.split_once(".dependencies.").map(|(_, n)| n))
            {
                out.push(name.trim_matches('"').to_string());
            }
            continue;
        }
        let deps = section == "dependencies" || section.ends_with(".dependencies");
        let table = section.starts_with("dependencies.") || section.contains(".dependencies.");
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_matches('"');
        if deps {
            out.push(key.split('.').next().unwrap_or(key).to_string());
        }
        if deps || table {
            // `x = { package = "tokio", … }` or, in a table, `package = "tokio"`.
            let v = if key == "package" {
                Some(value)
            } else {
                value.split_once("package").map(|(_, v)| v)
            };
            if let Some(v) = v.and_then(|v| v.split('"').nth(1)) {
                out.push(v.to_string());
            }
        }
    }
    out
}

/// Every package `name` reaches in `Cargo.lock` (its own dependencies, dev ones included for a
/// workspace member, and theirs).
pub fn lock_closure(lock: &str, name: &str) -> BTreeSet<String> {
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let Some(pkg) = block
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .map(|n| n.trim_matches('"').to_string())
        else {
            continue;
        };
        let list = block
            .split_once("dependencies = [")
            .map(|(_, rest)| rest.split(']').next().unwrap_or(""))
            .unwrap_or("");
        let names = list
            .split(',')
            .filter_map(|d| d.trim().trim_matches('"').split(' ').next())
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        deps.entry(pkg).or_default().extend(names);
    }
    let mut seen = BTreeSet::new();
    let mut todo = vec![name.to_string()];
    while let Some(p) = todo.pop() {
        for d in deps.get(&p).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

/// A workspace crate's boundary: it is among the crates checked for cycles, and neither its
/// manifest nor what it reaches through `Cargo.lock` names a crate of `forbidden`. `witness`
/// is a dependency it does have (so a parse that reads nothing fails).
pub fn assert_boundary(package: &str, witness: &str, forbidden: &[&str], why: &str) {
    assert!(
        crates().iter().any(|(n, _)| n == package),
        "crates/{package} is not among the crates checked for cycles"
    );
    let path = repo().join(format!("crates/{package}/Cargo.toml"));
    let manifest = std::fs::read_to_string(&path).expect("a crate manifest");
    let deps = manifest_dependencies(&manifest);
    assert!(deps.iter().any(|d| d == witness), "parsed: {deps:?}");
    let bad: Vec<&String> = deps
        .iter()
        .filter(|d| forbidden.contains(&d.as_str()))
        .collect();
    assert!(
        bad.is_empty(),
        "crates/{package}/Cargo.toml depends on {bad:?}: {why}"
    );
    // Nor through another crate.
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).expect("Cargo.lock");
    let reached = lock_closure(&lock, package);
    assert!(
        reached.contains(witness),
        "Cargo.lock not read: {reached:?}"
    );
    assert!(
        lock_closure(&lock, "dryrun-harness").contains("tokio"),
        "the closure misses what the harness reaches"
    );
    let bad: Vec<&str> = forbidden
        .iter()
        .copied()
        .filter(|n| reached.contains(*n))
        .collect();
    assert!(
        bad.is_empty(),
        "{package} reaches {bad:?} through its dependencies (Cargo.lock): {why}"
    );
}

#[test]
fn the_backup_set_crate_is_pure_and_synchronous() {
    assert_boundary(
        "backup-set",
        "sha2",
        NOT_IN_THE_BACKUP_SET,
        "the backup set must stay pure and synchronous",
    );
}

#[test]
fn manifest_dependencies_reads_every_form() {
    let text = r#"
[package]
name = "x"
[dependencies]
sha2.workspace = true
serde = { version = "1" }
rt = { package = "tokio", version = "1" }
[target.'cfg(unix)'.dependencies]
bollard = "0.21"
[dependencies.indicatif]
version = "0.17"
[dev-dependencies]
testcontainers = "0.28"
"#;
    assert_eq!(
        manifest_dependencies(text),
        ["sha2", "serde", "rt", "tokio", "bollard", "indicatif"]
    );
}

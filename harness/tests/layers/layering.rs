//! The harness's layers (`LAYERS`, ARCHITECTURE.md's "Layers"): every module placed, and no
//! module importing one of a higher layer.

use std::collections::BTreeMap;

use crate::graph::{edges_of, repo};

/// The harness's layers, bottom first: a module may use its own layer and those below, never
/// one above (ARCHITECTURE.md, "Layers"). Each entry is a module path or a prefix of one (the
/// longest match counts); a new module must be placed here.
pub const LAYERS: &[(&str, usize, &str)] = &[
    // The rest of layer 0 (error, fault, engine_ledger, copyhash) and all of layer 2 (PostgreSQL
    // in Docker: docker, image, container, guard, engine_watch, fingerprint, cluster_state) are
    // the crate `pg-docker`, re-exported at their old paths; here: the terminal.
    ("logging", 0, "base"),
    ("progress", 0, "base"),
    // The backup set itself is the crate `backup-set` (fsutil, rowcounts, dumpinfo, checks,
    // preflight::age are its modules, re-exported); here: the hashing with the harness's byte
    // progress, and the suite built into the binary and where it is found.
    ("checksum", 1, "backup set"),
    ("bundle", 1, "backup set"),
    ("checkout", 1, "backup set"),
    ("migrate", 3, "operations"),
    ("serverlog", 3, "operations"),
    ("restore", 3, "operations"),
    ("backup", 3, "operations"),
    ("environments", 3, "operations"),
    ("fixture", 3, "operations"),
    ("report", 3, "operations"),
    ("impact::rules", 3, "operations"),
    ("impact::lint", 3, "operations"),
    ("impact::load", 3, "operations"),
    ("impact::profile", 3, "operations"),
    ("impact::report", 3, "operations"),
    ("impact::plot", 3, "operations"),
    ("hb05::model", 4, "gates and their records"),
    ("hb05::render", 4, "gates and their records"),
    ("preflight", 4, "gates and their records"),
    // The evidence record a step writes: plain data, read by the closure report's model.
    ("scenario::evidence", 4, "gates and their records"),
    ("scenario", 5, "scenario engine"),
    ("impact", 6, "commands"),
    ("hb05", 6, "commands"),
    ("console", 6, "commands"),
];

pub fn layer_of(node: &str) -> Option<(usize, &'static str)> {
    LAYERS
        .iter()
        .filter(|(p, _, _)| node == *p || node.starts_with(&format!("{p}::")))
        .max_by_key(|(p, _, _)| p.len())
        .map(|(_, l, n)| (*l, *n))
}

#[test]
fn no_module_of_the_harness_imports_a_higher_layer() {
    let (nodes, edges) = edges_of(&repo().join("harness/src"));
    let unplaced: Vec<&String> = nodes
        .iter()
        .filter(|n| *n != "(root)" && layer_of(n).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules with no layer (add them to LAYERS and ARCHITECTURE.md): {unplaced:?}"
    );
    let mut up = BTreeMap::new();
    for e in &edges {
        if let (Some((a, an)), Some((b, bn))) = (layer_of(&e.from), layer_of(&e.to)) {
            if b > a {
                up.entry((e.from.clone(), e.to.clone())).or_insert(format!(
                    "{} ({an}, layer {a}) imports {} ({bn}, layer {b}) at {}",
                    e.from, e.to, e.at
                ));
            }
        }
    }
    let up: Vec<String> = up.into_values().collect();
    assert!(up.is_empty(), "upward imports:\n{}", up.join("\n"));
}

//! Import cycles among a crate's modules (Tarjan's strongly connected components), the graph
//! printed with `--nocapture`, and the test that no crate of the workspace has a cycle.

use std::collections::{BTreeMap, BTreeSet};

use crate::graph::{crates, edges_of, Edge};

/// Strongly connected components with more than one node (Tarjan).
pub fn cycles(nodes: &BTreeSet<String>, edges: &[Edge]) -> Vec<Vec<String>> {
    let idx: BTreeMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let names: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let mut adj = vec![BTreeSet::new(); names.len()];
    for e in edges {
        if let (Some(&a), Some(&b)) = (idx.get(e.from.as_str()), idx.get(e.to.as_str())) {
            adj[a].insert(b);
        }
    }
    struct T {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn strong(v: usize, adj: &[BTreeSet<usize>], t: &mut T) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for &w in &adj[v] {
            match t.index[w] {
                None => {
                    strong(w, adj, t);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                t.out.push(comp);
            }
        }
    }
    let n = names.len();
    let mut t = T {
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            strong(v, &adj, &mut t);
        }
    }
    t.out
        .into_iter()
        .map(|c| {
            let mut v: Vec<String> = c.into_iter().map(|i| names[i].to_string()).collect();
            v.sort();
            v
        })
        .collect()
}

/// The edges inside one component, each with where it is written.
pub fn cycle_edges(comp: &[String], edges: &[Edge]) -> Vec<String> {
    let mut seen = BTreeMap::new();
    for e in edges {
        if comp.contains(&e.from) && comp.contains(&e.to) {
            seen.entry((e.from.clone(), e.to.clone()))
                .or_insert_with(|| e.at.clone());
        }
    }
    seen.into_iter()
        .map(|((a, b), at)| format!("{a} -> {b} ({at})"))
        .collect()
}

#[test]
fn print_module_graph() {
    for (name, src) in crates() {
        let (nodes, edges) = edges_of(&src);
        let mut uniq: BTreeMap<(String, String), usize> = BTreeMap::new();
        for e in &edges {
            *uniq.entry((e.from.clone(), e.to.clone())).or_default() += 1;
        }
        println!(
            "crate {name}: {} modules, {} edges",
            nodes.len(),
            uniq.len()
        );
        for ((a, b), n) in &uniq {
            println!("  {a} -> {b} ({n})");
        }
        for c in cycles(&nodes, &edges) {
            println!("  CYCLE {}", c.join(", "));
        }
    }
}

#[test]
fn no_import_cycle_in_any_crate() {
    let mut bad = Vec::new();
    for (name, src) in crates() {
        let (nodes, edges) = edges_of(&src);
        for c in cycles(&nodes, &edges) {
            bad.push(format!(
                "crate {name}: cycle among {}:\n    {}",
                c.join(", "),
                cycle_edges(&c, &edges).join("\n    ")
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

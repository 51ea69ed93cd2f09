//! The module graph of every library crate of the workspace, read from the code (each file
//! parsed with `syn`; every `crate::`, `super::` and `self::` path, in `use` trees, in code and
//! inside macro bodies; a name reached through a `pub use` re-export, such as the crate root's
//! `pub use canon::Canonical` or a folder's `pub use model::*`, counts for the module that
//! defines it): no import cycle among a crate's modules, and no module importing one of
//! a higher layer (the table in `ARCHITECTURE.md`, `LAYERS` here). A node is a module up to two
//! levels deep (`scenario::suite`, `impact::lint`); a module and its own parent or children are
//! one unit (a `mod.rs` re-exporting its children is glue, not a dependency). The backup set is
//! the crate `backup-set`: its manifest, and what it reaches in `Cargo.lock`, name no async
//! runtime, Docker, database client, terminal drawing or the harness, so the compiler keeps it
//! pure and synchronous.
//! `cargo test -p dryrun-harness --test layers -- --nocapture` prints the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A reference from a file to a module of its crate, with where it is.
#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    at: String,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// The library crates: (name, src folder).
fn crates() -> Vec<(String, PathBuf)> {
    let mut out = vec![("harness".to_string(), repo().join("harness/src"))];
    let mut others: Vec<PathBuf> = std::fs::read_dir(repo().join("crates"))
        .expect("crates/")
        .flatten()
        .map(|e| e.path().join("src"))
        .filter(|p| p.join("lib.rs").is_file())
        .collect();
    others.sort();
    for p in others {
        let name = p
            .parent()
            .and_then(|c| c.file_name())
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        out.push((name, p));
    }
    out
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "bin") {
                continue; // binaries sit on top of the library
            }
            rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` → `["a", "b"]`, `src/a/mod.rs` → `["a"]`, `src/lib.rs` / `src/main.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
    {
        parts.pop();
    }
    parts
}

/// A node: the module path cut to two levels.
fn node(path: &[String]) -> String {
    if path.is_empty() {
        return "(root)".into();
    }
    path.iter().take(2).cloned().collect::<Vec<_>>().join("::")
}

struct Collector<'a> {
    module: Vec<String>,
    modules: &'a BTreeSet<Vec<String>>,
    index: &'a Exports,
    file: String,
    /// Each module referred to, with the re-exported name it was reached through, if any.
    found: Vec<(Vec<String>, Option<String>)>,
}

/// What each module declares at its top level and what it re-exports (`pub use`, any
/// visibility but private), so that `crate::Name` reached through a re-export (the crate
/// root's `pub use canon::Canonical`, a folder's `pub use model::*`) counts as a reference to
/// the module that defines `Name`, not to the glue that re-exports it.
#[derive(Default)]
struct Exports {
    defines: BTreeMap<Vec<String>, BTreeSet<String>>,
    reexports: BTreeMap<Vec<String>, Vec<ReExport>>,
}

/// One `pub use` of a module: `pub use source::orig as name;`, or `pub use source::*;`.
struct ReExport {
    /// The name here; `None` for a glob.
    name: Option<String>,
    source: Vec<String>,
    /// The name in `source`; `None` for a glob.
    orig: Option<String>,
}

impl Exports {
    /// The module that defines `name` as seen from `module`, following re-exports.
    fn follow(
        &self,
        modules: &BTreeSet<Vec<String>>,
        module: &[String],
        name: &str,
        depth: usize,
    ) -> Option<Vec<String>> {
        if depth > 8 {
            return None;
        }
        let mut child = module.to_vec();
        child.push(name.to_string());
        if modules.contains(&child) {
            return Some(child);
        }
        if self.defines.get(module).is_some_and(|d| d.contains(name)) {
            return Some(module.to_vec());
        }
        let re = self.reexports.get(module)?;
        for r in re {
            if r.name.as_deref() == Some(name) {
                let orig = r.orig.as_deref().unwrap_or(name);
                return self
                    .follow(modules, &r.source, orig, depth + 1)
                    .or_else(|| Some(r.source.clone()));
            }
        }
        re.iter()
            .filter(|r| r.name.is_none())
            .find_map(|r| self.follow(modules, &r.source, name, depth + 1))
    }

    /// Record one file's top-level items and `pub use` trees.
    fn read(&mut self, modules: &BTreeSet<Vec<String>>, module: &[String], file: &syn::File) {
        let defines = self.defines.entry(module.to_vec()).or_default();
        for item in &file.items {
            let ident = match item {
                syn::Item::Const(i) => Some(&i.ident),
                syn::Item::Enum(i) => Some(&i.ident),
                syn::Item::Fn(i) => Some(&i.sig.ident),
                syn::Item::Macro(i) => i.ident.as_ref(),
                syn::Item::Mod(i) => Some(&i.ident),
                syn::Item::Static(i) => Some(&i.ident),
                syn::Item::Struct(i) => Some(&i.ident),
                syn::Item::Trait(i) => Some(&i.ident),
                syn::Item::Type(i) => Some(&i.ident),
                syn::Item::Union(i) => Some(&i.ident),
                _ => None,
            };
            if let Some(i) = ident {
                defines.insert(i.to_string());
            }
        }
        for item in &file.items {
            if let syn::Item::Use(u) = item {
                if matches!(u.vis, syn::Visibility::Inherited) {
                    continue;
                }
                let mut out = Vec::new();
                flatten_use(&mut Vec::new(), &u.tree, &mut out);
                for (path, alias) in out {
                    let Some(abs) = absolute(modules, module, &path) else {
                        continue;
                    };
                    let entry = self.reexports.entry(module.to_vec()).or_default();
                    entry.push(match alias {
                        UseEnd::Glob => ReExport {
                            name: None,
                            source: abs,
                            orig: None,
                        },
                        UseEnd::Name(orig, name) => ReExport {
                            name: Some(name),
                            source: abs,
                            orig: Some(orig),
                        },
                    });
                }
            }
        }
    }
}

enum UseEnd {
    Glob,
    /// (name in the source module, name here)
    Name(String, String),
}

/// A `use` tree as (path to the last module segment, what is taken from it).
fn flatten_use(prefix: &mut Vec<String>, t: &syn::UseTree, out: &mut Vec<(Vec<String>, UseEnd)>) {
    match t {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(prefix, &p.tree, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let n = n.ident.to_string();
            if n != "self" {
                out.push((prefix.clone(), UseEnd::Name(n.clone(), n)));
            }
        }
        syn::UseTree::Rename(r) => out.push((
            prefix.clone(),
            UseEnd::Name(r.ident.to_string(), r.rename.to_string()),
        )),
        syn::UseTree::Glob(_) => out.push((prefix.clone(), UseEnd::Glob)),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(prefix, t, out);
            }
        }
    }
}

/// A `use` path written in `module`, as a module path from the crate root (`None`: another crate).
fn absolute(
    modules: &BTreeSet<Vec<String>>,
    module: &[String],
    path: &[String],
) -> Option<Vec<String>> {
    let mut base: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self") => module.to_vec(),
        Some("super") => {
            let mut b = module.to_vec();
            let mut rest = path;
            while rest.first().map(String::as_str) == Some("super") {
                b.pop();
                rest = &rest[1..];
            }
            b.extend(rest.iter().cloned());
            return Some(b);
        }
        Some(first) => {
            let mut child = module.to_vec();
            child.push(first.to_string());
            if !modules.contains(&child) {
                return None;
            }
            let mut b = module.to_vec();
            b.extend(path.iter().cloned());
            return Some(b);
        }
        None => return None,
    };
    base.extend(path.iter().skip(1).cloned());
    Some(base)
}

impl Collector<'_> {
    /// Resolve a path's leading segments to a module of the crate, if it names one.
    fn resolve(&mut self, segs: &[String], line: usize) {
        let mut base: Vec<String> = match segs.first().map(String::as_str) {
            Some("crate") => Vec::new(),
            Some("super") => {
                let mut b = self.module.clone();
                let mut rest = segs;
                while rest.first().map(String::as_str) == Some("super") {
                    b.pop();
                    rest = &rest[1..];
                }
                let mut full = vec!["crate".to_string()];
                full.extend(b);
                full.extend(rest.iter().cloned());
                return self.resolve(&full, line);
            }
            Some("self") => self.module.clone(),
            _ => return,
        };
        // The longest prefix of the rest that is a module.
        let _ = line;
        let mut best = base.clone();
        let mut used = 1;
        for s in &segs[1..] {
            base.push(s.clone());
            if self.modules.contains(&base) {
                best = base.clone();
                used += 1;
            } else {
                break;
            }
        }
        // The next segment may be an item the module re-exports from another one.
        let mut via = None;
        if let Some(name) = segs.get(used) {
            if let Some(m) = self.index.follow(self.modules, &best, name, 0) {
                if m != best {
                    via = Some(name.clone());
                    best = m;
                }
            }
        }
        if !best.is_empty() {
            self.found.push((best, via));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, t: &syn::UseTree, line: usize) {
        match t {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree, line);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.resolve(&prefix.clone(), line);
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.resolve(&prefix.clone(), line);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.resolve(&prefix.clone(), line),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t, line);
                }
            }
        }
    }
}

/// `#[cfg(test)]`: test code may use any layer (it is not part of the library's graph).
fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_test(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree, 0);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve(&segs, 0);
        syn::visit::visit_path(self, p);
    }

    /// Paths inside macro bodies (`format!`, `json!`, `tokio::join!`) are tokens to syn.
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let toks: Vec<proc_macro2::TokenTree> = m.tokens.clone().into_iter().collect();
        self.tokens(&toks);
        syn::visit::visit_macro(self, m);
    }
}

impl Collector<'_> {
    fn tokens(&mut self, toks: &[proc_macro2::TokenTree]) {
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                proc_macro2::TokenTree::Group(g) => {
                    let inner: Vec<proc_macro2::TokenTree> = g.stream().into_iter().collect();
                    self.tokens(&inner);
                }
                proc_macro2::TokenTree::Ident(id)
                    if matches!(id.to_string().as_str(), "crate" | "super" | "self") =>
                {
                    let line = 0;
                    let mut segs = vec![id.to_string()];
                    let mut j = i + 1;
                    // ident (:: ident)*
                    while j + 2 < toks.len() + 1 {
                        let colons = matches!(&toks.get(j), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ':')
                            && matches!(&toks.get(j + 1), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ':');
                        match (colons, toks.get(j + 2)) {
                            (true, Some(proc_macro2::TokenTree::Ident(n))) => {
                                segs.push(n.to_string());
                                j += 3;
                            }
                            _ => break,
                        }
                    }
                    if segs.len() > 1 {
                        self.resolve(&segs, line);
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// The first line of `text` that names `target` (spans carry no lines outside a proc macro
/// without proc-macro2's `span-locations`, which would build the dependency graph twice): by
/// its path from the crate, or its last segment after `super::` / `::`.
fn line_naming(text: &str, module: &[String], target: &[String], via: Option<&str>) -> usize {
    if let Some(name) = via {
        // Reached through a re-export: the first line that names the item as a word.
        let word = |l: &str| {
            l.match_indices(name).any(|(i, _)| {
                let before = l[..i].chars().next_back();
                let after = l[i + name.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        };
        if let Some(i) = text
            .lines()
            .position(|l| !l.trim_start().starts_with("//") && word(l))
        {
            return i + 1;
        }
    }
    let full = format!("crate::{}", target.join("::"));
    let last = target.last().cloned().unwrap_or_default();
    let _ = module;
    text.lines()
        .position(|l| l.contains(&full))
        .or_else(|| {
            text.lines()
                .position(|l| l.contains(&format!("::{last}")) || l.contains(&format!("{last}::")))
        })
        .map_or(0, |i| i + 1)
}

/// Every file's references to other modules of its crate, as edges between nodes.
fn edges_of(src: &Path) -> (BTreeSet<String>, Vec<Edge>) {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    // Files of `#[cfg(test)] mod tests;` declarations are test code too: left out.
    let mut test_modules: BTreeSet<Vec<String>> = BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for item in &ast.items {
            if let syn::Item::Mod(m) = item {
                if m.content.is_none() && is_test(&m.attrs) {
                    let mut p = module_of(src, f);
                    p.push(m.ident.to_string());
                    test_modules.insert(p);
                }
            }
        }
    }
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| {
            let m = module_of(src, f);
            !test_modules.iter().any(|t| m.starts_with(t))
        })
        .collect();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(src, f)).collect();
    let mut index = Exports::default();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        index.read(&modules, &module_of(src, f), &ast);
    }
    // Inline `mod tests { … }` blocks are part of their file's module.
    let mut nodes = BTreeSet::new();
    let mut edges = Vec::new();
    for f in &files {
        let module = module_of(src, f);
        let text = std::fs::read_to_string(f).expect("read");
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let rel = f.strip_prefix(repo()).unwrap_or(f).display().to_string();
        let mut c = Collector {
            module: module.clone(),
            modules: &modules,
            index: &index,
            file: rel.clone(),
            found: Vec::new(),
        };
        c.visit_file(&ast);
        let from = node(&module);
        nodes.insert(from.clone());
        for (target, via) in c.found {
            let to = node(&target);
            let line = line_naming(&text, &module, &target, via.as_deref());
            // A module and its ancestors or descendants are one unit.
            let related = target.starts_with(&module) || module.starts_with(&target);
            if to == from || related || target.is_empty() {
                continue;
            }
            edges.push(Edge {
                from: from.clone(),
                to,
                at: format!("{}:{line}", c.file),
            });
        }
    }
    (nodes, edges)
}

/// Strongly connected components with more than one node (Tarjan).
fn cycles(nodes: &BTreeSet<String>, edges: &[Edge]) -> Vec<Vec<String>> {
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
fn cycle_edges(comp: &[String], edges: &[Edge]) -> Vec<String> {
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

/// The harness's layers, bottom first: a module may use its own layer and those below, never
/// one above (ARCHITECTURE.md, "Layers"). Each entry is a module path or a prefix of one (the
/// longest match counts); a new module must be placed here.
const LAYERS: &[(&str, usize, &str)] = &[
    ("error", 0, "base"),
    ("fault", 0, "base"),
    ("logging", 0, "base"),
    ("progress", 0, "base"),
    ("engine_ledger", 0, "base"),
    ("copyhash", 0, "base"),
    // The backup set itself is the crate `backup-set` (fsutil, rowcounts, dumpinfo, checks,
    // preflight::age are its modules, re-exported); here: the hashing with the harness's byte
    // progress, and the suite built into the binary and where it is found.
    ("checksum", 1, "backup set"),
    ("bundle", 1, "backup set"),
    ("checkout", 1, "backup set"),
    ("docker", 2, "PostgreSQL in Docker"),
    ("image", 2, "PostgreSQL in Docker"),
    ("container", 2, "PostgreSQL in Docker"),
    ("guard", 2, "PostgreSQL in Docker"),
    ("engine_watch", 2, "PostgreSQL in Docker"),
    ("fingerprint", 2, "PostgreSQL in Docker"),
    ("cluster_state", 2, "PostgreSQL in Docker"),
    ("migrate", 3, "operations"),
    ("serverlog", 3, "operations"),
    ("restore", 3, "operations"),
    ("backup", 3, "operations"),
    ("envs", 3, "operations"),
    ("fixture", 3, "operations"),
    ("report", 3, "operations"),
    ("impact::rules", 3, "operations"),
    ("impact::lint", 3, "operations"),
    ("impact::load", 3, "operations"),
    ("impact::profile", 3, "operations"),
    ("impact::report", 3, "operations"),
    ("impact::plot", 3, "operations"),
    ("closure::model", 4, "gates and their records"),
    ("closure::render", 4, "gates and their records"),
    ("preflight", 4, "gates and their records"),
    // The evidence record a step writes: plain data, read by the closure report's model.
    ("scenario::evidence", 4, "gates and their records"),
    ("scenario", 5, "scenario engine"),
    ("impact", 6, "commands"),
    ("closure", 6, "commands"),
    ("console", 6, "commands"),
];

fn layer_of(node: &str) -> Option<(usize, &'static str)> {
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

/// Crates the backup set must never depend on: the compiler then enforces that it stays pure and
/// synchronous (no async runtime, no Docker, no database connection, no terminal drawing).
const NOT_IN_THE_BACKUP_SET: &[&str] = &[
    "tokio",
    "bollard",
    "testcontainers",
    "tokio-postgres",
    "indicatif",
    "dryrun-harness",
];

/// The dependency names of a manifest's `[dependencies]` (and target-specific ones), with the
/// `package = "…"` of a renamed one.
fn manifest_dependencies(text: &str) -> Vec<String> {
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
fn lock_closure(lock: &str, name: &str) -> BTreeSet<String> {
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

#[test]
fn the_backup_set_crate_is_pure_and_synchronous() {
    assert!(
        crates().iter().any(|(n, _)| n == "backup-set"),
        "crates/backup-set is not among the crates checked for cycles"
    );
    let manifest = std::fs::read_to_string(repo().join("crates/backup-set/Cargo.toml"))
        .expect("crates/backup-set/Cargo.toml");
    let deps = manifest_dependencies(&manifest);
    assert!(deps.iter().any(|d| d == "sha2"), "parsed: {deps:?}");
    let bad: Vec<&String> = deps
        .iter()
        .filter(|d| NOT_IN_THE_BACKUP_SET.contains(&d.as_str()))
        .collect();
    assert!(
        bad.is_empty(),
        "crates/backup-set/Cargo.toml depends on {bad:?}: the backup set must stay pure and synchronous"
    );
    // Nor through another crate.
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).expect("Cargo.lock");
    let reached = lock_closure(&lock, "backup-set");
    assert!(reached.contains("sha2"), "Cargo.lock not read: {reached:?}");
    assert!(
        lock_closure(&lock, "dryrun-harness").contains("tokio"),
        "the closure misses what the harness reaches"
    );
    let bad: Vec<&str> = NOT_IN_THE_BACKUP_SET
        .iter()
        .copied()
        .filter(|n| reached.contains(*n))
        .collect();
    assert!(
        bad.is_empty(),
        "backup-set reaches {bad:?} through its dependencies (Cargo.lock)"
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

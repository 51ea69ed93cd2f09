//! The module graph read from the code: the library crates and their files, each file's
//! `crate::` / `super::` / `self::` references (syn), and the edges between two-level nodes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

use crate::exports::Exports;

/// A reference from a file to a module of its crate, with where it is.
#[derive(Debug, Clone)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub at: String,
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// The library crates: (name, src folder).
pub fn crates() -> Vec<(String, PathBuf)> {
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

pub fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
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
pub fn module_of(src: &Path, file: &Path) -> Vec<String> {
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
pub fn node(path: &[String]) -> String {
    if path.is_empty() {
        return "(root)".into();
    }
    path.iter().take(2).cloned().collect::<Vec<_>>().join("::")
}

pub struct Collector<'a> {
    pub module: Vec<String>,
    pub modules: &'a BTreeSet<Vec<String>>,
    pub index: &'a Exports,
    pub file: String,
    /// Each module referred to, with the re-exported name it was reached through, if any.
    pub found: Vec<(Vec<String>, Option<String>)>,
}

impl Collector<'_> {
    /// Resolve a path's leading segments to a module of the crate, if it names one.
    pub fn resolve(&mut self, segs: &[String], line: usize) {
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

    pub fn use_tree(&mut self, prefix: &mut Vec<String>, t: &syn::UseTree, line: usize) {
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
pub fn is_test(attrs: &[syn::Attribute]) -> bool {
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
    pub fn tokens(&mut self, toks: &[proc_macro2::TokenTree]) {
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
pub fn line_naming(text: &str, module: &[String], target: &[String], via: Option<&str>) -> usize {
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
pub fn edges_of(src: &Path) -> (BTreeSet<String>, Vec<Edge>) {
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

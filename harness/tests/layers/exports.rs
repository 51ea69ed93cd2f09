//! What each module defines and re-exports (`pub use`, globs included), so a name reached
//! through a re-export counts for the module that defines it; `use` trees made absolute.

use std::collections::{BTreeMap, BTreeSet};

/// What each module declares at its top level and what it re-exports (`pub use`, any
/// visibility but private), so that `crate::Name` reached through a re-export (the crate
/// root's `pub use canon::Canonical`, a folder's `pub use model::*`) counts as a reference to
/// the module that defines `Name`, not to the glue that re-exports it.
#[derive(Default)]
pub struct Exports {
    pub defines: BTreeMap<Vec<String>, BTreeSet<String>>,
    pub reexports: BTreeMap<Vec<String>, Vec<ReExport>>,
}

/// One `pub use` of a module: `pub use source::orig as name;`, or `pub use source::*;`.
pub struct ReExport {
    /// The name here; `None` for a glob.
    pub name: Option<String>,
    pub source: Vec<String>,
    /// The name in `source`; `None` for a glob.
    pub orig: Option<String>,
}

impl Exports {
    /// The module that defines `name` as seen from `module`, following re-exports.
    pub fn follow(
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
    pub fn read(&mut self, modules: &BTreeSet<Vec<String>>, module: &[String], file: &syn::File) {
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

pub enum UseEnd {
    Glob,
    /// (name in the source module, name here)
    Name(String, String),
}

/// A `use` tree as (path to the last module segment, what is taken from it).
pub fn flatten_use(
    prefix: &mut Vec<String>,
    t: &syn::UseTree,
    out: &mut Vec<(Vec<String>, UseEnd)>,
) {
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
pub fn absolute(
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

//! The difference between two fingerprints, object by object, and how it reads (Display):
//! what a failed "exactly the original state" check names.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

#[allow(unused_imports)]
use super::*;

/// How an object or table differs from the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    fn sigil(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        }
    }
}

/// One schema object that was added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaChange {
    pub kind: ChangeKind,
    pub object_kind: String,
    pub identity: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One table whose row count or content differs, or that appeared / disappeared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataChange {
    pub kind: ChangeKind,
    pub schema: String,
    pub table: String,
    pub before: Option<TableData>,
    pub after: Option<TableData>,
}

/// All differences between two fingerprints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintDiff {
    pub schema: Vec<SchemaChange>,
    pub data: Vec<DataChange>,
}

impl FingerprintDiff {
    pub fn is_empty(&self) -> bool {
        self.schema.is_empty() && self.data.is_empty()
    }
}

impl fmt::Display for FingerprintDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "no differences");
        }
        let mut first = true;
        for c in &self.schema {
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(f, "{c}")?;
        }
        for c in &self.data {
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Schema objects added, removed or changed from `base` to `other`, in key order, then the
/// cluster-global rows that differ (both sides' `cluster`; empty on a shared server).
pub fn diff_schema(base: &SchemaFingerprint, other: &SchemaFingerprint) -> Vec<SchemaChange> {
    let mut out = diff_rows(&base.objects, &other.objects);
    out.extend(diff_rows(&base.cluster, &other.cluster));
    out
}

/// Rows `(kind, identity) -> definition` added, removed or changed from `base` to `other`.
pub fn diff_rows(
    base: &BTreeMap<(String, String), String>,
    other: &BTreeMap<(String, String), String>,
) -> Vec<SchemaChange> {
    diff_maps(base, other)
        .into_iter()
        .map(
            |(kind, (object_kind, identity), before, after)| SchemaChange {
                kind,
                object_kind,
                identity,
                before,
                after,
            },
        )
        .collect()
}

/// Tables added, removed or changed (row count or content) from `base` to `other`, in key order.
pub fn diff_data(base: &DataFingerprint, other: &DataFingerprint) -> Vec<DataChange> {
    diff_maps(&base.tables, &other.tables)
        .into_iter()
        .map(|(kind, (schema, table), before, after)| DataChange {
            kind,
            schema,
            table,
            before,
            after,
        })
        .collect()
}

type MapChange<K, V> = (ChangeKind, K, Option<V>, Option<V>);

pub(super) fn diff_maps<K: Ord + Clone, V: PartialEq + Clone>(
    base: &BTreeMap<K, V>,
    other: &BTreeMap<K, V>,
) -> Vec<MapChange<K, V>> {
    let mut out = Vec::new();
    let mut keys: Vec<&K> = base.keys().chain(other.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        match (base.get(k), other.get(k)) {
            (Some(b), Some(a)) if b == a => {}
            (Some(b), Some(a)) => out.push((
                ChangeKind::Changed,
                k.clone(),
                Some(b.clone()),
                Some(a.clone()),
            )),
            (Some(b), None) => out.push((ChangeKind::Removed, k.clone(), Some(b.clone()), None)),
            (None, Some(a)) => out.push((ChangeKind::Added, k.clone(), None, Some(a.clone()))),
            (None, None) => {}
        }
    }
    out
}

/// Display width of a definition.
pub(super) const SHOWN_CHARS: usize = 160;

/// One line: whitespace runs (newlines of function or view bodies) become one space.
pub(super) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Both sides of a changed definition, cut to [`SHOWN_CHARS`] around the first difference.
pub(super) fn around_difference(before: &str, after: &str) -> (String, String) {
    let b: Vec<char> = before.chars().collect();
    let a: Vec<char> = after.chars().collect();
    let common = b.iter().zip(a.iter()).take_while(|(x, y)| x == y).count();
    let start = common.saturating_sub(40);
    let show = |v: &[char]| -> String {
        let tail: String = v[start.min(v.len())..].iter().collect();
        let cut = truncate(&tail, SHOWN_CHARS);
        if start > 0 {
            format!("…{cut}")
        } else {
            cut
        }
    };
    (show(&b), show(&a))
}

pub(super) fn show_definition(def: &str) -> String {
    if def.is_empty() {
        "(no definition)".to_string()
    } else {
        truncate(&one_line(def), SHOWN_CHARS)
    }
}

impl fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sigil = self.kind.sigil();
        let head = format!("{sigil} {} {}", self.object_kind, self.identity);
        match (self.kind, &self.before, &self.after) {
            (ChangeKind::Changed, Some(b), Some(a)) => {
                let (b, a) = around_difference(&one_line(b), &one_line(a));
                write!(f, "{head}: {b} -> {a}")
            }
            (ChangeKind::Added, _, Some(a)) => write!(f, "{head}: {}", show_definition(a)),
            (ChangeKind::Removed, Some(b), _) => write!(f, "{head}: {}", show_definition(b)),
            _ => write!(f, "{head}"),
        }
    }
}

pub(super) fn show_rows(d: &TableData) -> String {
    if d.row_count < 0 {
        "unpopulated".to_string()
    } else {
        d.row_count.to_string()
    }
}

pub(super) fn show_hash(h: &Option<String>) -> String {
    match h {
        None => "-".to_string(),
        Some(h) if h.len() > 12 && h.is_ascii() => format!("{}..", &h[..12]),
        Some(h) => h.clone(),
    }
}

impl fmt::Display for DataChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sigil = self.kind.sigil();
        let head = format!("{sigil} table {}.{}", self.schema, self.table);
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => {
                let mut parts = Vec::new();
                if b.row_count != a.row_count {
                    parts.push(format!("rows {} -> {}", show_rows(b), show_rows(a)));
                } else {
                    parts.push(format!("rows {}", show_rows(a)));
                }
                if b.content_sha256 != a.content_sha256 {
                    parts.push(format!(
                        "content {} -> {}",
                        show_hash(&b.content_sha256),
                        show_hash(&a.content_sha256)
                    ));
                }
                write!(f, "{head}: {}", parts.join(", "))
            }
            (None, Some(d)) | (Some(d), None) => write!(
                f,
                "{head}: rows {}, content {}",
                show_rows(d),
                show_hash(&d.content_sha256)
            ),
            (None, None) => write!(f, "{head}"),
        }
    }
}

pub(super) fn json_line(fields: &[&str]) -> String {
    serde_json::Value::from(fields.to_vec()).to_string()
}

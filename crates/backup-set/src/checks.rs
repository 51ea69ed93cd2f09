//! Smoke checks as data: the YAML file a DBA edits (key tables, the DOT pair rows, read-only SQL
//! with its expected result), `--checks counts`, and what a dump's TOC must hold for them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dumpinfo::Toc;
use crate::error::{Error, ErrorKind, Result};

/// The bundled HB-08 checks (`checks/hb08.yaml`), built into the binary as the default.
pub const BUNDLED_HB08: &str = include_str!("../../../checks/hb08.yaml");
/// How the bundled file is named in reports.
pub const BUNDLED_NAME: &str = "checks/hb08.yaml (bundled)";

/// Tables the P0 migration and the HB-05 scenarios read or reference (`dryrun run` refuses a
/// dump without them). A unit test checks that every `public.*` name in `migrations/p0` and
/// `scenarios/` is listed here.
pub const SUITE_NEEDS: &[&str] = &[
    "public.dot_tools",
    "public.tac_logical_unit",
    "public.tac_unit_version",
    "public.tac_publication",
    "public.universal_edges",
];

/// Which checks a restore test runs, as chosen on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksChoice {
    /// The bundled HB-08 file (default).
    Bundled,
    /// Generic checks only: checksums, clean restore, table set and counts (and content).
    Counts,
    /// A checks file.
    File(PathBuf),
}

impl ChecksChoice {
    /// `counts` or a path (clap value parser).
    pub fn parse_arg(s: &str) -> std::result::Result<ChecksChoice, String> {
        match s {
            "" => Err("give a checks file or `counts`".into()),
            "counts" => Ok(ChecksChoice::Counts),
            p => Ok(ChecksChoice::File(PathBuf::from(p))),
        }
    }
}

/// One expected row of the DOT pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DotRowSpec {
    pub id: i64,
    pub code: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DotPairSpec {
    pub table: String,
    pub rows: Vec<DotRowSpec>,
}

/// One value of an expected row, compared as psql -tA prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl Cell {
    pub fn as_psql(&self) -> String {
        match self {
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => f.to_string(),
            Cell::Bool(b) => if *b { "t" } else { "f" }.to_string(),
            Cell::Text(s) => s.clone(),
        }
    }
}

/// A read-only query and its expected result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    pub name: String,
    pub sql: String,
    #[serde(default)]
    pub needs: Vec<String>,
    pub expect: Vec<Vec<Cell>>,
}

/// A checks file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksSpec {
    pub name: String,
    #[serde(default)]
    pub key_tables: Vec<String>,
    #[serde(default)]
    pub dot_pair: Option<DotPairSpec>,
    #[serde(default)]
    pub queries: Vec<QuerySpec>,
}

/// The checks of a restore test, loaded and validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checks {
    /// `counts`, the bundled file, or the file's path.
    pub source: String,
    pub sha256: Option<String>,
    /// None for `counts`.
    pub spec: Option<ChecksSpec>,
}

/// A relation a check needs, and which check needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Need {
    pub relation: String,
    pub why: String,
}

fn qualified_ok(s: &str) -> bool {
    let mut it = s.split('.');
    matches!((it.next(), it.next(), it.next()), (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty())
}

/// `schema.table` → (schema, table).
pub fn split(q: &str) -> (String, String) {
    match q.split_once('.') {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => ("public".to_string(), q.to_string()),
    }
}

/// Quote `schema.table` as SQL identifiers.
pub fn quote_qualified(q: &str) -> String {
    use postgres_protocol::escape::escape_identifier;
    let (s, t) = split(q);
    format!("{}.{}", escape_identifier(&s), escape_identifier(&t))
}

impl Checks {
    pub fn counts() -> Checks {
        Checks {
            source: "counts".into(),
            sha256: None,
            spec: None,
        }
    }

    pub fn load(choice: &ChecksChoice) -> Result<Checks> {
        match choice {
            ChecksChoice::Counts => Ok(Checks::counts()),
            ChecksChoice::Bundled => Self::parse(BUNDLED_HB08, Path::new(BUNDLED_NAME)),
            ChecksChoice::File(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| Error::io(p, "read the checks file", e))?;
                Self::parse(&text, p)
            }
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Checks> {
        let hint = "Fix the file at that line: keys are name, key_tables (list of schema.table), dot_pair {table, rows: [{id, code, status}]}, queries [{name, sql, needs, expect}] (see checks/hb08.yaml); or pass --checks counts for the generic checks only.";
        let spec: ChecksSpec = serde_yaml_ng::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!("{}:{}:{}", path.display(), l.line(), l.column()))
                .unwrap_or_else(|| path.display().to_string());
            Error::new(ErrorKind::ChecksMalformed, format!("{at}: {e}")).with_hint(hint)
        })?;
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.contains(needle))
                .map(|i| format!("{}:{}", path.display(), i + 1))
                .unwrap_or_else(|| path.display().to_string())
        };
        let mut names: Vec<&String> = spec.key_tables.iter().collect();
        names.extend(spec.dot_pair.iter().map(|d| &d.table));
        names.extend(spec.queries.iter().flat_map(|q| q.needs.iter()));
        if let Some(bad) = names.into_iter().find(|n| !qualified_ok(n)) {
            return Err(Error::new(
                ErrorKind::ChecksMalformed,
                format!(
                    "{}: {bad:?} is not a schema-qualified table name (schema.table).",
                    line_of(bad)
                ),
            )
            .with_hint(hint));
        }
        if let Some(q) = spec.queries.iter().find(|q| q.sql.trim().is_empty()) {
            return Err(Error::new(
                ErrorKind::ChecksMalformed,
                format!("{}: query {:?} has no SQL.", line_of(&q.name), q.name),
            )
            .with_hint(hint));
        }
        Ok(Checks {
            source: path.display().to_string(),
            sha256: Some(crate::checksum::sha256_bytes(text.as_bytes())),
            spec: Some(spec),
        })
    }

    /// Every relation the checks read, with the check that reads it.
    pub fn needs(&self) -> Vec<Need> {
        let mut v = Vec::new();
        if let Some(s) = &self.spec {
            for t in &s.key_tables {
                v.push(Need {
                    relation: t.clone(),
                    why: "key table".into(),
                });
            }
            if let Some(d) = &s.dot_pair {
                let ids: Vec<String> = d.rows.iter().map(|r| r.id.to_string()).collect();
                v.push(Need {
                    relation: d.table.clone(),
                    why: format!("DOT pair {}", ids.join("/")),
                });
            }
            for q in &s.queries {
                for n in &q.needs {
                    v.push(Need {
                        relation: n.clone(),
                        why: format!("query {:?}", q.name),
                    });
                }
            }
        }
        v
    }
}

/// The needs the dump's table of contents does not satisfy (each relation once).
pub fn missing(toc: &Toc, needs: &[Need]) -> Vec<Need> {
    let mut out: Vec<Need> = Vec::new();
    for n in needs {
        if toc.has_relation(&n.relation) {
            continue;
        }
        match out.iter_mut().find(|m| m.relation == n.relation) {
            Some(m) => {
                if !m.why.contains(&n.why) {
                    m.why = format!("{}, {}", m.why, n.why);
                }
            }
            None => out.push(n.clone()),
        }
    }
    out
}

/// The P0 + scenario needs, for `dryrun run`.
pub fn suite_needs() -> Vec<Need> {
    SUITE_NEEDS
        .iter()
        .map(|t| Need {
            relation: t.to_string(),
            why: "P0 migration / HB-05 scenarios".into(),
        })
        .collect()
}

/// The one-paragraph refusal of a dump that lacks what `who` needs.
pub fn refuse_missing(dump: &Path, who: &str, missing: &[Need], way_out: &str) -> Error {
    let list: Vec<String> = missing
        .iter()
        .map(|m| format!("{} ({})", m.relation, m.why))
        .collect();
    Error::new(
        ErrorKind::DumpLacksTables,
        format!(
            "{} lacks {} table(s) that {who} need(s): {}. Read from the dump's table of contents (what `pg_restore -l` lists); nothing was provisioned.",
            dump.display(),
            missing.len(),
            list.join(", ")
        ),
    )
    .with_hint(way_out.to_string())
}

/// The outcome of one named check of the smoke test; a failed one says what failed.
/// Other checks (e.g. the content proof of the restored tables) report through the same type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub check: String,
    pub passed: bool,
    /// What was found (one line), e.g. `236 of 236 tables match`.
    pub detail: String,
}

#[cfg(test)]
mod tests {

    /// One way to write an identifier: quotes doubled, whatever the name holds.
    #[test]
    fn qualified_names_are_quoted_whatever_they_hold() {
        assert_eq!(quote_qualified("public.t"), "\"public\".\"t\"");
        assert_eq!(quote_qualified("we\"ird.a\"b"), "\"we\"\"ird\".\"a\"\"b\"");
        assert_eq!(quote_qualified("plain"), "\"public\".\"plain\"");
    }

    use super::*;

    #[test]
    fn bundled_file_parses_and_names_its_needs() {
        let c = Checks::load(&ChecksChoice::Bundled).unwrap();
        let s = c.spec.as_ref().unwrap();
        assert_eq!(s.key_tables.len(), 10);
        assert_eq!(s.dot_pair.as_ref().unwrap().rows.len(), 2);
        assert!(c.needs().iter().any(|n| n.relation == "public.dot_tools"));
        assert!(Checks::counts().needs().is_empty());
    }

    #[test]
    fn errors_carry_file_line_and_column() {
        let e = Checks::parse("name: x\nkey_tabels: [a.b]\n", Path::new("c.yaml")).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::ChecksMalformed);
        assert!(e.message.starts_with("c.yaml:2:"), "{}", e.message);
        let e =
            Checks::parse("name: x\nkey_tables:\n  - users\n", Path::new("c.yaml")).unwrap_err();
        assert!(e.message.starts_with("c.yaml:3:"), "{}", e.message);
        assert!(e.hint.unwrap().contains("--checks counts"));
    }

    #[test]
    fn suite_needs_cover_what_p0_and_the_scenarios_reference() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut texts = Vec::new();
        for d in [
            "migrations/p0/deploy",
            "migrations/p0/verify",
            "migrations/p0/revert",
            "scenarios",
        ] {
            for e in std::fs::read_dir(repo.join(d)).unwrap().flatten() {
                texts.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
        let mut found = std::collections::BTreeSet::new();
        for t in &texts {
            for (i, _) in t.match_indices("public.") {
                let name: String = t[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(format!("public.{name}"));
                }
            }
        }
        assert!(!found.is_empty());
        for f in &found {
            assert!(
                SUITE_NEEDS.contains(&f.as_str()),
                "{f} is referenced but not in SUITE_NEEDS"
            );
        }
    }
}

//! Row-count snapshots (`*.psv`: `schema|table|count`, optional `# exact` / `# estimate` line)
//! and their comparison with a restored database. Owns the exact-vs-estimate distinction.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};

/// Whether counts are exact `count(*)` or `n_live_tup` estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountKind {
    Exact,
    Estimate,
}

pub const EXACT_HEADER: &str = "# exact";
pub const ESTIMATE_HEADER: &str = "# estimate (n_live_tup)";

/// Tolerance used when comparing with an estimate file: |a-b| <= max(ABS, REL * expected).
pub const ESTIMATE_TOLERANCE_ABS: i64 = 10;
pub const ESTIMATE_TOLERANCE_REL: f64 = 0.10;

#[derive(Debug, Clone, Serialize)]
pub struct RowCounts {
    pub kind: CountKind,
    pub counts: BTreeMap<(String, String), i64>,
}

/// Query generating one exact `count(*)` statement per ordinary and partitioned table, sorted
/// by schema then table; psql runs them with `\gexec` (no function is created in the database).
pub const COUNT_STATEMENTS_SQL: &str = "SELECT format('SELECT %L, %L, count(*) FROM %I.%I', n.nspname, c.relname, n.nspname, c.relname) \
 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
 WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema','pg_toast') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%' \
 ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";

/// psql input running the exact counts (`\gexec`) in whatever transaction the session is in,
/// without BEGIN/COMMIT of its own: `dryrun backup` sends it inside the transaction whose
/// snapshot pg_dump used, so dump and counts see the same data.
pub fn exact_counts_statements() -> String {
    format!("{COUNT_STATEMENTS_SQL} \\gexec\n")
}

/// psql script: exact counts of every table inside one REPEATABLE READ READ ONLY transaction.
pub fn exact_counts_script() -> String {
    format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n{}COMMIT;\n",
        exact_counts_statements()
    )
}

impl RowCounts {
    pub fn parse_file(path: &Path) -> Result<RowCounts> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(path, "read the row-count snapshot", e))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<RowCounts> {
        let mut kind = CountKind::Exact;
        let mut counts = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            if let Some(c) = line.strip_prefix('#') {
                if c.trim_start().starts_with("estimate") {
                    kind = CountKind::Estimate;
                }
                continue;
            }
            let bad = |why: String| {
                Error::bad_input("psv_malformed", format!("{}:{n}: {why}: {line:?}.", path.display()))
                    .with_hint("Each line must be `schema|table|count` with a non-negative integer count, one line per table, as `dryrun backup` writes it.")
            };
            let cols: Vec<&str> = line.split('|').collect();
            if cols.len() != 3 {
                return Err(bad(format!(
                    "expected 3 columns separated by |, found {}",
                    cols.len()
                )));
            }
            let count: i64 = cols[2]
                .trim()
                .parse()
                .map_err(|_| bad(format!("count {:?} is not an integer", cols[2])))?;
            if count < 0 {
                return Err(bad(format!("count {count} is negative")));
            }
            if cols[0].is_empty() || cols[1].is_empty() {
                return Err(bad("schema or table name is empty".into()));
            }
            if counts
                .insert((cols[0].to_string(), cols[1].to_string()), count)
                .is_some()
            {
                return Err(bad(format!(
                    "table {}.{} is listed twice",
                    cols[0], cols[1]
                )));
            }
        }
        if counts.is_empty() {
            return Err(Error::bad_input(
                "psv_malformed",
                format!("{} lists no table.", path.display()),
            )
            .with_hint("Use the row-count snapshot written by `dryrun backup` (one `schema|table|count` line per table)."));
        }
        Ok(RowCounts { kind, counts })
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(match self.kind {
            CountKind::Exact => EXACT_HEADER,
            CountKind::Estimate => ESTIMATE_HEADER,
        });
        s.push('\n');
        for ((sch, t), c) in &self.counts {
            s.push_str(&format!("{sch}|{t}|{c}\n"));
        }
        s
    }

    /// Parse psql `-tA -F '|'` output of [`EXACT_COUNTS_SQL`].
    pub fn from_psql_output(out: &str) -> Result<RowCounts> {
        Self::parse(out, Path::new("<psql output>")).map(|mut r| {
            r.kind = CountKind::Exact;
            r
        })
    }
}

/// One difference between expected and observed counts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CountDiff {
    pub table: String,
    pub expected: Option<i64>,
    pub observed: Option<i64>,
}

impl CountDiff {
    /// The difference without absolute counts (`public.t: restored 1 row fewer than the
    /// snapshot`), the same whatever the size of the dump: what scenario snapshots record.
    pub fn relative(&self) -> String {
        match (self.expected, self.observed) {
            (Some(e), Some(o)) => {
                let d = o - e;
                let n = d.unsigned_abs();
                let rows = if n == 1 { "row" } else { "rows" };
                let dir = if d < 0 { "fewer" } else { "more" };
                format!(
                    "{}: restored {n} {rows} {dir} than the snapshot",
                    self.table
                )
            }
            (Some(_), None) => format!(
                "{}: in the snapshot, absent from the restored database",
                self.table
            ),
            (None, Some(_)) => format!("{}: restored, absent from the snapshot", self.table),
            (None, None) => self.table.clone(),
        }
    }
}

impl std::fmt::Display for CountDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.expected, self.observed) {
            (Some(e), Some(o)) => write!(f, "{}: expected {e} rows, restored {o}", self.table),
            (Some(e), None) => write!(
                f,
                "{}: in the snapshot ({e} rows) but absent from the restored database",
                self.table
            ),
            (None, Some(o)) => write!(
                f,
                "{}: restored ({o} rows) but absent from the snapshot",
                self.table
            ),
            (None, None) => write!(f, "{}", self.table),
        }
    }
}

/// Compare a snapshot with observed exact counts; estimates get the stated tolerance.
pub fn compare(expected: &RowCounts, observed: &RowCounts) -> Vec<CountDiff> {
    let mut out = Vec::new();
    for (k, &e) in &expected.counts {
        let name = format!("{}.{}", k.0, k.1);
        match observed.counts.get(k) {
            None => out.push(CountDiff {
                table: name,
                expected: Some(e),
                observed: None,
            }),
            Some(&o) => {
                let ok = match expected.kind {
                    CountKind::Exact => o == e,
                    CountKind::Estimate => {
                        let tol = ESTIMATE_TOLERANCE_ABS
                            .max((e as f64 * ESTIMATE_TOLERANCE_REL).ceil() as i64);
                        (o - e).abs() <= tol
                    }
                };
                if !ok {
                    out.push(CountDiff {
                        table: name,
                        expected: Some(e),
                        observed: Some(o),
                    });
                }
            }
        }
    }
    for (k, &o) in &observed.counts {
        if !expected.counts.contains_key(k) {
            out.push(CountDiff {
                table: format!("{}.{}", k.0, k.1),
                expected: None,
                observed: Some(o),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_render_round_trip() {
        let t = "# exact\npublic|a|1\ntac|b|0\n";
        let r = RowCounts::parse(t, Path::new("x")).unwrap();
        assert_eq!(r.render(), t);
    }

    #[test]
    fn rejects_bad_lines() {
        for (t, why) in [
            ("public|a\n", "3 columns"),
            ("public|a|x\n", "not an integer"),
            ("public|a|-1\n", "negative"),
            ("public|a|1\npublic|a|2\n", "twice"),
            ("", "no table"),
        ] {
            let e = RowCounts::parse(t, Path::new("f.psv")).unwrap_err();
            assert_eq!(e.kind, "psv_malformed");
            assert!(
                e.message.contains(why) && e.message.contains("f.psv"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn count_script_wraps_the_statements_in_one_transaction() {
        let stmts = exact_counts_statements();
        assert!(stmts.ends_with(" \\gexec\n"), "{stmts}");
        assert!(!stmts.contains("BEGIN") && !stmts.contains("COMMIT"));
        assert_eq!(
            exact_counts_script(),
            format!("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n{stmts}COMMIT;\n")
        );
    }

    #[test]
    fn estimate_tolerance() {
        let e =
            RowCounts::parse("# estimate (n_live_tup)\np|a|1000\np|b|5\n", Path::new("x")).unwrap();
        let o = RowCounts::parse("p|a|1090\np|b|14\n", Path::new("y")).unwrap();
        assert!(compare(&e, &o).is_empty());
        let o2 = RowCounts::parse("p|a|1200\np|b|5\n", Path::new("y")).unwrap();
        assert_eq!(compare(&e, &o2).len(), 1);
    }
}

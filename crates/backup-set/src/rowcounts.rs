//! Row-count snapshots (`*.psv`: `schema|table|count`, optional `# exact` / `# estimate` line;
//! headerless = the team's `n_live_tup` estimates) and their comparison with a restored database.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};

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
    /// False when the file has no `# exact` / `# estimate` line: the operations team's
    /// `psql -tAF "|"` output of `pg_stat_user_tables`, read as estimates.
    pub kind_stated: bool,
    pub counts: BTreeMap<(String, String), i64>,
}

/// The one-line note for a headerless file (report and console).
pub fn headerless_note(path: &Path) -> String {
    format!(
        "{} has no `# exact` / `# estimate` line: read as the operations team's n_live_tup estimates (psql -tAF \"|\" of pg_stat_user_tables): they prove the table set; a count outside max({ESTIMATE_TOLERANCE_ABS} rows, {}%) is a note, never a failure",
        path.display(),
        (ESTIMATE_TOLERANCE_REL * 100.0) as i64
    )
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
        let mut kind = CountKind::Estimate;
        let mut kind_stated = false;
        let mut counts = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            if let Some(c) = line.strip_prefix('#') {
                let c = c.trim_start();
                if c.starts_with("estimate") {
                    kind = CountKind::Estimate;
                    kind_stated = true;
                } else if c.starts_with("exact") {
                    kind = CountKind::Exact;
                    kind_stated = true;
                }
                continue;
            }
            let bad = |why: String| {
                Error::new(ErrorKind::PsvMalformed, format!("{}:{n}: {why}: {line:?}.", path.display()))
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
            return Err(Error::new(
                ErrorKind::PsvMalformed,
                format!("{} lists no table.", path.display()),
            )
            .with_hint("Use the row-count snapshot written by `dryrun backup` (one `schema|table|count` line per table)."));
        }
        Ok(RowCounts {
            kind,
            kind_stated,
            counts,
        })
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
    /// The exact counts of [`exact_counts_statements`] as `psql --csv -t` prints them
    /// (`schema,table,count`, quoted where a name needs it).
    pub fn from_psql_csv(out: &str) -> Result<RowCounts> {
        let mut counts = BTreeMap::new();
        for row in crate::psql_csv::records(out)? {
            let bad = || {
                Error::new(
                    ErrorKind::CountOutput,
                    format!("unexpected row-count record from psql: {row:?}"),
                )
            };
            let [schema, table, count] = row.as_slice() else {
                return Err(bad());
            };
            let count: i64 = count.parse().map_err(|_| bad())?;
            if count < 0
                || counts
                    .insert((schema.clone(), table.clone()), count)
                    .is_some()
            {
                return Err(bad());
            }
        }
        Ok(RowCounts {
            kind: CountKind::Exact,
            kind_stated: true,
            counts,
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

/// What a relation of the restored database is, for the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RelKind {
    Table,
    Partitioned,
    MatView,
    /// A materialized view restored `WITH NO DATA` (unpopulated in the dump).
    MatViewUnpopulated,
}

/// One relation of the restored database: `count(*)` (a partitioned table's includes its
/// partitions) and its own rows (`FROM ONLY`; equal to `count` for the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ObservedRel {
    pub kind: RelKind,
    pub count: i64,
    pub own: i64,
}

/// Exact counts of every table and materialized view of a restored database.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Observed {
    pub rels: BTreeMap<(String, String), ObservedRel>,
}

/// Statements (`\gexec`) observing every ordinary table, partitioned table and materialized
/// view: `schema|name|kind|count|own`, sorted by schema then name.
pub const OBSERVE_STATEMENTS_SQL: &str = "SELECT CASE \
 WHEN c.relkind = 'p' THEN format('SELECT %L, %L, ''p'', (SELECT count(*) FROM %I.%I), (SELECT count(*) FROM ONLY %I.%I)', n.nspname, c.relname, n.nspname, c.relname, n.nspname, c.relname) \
 WHEN c.relkind = 'm' AND NOT c.relispopulated THEN format('SELECT %L, %L, ''u'', 0, 0', n.nspname, c.relname) \
 ELSE format('SELECT %L, %L, %L, count(*), count(*) FROM %I.%I', n.nspname, c.relname, c.relkind, n.nspname, c.relname) END \
 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
 WHERE c.relkind IN ('r','p','m') AND n.nspname NOT IN ('pg_catalog','information_schema','pg_toast') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%' \
 ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";

/// psql script observing the restored database in one read-only transaction.
pub fn observe_script() -> String {
    format!("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n{OBSERVE_STATEMENTS_SQL} \\gexec\nCOMMIT;\n")
}

impl Observed {
    /// Parse `psql --csv -t` output of [`observe_script`].
    pub fn from_psql_csv(out: &str) -> Result<Observed> {
        let mut rels = BTreeMap::new();
        for c in crate::psql_csv::records(out)? {
            let bad = || {
                Error::new(
                    ErrorKind::ObserveOutput,
                    format!("unexpected row-count record from psql: {c:?}"),
                )
            };
            if c.len() != 5 {
                return Err(bad());
            }
            let kind = match c[2].as_str() {
                "r" => RelKind::Table,
                "p" => RelKind::Partitioned,
                "m" => RelKind::MatView,
                "u" => RelKind::MatViewUnpopulated,
                _ => return Err(bad()),
            };
            let count = c[3].parse().map_err(|_| bad())?;
            let own = c[4].parse().map_err(|_| bad())?;
            rels.insert(
                (c[0].to_string(), c[1].to_string()),
                ObservedRel { kind, count, own },
            );
        }
        Ok(Observed { rels })
    }

    /// Exact counts of the tables (ordinary and partitioned), as `backup` records them.
    pub fn tables(&self) -> RowCounts {
        RowCounts {
            kind: CountKind::Exact,
            kind_stated: true,
            counts: self
                .rels
                .iter()
                .filter(|(_, r)| matches!(r.kind, RelKind::Table | RelKind::Partitioned))
                .map(|(k, r)| (k.clone(), r.count))
                .collect(),
        }
    }
}

/// The comparison of a snapshot with a restored database: differences, and notes saying how
/// partitioned parents and materialized views were compared.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparison {
    pub differences: Vec<CountDiff>,
    pub notes: Vec<String>,
}

fn within(kind: CountKind, e: i64, o: i64) -> bool {
    match kind {
        CountKind::Exact => o == e,
        CountKind::Estimate => {
            let tol = ESTIMATE_TOLERANCE_ABS.max((e as f64 * ESTIMATE_TOLERANCE_REL).ceil() as i64);
            (o - e).abs() <= tol
        }
    }
}

/// Compare a snapshot with a restored database. Exact files: `count(*)` (a partitioned table's
/// includes its partitions, SPEC §3); every difference fails. Estimates prove the table set
/// only: a listed table missing or a restored table not listed is a difference, a count
/// outside the tolerance max(10, 10 %) is a note, never a failure. A partitioned parent
/// is compared with its own rows (0; `n_live_tup` counts its rows in the partitions), or skipped
/// with a note when the file does not list it. Materialized views are compared when the file
/// lists them (one restored `WITH NO DATA` has 0 rows, with a note); unlisted ones are ignored.
pub fn compare_observed(expected: &RowCounts, observed: &Observed) -> Comparison {
    let mut out = Comparison::default();
    let mut parents_own = Vec::new();
    let mut parents_skipped = Vec::new();
    let mut estimates_off = Vec::new();
    for (k, &e) in &expected.counts {
        let name = format!("{}.{}", k.0, k.1);
        let Some(r) = observed.rels.get(k) else {
            out.differences.push(CountDiff {
                table: name,
                expected: Some(e),
                observed: None,
            });
            continue;
        };
        let o = match (expected.kind, r.kind) {
            (CountKind::Estimate, RelKind::Partitioned) => {
                parents_own.push(name.clone());
                r.own
            }
            (_, RelKind::MatViewUnpopulated) => {
                out.notes.push(format!(
                    "materialized view {name} is not populated in the dump (WITH NO DATA): compared as 0 rows"
                ));
                0
            }
            _ => r.count,
        };
        if !within(expected.kind, e, o) {
            let d = CountDiff {
                table: name,
                expected: Some(e),
                observed: Some(o),
            };
            match expected.kind {
                CountKind::Exact => out.differences.push(d),
                // An estimate proves the table is there, never its count: n_live_tup lags
                // behind (statistics are flushed asynchronously) by more than any tolerance.
                CountKind::Estimate => estimates_off.push(d.to_string()),
            }
        }
    }
    if !estimates_off.is_empty() {
        out.notes.push(format!(
            "{} table(s) outside the estimate tolerance, not a failure (an n_live_tup estimate proves a table is there, not its row count): {}",
            estimates_off.len(),
            estimates_off.join("; ")
        ));
    }
    for (k, r) in &observed.rels {
        if expected.counts.contains_key(k) {
            continue;
        }
        let name = format!("{}.{}", k.0, k.1);
        match (expected.kind, r.kind) {
            (_, RelKind::MatView | RelKind::MatViewUnpopulated) => {}
            (CountKind::Estimate, RelKind::Partitioned) => parents_skipped.push(name),
            _ => out.differences.push(CountDiff {
                table: name,
                expected: None,
                observed: Some(r.count),
            }),
        }
    }
    if !parents_own.is_empty() {
        out.notes.push(format!(
            "partitioned table(s) compared with their own rows (an estimate counts their rows in the partitions): {}",
            parents_own.join(", ")
        ));
    }
    if !parents_skipped.is_empty() {
        out.notes.push(format!(
            "partitioned table(s) not in the estimate file, skipped (their rows are compared in their partitions): {}",
            parents_skipped.join(", ")
        ));
    }
    out
}

/// Compare a snapshot with observed exact table counts (no partitions or views known).
pub fn compare(expected: &RowCounts, observed: &RowCounts) -> Vec<CountDiff> {
    let obs = Observed {
        rels: observed
            .counts
            .iter()
            .map(|(k, &c)| {
                (
                    k.clone(),
                    ObservedRel {
                        kind: RelKind::Table,
                        count: c,
                        own: c,
                    },
                )
            })
            .collect(),
    };
    compare_observed(expected, &obs).differences
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
            assert_eq!(e.kind, crate::ErrorKind::PsvMalformed);
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
        let o = RowCounts::parse("# exact\np|a|1090\np|b|14\n", Path::new("y")).unwrap();
        assert!(compare(&e, &o).is_empty());
        // Outside the tolerance: a note naming the table, never a difference.
        let o2 = RowCounts::parse("# exact\np|a|1200\np|b|5\n", Path::new("y")).unwrap();
        assert!(compare(&e, &o2).is_empty());
        let obs = Observed {
            rels: o2
                .counts
                .iter()
                .map(|(k, &c)| {
                    let r = ObservedRel {
                        kind: RelKind::Table,
                        count: c,
                        own: c,
                    };
                    (k.clone(), r)
                })
                .collect(),
        };
        let cmp = compare_observed(&e, &obs);
        assert!(cmp.differences.is_empty());
        assert!(
            cmp.notes
                .iter()
                .any(|n| n.contains("p.a") && n.contains("not a failure")),
            "{:?}",
            cmp.notes
        );
        // The table set still counts: a listed table missing, or one restored but not listed.
        let o3 = RowCounts::parse("# exact\np|a|1000\np|c|5\n", Path::new("y")).unwrap();
        let d = compare(&e, &o3);
        assert_eq!(d.len(), 2, "{d:?}");
        // An exact file fails on any count difference.
        let x = RowCounts::parse("# exact\np|a|1000\np|b|5\n", Path::new("x")).unwrap();
        assert_eq!(compare(&x, &o2).len(), 1);
    }

    /// psql's CSV keeps a name holding the old separator (or a comma, a quote) one field.
    #[test]
    fn counts_from_psql_csv_keep_odd_names() {
        let r = RowCounts::from_psql_csv("public,plain,3\n\"we|ird\",\"a,b\",4\n").unwrap();
        assert_eq!((r.kind, r.kind_stated), (CountKind::Exact, true));
        assert_eq!(r.counts[&("we|ird".to_string(), "a,b".to_string())], 4);
        assert_eq!(r.counts.len(), 2);
        for bad in [
            "public,t\n",
            "public,t,-1\n",
            "public,t,x\n",
            "p,t,1\np,t,2\n",
        ] {
            assert!(RowCounts::from_psql_csv(bad).is_err(), "{bad:?}");
        }
        let o = Observed::from_psql_csv("\"s|x\",t,r,2,2\n").unwrap();
        assert_eq!(o.tables().counts[&("s|x".to_string(), "t".to_string())], 2);
        assert!(Observed::from_psql_csv("s,t,z,2,2\n").is_err());
    }

    #[test]
    fn headerless_is_an_estimate() {
        let r = RowCounts::parse("public|a|3\n", Path::new("x")).unwrap();
        assert_eq!((r.kind, r.kind_stated), (CountKind::Estimate, false));
        let r = RowCounts::parse("# exact\npublic|a|3\n", Path::new("x")).unwrap();
        assert_eq!((r.kind, r.kind_stated), (CountKind::Exact, true));
    }

    #[test]
    fn partitions_and_matviews() {
        let obs = Observed::from_psql_csv(
            "s,parent,p,500,0\ns,part_a,r,200,200\ns,part_b,r,300,300\ns,mv,m,7,7\ns,mv_empty,u,0,0\ns,mv_unlisted,m,9,9\n",
        )
        .unwrap();
        // The team's estimate file: the parent at 0, partitions, both views listed.
        let est = RowCounts::parse(
            "s|mv|7\ns|mv_empty|0\ns|parent|0\ns|part_a|200\ns|part_b|300\n",
            Path::new("x"),
        )
        .unwrap();
        let c = compare_observed(&est, &obs);
        assert!(c.differences.is_empty(), "{:?}", c.differences);
        assert!(c.notes.iter().any(|n| n.contains("s.parent")));
        assert!(c.notes.iter().any(|n| n.contains("s.mv_empty")));
        // Without the parent line: skipped with a note, not a difference.
        let est2 = RowCounts::parse("s|part_a|200\ns|part_b|300\n", Path::new("x")).unwrap();
        let c = compare_observed(&est2, &obs);
        assert!(c.differences.is_empty(), "{:?}", c.differences);
        assert!(c.notes.iter().any(|n| n.contains("skipped")));
        // An exact file (as `backup` writes it): the parent's count includes its partitions.
        let exact = RowCounts::parse(
            "# exact\ns|parent|500\ns|part_a|200\ns|part_b|300\n",
            Path::new("x"),
        )
        .unwrap();
        assert!(compare_observed(&exact, &obs).differences.is_empty());
        let wrong = RowCounts::parse(
            "# exact\ns|parent|0\ns|part_a|200\ns|part_b|300\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(compare_observed(&wrong, &obs).differences.len(), 1);
        assert_eq!(obs.tables().counts.len(), 3);
    }
}

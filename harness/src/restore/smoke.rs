//! The smoke checks after a restore: key tables, the DOT pair, row counts against the backup
//! set's snapshot, the read-only queries of the checks file (psql inside the container).

use serde::Serialize;

use crate::checks::{CheckResult, Checks};
use crate::container::{psql_script, PgContainer, DB_NAME, DB_USER};
use crate::error::{Error, ErrorKind, Result};
use crate::rowcounts::{
    compare_observed, exact_counts_script, observe_script, CountDiff, CountKind, Observed,
    RowCounts,
};

#[allow(unused_imports)]
use super::*;

/// A key table and its count after restore.
#[derive(Debug, Clone, Serialize)]
pub struct KeyTable {
    pub table: String,
    pub expected: Option<i64>,
    pub restored: Option<i64>,
    pub matches: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DotRow {
    pub id: i64,
    pub code: String,
    pub status: String,
}

/// A query of the checks file and what it returned.
#[derive(Debug, Clone, Serialize)]
pub struct QueryOutcome {
    pub name: String,
    pub expected: Vec<Vec<String>>,
    pub observed: Vec<Vec<String>>,
    pub error: Option<String>,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SmokeOutcome {
    /// `counts`, the bundled HB-08 file or the checks file used.
    pub checks_source: String,
    pub count_kind: Option<CountKind>,
    pub tables_expected: Option<usize>,
    pub tables_restored: usize,
    pub differences: Vec<CountDiff>,
    pub key_tables: Vec<KeyTable>,
    pub dot_pair: Vec<DotRow>,
    /// None when the checks name no DOT pair.
    pub dot_pair_ok: Option<bool>,
    pub queries: Vec<QueryOutcome>,
    /// Every named check with its verdict; a failed one says what failed. Further checks of
    /// the restored database (the content proof) are added here by their own modules.
    pub checks: Vec<CheckResult>,
    /// How the comparison read partitioned tables and materialized views.
    pub notes: Vec<String>,
    pub passed: bool,
}

impl SmokeOutcome {
    /// What failed, one clause per failed check.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.check, c.detail))
            .collect()
    }

    /// Add a check's result (e.g. the content proof) and update the verdict.
    pub fn push_check(&mut self, c: CheckResult) {
        self.passed &= c.passed;
        self.checks.push(c);
    }
}

/// Run one read-only query (psql `--csv -t`, read with [`rows_of`]; the session is read-only).
pub(super) async fn psql_query(pg: &PgContainer, sql: &str) -> Result<String> {
    let mut out = Vec::new();
    let (code, err) = pg
        .exec_io(
            &[
                "psql",
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                DB_USER,
                "-d",
                DB_NAME,
                "--csv",
                "-t",
                "-c",
                sql,
            ],
            &["PGOPTIONS=-c default_transaction_read_only=on".to_string()],
            None::<tokio::fs::File>,
            &mut out,
        )
        .await?;
    if code != 0 {
        return Err(Error::new(
            ErrorKind::SmokeQueryFailed,
            format!("smoke query failed: {}", err.trim()),
        ));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

pub(super) async fn psql_stdin(pg: &PgContainer, script: String) -> Result<String> {
    let input = std::io::Cursor::new(script.into_bytes());
    let mut out = Vec::new();
    let (code, err) = pg
        .exec_io(
            &psql_script(DB_USER, DB_NAME, &["--csv", "-t"]),
            &[],
            Some(input),
            &mut out,
        )
        .await?;
    if code != 0 {
        return Err(Error::new(
            ErrorKind::SmokeQueryFailed,
            format!("row counts failed: {}", err.trim()),
        ));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Exact counts of every table in the container's database (read-only session).
pub async fn exact_counts(pg: &PgContainer) -> Result<RowCounts> {
    Ok(RowCounts::from_psql_csv(
        &psql_stdin(pg, exact_counts_script()).await?,
    )?)
}

/// Exact counts of every table, partitioned table (with its own rows) and materialized view.
pub async fn observe(pg: &PgContainer) -> Result<Observed> {
    Ok(Observed::from_psql_csv(
        &psql_stdin(pg, observe_script()).await?,
    )?)
}

/// The rows of a query's `psql --csv -t` output (a value may hold any character).
pub(super) fn rows_of(text: &str) -> Result<Vec<Vec<String>>> {
    Ok(backup_set::psql_csv::records(text)?)
}

/// Smoke test: table set and every table's count against the snapshot, then the chosen
/// checks (key tables, DOT pair rows, queries). Each check is named in the outcome.
pub async fn smoke(
    pg: &PgContainer,
    expected: Option<&RowCounts>,
    checks: &Checks,
) -> Result<SmokeOutcome> {
    let observed = observe(pg).await?;
    let tables = observed.tables();
    let cmp = expected
        .map(|e| compare_observed(e, &observed))
        .unwrap_or_default();
    let mut differences = cmp.differences;
    if crate::fault::sabotaged!("smoke_skip_table") {
        differences.retain(|d| d.table != "public.tac_logical_unit");
    }
    let mut results = Vec::new();
    if let Some(e) = expected {
        results.push(CheckResult {
            check: "table set and row counts against the snapshot".into(),
            passed: differences.is_empty(),
            detail: if differences.is_empty() {
                format!(
                    "{} relation(s) in the snapshot, all match ({})",
                    e.counts.len(),
                    match e.kind {
                        CountKind::Exact => "exact counts",
                        CountKind::Estimate => "estimates, with tolerance",
                    }
                )
            } else {
                differences
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        });
    }
    let spec = checks.spec.as_ref();
    let key_tables = spec
        .map(|s| s.key_tables.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|q| {
            let k = crate::checks::split(q);
            let e = expected.and_then(|x| x.counts.get(&k).copied());
            let r = observed.rels.get(&k).map(|r| r.count);
            KeyTable {
                table: q.clone(),
                expected: e,
                restored: r,
                matches: r.is_some()
                    && (expected.is_none() || differences.iter().all(|d| &d.table != q)),
            }
        })
        .collect::<Vec<_>>();
    if !key_tables.is_empty() {
        let bad: Vec<String> = key_tables
            .iter()
            .filter(|k| !k.matches)
            .map(|k| match k.restored {
                None => format!("{} absent", k.table),
                Some(r) => format!("{} restored {r}, snapshot {}", k.table, opt_s(k.expected)),
            })
            .collect();
        results.push(CheckResult {
            check: "key tables".into(),
            passed: bad.is_empty(),
            detail: if bad.is_empty() {
                format!("{0} of {0} present and matching", key_tables.len())
            } else {
                bad.join("; ")
            },
        });
    }
    let mut dot_pair = Vec::new();
    let mut dot_pair_ok = None;
    if let Some(d) = spec.and_then(|s| s.dot_pair.as_ref()) {
        let present = observed.rels.contains_key(&crate::checks::split(&d.table));
        if present {
            let ids: Vec<String> = d.rows.iter().map(|r| r.id.to_string()).collect();
            let text = psql_query(
                pg,
                &format!(
                    "SELECT id, code, status FROM {} WHERE id IN ({}) ORDER BY id",
                    crate::checks::quote_qualified(&d.table),
                    ids.join(", ")
                ),
            )
            .await?;
            dot_pair = rows_of(&text)?
                .into_iter()
                .filter(|c| c.len() == 3)
                .map(|c| DotRow {
                    id: c[0].parse().unwrap_or(-1),
                    code: c[1].clone(),
                    status: c[2].clone(),
                })
                .collect();
        }
        let missing: Vec<String> = d
            .rows
            .iter()
            .filter(|w| {
                !dot_pair
                    .iter()
                    .any(|r| r.id == w.id && r.code == w.code && r.status == w.status)
            })
            .map(|w| format!("id {} {} {}", w.id, w.code, w.status))
            .collect();
        let ok = missing.is_empty() && dot_pair.len() == d.rows.len();
        dot_pair_ok = Some(ok);
        let ids: Vec<String> = d.rows.iter().map(|r| r.id.to_string()).collect();
        results.push(CheckResult {
            check: format!("DOT pair {}", ids.join("/")),
            passed: ok,
            detail: if ok {
                format!("present and as expected in {}", d.table)
            } else if !present {
                format!("{} absent from the restored database", d.table)
            } else {
                format!("not found in {}: {}", d.table, missing.join(", "))
            },
        });
    }
    let mut queries = Vec::new();
    for q in spec.map(|s| s.queries.as_slice()).unwrap_or_default() {
        let expected_rows: Vec<Vec<String>> = q
            .expect
            .iter()
            .map(|r| r.iter().map(|c| c.as_psql()).collect())
            .collect();
        let (observed_rows, error) = match psql_query(pg, &q.sql).await {
            Ok(t) => match rows_of(&t) {
                Ok(rows) => (rows, None),
                Err(e) => (Vec::new(), Some(e.message)),
            },
            Err(e) => (Vec::new(), Some(e.message)),
        };
        let passed = error.is_none() && observed_rows == expected_rows;
        results.push(CheckResult {
            check: format!("query {:?}", q.name),
            passed,
            detail: match &error {
                Some(e) => e.clone(),
                None if passed => format!("{} row(s) as expected", expected_rows.len()),
                None => format!("returned {observed_rows:?}, expected {expected_rows:?}"),
            },
        });
        queries.push(QueryOutcome {
            name: q.name.clone(),
            expected: expected_rows,
            observed: observed_rows,
            error,
            passed,
        });
    }
    let passed = results.iter().all(|c| c.passed);
    Ok(SmokeOutcome {
        checks_source: checks.source.clone(),
        count_kind: expected.map(|e| e.kind),
        tables_expected: expected.map(|e| e.counts.len()),
        tables_restored: tables.counts.len(),
        differences,
        key_tables,
        dot_pair,
        dot_pair_ok,
        queries,
        checks: results,
        notes: cmp.notes,
        passed,
    })
}

pub(super) fn opt_s(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

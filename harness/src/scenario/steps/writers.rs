//! Concurrent writers (`writers_start`, `writers_stop`): sessions inserting rows into the
//! existing tables the plan's SQL names while deploy and revert run; every commit checked after.
//!
//! The tables come from the plan that runs: each deploy and revert script is tokenized by
//! `sqlparser` (comments and string literals are not names) and every `schema.name` outside
//! the plan's own schema that is an ordinary or partitioned table of the database is a target.
//! A write copies one existing row of its table with every column of a unique index (the
//! primary key included) set to a fresh value, so it meets the table's constraints without
//! knowing them. Each commit records the server's `clock_timestamp()`; the deploy and revert
//! steps record their windows on the same clock while the writers run ([`Writers::window`]).
//! `writers_stop` requires `count` writers to have committed, a commit strictly inside each
//! window the scenario names, and every committed row present and unchanged afterwards (named
//! by table and key when not); it then deletes the rows it checked, so the `compare` that
//! follows sees every table whole, with nothing excluded.

use crate::error::ErrorKind;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio_postgres::Client;

use crate::error::Error;
use crate::migrate::named_relations;
use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::steps::{StepError, StepKind};

type Res<T> = std::result::Result<T, StepError>;

/// The server's clock, in microseconds since the epoch (same expression everywhere).
pub(crate) const CLOCK_US: &str = "(extract(epoch FROM clock_timestamp()) * 1000000)::int8";

use crate::scenario::writers_state::{Fresh, Target, Window, Write, Writers};

/// `writers_start`: `count` writers, each on its own connection, until `writers_stop`.
pub struct WritersStartKind;

impl StepKind for WritersStartKind {
    const NAME: &'static str = "writers_start";
    const READS_ONLY: bool = false;
    type Params = WritersStep;
    type Observation = WritersStartObservation;

    async fn run(p: &WritersStep, ctx: &mut Ctx<'_>) -> Res<WritersStartObservation> {
        ctx.writers_start(p).await
    }
}

/// `writers_stop`: stop the writers; every claim of the step checked (module doc).
pub struct WritersStopKind;

impl StepKind for WritersStopKind {
    const NAME: &'static str = "writers_stop";
    const READS_ONLY: bool = false;
    type Params = WritersStep;
    type Observation = WritersStopObservation;

    async fn run(p: &WritersStep, ctx: &mut Ctx<'_>) -> Res<WritersStopObservation> {
        ctx.writers_stop(p).await
    }
}

/// Writers started: how many tables of the plan they write to is evidence.
#[derive(Debug, serde::Serialize)]
pub struct WritersStartObservation {}

/// Writers stopped, every claim held (else the step failed): nothing that could differ
/// between correct runs; counts, tables and windows are evidence.
#[derive(Debug, serde::Serialize)]
pub struct WritersStopObservation {}

/// A name quoted for SQL.
/// The target's unique columns, qualified by `alias`, as a SQL list.
fn key_columns(t: &Target, alias: &str) -> String {
    t.unique
        .iter()
        .map(|(c, _)| format!("{alias}.{}", quote(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

use crate::fingerprint::quote_ident as quote;

/// The tables among `named` the database holds, with their unique columns; tables whose
/// unique columns the writers cannot fill are left out with the reason.
async fn targets(c: &Client, named: &[(String, String)]) -> Res<(Vec<Target>, Vec<String>)> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (schema, table) in named {
        let sql_name = format!("{}.{}", quote(schema), quote(table));
        let name = format!("{schema}.{table}");
        let rel = c
            .query_opt(
                "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                &[schema, table],
            )
            .await
            .map_err(Error::from)?;
        let Some(rel) = rel else { continue };
        let oid: u32 = rel.get(0);
        // Columns any unique index depends on (expression indexes included, through pg_depend).
        let cols = c
            .query(
                "SELECT DISTINCT a.attname::text, t.typcategory::text, t.typname::text \
                 FROM pg_index i \
                 JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid \
                      AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid AND d.refobjsubid > 0 \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = d.refobjsubid \
                 JOIN pg_type t ON t.oid = a.atttypid \
                 WHERE i.indrelid = $1 AND i.indisunique \
                 UNION \
                 SELECT a.attname::text, t.typcategory::text, t.typname::text \
                 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                 JOIN pg_type t ON t.oid = a.atttypid \
                 WHERE i.indrelid = $1 AND i.indisunique ORDER BY 1",
                &[&oid],
            )
            .await
            .map_err(Error::from)?;
        let mut unique = Vec::new();
        let mut unfit = None;
        for r in cols {
            let (col, cat, typ): (String, String, String) = (r.get(0), r.get(1), r.get(2));
            let fresh = match (cat.as_str(), typ.as_str()) {
                (_, "uuid") => Fresh::Uuid,
                ("N", "int2" | "int4" | "int8" | "numeric") => Fresh::Number,
                ("S", _) => Fresh::Text,
                _ => {
                    unfit = Some(format!("{name}: unique column {col} of type {typ}"));
                    break;
                }
            };
            unique.push((col, fresh));
        }
        if let Some(u) = unfit {
            skipped.push(u);
            continue;
        }
        let has_row: bool = c
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {sql_name})"), &[])
            .await
            .map_err(Error::from)?
            .get(0);
        if !has_row {
            skipped.push(format!("{name}: no row to copy"));
            continue;
        }
        let mut base = 0i64;
        for (col, f) in &unique {
            if let Fresh::Number = f {
                let m: i64 = c
                    .query_one(
                        &format!(
                            "SELECT coalesce(max({})::int8, 0) FROM {sql_name}",
                            quote(col)
                        ),
                        &[],
                    )
                    .await
                    .map_err(Error::from)?
                    .get(0);
                base = base.max(m);
            }
        }
        out.push(Target {
            name,
            sql_name,
            unique,
            base: base + 1_000_000,
        });
    }
    Ok((out, skipped))
}

/// The key of writer `w`'s write `n`: every unique column of `t` set to a fresh value.
fn fresh_key(t: &Target, w: usize, n: u32) -> Value {
    let mut m = Map::new();
    for (col, f) in &t.unique {
        let v = match f {
            Fresh::Number => json!(t.base + (w as i64) * 100_000 + i64::from(n)),
            Fresh::Text => json!(format!("dry-run w{w} n{n}")),
            Fresh::Uuid => json!(uuid::Uuid::new_v4().to_string()),
        };
        m.insert(col.clone(), v);
    }
    Value::Object(m)
}

/// One write: a copy of one row of the table with its unique columns set from `key`; returns
/// the new row's hash and the server clock.
async fn write_one(c: &Client, t: &Target, key: &Value) -> Result<(String, i64), String> {
    let sql = format!(
        "INSERT INTO {n} AS w SELECT (jsonb_populate_record(NULL::{n}, to_jsonb(r) || $1::text::jsonb)).* \
         FROM (SELECT * FROM {n} LIMIT 1) r RETURNING md5(to_jsonb(w)::text), {CLOCK_US}",
        n = t.sql_name
    );
    let row = c
        .query_one(sql.as_str(), &[&key.to_string()])
        .await
        .map_err(|e| format!("{}: {}", t.name, err_any(&e)))?;
    Ok((row.get(0), row.get(1)))
}

impl Writers {
    /// Record a deploy or revert window (the caller reads the clock before and after).
    pub(crate) fn window(&mut self, phase: WindowPhase, start_us: i64, end_us: i64) {
        self.windows.push(Window {
            phase,
            start_us,
            end_us,
        });
    }
}

/// The server clock now (microseconds), for a window's bounds.
pub(crate) async fn clock_us(c: &Client) -> Res<i64> {
    Ok(c.query_one(&format!("SELECT {CLOCK_US}"), &[])
        .await
        .map_err(Error::from)?
        .get(0))
}

impl Ctx<'_> {
    async fn writers_start(&mut self, w: &WritersStep) -> Res<WritersStartObservation> {
        if w.count == 0 {
            return Err("writers_start: count must be at least 1".into());
        }
        if self.writers.is_some() {
            return Err("writers_start: writers are already running".into());
        }
        let named = named_relations(&self.runner.plan);
        let (targets, skipped) = targets(self.client()?, &named).await?;
        if targets.is_empty() {
            return Err(StepError::Failed(format!(
                "the plan's SQL names no existing table the writers can write to (named outside {}: {}; left out: {})",
                self.runner.plan.schema,
                if named.is_empty() { "none".to_string() } else {
                    named.iter().map(|(s, t)| format!("{s}.{t}")).collect::<Vec<_>>().join(", ")
                },
                if skipped.is_empty() { "none".to_string() } else { skipped.join("; ") },
            )));
        }
        let targets = Arc::new(targets);
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..w.count {
            let c = self.connect_db().await?;
            let (stop, log, errors, targets) =
                (stop.clone(), log.clone(), errors.clone(), targets.clone());
            handles.push(tokio::spawn(async move {
                // Bounded: at most 20000 writes or until stopped; tables in turn.
                for n in 0..20_000u32 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let ti = (n as usize + i) % targets.len();
                    let t = &targets[ti];
                    let key = fresh_key(t, i, n);
                    match write_one(&c, t, &key).await {
                        Ok((row_md5, at_us)) => {
                            if let Ok(mut v) = log.lock() {
                                v.push(Write {
                                    writer: i,
                                    table: ti,
                                    key: key.to_string(),
                                    row_md5,
                                    at_us,
                                })
                            }
                        }
                        Err(e) => {
                            if let Ok(mut v) = errors.lock() {
                                v.push(e)
                            }
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
        self.evidence(json!({
            "tables": targets.iter().map(|t| json!({
                "table": t.name,
                "unique_columns": t.unique.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "left_out": skipped,
        }));
        self.writers = Some(Writers {
            stop,
            count: w.count,
            log,
            errors,
            handles,
            targets,
            windows: Vec::new(),
        });
        // Every writer committed once before the step returns: the next step runs beside them.
        for _ in 0..600 {
            let done = self.writers.as_ref().is_some_and(|w| {
                let v = w.log.lock().map(|v| v.clone()).unwrap_or_default();
                (0..w.count).all(|i| v.iter().any(|x| x.writer == i))
            });
            let failed = self
                .writers
                .as_ref()
                .is_some_and(|w| w.errors.lock().is_ok_and(|e| !e.is_empty()));
            if done || failed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(WritersStartObservation {})
    }

    async fn writers_stop(&mut self, p: &WritersStep) -> Res<WritersStopObservation> {
        let w = self.writers.take().ok_or("no writers running")?;
        w.stop.store(true, Ordering::SeqCst);
        for h in w.handles {
            h.await.map_err(|e| {
                Error::new(ErrorKind::WriterTask, format!("a writer task failed: {e}"))
            })?;
        }
        let log = w.log.lock().map(|v| v.clone()).unwrap_or_default();
        let errors = w.errors.lock().map(|v| v.clone()).unwrap_or_default();
        if let Some(e) = errors.first() {
            return Err(StepError::Failed(format!(
                "{} write(s) failed while the writers ran; the first: {e}",
                errors.len()
            )));
        }
        if p.count != w.count {
            return Err(StepError::Failed(format!(
                "writers_stop expects {} writers, writers_start started {}",
                p.count, w.count
            )));
        }
        let idle: Vec<String> = (0..w.count)
            .filter(|i| !log.iter().any(|x| x.writer == *i))
            .map(|i| format!("writer {i}"))
            .collect();
        if !idle.is_empty() {
            return Err(StepError::Failed(format!(
                "{} of {} writers committed nothing: {}",
                idle.len(),
                w.count,
                idle.join(", ")
            )));
        }
        let untouched: Vec<&str> = w
            .targets
            .iter()
            .enumerate()
            .filter(|(ti, _)| !log.iter().any(|x| x.table == *ti))
            .map(|(_, t)| t.name.as_str())
            .collect();
        if !untouched.is_empty() {
            return Err(StepError::Failed(format!(
                "no write committed to {}",
                untouched.join(", ")
            )));
        }
        // A commit strictly inside each window the scenario names.
        let mut inside = Vec::new();
        for phase in &p.inside {
            let wins: Vec<&Window> = w.windows.iter().filter(|x| x.phase == *phase).collect();
            if wins.is_empty() {
                return Err(StepError::Failed(format!(
                    "no {phase} ran while the writers ran"
                )));
            }
            for win in wins {
                let n = log
                    .iter()
                    .filter(|x| x.at_us > win.start_us && x.at_us < win.end_us)
                    .count();
                if n == 0 {
                    return Err(StepError::Failed(format!(
                        "no write committed inside the {phase} window ({} µs long): the {phase} blocked the writers or they stopped",
                        win.end_us - win.start_us
                    )));
                }
                inside.push((*phase, n, win.start_us, win.end_us));
            }
        }
        // Every committed row present and unchanged, by table and key; then removed.
        let c = self.client()?;
        let mut missing = Vec::new();
        let mut per_table = BTreeMap::new();
        for (ti, t) in w.targets.iter().enumerate() {
            let mine: Vec<&Write> = log.iter().filter(|x| x.table == ti).collect();
            let keys: Vec<String> = mine.iter().map(|x| x.key.clone()).collect();
            let hashes: Vec<String> = mine.iter().map(|x| x.row_md5.clone()).collect();
            let (cols, rcols) = (key_columns(t, "x"), key_columns(t, "k"));
            let sql = format!(
                "SELECT w.key, EXISTS (SELECT 1 FROM {n} x WHERE ({cols}) = (SELECT {rcols} FROM jsonb_populate_record(NULL::{n}, w.key::jsonb) k)) \
                 FROM unnest($1::text[], $2::text[]) AS w(key, h) \
                 WHERE NOT EXISTS (SELECT 1 FROM {n} x WHERE ({cols}) = (SELECT {rcols} FROM jsonb_populate_record(NULL::{n}, w.key::jsonb) k) \
                                   AND md5(to_jsonb(x)::text) = w.h)",
                n = t.sql_name
            );
            for r in c
                .query(sql.as_str(), &[&keys, &hashes])
                .await
                .map_err(Error::from)?
            {
                let (key, present): (String, bool) = (r.get(0), r.get(1));
                missing.push(format!(
                    "{} {key} {}",
                    t.name,
                    if present { "changed" } else { "missing" }
                ));
            }
            per_table.insert(t.name.clone(), mine.len());
        }
        if !missing.is_empty() {
            let shown = missing.iter().take(10).cloned().collect::<Vec<_>>();
            return Err(StepError::Failed(format!(
                "{} of {} committed writes are missing or changed afterwards: {}{}",
                missing.len(),
                log.len(),
                shown.join("; "),
                if missing.len() > shown.len() {
                    "; ..."
                } else {
                    ""
                }
            )));
        }
        for (ti, t) in w.targets.iter().enumerate() {
            let keys: Vec<String> = log
                .iter()
                .filter(|x| x.table == ti)
                .map(|x| x.key.clone())
                .collect();
            let (cols, rcols) = (key_columns(t, "x"), key_columns(t, "k"));
            let deleted = c
                .execute(
                    &format!(
                        "DELETE FROM {n} x WHERE ({cols}) IN (SELECT {rcols} FROM unnest($1::text[]) AS w(key), \
                         LATERAL jsonb_populate_record(NULL::{n}, w.key::jsonb) k)",
                        n = t.sql_name
                    ),
                    &[&keys],
                )
                .await
                .map_err(Error::from)?;
            if deleted as usize != keys.len() {
                return Err(StepError::Failed(format!(
                    "{}: removing the writers' {} rows deleted {deleted}",
                    t.name,
                    keys.len()
                )));
            }
        }
        self.evidence(json!({
            "committed_writes": log.len(),
            "per_table": per_table,
            "inside": inside.iter().map(|(p, n, start, end)| json!({
                "phase": p,
                "commits": n,
                "window_start_us": start,
                "window_end_us": end,
            })).collect::<Vec<_>>(),
        }));
        Ok(WritersStopObservation {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::Plan;

    /// The stand-in plan names public.dot_tools in code; public.tac_logical_unit only in a
    /// comment and a string literal, which are not names.
    #[test]
    fn named_relations_come_from_code_not_comments_or_literals() {
        let mut p = Plan::embedded().expect("embedded plan");
        let named = named_relations(&p);
        assert!(
            named.contains(&("public".into(), "dot_tools".into())),
            "{named:?}"
        );
        assert!(named.iter().all(|(s, _)| s != &p.schema), "{named:?}");
        assert!(
            !named.contains(&("public".into(), "tac_logical_unit".into())),
            "{named:?}"
        );
        p.steps.truncate(1);
        p.steps[0].deploy =
            "-- public.a\nSELECT 'public.b' FROM \"Public\".\"C\" JOIN PUBLIC.D ON true;".into();
        p.steps[0].revert = String::new();
        assert_eq!(
            named_relations(&p),
            vec![("Public".into(), "C".into()), ("public".into(), "d".into())]
        );
    }
}

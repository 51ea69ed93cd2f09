//! The profile by running: every deploy and revert statement of the plan, one at a time inside
//! its step's transaction as the runner does, on a restored copy; after each statement the
//! locks its own backend holds (`pg_locks`, exact, no sampling), relfilenodes and the
//! transaction's sequential scans (`pg_stat_xact_user_tables`) of the pre-existing relations.
//!
//! A lock is attributed to the statement after which it first appears (a stronger mode later
//! is attributed to that later statement); it is held until the step commits, so its held time
//! runs from the end of that statement to the end of the COMMIT.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use squawk_syntax::ast::AstNode;
use squawk_syntax::SourceFile;
use tokio_postgres::Client;

use super::rules::LockMode;
use crate::error::{Error, ErrorKind, Result};
use crate::migrate::Plan;

/// Deploy or revert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Phase {
    Deploy,
    Revert,
}

/// One statement of a script: its 1-based line and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub line: usize,
    pub sql: String,
}

/// Split a script into statements with PostgreSQL's grammar (squawk's parser); a script it
/// cannot parse is one statement (it still runs, its locks are still read).
pub fn statements(text: &str) -> Vec<Statement> {
    let parse = SourceFile::parse(text);
    if !parse.errors().is_empty() {
        return vec![Statement {
            line: 1,
            sql: text.to_string(),
        }];
    }
    parse
        .tree()
        .stmts()
        .map(|s| {
            let r = s.syntax().text_range();
            let (a, b) = (usize::from(r.start()), usize::from(r.end()));
            Statement {
                line: text[..a].matches('\n').count() + 1,
                sql: text[a..b].to_string(),
            }
        })
        .filter(|s| !s.sql.trim().is_empty())
        .collect()
}

/// A lock a statement took on a pre-existing relation (new, or stronger than before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockTaken {
    pub relation: String,
    pub mode: LockMode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementProfile {
    pub line: usize,
    /// The statement's first line (up to 100 characters).
    pub head: String,
    pub duration_ms: f64,
    /// From the step's BEGIN to the statement's end.
    pub ended_ms: f64,
    pub locks: Vec<LockTaken>,
    /// Pre-existing relations this statement rewrote (their relfilenode changed).
    pub rewrites: Vec<String>,
    /// Pre-existing tables this statement scanned sequentially, with the tuples read.
    pub seq_scans: Vec<(String, i64)>,
    /// Objects it created, altered or dropped (schemas, relations, functions, constraints,
    /// triggers, domains and enums; type and qualified identity, as `pg_identify_object` gives them).
    #[serde(default)]
    pub objects: Vec<ObjectChange>,
}

/// What a statement did to one catalog object.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Change {
    Created,
    Altered,
    Dropped,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectChange {
    pub change: Change,
    pub object: String,
}

/// The catalogs whose rows are the objects a plan makes or changes. A row this transaction
/// wrote carries its xid as `xmin` (an in-place statistics update does not), so "created or
/// altered by this statement" is exact: new rows since the last look; a row of an object that
/// existed before the plan is an alteration.
const OBJECTS_SQL: &str = "\
    WITH me AS (SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text::xid AS x) \
    SELECT o.classid, o.objid, o.mine, i.type || ' ' || i.identity FROM ( \
      SELECT 'pg_class'::regclass::oid AS classid, c.oid AS objid, c.xmin = me.x AS mine \
        FROM pg_class c, me WHERE c.relnamespace <> 'pg_toast'::regnamespace \
      UNION ALL SELECT 'pg_namespace'::regclass, n.oid, n.xmin = me.x FROM pg_namespace n, me \
        WHERE n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
      UNION ALL SELECT 'pg_proc'::regclass, p.oid, p.xmin = me.x FROM pg_proc p, me \
        WHERE p.pronamespace <> 'pg_catalog'::regnamespace \
      UNION ALL SELECT 'pg_constraint'::regclass, k.oid, k.xmin = me.x FROM pg_constraint k, me \
      UNION ALL SELECT 'pg_trigger'::regclass, t.oid, t.xmin = me.x FROM pg_trigger t, me \
        WHERE NOT t.tgisinternal \
      UNION ALL SELECT 'pg_type'::regclass, y.oid, y.xmin = me.x FROM pg_type y, me \
        WHERE y.typtype IN ('d', 'e', 'r', 'm') AND y.typnamespace <> 'pg_catalog'::regnamespace \
    ) o, pg_identify_object(o.classid, o.objid, 0) i";

/// Every object of [`OBJECTS_SQL`]'s catalogs: `(classid, objid)` → (written by this
/// transaction, description).
async fn objects(client: &Client) -> Result<HashMap<(u32, u32), (bool, String)>> {
    let rows = client.query(OBJECTS_SQL, &[]).await.map_err(|e| {
        Error::new(
            ErrorKind::ImpactCatalog,
            format!("reading the catalog objects: {e}"),
        )
    })?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                (r.get::<_, u32>(0), r.get::<_, u32>(1)),
                (
                    r.get::<_, bool>(2),
                    r.get::<_, Option<String>>(3).unwrap_or_default(),
                ),
            )
        })
        .collect())
}

/// The strongest lock a step held on a pre-existing relation, from when to the commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockHold {
    pub relation: String,
    pub mode: LockMode,
    /// The file and line of the statement that took this mode.
    pub by: String,
    pub acquired_ms: f64,
    pub held_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepProfile {
    pub step: String,
    pub phase: Phase,
    pub file: String,
    pub duration_ms: f64,
    pub statements: Vec<StatementProfile>,
    pub holds: Vec<LockHold>,
    /// Set when the step failed: the error (the profile stops there).
    pub error: Option<String>,
    /// The step's BEGIN and the end of its COMMIT, in ms after the profile's start (the
    /// writers' clock).
    #[serde(default)]
    pub started_at_ms: f64,
    #[serde(default)]
    pub ended_at_ms: f64,
    /// What the writers saw while the step ran (`--load`).
    #[serde(default)]
    pub stalls: Option<super::load::StepStalls>,
}

/// Relations of the database before the plan: oid → (schema.name, relfilenode).
async fn existing(client: &Client) -> Result<HashMap<u32, (String, u32)>> {
    let rows = client
        .query(
            "SELECT c.oid, format('%s.%s', n.nspname, c.relname), c.relfilenode \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'",
            &[],
        )
        .await
        .map_err(|e| Error::new(ErrorKind::ImpactCatalog, format!("reading pg_class: {e}")))?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, u32>(0), (r.get(1), r.get::<_, u32>(2))))
        .collect())
}

async fn own_locks(client: &Client) -> Result<Vec<(u32, String)>> {
    let rows = client
        .query(
            "SELECT relation, mode FROM pg_locks \
             WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted",
            &[],
        )
        .await
        .map_err(|e| Error::new(ErrorKind::ImpactLocks, format!("reading pg_locks: {e}")))?;
    Ok(rows
        .iter()
        .filter_map(|r| Some((r.get::<_, Option<u32>>(0)?, r.get(1))))
        .collect())
}

async fn seq_scans(client: &Client) -> Result<HashMap<u32, (i64, i64)>> {
    let rows = client
        .query(
            "SELECT relid, seq_scan, coalesce(seq_tup_read, 0) FROM pg_stat_xact_user_tables",
            &[],
        )
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::ImpactStats,
                format!("reading pg_stat_xact_user_tables: {e}"),
            )
        })?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, u32>(0), (r.get(1), r.get(2))))
        .collect())
}

async fn filenodes(client: &Client, oids: &[u32]) -> Result<HashMap<u32, u32>> {
    let rows = client
        .query(
            "SELECT oid, relfilenode FROM pg_class WHERE oid = ANY($1)",
            &[&oids],
        )
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::ImpactCatalog,
                format!("reading relfilenodes: {e}"),
            )
        })?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn head(sql: &str) -> String {
    let first = sql.trim().lines().next().unwrap_or("").trim();
    let mut h: String = first.chars().take(100).collect();
    if first.chars().count() > 100 || sql.trim().lines().count() > 1 {
        h.push('…');
    }
    h
}

/// The database as the plan found it: relations (oid → name, relfilenode) and catalog objects.
struct Before {
    relations: HashMap<u32, (String, u32)>,
    objects: HashMap<(u32, u32), (bool, String)>,
}

/// Run one script statement by statement in one transaction and profile it.
async fn profile_script(
    client: &Client,
    epoch: Instant,
    start_state: &Before,
    step: &str,
    phase: Phase,
    file: &str,
    text: &str,
) -> Result<StepProfile> {
    let (before, plan_objects) = (&start_state.relations, &start_state.objects);
    let oids: Vec<u32> = before.keys().copied().collect();
    let start = Instant::now();
    let since = |t: Instant| t.duration_since(epoch).as_secs_f64() * 1000.0;
    let ms = |t: Instant| t.duration_since(start).as_secs_f64() * 1000.0;
    // As the runner runs a step: one transaction with its timeouts (`migrate::Limits`).
    let limits = crate::migrate::Limits::default();
    client
        .batch_execute(&format!(
            "BEGIN; SET LOCAL lock_timeout = '{}ms'; SET LOCAL statement_timeout = '{}ms'",
            limits.lock_timeout_ms, limits.statement_timeout_ms
        ))
        .await
        .map_err(|e| Error::new(ErrorKind::ImpactBegin, e.to_string()))?;
    let mut seen: HashMap<u32, LockMode> = HashMap::new();
    let mut holds: BTreeMap<u32, LockHold> = BTreeMap::new();
    let mut rewritten: std::collections::HashSet<u32> = Default::default();
    let mut scans = seq_scans(client).await?;
    // The objects as the step found them, and those its statements have already reported.
    let mut objs = objects(client).await?;
    let mut reported: std::collections::HashSet<(u32, u32)> = Default::default();
    let mut out = StepProfile {
        step: step.to_string(),
        phase,
        file: file.to_string(),
        duration_ms: 0.0,
        statements: Vec::new(),
        holds: Vec::new(),
        error: None,
        started_at_ms: since(start),
        ended_at_ms: 0.0,
        stalls: None,
    };
    for st in statements(text) {
        let t = Instant::now();
        let res = client.batch_execute(&st.sql).await;
        let end = Instant::now();
        if let Err(e) = res {
            out.error = Some(format!("{file}:{}: {e}", st.line));
            let _ = client.batch_execute("ROLLBACK").await;
            let now = Instant::now();
            out.duration_ms = ms(now);
            out.ended_at_ms = since(now);
            return Ok(out);
        }
        let mut p = StatementProfile {
            line: st.line,
            head: head(&st.sql),
            duration_ms: end.duration_since(t).as_secs_f64() * 1000.0,
            ended_ms: ms(end),
            locks: Vec::new(),
            rewrites: Vec::new(),
            seq_scans: Vec::new(),
            objects: Vec::new(),
        };
        // Strongest mode per pre-existing relation held now.
        let mut now: HashMap<u32, LockMode> = HashMap::new();
        for (oid, mode) in own_locks(client).await? {
            let (Some(_), Ok(m)) = (before.get(&oid), mode.parse::<LockMode>()) else {
                continue;
            };
            let e = now.entry(oid).or_insert(m);
            *e = (*e).max(m);
        }
        for (oid, m) in now {
            if seen.get(&oid).is_none_or(|&old| m > old) {
                seen.insert(oid, m);
                let relation = before[&oid].0.clone();
                p.locks.push(LockTaken {
                    relation: relation.clone(),
                    mode: m,
                });
                let acquired = holds.get(&oid).map_or(p.ended_ms, |h| h.acquired_ms);
                holds.insert(
                    oid,
                    LockHold {
                        relation,
                        mode: m,
                        by: format!("{file}:{}", st.line),
                        acquired_ms: acquired,
                        held_ms: 0.0,
                    },
                );
            }
        }
        p.locks.sort_by(|a, b| a.relation.cmp(&b.relation));
        for (oid, node) in filenodes(client, &oids).await? {
            if before.get(&oid).is_some_and(|(_, n)| *n != node) && rewritten.insert(oid) {
                p.rewrites.push(before[&oid].0.clone());
            }
        }
        p.rewrites.sort();
        let after = seq_scans(client).await?;
        for (oid, (n, tup)) in &after {
            let (n0, t0) = scans.get(oid).copied().unwrap_or((0, 0));
            if *n > n0 {
                if let Some((name, _)) = before.get(oid) {
                    p.seq_scans.push((name.clone(), tup - t0));
                }
            }
        }
        p.seq_scans.sort();
        scans = after;
        let now_objs = objects(client).await?;
        for (key, (mine, name)) in &now_objs {
            if *mine && reported.insert(*key) {
                let existed = plan_objects.contains_key(key);
                p.objects.push(ObjectChange {
                    change: if existed {
                        Change::Altered
                    } else {
                        Change::Created
                    },
                    object: name.clone(),
                });
            }
        }
        for (key, (_, name)) in &objs {
            if !now_objs.contains_key(key) {
                p.objects.push(ObjectChange {
                    change: Change::Dropped,
                    object: name.clone(),
                });
            }
        }
        p.objects.sort();
        objs = now_objs;
        out.statements.push(p);
    }
    client
        .batch_execute("COMMIT")
        .await
        .map_err(|e| Error::new(ErrorKind::ImpactCommit, format!("{file}: COMMIT: {e}")))?;
    let now = Instant::now();
    let committed = ms(now);
    out.duration_ms = committed;
    out.ended_at_ms = since(now);
    out.holds = holds
        .into_values()
        .map(|mut h| {
            h.held_ms = committed - h.acquired_ms;
            h
        })
        .collect();
    Ok(out)
}

/// Deploy every step, then revert them in reverse order, each profiled; stops at the first
/// step that fails (its error is in its profile).
pub async fn profile_plan(
    client: &Client,
    plan: &Plan,
    epoch: Instant,
) -> Result<Vec<StepProfile>> {
    let before = Before {
        relations: existing(client).await?,
        objects: objects(client).await?,
    };
    let scripts = super::lint::scripts(plan);
    let mut out = Vec::new();
    for (i, s) in plan.steps.iter().enumerate() {
        let p = profile_script(
            client,
            epoch,
            &before,
            &s.name,
            Phase::Deploy,
            &scripts[2 * i].0,
            &s.deploy,
        )
        .await?;
        let failed = p.error.is_some();
        out.push(p);
        if failed {
            return Ok(out);
        }
    }
    for (i, s) in plan.steps.iter().enumerate().rev() {
        let p = profile_script(
            client,
            epoch,
            &before,
            &s.name,
            Phase::Revert,
            &scripts[2 * i + 1].0,
            &s.revert,
        )
        .await?;
        let failed = p.error.is_some();
        out.push(p);
        if failed {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_into_statements_with_their_lines() {
        let sql = "-- c\nCREATE TABLE a (x int);\n\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1; -- ;\nEND $$;\nSELECT ';';\n";
        let s = statements(sql);
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!(s[0].line, 2);
        assert_eq!(s[1].line, 4);
        assert!(s[1].sql.contains("RETURN 1;"));
        assert_eq!(s[2].line, 8);
        assert_eq!(head("SELECT 1\nFROM t"), "SELECT 1…");
    }
}

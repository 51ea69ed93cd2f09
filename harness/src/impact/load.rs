//! Directus-like traffic while the profile runs: writers updating one row at a time of every
//! existing table the plan's scripts name, at a steady rate, each write's start and latency
//! kept, so each step's stalls can be told (a write waits when a step holds a lock it conflicts
//! with).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, ErrorKind, Result};
use crate::migrate::Plan;

/// One write: which writer, which table, when it started (ms after the profile's epoch), how
/// long it took, and whether it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub writer: usize,
    pub table: String,
    /// A Directus-like read or write.
    #[serde(default)]
    pub access: Access,
    pub start_ms: f64,
    pub latency_ms: f64,
    pub error: Option<String>,
}

/// What a session of the load does to a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Access {
    /// A page of rows (`SELECT * … LIMIT 20`): waits only behind ACCESS EXCLUSIVE.
    Read,
    /// A no-op update of one row: waits behind SHARE and stronger.
    #[default]
    Write,
}

/// One statement of the load on one table.
#[derive(Debug, Clone)]
pub struct Target {
    pub table: String,
    pub access: Access,
    pub sql: String,
}

use crate::fingerprint::quote_ident as quote;

/// The existing tables the plan's scripts name (outside its own schema), each with a read (a
/// page of rows, ACCESS SHARE, as Directus lists items) and the no-op update a writer runs on
/// it: one row's first column set to itself (a row lock and ROW EXCLUSIVE on the table, as any
/// Directus write takes).
pub async fn targets(client: &Client, plan: &Plan) -> Result<Vec<Target>> {
    let mut out = Vec::new();
    for (schema, table) in crate::migrate::named_relations(plan) {
        let row = client
            .query_opt(
                "SELECT a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_attribute a ON a.attrelid = c.oid \
                 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') \
                   AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' \
                 ORDER BY a.attnum LIMIT 1",
                &[&schema, &table],
            )
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::ImpactLoad,
                    format!("reading {schema}.{table}: {e}"),
                )
            })?;
        if let Some(r) = row {
            let col: String = r.get(0);
            let t = format!("{}.{}", quote(&schema), quote(&table));
            out.push(Target {
                table: format!("{schema}.{table}"),
                access: Access::Write,
                sql: format!(
                    "UPDATE {t} SET {c} = {c} WHERE ctid = (SELECT ctid FROM {t} LIMIT 1)",
                    c = quote(&col)
                ),
            });
            out.push(Target {
                table: format!("{schema}.{table}"),
                access: Access::Read,
                sql: format!("SELECT * FROM {t} LIMIT 20"),
            });
        }
    }
    Ok(out)
}

/// Running writers; [`Load::stop`] ends them and returns every sample.
pub struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// `writers` sessions, each cycling over `targets` at `rate` statements per second (together),
    /// timed from `epoch`.
    pub async fn start(
        config: &Config,
        targets: Vec<Target>,
        writers: usize,
        rate: f64,
        epoch: Instant,
    ) -> Result<Load> {
        let stop = Arc::new(AtomicBool::new(false));
        let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
        let mut tasks = Vec::new();
        if targets.is_empty() || rate <= 0.0 {
            return Ok(Load {
                stop,
                samples,
                tasks,
            });
        }
        let period = Duration::from_secs_f64(writers as f64 / rate);
        for w in 0..writers {
            let (client, conn) = config.connect(NoTls).await.map_err(|e| {
                Error::new(
                    ErrorKind::ImpactLoadConnection,
                    format!("writer connection: {e}"),
                )
            })?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            client
                .batch_execute(
                    "SET statement_timeout = '60s'; SET application_name = 'dryrun-impact-writer'",
                )
                .await
                .map_err(|e| Error::new(ErrorKind::ImpactLoadConnection, e.to_string()))?;
            // Sessions take turns: even ones write, odd ones read (a Directus has both at once).
            let mine = if w % 2 == 0 {
                Access::Write
            } else {
                Access::Read
            };
            let own: Vec<Target> = targets
                .iter()
                .filter(|t| t.access == mine)
                .cloned()
                .collect();
            let targets = if own.is_empty() { targets.clone() } else { own };
            let (stop, samples) = (stop.clone(), samples.clone());
            tasks.push(tokio::spawn(async move {
                let mut k = w;
                let mut next = Instant::now();
                while !stop.load(Ordering::SeqCst) {
                    let target = &targets[k % targets.len()];
                    k += 1;
                    let t0 = Instant::now();
                    let r = client.batch_execute(&target.sql).await;
                    let t1 = Instant::now();
                    if let Ok(mut s) = samples.lock() {
                        s.push(Sample {
                            writer: w,
                            table: target.table.clone(),
                            access: target.access,
                            start_ms: t0.duration_since(epoch).as_secs_f64() * 1000.0,
                            latency_ms: t1.duration_since(t0).as_secs_f64() * 1000.0,
                            error: r.err().map(|e| e.to_string()),
                        });
                    }
                    next += period;
                    let now = Instant::now();
                    if next > now {
                        tokio::time::sleep(next - now).await;
                    } else {
                        next = now;
                    }
                }
            }));
        }
        Ok(Load {
            stop,
            samples,
            tasks,
        })
    }

    /// Stop the writers (each finishes its write in flight) and return the samples.
    pub async fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(90), t).await;
        }
        let mut s = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        s.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
        s
    }
}

/// What the writers saw during one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepStalls {
    /// Statements of the load (reads and writes) whose time overlaps the step.
    pub writes: usize,
    /// Of them, reads.
    #[serde(default)]
    pub reads: usize,
    /// Writes that took longer than [`BLOCKED_MS`].
    pub blocked: usize,
    pub longest_ms: f64,
    /// The table of the longest one, and whether it was a read or a write.
    pub longest_table: Option<String>,
    #[serde(default)]
    pub longest_access: Access,
    pub failed: usize,
}

/// A write slower than this counts as blocked (an idle update takes about a millisecond).
pub const BLOCKED_MS: f64 = 100.0;

/// The writes whose time overlaps `[from, to]` (ms after the epoch).
pub fn stalls(samples: &[Sample], from: f64, to: f64) -> StepStalls {
    let during: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.start_ms <= to && s.start_ms + s.latency_ms >= from)
        .collect();
    let longest = during
        .iter()
        .max_by(|a, b| a.latency_ms.total_cmp(&b.latency_ms));
    StepStalls {
        writes: during.len(),
        reads: during.iter().filter(|s| s.access == Access::Read).count(),
        blocked: during.iter().filter(|s| s.latency_ms > BLOCKED_MS).count(),
        longest_ms: longest.map_or(0.0, |s| s.latency_ms),
        longest_table: longest.map(|s| s.table.clone()),
        longest_access: longest.map_or(Access::Write, |s| s.access),
        failed: during.iter().filter(|s| s.error.is_some()).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(start: f64, latency: f64, table: &str) -> Sample {
        Sample {
            writer: 0,
            table: table.into(),
            access: Access::Write,
            start_ms: start,
            latency_ms: latency,
            error: None,
        }
    }

    #[test]
    fn a_step_sees_the_writes_that_overlap_it() {
        let samples = vec![
            s(0.0, 1.0, "a"),
            s(10.0, 1200.0, "b"),
            s(50.0, 2.0, "a"),
            s(2000.0, 1.0, "a"),
        ];
        let st = stalls(&samples, 20.0, 1500.0);
        assert_eq!(st.writes, 2);
        assert_eq!(st.blocked, 1);
        assert_eq!(st.longest_ms, 1200.0);
        assert_eq!(st.longest_table.as_deref(), Some("b"));
        assert_eq!(stalls(&samples, 3000.0, 4000.0).writes, 0);
    }
}

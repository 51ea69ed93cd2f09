//! The verified restore test (HB-08): checksum before any container exists, streamed upload,
//! `pg_restore`, triage of its errors (known-benign vs fatal), smoke test against the snapshot.

use std::path::{Path, PathBuf};
use std::time::Instant;

use bollard::Docker;
use serde::Serialize;

use crate::checks::{CheckResult, Checks, ChecksChoice};
use crate::checksum::{self, SumsCheck, Verified};
use crate::container::{psql_script, PgContainer, PgSpec, DB_NAME, DB_USER};
use crate::docker::RunIdentity;
use crate::dumpinfo::{self, DumpInfo};
use crate::error::{Error, Result};
use crate::rowcounts::{
    compare_observed, exact_counts_script, observe_script, CountDiff, CountKind, Observed,
    RowCounts,
};

/// Where the dump is placed inside the container.
pub const DUMP_IN_CONTAINER: &str = "/tmp/restore.dump";

/// Server settings for a throwaway restore target (durability off: the data can be remade).
/// `wal_level` stays `replica` so that the baseline can be copied with `pg_basebackup`.
pub fn fast_settings() -> Vec<(String, String)> {
    [
        ("fsync", "off"),
        ("full_page_writes", "off"),
        ("synchronous_commit", "off"),
        ("maintenance_work_mem", "256MB"),
        ("max_wal_size", "4GB"),
        ("checkpoint_timeout", "30min"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

/// One error printed by pg_restore, and the judgement on it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RestoreMessage {
    pub benign: bool,
    /// `missing_role` for the known-benign case, else `restore_error`.
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RestoreOutcome {
    pub exit_code: i64,
    pub jobs: u32,
    /// pg_restore's own count (`errors ignored on restore: N`).
    pub errors_ignored: Option<u32>,
    pub messages: Vec<RestoreMessage>,
    /// What the messages account for of pg_restore's count: the messages, plus one for each
    /// item a parallel worker restored with errors (see [`triage`]).
    pub errors_accounted: u32,
    /// Why pg_restore's count differs from the number of messages, or what is left over.
    pub count_note: Option<String>,
    pub passed: bool,
}

/// Split pg_restore's stderr into error entries and judge each: a role named in the dump but
/// missing on the server is the one known-benign error; anything else fails.
///
/// Every error must be accounted for by pg_restore's own count. With `-j 1` each message counts
/// once. With `-j N > 1` the leader adds the errors a worker reports for an item
/// (`parseWorkerResponse`, `parallel.c`) and then one more for that item because its status is
/// "ignored errors" (`mark_restore_job_done`, `pg_backup_archiver.c`), so an item a worker
/// restored with k errors counts k + 1 (the fixture's one `workflow_admin` policy error counts 2
/// under `-j 2`, 1 under `-j 1`); items the leader restores itself count k. So the count minus
/// the messages is the number of worker items with errors: between 0 and one per message. (A
/// `-v` log would name each error's item, but its leader prints a line per item, and pg_restore
/// writes a message's prefix, level and text in separate writes, so a worker's error can be cut
/// in two by a leader line: seen once in a parallel test run.) A count outside what the
/// messages account for fails.
pub fn triage(exit_code: i64, stderr: &str, jobs: u32) -> RestoreOutcome {
    let mut messages: Vec<RestoreMessage> = Vec::new();
    let mut errors_ignored = None;
    let mut current: Option<String> = None;
    let flush = |cur: &mut Option<String>, msgs: &mut Vec<RestoreMessage>| {
        if let Some(m) = cur.take() {
            let benign = (m.contains("role \"") && m.contains("\" does not exist"))
                || crate::fault::sabotaged!("triage_all_benign");
            msgs.push(RestoreMessage {
                benign,
                kind: if benign {
                    "missing_role".into()
                } else {
                    "restore_error".into()
                },
                message: m.trim().to_string(),
            });
        }
    };
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("pg_restore: error: ") {
            flush(&mut current, &mut messages);
            current = Some(rest.to_string());
        } else if let Some(rest) =
            line.strip_prefix("pg_restore: warning: errors ignored on restore: ")
        {
            flush(&mut current, &mut messages);
            errors_ignored = rest.trim().parse().ok();
        } else if line.starts_with("pg_restore: ") {
            flush(&mut current, &mut messages);
        } else if let Some(c) = current.as_mut() {
            c.push('\n');
            c.push_str(line);
        }
    }
    flush(&mut current, &mut messages);
    let m = messages.len() as u32;
    // With -j 1 each message counts once; in parallel, between none and one extra per message.
    let (lo, hi) = if jobs > 1 { (m, 2 * m) } else { (m, m) };
    let counted_ok = errors_ignored.is_some_and(|n| (lo..=hi).contains(&n));
    let errors_accounted = match errors_ignored {
        Some(n) if counted_ok => n,
        Some(n) if n > hi => hi,
        _ => lo,
    };
    let count_note = match errors_ignored {
        Some(n) if counted_ok && n != m => Some(format!(
            "pg_restore counted {n} ignored errors for {m} message(s): with -j {jobs} each item a parallel worker restores with errors counts once more (the worker reports its errors, then the leader adds one for the item: mark_restore_job_done in pg_backup_archiver.c), so {} of these messages' items were restored by a worker. With -j 1 the count equals the messages.",
            n - m
        )),
        Some(n) if !counted_ok => Some(format!(
            "pg_restore counted {n} ignored errors, but its {m} message(s) account for {}: {} error(s) unaccounted for",
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo} to {hi} with -j {jobs}")
            },
            if n > hi { n - hi } else { lo - n }
        )),
        _ => None,
    };
    let all_benign = messages.iter().all(|m| m.benign);
    // pg_restore prints the count whenever it ignored an error; messages without it mean the
    // run stopped on one (or the log is not pg_restore's): never a pass.
    let passed = (exit_code == 0 && messages.is_empty())
        || (exit_code == 1 && !messages.is_empty() && all_benign && counted_ok);
    RestoreOutcome {
        exit_code,
        jobs: jobs.max(1),
        errors_ignored,
        messages,
        errors_accounted,
        count_note,
        passed,
    }
}

/// Upload the dump and run pg_restore into the container's database.
pub async fn restore_into(
    pg: &PgContainer,
    dump: &Path,
    jobs: u32,
) -> Result<(RestoreOutcome, u128, u128)> {
    let t = Instant::now();
    pg.upload_file(dump, "/tmp", "restore.dump").await?;
    let upload_ms = t.elapsed().as_millis();
    crate::fault::hit("restore").await;
    let t = Instant::now();
    let jobs_s = jobs.max(1).to_string();
    let size = std::fs::metadata(dump).map(|m| m.len()).unwrap_or(0);
    let name = dump
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let bar = crate::progress::busy(&format!("pg_restore -j {jobs_s} {name}"), size);
    let out = pg
        .exec(
            &[
                "pg_restore",
                "-U",
                DB_USER,
                "-d",
                DB_NAME,
                "--no-owner",
                "--no-privileges",
                "--clean",
                "--if-exists",
                "-j",
                &jobs_s,
                DUMP_IN_CONTAINER,
            ],
            false,
        )
        .await?;
    bar.finish_and_clear();
    let restore_ms = t.elapsed().as_millis();
    let _ = pg.exec(&["rm", "-f", DUMP_IN_CONTAINER], true).await;
    Ok((
        triage(out.exit_code, &out.stderr, jobs),
        upload_ms,
        restore_ms,
    ))
}

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

/// Run one read-only query (psql -tA, `|`-separated; the session is read-only).
async fn psql_query(pg: &PgContainer, sql: &str) -> Result<String> {
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
                "-tA",
                "-F",
                "|",
                "-c",
                sql,
            ],
            &["PGOPTIONS=-c default_transaction_read_only=on".to_string()],
            None::<tokio::fs::File>,
            &mut out,
        )
        .await?;
    if code != 0 {
        return Err(Error::check(
            "smoke_query_failed",
            format!("smoke query failed: {}", err.trim()),
        ));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

async fn psql_stdin(pg: &PgContainer, script: String) -> Result<String> {
    let input = std::io::Cursor::new(script.into_bytes());
    let mut out = Vec::new();
    let (code, err) = pg
        .exec_io(
            &psql_script(DB_USER, DB_NAME, &["-tA", "-F", "|"]),
            &[],
            Some(input),
            &mut out,
        )
        .await?;
    if code != 0 {
        return Err(Error::check(
            "smoke_query_failed",
            format!("row counts failed: {}", err.trim()),
        ));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Exact counts of every table in the container's database (read-only session).
pub async fn exact_counts(pg: &PgContainer) -> Result<RowCounts> {
    RowCounts::from_psql_output(&psql_stdin(pg, exact_counts_script()).await?)
}

/// Exact counts of every table, partitioned table (with its own rows) and materialized view.
pub async fn observe(pg: &PgContainer) -> Result<Observed> {
    Observed::from_psql_output(&psql_stdin(pg, observe_script()).await?)
}

fn rows_of(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
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
            dot_pair = rows_of(&text)
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
            Ok(t) => (rows_of(&t), None),
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

fn opt_s(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

#[derive(Debug, Clone)]
pub struct RestoreTestOptions {
    pub dump: PathBuf,
    pub sums: PathBuf,
    pub rowcounts: Option<PathBuf>,
    /// Content-hash file to prove the restored rows with ([`resolve_content`]).
    pub content: Option<PathBuf>,
    pub image: Option<String>,
    /// Keep the container afterwards (`--keep`: labelled kept, no published port).
    pub keep: bool,
    /// Keep it this way instead (a persistent environment: its name, labels and a port).
    pub keep_as: Option<KeepAs>,
    pub jobs: u32,
    pub durable: bool,
    /// Role label of the container (scenarios use their own to count what they created).
    pub role: String,
    /// The smoke checks (default: the bundled HB-08 file).
    pub checks: ChecksChoice,
}

/// How the container of a restore test outlives it.
#[derive(Debug, Clone, Default)]
pub struct KeepAs {
    /// Container name (its volume is `<name>-data`); else the generated one.
    pub name: Option<String>,
    /// Labels marking it, on the container and its volume from their creation on.
    pub labels: Vec<(String, String)>,
    /// Publish 5432 on 127.0.0.1 (random port) so that a later command can connect.
    pub publish: bool,
    /// Keep it only if the verdict is pass (an environment); `--keep` keeps a failed one too.
    pub only_if_passed: bool,
}

impl KeepAs {
    /// What `--keep` means: the generated name, the kept label, no published port.
    pub fn kept() -> KeepAs {
        KeepAs {
            labels: vec![(crate::docker::LABEL_KEPT.to_string(), "true".to_string())],
            ..KeepAs::default()
        }
    }
}

/// The container a restore test kept, and how to use and remove it.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    /// A persistent environment (`dryrun env up`) rather than a `--keep` container.
    pub persistent: bool,
    pub container: String,
    pub volume: String,
    pub connect: String,
    pub remove: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Timings {
    pub verify_ms: u128,
    pub provision_ms: u128,
    pub upload_ms: u128,
    pub restore_ms: u128,
    pub smoke_ms: u128,
    pub teardown_ms: u128,
    pub total_ms: u128,
}

/// The stage of a provisioned restore test at which a failure stopped it (its report's
/// `stopped_at`, and what a scenario's `restore_test` may expect).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    serde::Deserialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Stage {
    /// `pg_restore` reported an error triage did not find benign.
    Restore,
    /// The smoke test (table set, counts, key tables, checks' queries) failed.
    Smoke,
    /// The restored content differs from the backup's content hashes.
    Content,
}

impl Stage {
    /// Its name in reports and scenario files (`restore`, `smoke`, `content`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Everything a restore test observed. `verdict` is `pass` or `fail`; `stopped_at` names
/// the stage where a failure stopped the run.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreTestReport {
    pub verdict: String,
    pub stopped_at: Option<Stage>,
    pub reason: Option<String>,
    pub dump: DumpInfo,
    pub verified: Vec<Verified>,
    /// Every entry of the sums file with its verdict.
    pub checksums: SumsCheck,
    pub checks: Checks,
    pub image: String,
    pub image_id: String,
    pub server_version: String,
    pub settings: Vec<(String, String)>,
    pub restore: Option<RestoreOutcome>,
    pub smoke: Option<SmokeOutcome>,
    /// Content proof, when the backup set has content hashes ([`content_proof`]).
    pub content: Option<ContentProof>,
    pub notes: Vec<String>,
    pub kept: Option<Kept>,
    pub run_id: String,
    pub timings: Timings,
    /// Test hooks active in the process that wrote it (`fault::active_hooks`); not empty means
    /// the report is no evidence for HB-08.
    pub test_hooks: Vec<String>,
}

/// Inputs that passed [`preflight_inputs`]: dump header, every listed file's verdict, the
/// parsed snapshot, the loaded checks and the notes so far.
#[derive(Debug, Clone)]
pub struct VerifiedInputs {
    pub info: DumpInfo,
    pub sums: SumsCheck,
    pub counts: Option<RowCounts>,
    pub checks: Checks,
    pub toc: dumpinfo::Toc,
    pub notes: Vec<String>,
}

/// Verify inputs before anything is provisioned, in this order: the sums file, every listed
/// file's checksum (dump, snapshot, the others present in the sums file's folder), the dump
/// header, the snapshot's format, the checks file, and the dump's table of contents against
/// what the checks need.
pub fn preflight_inputs(o: &RestoreTestOptions) -> Result<VerifiedInputs> {
    let entries = checksum::parse_sums(&o.sums)?;
    let sums = checksum::verify_set(&o.sums, &entries, &o.dump, o.rowcounts.as_deref())?;
    resolve_content(o)?;
    let info = dumpinfo::inspect(&o.dump)?;
    let counts = match &o.rowcounts {
        Some(p) => Some(RowCounts::parse_file(p)?),
        None => None,
    };
    let checks = Checks::load(&o.checks)?;
    let toc = dumpinfo::read_toc(&o.dump)?;
    let missing = crate::checks::missing(&toc, &checks.needs());
    if !missing.is_empty() {
        return Err(crate::checks::refuse_missing(
            &o.dump,
            &format!("the checks in {}", checks.source),
            &missing,
            "Pass `--checks counts` for the generic checks only (checksums, clean restore, the table set and every table's count against the snapshot), or `--checks FILE` with checks written for this database (see checks/hb08.yaml).",
        ));
    }
    let mut notes = sums.notes.clone();
    if let Some((p, c)) = o.rowcounts.as_ref().zip(counts.as_ref()) {
        if !c.kind_stated {
            notes.push(crate::rowcounts::headerless_note(p));
        }
    }
    Ok(VerifiedInputs {
        info,
        sums,
        counts,
        checks,
        toc,
        notes,
    })
}

/// The whole restore test. Bad input and environment problems are errors; a failed restore
/// or smoke test is a report with verdict `fail`.
pub async fn restore_test(
    docker: &Docker,
    run: &RunIdentity,
    o: &RestoreTestOptions,
) -> Result<RestoreTestReport> {
    let t = Instant::now();
    let inputs = preflight_inputs(o)?;
    restore_test_verified(docker, run, o, inputs, t).await
}

/// [`restore_test`] for inputs already verified (the dump is hashed once); `started` is when
/// verification began, so the report's timings include it.
pub async fn restore_test_verified(
    docker: &Docker,
    run: &RunIdentity,
    o: &RestoreTestOptions,
    inputs: VerifiedInputs,
    started: Instant,
) -> Result<RestoreTestReport> {
    let total = started;
    let mut timings = Timings::default();
    let VerifiedInputs {
        info,
        sums,
        counts: expected,
        checks,
        notes,
        ..
    } = inputs;
    let verified = sums.verified();
    let content = resolve_content(o)?;
    timings.verify_ms = started.elapsed().as_millis();
    let image = crate::image::resolve(docker, o.image.as_deref()).await?;
    let t = Instant::now();
    let keep_as = match (&o.keep_as, o.keep) {
        (Some(k), _) => Some(k.clone()),
        (None, true) => Some(KeepAs::kept()),
        (None, false) => None,
    };
    let mut spec = PgSpec::new(&image.reference, &o.role);
    spec.publish = keep_as.as_ref().is_some_and(|k| k.publish);
    if let Some(k) = &keep_as {
        spec.name = k.name.clone();
        spec.labels = k.labels.clone();
    }
    if !o.durable {
        spec.settings = fast_settings();
    }
    let pg = PgContainer::start(docker, run, &spec).await?;
    timings.provision_ms = t.elapsed().as_millis();
    let server_version = pg
        .exec(
            &[
                "psql",
                "-X",
                "-U",
                DB_USER,
                "-d",
                DB_NAME,
                "-tAc",
                "SHOW server_version",
            ],
            true,
        )
        .await
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut report = RestoreTestReport {
        verdict: "fail".into(),
        stopped_at: None,
        reason: None,
        dump: info,
        verified,
        checksums: sums,
        checks: checks.clone(),
        image: image.reference.clone(),
        image_id: image.id.clone(),
        server_version,
        settings: spec.settings.clone(),
        restore: None,
        smoke: None,
        content: None,
        notes,
        kept: None,
        run_id: run.run_id.clone(),
        timings: Timings::default(),
        test_hooks: crate::fault::active_hooks(),
    };
    let (ro, up, rs) = restore_into(&pg, &o.dump, o.jobs).await?;
    timings.upload_ms = up;
    timings.restore_ms = rs;
    for m in ro.messages.iter().filter(|m| m.benign) {
        report.notes.push(format!(
            "known-benign restore error ({}): {}",
            m.kind,
            first_line(&m.message)
        ));
    }
    let restored_ok = ro.passed;
    if !restored_ok {
        let fatal: Vec<String> = ro
            .messages
            .iter()
            .filter(|m| !m.benign)
            .map(|m| first_line(&m.message))
            .collect();
        report.stopped_at = Some(Stage::Restore);
        report.reason = Some(
            if fatal.is_empty() && ro.exit_code == 1 && !ro.messages.is_empty() {
                // Every message is benign, but pg_restore's count holds errors nobody saw.
                format!(
                    "pg_restore exited 1 and its error count is not accounted for: {}",
                    ro.count_note
                        .as_deref()
                        .unwrap_or("it printed no count of ignored errors")
                )
            } else {
                format!(
                    "pg_restore exited {} with {} error(s) that are not known-benign: {}",
                    ro.exit_code,
                    fatal.len(),
                    if fatal.is_empty() {
                        "(no error message; see exit code)".to_string()
                    } else {
                        fatal.join("; ")
                    }
                )
            },
        );
    } else if let Some(n) = &ro.count_note {
        report.notes.push(n.clone());
    }
    report.restore = Some(ro);
    if restored_ok {
        let t = Instant::now();
        let sm = smoke(&pg, expected.as_ref(), &checks).await?;
        // The content proof of the restored tables (issue 10 item 4) plugs in here:
        // `sm.push_check(CheckResult { check: "content", .. })` before the verdict is taken.
        timings.smoke_ms = t.elapsed().as_millis();
        report.notes.extend(sm.notes.iter().cloned());
        if let (Some(CountKind::Estimate), Some(true)) =
            (sm.count_kind, expected.as_ref().map(|e| e.kind_stated))
        {
            report.notes.push(format!(
                "row-count snapshot holds n_live_tup estimates: they prove the table set; a count outside max({}, {}%) is a note, never a failure",
                crate::rowcounts::ESTIMATE_TOLERANCE_ABS,
                (crate::rowcounts::ESTIMATE_TOLERANCE_REL * 100.0) as i64
            ));
        }
        if sm.passed {
            report.verdict = "pass".into();
        } else {
            report.stopped_at = Some(Stage::Smoke);
            report.reason = Some(format!("smoke test failed: {}", sm.failures().join("; ")));
        }
        report.smoke = Some(sm);
    }
    if restored_ok {
        if let Some((path, file, note)) = content {
            report.notes.extend(note);
            let proof = content_proof(&pg, &path, &file).await?;
            if !proof.passed {
                let why = format!(
                    "content differs from the backup: {}",
                    proof.differing.join("; ")
                );
                if report.verdict == "pass" {
                    report.stopped_at = Some(Stage::Content);
                    report.reason = Some(why);
                } else {
                    report.reason = Some(format!(
                        "{}; {why}",
                        report.reason.take().unwrap_or_default()
                    ));
                }
                report.verdict = "fail".into();
            }
            report.content = Some(proof);
        }
    }
    let t = Instant::now();
    let keep = keep_as
        .as_ref()
        .is_some_and(|k| !k.only_if_passed || report.verdict == "pass");
    if keep {
        let persistent = keep_as.as_ref().is_some_and(|k| {
            k.labels
                .iter()
                .any(|(l, v)| l == crate::docker::LABEL_PERSISTENT && v == "true")
        });
        let (container, volume) = pg.keep();
        report.kept = Some(Kept {
            persistent,
            connect: format!("docker exec -it {container} psql -U {DB_USER} -d {DB_NAME}"),
            remove: if persistent {
                format!("dryrun env down {container}")
            } else {
                format!("docker rm -f -v {container} && docker volume rm {volume}")
            },
            container,
            volume,
        });
    } else {
        pg.remove().await?;
    }
    timings.teardown_ms = t.elapsed().as_millis();
    timings.total_ms = total.elapsed().as_millis();
    report.timings = timings;
    Ok(report)
}

/// The content proof of a restore (HB-08 "unchanged rows"): every table's row count and
/// content hash in the restored database against the backup's content-hash file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContentProof {
    /// The content-hash file compared with.
    pub file: String,
    pub tables_expected: usize,
    pub tables_identical: usize,
    /// One line per table that differs, is missing or was not in the backup.
    pub differing: Vec<String>,
    pub passed: bool,
    pub ms: u128,
}

/// The content-hash file of this restore test and its checksum verdict: `--content`, else the
/// `*_content_<stamp>.json` next to the dump when SHA256SUMS lists it. A listed file must
/// match its digest (`checksum_mismatch`); an explicit file that is not listed is used with a
/// note.
pub fn resolve_content(
    o: &RestoreTestOptions,
) -> Result<Option<(PathBuf, crate::fingerprint::ContentFile, Option<String>)>> {
    let entries = checksum::parse_sums(&o.sums)?;
    let listed = |p: &Path| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        entries.iter().any(|e| e.name == name)
    };
    let path = match &o.content {
        Some(p) => p.clone(),
        None => {
            let dir = o.dump.parent().unwrap_or(Path::new("."));
            let name = o
                .dump
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let derived = name
                .strip_suffix(".dump")
                .and_then(|stem| stem.split_once("_full_"))
                .map(|(prefix, stamp)| dir.join(format!("{prefix}_content_{stamp}.json")));
            match derived {
                Some(p) if p.is_file() && listed(&p) => p,
                _ => return Ok(None),
            }
        }
    };
    let note = if listed(&path) {
        checksum::verify_listed(&path, &o.sums, &entries)?;
        None
    } else {
        Some(format!(
            "content-hash file {} is not listed in {}: used, but its checksum was not verified",
            path.display(),
            o.sums.display()
        ))
    };
    let file = crate::fingerprint::ContentFile::read(&path)?;
    Ok(Some((path, file, note)))
}

/// Hash every table of the restored database inside its container (the scenarios' data
/// fingerprint, over `docker exec`) and compare with `expected`.
pub async fn content_proof(
    pg: &PgContainer,
    path: &Path,
    expected: &crate::fingerprint::ContentFile,
) -> Result<ContentProof> {
    let t = Instant::now();
    let restored =
        crate::fingerprint::data_via_exec(pg.docker(), &pg.name, DB_USER, DB_NAME, None, &[])
            .await?;
    let want = expected.data();
    let diff = crate::fingerprint::diff_data(&want, &restored);
    let differing: Vec<String> = diff
        .iter()
        .map(|d| match d.kind {
            crate::fingerprint::ChangeKind::Removed => {
                format!(
                    "{}.{}: absent from the restored database",
                    d.schema, d.table
                )
            }
            crate::fingerprint::ChangeKind::Added => {
                format!(
                    "{}.{}: restored but not in the backup's content hashes",
                    d.schema, d.table
                )
            }
            crate::fingerprint::ChangeKind::Changed => {
                d.to_string().trim_start_matches("~ table ").to_string()
            }
        })
        .collect();
    let identical = want
        .tables
        .iter()
        .filter(|(k, v)| restored.tables.get(*k) == Some(*v))
        .count();
    Ok(ContentProof {
        file: path.display().to_string(),
        tables_expected: want.len(),
        tables_identical: identical,
        passed: differing.is_empty(),
        differing,
        ms: t.elapsed().as_millis(),
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--keep` must mark its container so that a plain sweep (`dryrun gc`, the next run's
    /// start-up sweep) spares it once this process has exited (a cargo-mutants survivor:
    /// dropping the label was seen by no unit test).
    #[test]
    fn kept_containers_carry_the_label_the_sweep_spares() {
        let k = KeepAs::kept();
        let mut labels = crate::docker::RunIdentity::new().labels("restore-test");
        labels.extend(k.labels.iter().cloned());
        // Its owner has exited (pid 0 has no /proc entry).
        labels.insert(crate::docker::LABEL_OWNER_PID.into(), "0".into());
        assert_eq!(
            crate::docker::protection(&labels),
            crate::docker::Protection::Kept
        );
        assert!(!crate::docker::sweepable(&labels, false), "plain gc");
        assert!(crate::docker::sweepable(&labels, true), "gc --all");
        assert!(!k.publish && !k.only_if_passed && k.name.is_none());
    }

    /// A stage serializes (and parses) as the name its `as_str` gives the reports.
    #[test]
    fn stages_serialize_as_their_names() {
        for st in [Stage::Restore, Stage::Smoke, Stage::Content] {
            let v = serde_json::to_value(st).expect("serialize");
            assert_eq!(v, serde_json::json!(st.as_str()));
            assert_eq!(st.to_string(), st.as_str());
            let back: Stage = serde_json::from_value(v).expect("deserialize");
            assert_eq!(back, st);
        }
    }

    #[test]
    fn missing_role_is_benign() {
        let e = "pg_restore: error: could not execute query: ERROR:  role \"workflow_admin\" does not exist\nCommand was: CREATE POLICY p ON public.t TO workflow_admin USING (true);\npg_restore: warning: errors ignored on restore: 1\n";
        let o = triage(1, e, 1);
        assert!(o.passed);
        assert_eq!(o.messages.len(), 1);
        assert_eq!(o.messages[0].kind, "missing_role");
    }

    #[test]
    fn other_errors_fail() {
        let e = "pg_restore: error: could not read from input file: end of file\n";
        assert!(!triage(1, e, 1).passed);
        let mixed = "pg_restore: error: could not execute query: ERROR:  role \"x\" does not exist\nCommand was: X\npg_restore: error: could not execute query: ERROR:  syntax error\npg_restore: warning: errors ignored on restore: 2\n";
        assert!(!triage(1, mixed, 1).passed);
        assert!(
            !triage(1, "", 1).passed,
            "non-zero exit without messages must fail"
        );
        assert!(triage(0, "", 1).passed);
    }

    #[test]
    fn a_parallel_count_is_bounded_by_the_messages_and_explained() {
        let doubled = "pg_restore: error: could not execute query: ERROR:  role \"w\" does not exist\nCommand was: X\npg_restore: warning: errors ignored on restore: 2\n";
        let o = triage(1, doubled, 2);
        assert!(o.passed, "{o:?}");
        let note = o.count_note.as_deref().expect("explained");
        assert!(
            note.contains("so 1 of these messages' items were restored by a worker"),
            "{note}"
        );
        assert!(
            !triage(1, doubled, 1).passed,
            "-j 1 counts each message once"
        );
        let tripled = doubled.replace("restore: 2", "restore: 3");
        let o = triage(1, &tripled, 2);
        assert!(!o.passed);
        assert!(
            o.count_note
                .as_deref()
                .is_some_and(|n| n.contains("1 error(s) unaccounted for")),
            "{o:?}"
        );
    }

    #[test]
    fn counts_bind_the_messages_exit_codes_bind_the_outcome() {
        let one = "pg_restore: error: could not execute query: ERROR:  role \"w\" does not exist\nCommand was: X\npg_restore: warning: errors ignored on restore: 1\n";
        let under = "pg_restore: error: could not execute query: ERROR:  role \"w\" does not exist\nCommand was: X\npg_restore: error: could not execute query: ERROR:  role \"v\" does not exist\nCommand was: Y\npg_restore: warning: errors ignored on restore: 1\n";
        assert!(
            !triage(1, under, 2).passed,
            "jobs=2, count below the messages"
        );
        // jobs=0 means one job (as reported), so the exact count rule applies.
        let doubled = "pg_restore: error: could not execute query: ERROR:  role \"w\" does not exist\nCommand was: X\npg_restore: warning: errors ignored on restore: 2\n";
        assert!(!triage(1, doubled, 0).passed);
        assert_eq!(triage(1, doubled, 0).jobs, 1);
        // A benign message but no count line: pg_restore stopped, or the log is not its own.
        let uncounted = "pg_restore: error: could not execute query: ERROR:  role \"w\" does not exist\nCommand was: X\n";
        assert!(!triage(1, uncounted, 1).passed);
        // Exit 0 with a real error message, and exit 2 with none, both fail.
        let real = "pg_restore: error: could not execute query: ERROR:  syntax error\n";
        assert!(!triage(0, real, 1).passed);
        assert!(!triage(2, "", 1).passed);
        assert!(
            !triage(2, one, 1).passed,
            "only exit 1 may carry ignored errors"
        );
    }

    #[test]
    fn only_a_missing_role_is_benign_not_any_missing_object_or_role_error() {
        for e in [
            "pg_restore: error: could not execute query: ERROR:  relation \"public.t\" does not exist\nCommand was: ALTER TABLE public.t OWNER TO x;\n",
            "pg_restore: error: could not execute query: ERROR:  permission denied to grant role \"w\"\nCommand was: GRANT w TO x;\n",
        ] {
            let o = triage(1, e, 1);
            assert!(!o.passed, "{e}");
            assert_eq!(o.messages[0].kind, "restore_error", "{e}");
        }
    }
}

//! `make bench` part: the data fingerprint against the binary COPY floor on a restored dump.
//! Usage: `cargo run --release -p dryrun-harness --example fingerprint_bench -- DUMP [ROUNDS [FIGURES]]`.
//!
//! Restores DUMP into its own labelled container (fast settings, -j 2), then times, ROUNDS
//! times each (default 3), on the same database: the binary COPY floor (every table's COPY to
//! the client, discarded) on 1 and 2 connections; the full data fingerprint on 1, 2 and 3
//! connections; the same via docker exec (backup / restore-test transport); the "unchanged"
//! proof (a second fingerprint with the first one's stamp) beside its scan floor (`count(*)`
//! of every table); the same proof from the WAL (no heap page read); and one after a one-row
//! delete + insert.
//! Prints one Markdown table; with FIGURES, also writes `name value` lines there (medians in
//! seconds, for bench/run.sh). Figures only; the container is removed at the end.

use std::path::PathBuf;
use std::time::Instant;

use futures_util::StreamExt;
use harness::container::{PgContainer, PgSpec, DB_NAME, DB_USER};
use harness::docker::RunIdentity;
use harness::fingerprint;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn floor(clients: &[tokio_postgres::Client], tables: &[String]) -> (f64, u64) {
    let t = Instant::now();
    let queue = std::sync::Mutex::new(tables.iter().collect::<std::collections::VecDeque<_>>());
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let work = clients.iter().map(|c| {
        let (queue, bytes) = (&queue, &bytes);
        async move {
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some(sql) = next else { return };
                let s = c.copy_out(sql.as_str()).await.expect("copy");
                let mut s = std::pin::pin!(s);
                while let Some(chunk) = s.next().await {
                    let n = chunk.expect("chunk").len() as u64;
                    bytes.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    });
    futures_util::future::join_all(work).await;
    (t.elapsed().as_secs_f64(), bytes.into_inner())
}

/// The scan floor: `SELECT count(*) FROM ONLY t` of every table, spread over `clients` (the
/// least any exact per-row proof must read: every heap page).
async fn scan(clients: &[tokio_postgres::Client], tables: &[String]) -> f64 {
    let t = Instant::now();
    let queue = std::sync::Mutex::new(tables.iter().collect::<std::collections::VecDeque<_>>());
    let work = clients.iter().map(|c| {
        let queue = &queue;
        async move {
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some(sql) = next else { return };
                c.simple_query(sql.as_str()).await.expect("count");
            }
        }
    });
    futures_util::future::join_all(work).await;
    t.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dump = PathBuf::from(args.next().expect("usage: fingerprint_bench DUMP [ROUNDS]"));
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let figures_out = args.next().map(PathBuf::from);
    let docker = harness::docker::connect().await.expect("docker");
    let image = harness::image::resolve(&docker, std::env::var("PG_IMAGE").ok().as_deref())
        .await
        .expect("image");
    let run = RunIdentity::new();
    let mut spec = PgSpec::new(&image.reference, "bench-fingerprint");
    spec.settings = harness::restore::fast_settings();
    let pg = PgContainer::start(&docker, &run, &spec)
        .await
        .expect("start");
    let result = bench(&docker, &pg, &dump, rounds).await;
    let _ = pg.remove().await;
    let _ = harness::docker::sweep(&docker, Some(&run.run_id), true).await;
    match result {
        Ok((text, figures)) => {
            print!("{text}");
            if let Some(p) = figures_out {
                if let Err(e) = std::fs::write(&p, figures) {
                    eprintln!("writing {}: {e}", p.display());
                    std::process::exit(1);
                }
            }
        }
        Err(e) => {
            eprintln!("{}", e.report());
            std::process::exit(1);
        }
    }
}

async fn bench(
    docker: &bollard::Docker,
    pg: &PgContainer,
    dump: &std::path::Path,
    rounds: usize,
) -> harness::error::Result<(String, String)> {
    let t = Instant::now();
    let (ro, _, _) = harness::restore::restore_into(pg, dump, 2).await?;
    assert!(ro.passed, "restore failed: {:?}", ro.messages);
    let restore_s = t.elapsed().as_secs_f64();
    let c = pg.connect(DB_NAME).await?;
    c.batch_execute("VACUUM ANALYZE").await?;
    let cfg = pg.pg_config(DB_NAME)?;
    let first = fingerprint::data_with(&c, &[], None, None, None).await?;
    let jobs: Vec<String> = first
        .data
        .tables
        .iter()
        .filter(|(_, d)| {
            d.content_sha256
                .as_deref()
                .is_some_and(|h| h != "unpopulated")
        })
        .map(|((s, t), _)| {
            format!(
                "COPY (SELECT * FROM ONLY {}.{}) TO STDOUT (FORMAT binary)",
                fingerprint::quote_ident(s),
                fingerprint::quote_ident(t)
            )
        })
        .collect();
    let counts: Vec<String> = jobs
        .iter()
        .map(|j| {
            j.replace("COPY (SELECT * FROM ONLY ", "SELECT count(*) FROM ONLY ")
                .replace(") TO STDOUT (FORMAT binary)", "")
        })
        .collect();
    let mut rows = Vec::new();
    let mut figs = format!("restore_s {restore_s:.3}\ntables {}\n", first.data.len());
    let mut line = |key: &str, what: &str, secs: Vec<f64>, extra: String| {
        figs.push_str(&format!("{key} {:.3}\n", median(secs.clone())));
        rows.push(format!(
            "| {what} | {:.2} | {:.2}–{:.2} | {extra} |",
            median(secs.clone()),
            secs.iter().cloned().fold(f64::MAX, f64::min),
            secs.iter().cloned().fold(0.0, f64::max)
        ));
    };
    let (mut floor1, mut floor2) = (Vec::new(), Vec::new());
    let mut bytes = 0;
    for n in [1usize, 2] {
        let clients = fingerprint::connect_helpers(&cfg, n).await?;
        let mut v = Vec::new();
        for _ in 0..rounds {
            let (s, b) = floor(&clients, &jobs).await;
            v.push(s);
            bytes = b;
        }
        if n == 1 {
            floor1 = v.clone();
        } else {
            floor2 = v.clone();
        }
        line(
            &format!("floor{n}_s"),
            &format!("binary COPY floor, {n} connection(s), discarded"),
            v,
            format!("{:.0} MB", bytes as f64 / 1e6),
        );
    }
    let (mut full1, mut full2) = (Vec::new(), Vec::new());
    for helpers in [0usize, 1, 2] {
        let h = fingerprint::connect_helpers(&cfg, helpers).await?;
        let mut v = Vec::new();
        let mut last = None;
        for _ in 0..rounds {
            let t = Instant::now();
            let r = fingerprint::data_with(&c, &h, None, None, None).await?;
            v.push(t.elapsed().as_secs_f64());
            assert_eq!(r.data, first.data, "fingerprints differ between runs");
            last = Some(r.stats);
        }
        if helpers == 0 {
            full1 = v.clone();
        } else if helpers == 1 {
            full2 = v.clone();
        }
        let st = last.unwrap_or_default();
        line(
            &format!("full{}_s", helpers + 1),
            &format!("full data fingerprint, {} connection(s)", helpers + 1),
            v,
            format!("{} tables, {} rows hashed", st.tables, st.rows_hashed),
        );
    }
    let mut v = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let d = fingerprint::data_via_exec(docker, &pg.name, DB_USER, DB_NAME, None, &[]).await?;
        v.push(t.elapsed().as_secs_f64());
        assert_eq!(d, first.data, "exec transport differs");
    }
    line(
        "exec_s",
        "full data fingerprint via docker exec (backup, restore-test)",
        v,
        String::new(),
    );
    let h = fingerprint::connect_helpers(&cfg, 1).await?;
    let mut v = Vec::new();
    for _ in 0..rounds {
        v.push(scan(&fingerprint::connect_helpers(&cfg, 2).await?, &counts).await);
    }
    line(
        "scan2_s",
        "scan floor: count(*) of every table, 2 connections",
        v,
        "reads every heap page, as any exact per-row proof must".into(),
    );
    let base = fingerprint::data_with(&c, &h, None, None, None).await?;
    let mut v = Vec::new();
    let mut proven = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let r = fingerprint::data_with(&c, &h, Some(&base.stamp), None, None).await?;
        v.push(t.elapsed().as_secs_f64());
        assert_eq!(r.data, base.data);
        proven = r.stats.proven_unchanged;
    }
    line(
        "unchanged2_s",
        "\"unchanged\" proof (stamp of the previous fingerprint), 2 connections",
        v,
        format!("{proven} of {} tables proven", base.data.len()),
    );
    // the same proof from the WAL (a quiet fingerprint's own mark): no heap page read
    let marked = fingerprint::data_with(&c, &h, None, None, Some(pg)).await?;
    let mut v = Vec::new();
    let (mut by_wal, mut records) = (0, 0);
    for _ in 0..rounds {
        let t = Instant::now();
        let r = fingerprint::data_with(&c, &h, Some(&marked.stamp), None, Some(pg)).await?;
        v.push(t.elapsed().as_secs_f64());
        assert_eq!(r.data, base.data);
        (by_wal, records) = (r.stats.proven_by_wal, r.stats.wal_records);
    }
    line(
        "unchanged_wal2_s",
        "\"unchanged\" proof from the WAL (pg_waldump since the stamp's mark), 2 connections",
        v,
        format!(
            "{by_wal} of {} tables proven from {records} WAL records",
            base.data.len()
        ),
    );
    // one row changed in the largest table
    let largest = base
        .data
        .tables
        .iter()
        .filter(|(_, d)| d.content_sha256.is_some())
        .max_by_key(|(_, d)| d.row_count)
        .map(|(k, _)| k.clone());
    if let Some((s, t)) = largest {
        let q = format!(
            "{}.{}",
            fingerprint::quote_ident(&s),
            fingerprint::quote_ident(&t)
        );
        c.batch_execute(&format!(
            "CREATE TEMP TABLE one AS SELECT * FROM {q} LIMIT 1; DELETE FROM {q} WHERE ctid = (SELECT ctid FROM {q} LIMIT 1); INSERT INTO {q} SELECT * FROM one"
        ))
        .await
        .ok();
        let t0 = Instant::now();
        let r = fingerprint::data_with(&c, &h, Some(&base.stamp), None, None).await?;
        line(
            "onerow2_s",
            &format!("after delete+insert of one row of {s}.{t}, 2 connections"),
            vec![t0.elapsed().as_secs_f64()],
            format!(
                "{} proven, {} hashed",
                r.stats.proven_unchanged, r.stats.hashed
            ),
        );
    }
    let ratio1 = median(full1) / median(floor1);
    let ratio2 = median(full2) / median(floor2);
    figs.push_str(&format!(
        "ratio1 {ratio1:.3}\nratio2 {ratio2:.3}\nproven {proven}\nproven_wal {by_wal}\ncopy_bytes {bytes}\n"
    ));
    Ok((
        format!(
            "Restored in {restore_s:.1} s. Median of {rounds} (min–max), seconds:\n\n\
             | measurement | median s | range | notes |\n|---|---|---|---|\n{}\n\n\
             Full fingerprint / binary COPY floor: {ratio1:.2}× on 1 connection, {ratio2:.2}× on 2.\n",
            rows.join("\n")
        ),
        figs,
    ))
}

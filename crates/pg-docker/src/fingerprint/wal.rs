//! The WAL proof (module doc of `fingerprint`, "Proving a table unchanged from the WAL"):
//! which relations' main forks the server's WAL touched since a mark, read by `pg_waldump`.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio_postgres::Client;

use crate::container::PgContainer;
use crate::error::Result;

#[allow(unused_imports)]
use super::*;

/// A WAL position as PostgreSQL prints it (`X/Y`, hexadecimal), as a 64-bit number.
pub fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.trim().split_once('/')?;
    let hi = u64::from_str_radix(hi, 16).ok()?;
    let lo = u64::from_str_radix(lo, 16).ok()?;
    (hi <= u32::MAX as u64 && lo <= u32::MAX as u64).then_some((hi << 32) | lo)
}

/// The `X/Y` text of a 64-bit WAL position.
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

/// The server's WAL insert position now, when the WAL is complete for every permanent
/// relation (`wal_level` is not `minimal`); `None` otherwise.
pub async fn insert_mark(client: &Client) -> Result<Option<u64>> {
    let row = client
        .query_one(
            "SELECT pg_catalog.pg_current_wal_insert_lsn()::text, \
             pg_catalog.current_setting('wal_level') <> 'minimal'",
            &[],
        )
        .await
        .map_err(|e| db_error("data", e))?;
    let lsn: String = row.try_get(0).map_err(|e| db_error("data", e))?;
    let complete: bool = row.try_get(1).map_err(|e| db_error("data", e))?;
    Ok(complete.then(|| parse_lsn(&lsn)).flatten())
}

/// A fingerprint's own WAL mark candidate, read before its snapshot is taken: the WAL
/// insert position `M`, then a fresh xid `X` (taken and committed in a transaction of its own,
/// after `M`: every xid handed out before `M` was read is below it). The snapshot taken next
/// gives the fingerprint the mark `M` only when its xmin is above `X` ([`own_mark`]).
///
/// A server that cannot give either (a standby in recovery, say) gives no mark: the fingerprint
/// is taken as without the WAL proof.
pub async fn mark_before_snapshot(leader: &Client) -> Result<Option<(u64, u64)>> {
    let Ok(Some(lsn)) = insert_mark(leader).await else {
        return Ok(None);
    };
    let xid = leader
        .query_one("SELECT pg_catalog.pg_current_xact_id()::text", &[])
        .await
        .ok()
        .and_then(|row| row.try_get::<_, String>(0).ok())
        .and_then(|x| x.parse::<u64>().ok());
    Ok(xid.map(|x| (lsn, x)))
}

/// The mark `M` of [`mark_before_snapshot`] holds for a snapshot with xmin `horizon` when
/// every xid up to `X` had ended before the snapshot (`horizon > X`): a transaction the
/// snapshot does not see then has an xid above `X`, handed out after `M` was read, and it
/// writes only once it has one, so all its records are after `M`. (The snapshot's list of
/// transactions in progress cannot tell this: it omits those above its xmax, which is the
/// latest completed xid + 1, not the next xid.)
pub fn own_mark(candidate: Option<(u64, u64)>, horizon: u64) -> Option<u64> {
    candidate.and_then(|(m, x)| (horizon > x).then_some(m))
}

/// What a range of the WAL touched in one database: for each relfilenode, the position of the
/// last record that references a block of its main fork (records that change no tuple are
/// left out, [`ignored`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    pub last: BTreeMap<i64, u64>,
    /// Records read.
    pub records: u64,
}

impl Touched {
    /// Whether a record at or after `since` referenced a block of `relfilenode`'s main fork.
    pub fn since(&self, relfilenode: i64, since: u64) -> bool {
        self.last.get(&relfilenode).is_some_and(|l| *l >= since)
    }
}

/// Records that reference a heap block but change no tuple of it: a full-page image taken
/// for hint bits only (`XLOG FPI_FOR_HINT`: hint bits are not content, they cache commit
/// status), and the setting of a page's all-visible bit (`Heap2 VISIBLE`). Every other
/// record counts as a change, whatever it is (pruning and freezing too: never unsound, only
/// more to read).
fn ignored(rmgr: &str, desc: &str) -> bool {
    let kind = desc.split_whitespace().next().unwrap_or("");
    (rmgr == "XLOG" && kind == "FPI_FOR_HINT") || (rmgr == "Heap2" && kind == "VISIBLE")
}

/// Read `pg_waldump`'s default output (one line per record: `rmgr: NAME len …, lsn: X/Y,
/// prev …, desc: TYPE …, blkref #N: rel SPC/DB/REL [fork F] blk B [FPW]…`) for database
/// `db`. Conservative by construction: every `blkref` of `db`'s main fork anywhere in a
/// line counts unless the line is a record of the [`ignored`] kinds; a line without a
/// readable `lsn` counts at the end position `end`.
pub fn parse_waldump(text: &str, db: i64, end: u64) -> Touched {
    let mut t = Touched::default();
    for line in text.lines() {
        t.add_line(line, db, end);
    }
    t
}

impl Touched {
    /// Read one line of `pg_waldump`'s output into what the range touched ([`parse_waldump`]).
    pub fn add_line(&mut self, line: &str, db: i64, end: u64) {
        let t = self;
        if !line.contains("blkref") {
            if line.starts_with("rmgr:") {
                t.records += 1;
            }
            return;
        }
        t.records += 1;

        let rmgr = line
            .strip_prefix("rmgr:")
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or("");
        let desc = line.split_once(", desc: ").map(|(_, d)| d).unwrap_or("");
        if !rmgr.is_empty() && ignored(rmgr, desc) {
            return;
        }
        let lsn = line
            .split_once("lsn: ")
            .and_then(|(_, r)| r.split(',').next())
            .and_then(parse_lsn)
            .unwrap_or(end);
        for part in line.split("blkref #").skip(1) {
            let Some(rel) = part.split_once(": rel ").map(|(_, r)| r) else {
                continue;
            };
            let mut words = rel.split_whitespace();
            let Some(locator) = words.next() else {
                continue;
            };
            let fork = match words.next() {
                Some("fork") => words.next().unwrap_or(""),
                _ => "main",
            };
            if fork != "main" {
                continue;
            }
            let mut ids = locator.split('/').map(|p| p.parse::<i64>().ok());
            let (_spc, Some(Some(d)), Some(Some(r))) = (ids.next(), ids.next(), ids.next()) else {
                continue;
            };
            if d == db {
                let e = t.last.entry(r).or_insert(lsn);
                *e = (*e).max(lsn);
            }
        }
    }
}

/// `pg_waldump`'s output read as it streams out of the container, one line at a time, so that
/// memory holds one line, never the whole range (which holds every clone's writes).
pub struct WaldumpSink {
    pub touched: Touched,
    partial: Vec<u8>,
    db: i64,
    end: u64,
}

impl WaldumpSink {
    pub fn new(db: i64, end: u64) -> Self {
        WaldumpSink {
            touched: Touched::default(),
            partial: Vec::new(),
            db,
            end,
        }
    }

    fn take_lines(&mut self) {
        let mut from = 0;
        while let Some(i) = self.partial[from..].iter().position(|b| *b == b'\n') {
            let line = String::from_utf8_lossy(&self.partial[from..from + i]).into_owned();
            self.touched.add_line(&line, self.db, self.end);
            from += i + 1;
        }
        self.partial.drain(..from);
    }

    /// What the whole output touched (a last line without a line break included).
    pub fn finish(mut self) -> Touched {
        self.take_lines();
        if !self.partial.is_empty() {
            let line = String::from_utf8_lossy(&self.partial).into_owned();
            self.touched.add_line(&line, self.db, self.end);
        }
        self.touched
    }
}

impl tokio::io::AsyncWrite for WaldumpSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.partial.extend_from_slice(buf);
        self.take_lines();
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The WAL insert position `E`, read after the fingerprint's snapshot was taken (every
/// change the snapshot sees was written before it), and made to reach the WAL files: the
/// tail of the WAL may hold records nothing flushes yet (commits may be asynchronous, and
/// records that are not commits wait for the next flush), so `flusher`, a connection outside
/// the snapshot, commits a transaction with `synchronous_commit = on`, which writes the WAL
/// up to its commit record, after `E` (it takes an xid and changes nothing). Without a
/// flusher the reader waits a little for the server's own flush and may give up.
pub async fn end_after_snapshot(leader: &Client, flusher: Option<&Client>) -> Result<Option<u64>> {
    let Some(end) = insert_mark(leader).await? else {
        return Ok(None);
    };
    if let Some(f) = flusher {
        // a flush that fails leaves the reader to wait for the server's own (and maybe give up)
        if let Err(e) = f
            .batch_execute(
                "SET synchronous_commit = on; SELECT pg_catalog.pg_current_xact_id(); RESET synchronous_commit",
            )
            .await
        {
            tracing::debug!(target: "harness::fingerprint::wal", error = %e, "WAL flush before the proof failed");
        }
    }
    Ok(Some(end))
}

/// Largest WAL page header (`SizeOfXLogLongPHD`): an insert position at the very start of a
/// page points past the page's header, which is written only with the page's first record.
const LONG_PAGE_HEADER: u64 = 40;

/// Whether every record that starts before `end` is in the WAL files once the server has
/// flushed up to `flushed`: `flushed` reached `end`, or `flushed` is a page boundary and
/// `end` is just past that page's header (nothing was inserted since). The position to read
/// to, when so.
pub fn written_end(flushed: u64, end: u64, page: u64) -> Option<u64> {
    if flushed >= end {
        Some(end)
    } else if page > 0 && flushed.is_multiple_of(page) && end - flushed <= LONG_PAGE_HEADER {
        Some(flushed)
    } else {
        None
    }
}

/// Wait until the WAL up to `end` is written (commits may be asynchronous), at most `limit`;
/// the position to read to ([`written_end`]).
async fn written_up_to(client: &Client, end: u64, limit: Duration) -> Result<Option<u64>> {
    let t = std::time::Instant::now();
    loop {
        let row = client
            .query_one(
                "SELECT pg_catalog.pg_current_wal_flush_lsn()::text, \
                 pg_catalog.current_setting('wal_block_size')::bigint",
                &[],
            )
            .await
            .map_err(|e| db_error("data", e))?;
        let flushed: String = row.try_get(0).map_err(|e| db_error("data", e))?;
        let page: i64 = row.try_get(1).map_err(|e| db_error("data", e))?;
        let to = parse_lsn(&flushed).and_then(|f| written_end(f, end, page.max(0) as u64));
        if to.is_some() || t.elapsed() > limit {
            return Ok(to);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The WAL of `[from, end)` of the server in `pg` as [`Touched`] for database `db`, `end`
/// being a position read after the fingerprint's snapshot was taken. `None` when it cannot be
/// read whole (a segment already recycled, `pg_waldump` missing or failing, the WAL not yet
/// written): the caller then proves nothing from the WAL.
pub async fn touched(
    pg: &PgContainer,
    client: &Client,
    db: i64,
    from: u64,
    end: u64,
) -> Result<Option<Touched>> {
    if end <= from {
        return Ok(Some(Touched::default()));
    }
    let Some(end) = written_up_to(client, end, Duration::from_secs(2)).await? else {
        tracing::debug!(
            target: "harness::fingerprint::wal",
            end = %format_lsn(end), "WAL not written in time: no WAL proof"
        );
        return Ok(None);
    };
    if end <= from {
        return Ok(Some(Touched::default()));
    }
    let row = client
        .query_one("SELECT pg_catalog.current_setting('data_directory')", &[])
        .await
        .map_err(|e| db_error("data", e))?;
    let dir: String = row.try_get(0).map_err(|e| db_error("data", e))?;
    let wal_dir = format!("{dir}/pg_wal");
    let (start, stop) = (format_lsn(from), format_lsn(end));
    let mut sink = WaldumpSink::new(db, end);
    let out = pg
        .exec_io(
            &[
                "pg_waldump",
                "--path",
                &wal_dir,
                "--start",
                &start,
                "--end",
                &stop,
            ],
            &[],
            None::<tokio::fs::File>,
            &mut sink,
        )
        .await;
    // an image without pg_waldump (or an exec the engine refuses) proves nothing
    let (exit_code, stderr) = match out {
        Ok(o) => o,
        Err(e) => {
            tracing::debug!(
                target: "harness::fingerprint::wal",
                error = %e, "pg_waldump could not run: no WAL proof"
            );
            return Ok(None);
        }
    };
    if exit_code != 0 {
        tracing::debug!(target: "harness::fingerprint::wal",
            code = exit_code,
            stderr = %stderr.trim(),
            "pg_waldump could not read the range: no WAL proof"
        );
        return Ok(None);
    }
    Ok(Some(sink.finish()))
}

/// The candidates (module doc, conditions (a) and (b)) whose main fork no WAL record touched
/// since the mark their entry in `prev` carries, each with `prev`'s data and that mark; and
/// the number of records read. Nothing when the WAL cannot be read whole.
pub(super) async fn prove_from_wal(
    pg: &PgContainer,
    client: &Client,
    candidates: &[(CatalogTable, TableData)],
    prev: &Stamp,
    database: &str,
    end: u64,
) -> Result<(BTreeMap<TableKey, (TableData, u64)>, u64)> {
    let none = || (BTreeMap::new(), 0);
    let Some(db) = database
        .rsplit_once('/')
        .and_then(|(_, oid)| oid.parse::<i64>().ok())
    else {
        return Ok(none());
    };
    let marked: Vec<(&CatalogTable, &TableData, u64)> = candidates
        .iter()
        .filter(|(t, _)| t.logged)
        .filter_map(|(t, d)| Some((t, d, prev.tables.get(&t.key())?.wal_since?)))
        .collect();
    let Some(from) = marked.iter().map(|(_, _, m)| *m).min() else {
        return Ok(none());
    };
    let Some(t) = touched(pg, client, db, from, end).await? else {
        return Ok(none());
    };
    let proven = marked
        .into_iter()
        .filter(|(c, _, m)| !t.since(c.relfilenode, *m))
        .map(|(c, d, m)| (c.key(), (d.clone(), m)))
        .collect();
    Ok((proven, t.records))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines as PostgreSQL 16.2's pg_waldump prints them (taken from a real run).
    const DUMP: &str = "\
rmgr: Heap        len (rec/tot):     59/    59, tx:        750, lsn: 0/0153A0B8, prev 0/0153A080, desc: INSERT off: 51, flags: 0x00, blkref #0: rel 1663/16384/16390 blk 0
rmgr: Btree       len (rec/tot):     64/    64, tx:        750, lsn: 0/0153A0F8, prev 0/0153A0B8, desc: INSERT_LEAF off: 51, blkref #0: rel 1663/16384/16393 blk 1
rmgr: Transaction len (rec/tot):     34/    34, tx:        750, lsn: 0/0153A138, prev 0/0153A0F8, desc: COMMIT 2026-12-04 23:00:00.000000 UTC
rmgr: Heap2       len (rec/tot):     59/    59, tx:          0, lsn: 0/0153A160, prev 0/0153A138, desc: VISIBLE snapshotConflictHorizon: 0, flags: 0x03, blkref #0: rel 1663/16384/16400 fork vm blk 0, blkref #1: rel 1663/16384/16400 blk 3
rmgr: XLOG        len (rec/tot):     49/  8241, tx:          0, lsn: 0/0153A1A0, prev 0/0153A160, desc: FPI_FOR_HINT , blkref #0: rel 1663/16384/16401 blk 0 FPW
rmgr: Heap        len (rec/tot):     54/    54, tx:        751, lsn: 0/0153C1D8, prev 0/0153A1A0, desc: DELETE xmax: 751, off: 5, infobits: [KEYS_UPDATED], flags: 0x00, blkref #0: rel 1663/5/16402 blk 0
rmgr: Heap        len (rec/tot):     54/    54, tx:        752, lsn: 0/0153C210, prev 0/0153C1D8, desc: HOT_UPDATE old_xmax: 752, old_off: 3, old_infobits: [], flags: 0x10, new_off: 9, blkref #0: rel 1663/16384/16390 blk 2
rmgr: Heap2       len (rec/tot):     56/    56, tx:          0, lsn: 0/0153C248, prev 0/0153C210, desc: PRUNE snapshotConflictHorizon: 752, nredirected: 0, ndead: 1, blkref #0: rel 1663/16384/16403 blk 0
rmgr: Heap        len (rec/tot):     54/    54, tx:        753, lsn: 0/0153C280, prev 0/0153C248, desc: INSERT off: 2, flags: 0x00, blkref #0: rel 1663/16384/16404 fork init blk 0
";

    #[test]
    fn lsn_round_trip() {
        assert_eq!(parse_lsn("0/0153A0B8"), Some(0x0153_A0B8));
        assert_eq!(parse_lsn("1A/FF"), Some((0x1a << 32) | 0xff));
        assert_eq!(format_lsn((0x1a << 32) | 0xff), "1A/FF");
        for bad in ["", "0", "x/1", "1/", "100000000/0"] {
            assert_eq!(parse_lsn(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn main_fork_changes_of_the_database_count_and_nothing_else() {
        let t = parse_waldump(DUMP, 16384, u64::MAX);
        // heap insert then HOT update: the last one counts
        assert_eq!(t.last.get(&16390), Some(&0x0153_C210));
        // an index's block is a relation of its own (never a table's relfilenode)
        assert_eq!(t.last.get(&16393), Some(&0x0153_A0F8));
        // pruning counts (conservative)
        assert_eq!(t.last.get(&16403), Some(&0x0153_C248));
        // all-visible bit and hint-bit images change no tuple; other forks are not the heap
        for r in [16400, 16401, 16404] {
            assert!(!t.last.contains_key(&r), "{r}: {t:?}");
        }
        // another database's relation
        assert!(!t.last.contains_key(&16402));
        assert_eq!(t.records, 9);
        assert!(t.since(16390, 0x0153_C210));
        assert!(!t.since(16390, 0x0153_C211));
        assert!(!t.since(99999, 0));
    }

    /// The output read as it streams, in chunks that split lines anywhere (a last line
    /// without its line break included), gives what the whole text gives.
    #[test]
    fn the_streamed_output_reads_as_the_whole_text() {
        use tokio::io::AsyncWriteExt;
        let whole = parse_waldump(DUMP, 16384, u64::MAX);
        let text = DUMP.trim_end_matches('\n');
        for chunk in [1, 7, 64, text.len()] {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            let got = rt.block_on(async {
                let mut sink = WaldumpSink::new(16384, u64::MAX);
                for c in text.as_bytes().chunks(chunk) {
                    sink.write_all(c).await.expect("write");
                }
                sink.finish()
            });
            assert_eq!(got, whole, "chunks of {chunk}");
        }
    }

    #[test]
    fn a_mark_holds_only_when_every_earlier_xid_had_ended() {
        assert_eq!(own_mark(Some((0x100, 50)), 51), Some(0x100));
        assert_eq!(own_mark(Some((0x100, 50)), 50), None);
        assert_eq!(own_mark(Some((0x100, 50)), 7), None);
        assert_eq!(own_mark(None, 100), None);
    }

    #[test]
    fn the_range_is_read_only_once_written() {
        assert_eq!(written_end(0x2000, 0x1ff0, 8192), Some(0x1ff0));
        assert_eq!(written_end(0x2000, 0x2000, 8192), Some(0x2000));
        // the insert position just past the next page's header: nothing after the boundary
        assert_eq!(written_end(0x2000, 0x2018, 8192), Some(0x2000));
        assert_eq!(written_end(0x2000, 0x2028, 8192), Some(0x2000));
        // a record after the header, or a flush inside a page: not yet
        assert_eq!(written_end(0x2000, 0x2029, 8192), None);
        assert_eq!(written_end(0x2008, 0x2010, 8192), None);
        assert_eq!(written_end(0x2000, 0x2018, 0), None);
    }

    #[test]
    fn an_unreadable_position_counts_at_the_end() {
        let t = parse_waldump(
            "rmgr: Heap len, tx: 1, lsn: garbage, desc: INSERT, blkref #0: rel 1663/7/42 blk 0",
            7,
            0x500,
        );
        assert!(t.since(42, 0x500));
    }
}

//! `prepare_dump`: the working copy of the dump set, mutated as the scenario asks (drifted
//! row counts, a flipped byte, a broken index, a header's creation time), and its sums checked.

use std::path::Path;

use serde::Serialize;

use super::{PrepareDumpObservation, Res};
use crate::error::Error;
use crate::scenario::context::*;
use crate::scenario::model::*;
use crate::scenario::steps::StepError;
use crate::scenario::suite::DumpSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftHow {
    /// Exact counts: each count moved by its delta.
    CountChanged,
    /// Estimates: each table renamed in the file (the restored one is then not listed).
    TableUnlisted,
}

/// What an estimate file's drifted table is renamed to (`public.t` → `public.t~drifted`).
pub(super) const DRIFT_ALIAS: &str = "~drifted";

/// An I/O error on a file of the working copy, as the harness error of that file.
fn io<'a>(path: &'a Path, action: &'a str) -> impl FnOnce(std::io::Error) -> StepError + 'a {
    move |e| StepError::Harness(Error::io(path, action, e))
}

impl Ctx<'_> {
    pub(super) fn prepare_dump(&mut self, p: &PrepareDump) -> Res<PrepareDumpObservation> {
        let dir = self.tmp.path();
        let src = &self.suite.dumps;
        let name = |p: &Path| p.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        let dump = dir.join(name(&src.dump));
        let sums = dir.join("SHA256SUMS");
        let rc = dir.join(name(&src.rowcounts));
        const COPY: &str = "copy into the working copy";
        std::fs::copy(&src.dump, &dump).map_err(io(&src.dump, COPY))?;
        std::fs::copy(&src.sums, &sums).map_err(io(&src.sums, COPY))?;
        std::fs::copy(&src.rowcounts, &rc).map_err(io(&src.rowcounts, COPY))?;
        // The other files the sums list (schema, log) come along, as a DBA copies a backup set.
        let src_dir = src.sums.parent().unwrap_or(Path::new("."));
        for e in crate::checksum::parse_sums(&src.sums)? {
            let (from, to) = (src_dir.join(&e.file), dir.join(&e.file));
            if from.is_file() && !to.exists() {
                std::fs::copy(&from, &to).map_err(io(&from, COPY))?;
            }
        }
        let mut recompute = Vec::new();
        match p.mutate {
            Mutation::None => {}
            Mutation::FlipByte => {
                // In place: one byte read and written back (memory does not grow with the dump).
                use std::io::{Read, Seek, SeekFrom, Write};
                const FLIP: &str = "flip a byte of";
                let mut f = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&dump)
                    .map_err(io(&dump, FLIP))?;
                let len = f.metadata().map_err(io(&dump, FLIP))?.len();
                let off = p.offset.unwrap_or(len / 2).min(len.saturating_sub(1));
                let mut b = [0u8; 1];
                f.seek(SeekFrom::Start(off)).map_err(io(&dump, FLIP))?;
                f.read_exact(&mut b).map_err(io(&dump, FLIP))?;
                f.seek(SeekFrom::Start(off)).map_err(io(&dump, FLIP))?;
                f.write_all(&[b[0] ^ 0xff]).map_err(io(&dump, FLIP))?;
            }
            Mutation::Truncate => {
                const CUT: &str = "truncate";
                let len = std::fs::metadata(&dump).map_err(io(&dump, CUT))?.len();
                let keep = (len as f64 * p.keep_fraction.unwrap_or(0.5)) as u64;
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&dump)
                    .map_err(io(&dump, CUT))?;
                f.set_len(keep).map_err(io(&dump, CUT))?;
                recompute.push(dump.clone());
            }
            Mutation::BreakIndex => {
                self.broken_object = Some(break_index(&dump)?);
                recompute.push(dump.clone());
            }
        }
        if p.mutate != Mutation::BreakIndex {
            self.broken_object = None;
        }
        self.drifted.clear();
        let mut drift_how = DriftHow::CountChanged;
        if let Some(drifts) = &p.rowcount_drift {
            let mut counts = crate::rowcounts::RowCounts::parse_file(&rc)?;
            let estimate = counts.kind == crate::rowcounts::CountKind::Estimate;
            if estimate {
                drift_how = DriftHow::TableUnlisted;
            }
            let mut keys = Vec::new();
            for d in drifts.items() {
                if d.table == "*" {
                    keys.extend(counts.counts.keys().cloned());
                    continue;
                }
                let (s, t) = d
                    .table
                    .split_once('.')
                    .ok_or("rowcount_drift.table must be schema.table or \"*\"")?;
                let k = (s.to_string(), t.to_string());
                if !counts.counts.contains_key(&k) {
                    return Err(format!("{} not in the snapshot", d.table).into());
                }
                keys.push(k);
            }
            for d in drifts.items() {
                if d.delta == 0 {
                    return Err("rowcount_drift.delta must not be 0".into());
                }
            }
            let delta = |k: &(String, String)| {
                drifts
                    .items()
                    .iter()
                    .find(|d| d.table == "*" || d.table == format!("{}.{}", k.0, k.1))
                    .map_or(0, |d| d.delta)
            };
            for k in keys {
                if estimate {
                    // The table leaves the file under another name: the restore has a table
                    // the snapshot does not list (and the snapshot one the restore lacks).
                    if let Some(v) = counts.counts.remove(&k) {
                        counts
                            .counts
                            .insert((k.0.clone(), format!("{}{DRIFT_ALIAS}", k.1)), v);
                    }
                } else if let Some(v) = counts.counts.get_mut(&k) {
                    *v += delta(&k);
                }
                self.drifted.push(format!("{}.{}", k.0, k.1));
            }
            self.drifted.sort();
            self.drifted.dedup();
            std::fs::write(&rc, counts.render()).map_err(io(&rc, "write"))?;
            recompute.push(rc.clone());
        }
        if !recompute.is_empty() {
            let entries = crate::checksum::parse_sums(&sums)?;
            let mut text = String::new();
            for e in entries {
                let path = dir.join(&e.file);
                let digest = if recompute.contains(&path) {
                    crate::checksum::sha256_file(&path)?
                } else {
                    e.digest
                };
                text.push_str(&format!("{digest}  {}\n", e.name));
            }
            std::fs::write(&sums, text).map_err(io(&sums, "write"))?;
        }
        let entries = crate::checksum::parse_sums(&sums)?;
        let matches = crate::checksum::verify_listed(&dump, &sums, &entries).is_ok();
        self.dumps = DumpSet {
            dump,
            sums,
            rowcounts: rc,
        };
        self.evidence(serde_json::json!({
            "mutation": p.mutate,
            "drift": drift_how,
            "tables_drifted": self.drifted,
            "broken_object": self.broken_object,
        }));
        Ok(PrepareDumpObservation {
            dump_matches_sums: matches,
        })
    }
}

/// The access method a broken index gets: as long as `btree`, so no offset of the archive moves.
const BROKEN_AM: &[u8] = b"nobam";

/// How much of the archive's start is searched: its table of contents comes first.
const TOC_PREFIX: u64 = 64 << 20;

/// Give the first `CREATE INDEX ... USING btree` of the archive's table of contents the access
/// method [`BROKEN_AM`] (in place, same length); returns the index as `name ON schema.table`.
/// The archive is read in chunks of [`CHUNK`] (memory holds one chunk and a statement cut by
/// its end, never the table of contents whole), up to [`TOC_PREFIX`] bytes.
fn break_index(dump: &Path) -> Res<String> {
    use std::io::{Read, Seek, SeekFrom, Write};
    const BREAK: &str = "break an index of";
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dump)
        .map_err(io(dump, BREAK))?;
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)
            .and_then(|h| h.windows(needle.len()).position(|w| w == needle))
            .map(|i| i + from)
    };
    const STMT: &[u8] = b"CREATE INDEX ";
    // `buf` holds the archive from offset `base` on
    let (mut buf, mut base, mut eof) = (Vec::new(), 0u64, false);
    let mut chunk = vec![0u8; CHUNK];
    while !eof && base + (buf.len() as u64) < TOC_PREFIX {
        let n = f.read(&mut chunk).map_err(io(dump, BREAK))?;
        eof = n == 0;
        buf.extend_from_slice(&chunk[..n]);
        let mut from = 0;
        // statements whose end is in `buf` (all of them at the end of the file)
        while let Some(start) = find(&buf, STMT, from) {
            let end = match find(&buf, b";", start) {
                Some(e) => e,
                None if eof => buf.len(),
                None => break,
            };
            let stmt = String::from_utf8_lossy(&buf[start..end]).into_owned();
            let am = find(&buf[..end], b" USING btree ", start);
            match (am, stmt.split_whitespace().collect::<Vec<_>>().as_slice()) {
                (Some(at), [_, _, name, "ON", table, ..]) => {
                    let at = base + (at + " USING ".len()) as u64;
                    f.seek(SeekFrom::Start(at)).map_err(io(dump, BREAK))?;
                    f.write_all(BROKEN_AM).map_err(io(dump, BREAK))?;
                    return Ok(format!("{name} ON {table}"));
                }
                _ => from = end,
            }
        }
        // keep a statement cut by the chunk's end, or what could be the start of one
        let keep = find(&buf, STMT, from).unwrap_or_else(|| {
            buf.len()
                .saturating_sub(STMT.len() - 1)
                .max(from.min(buf.len()))
        });
        buf.drain(..keep);
        base += keep as u64;
    }
    Err(StepError::Failed(format!(
        "{}: no `CREATE INDEX ... USING btree` in its table of contents to break",
        dump.display()
    )))
}

/// How much of the archive [`break_index`] reads at a time.
const CHUNK: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    /// The first btree index of the table of contents is broken in place, its name returned;
    /// an index without `USING btree` is passed over, and a dump without one is an error.
    #[test]
    fn break_index_renames_the_access_method_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.dump");
        let text = b"PGDMP..CREATE INDEX h ON public.u USING hash (b);..CREATE INDEX i ON public.t USING btree (a);..data USING btree ";
        std::fs::write(&p, text).expect("write");
        assert_eq!(break_index(&p).expect("broken"), "i ON public.t");
        let after = std::fs::read(&p).expect("read");
        assert_eq!(after.len(), text.len());
        let s = String::from_utf8_lossy(&after);
        assert!(
            s.contains("CREATE INDEX i ON public.t USING nobam (a);"),
            "{s}"
        );
        assert!(
            s.contains("USING hash (b)") && s.ends_with("data USING btree "),
            "{s}"
        );
        std::fs::write(&p, b"PGDMP no index here").expect("write");
        assert!(break_index(&p).is_err());
    }

    /// A statement cut by the end of a chunk is read whole from the next one, and the access
    /// method is written at its offset in the file.
    #[test]
    fn break_index_finds_a_statement_across_chunks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.dump");
        for cut in [5, 13, 40] {
            let mut text = vec![b'x'; CHUNK - cut];
            text.extend_from_slice(b"CREATE INDEX i ON public.t USING btree (a);tail");
            std::fs::write(&p, &text).expect("write");
            assert_eq!(
                break_index(&p).expect("broken"),
                "i ON public.t",
                "cut {cut}"
            );
            let after = std::fs::read(&p).expect("read");
            assert_eq!(after.len(), text.len());
            assert!(
                after.ends_with(b"CREATE INDEX i ON public.t USING nobam (a);tail"),
                "cut {cut}"
            );
            assert!(after[..CHUNK - cut].iter().all(|b| *b == b'x'));
        }
    }
}

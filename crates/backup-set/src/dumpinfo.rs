//! Header and table of contents of a `pg_dump -F c` archive (what `pg_restore -l` lists), read
//! in Rust before any container exists. Owns the early refusal of files that are not a restorable dump.

use std::io::Read;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::error::{Error, ErrorKind, IoContext, Result};

/// Highest archive version PostgreSQL 16's pg_restore reads (K_VERS_1_15).
pub const MAX_SUPPORTED: (u8, u8) = (1, 15);

#[derive(Debug, Clone, Serialize)]
pub struct DumpInfo {
    pub archive_version: String,
    pub compression: String,
    /// Creation time as the header's `struct tm` fields carry it: the wall-clock time of the
    /// pg_dump process's own time zone, not UTC. PostgreSQL's `pg_backup_archiver.c` sets
    /// `AH->createDate = time(NULL)` when the archive is opened, and `WriteHead` writes
    /// `*localtime(&AH->createDate)` field by field (`tm_sec` … `tm_year`, `tm_isdst`);
    /// `ReadHead` turns them back with `mktime`, i.e. in the *reader's* zone. The zone of the
    /// writer is not in the file: `preflight::age` needs it from elsewhere.
    pub created: Option<NaiveDateTime>,
    /// The header's `tm_isdst`: whether `created` is daylight-saving time in the writer's zone
    /// (None when negative, "unknown"). Decides an ambiguous wall-clock time in the fall-back
    /// hour.
    pub created_dst: Option<bool>,
    pub database: String,
    pub server_version: String,
    pub pg_dump_version: String,
    pub size_bytes: u64,
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    int_size: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    fn int(&mut self) -> Option<i64> {
        let sign = self.byte()?;
        let mut v: i64 = 0;
        for i in 0..self.int_size {
            v |= (self.byte()? as i64) << (8 * i);
        }
        // Wrapping: a corrupt header must give a refusal or a strange value, never a panic.
        Some(if sign != 0 { v.wrapping_neg() } else { v })
    }
    fn string(&mut self) -> Option<String> {
        let len = self.int()?;
        if len < 0 {
            return Some(String::new());
        }
        let len = len as usize;
        let s = self.b.get(self.pos..self.pos.checked_add(len)?)?;
        self.pos += len;
        Some(String::from_utf8_lossy(s).into_owned())
    }
}

/// Read and check the header. Errors name the file and say what to do.
pub fn inspect(path: &Path) -> Result<DumpInfo> {
    let meta = std::fs::metadata(path).at(path, "read the dump")?;
    let size = meta.len();
    if size == 0 {
        return Err(Error::new(
            ErrorKind::DumpEmpty,
            format!(
                "{} is empty (0 bytes); it is not a pg_dump archive.",
                path.display()
            ),
        )
        .with_hint("Take the backup again with `dryrun backup` (pg_dump -F c -Z 6)."));
    }
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .at(path, "open")?
        .take(4096)
        .read_to_end(&mut head)
        .at(path, "read")?;
    if !head.starts_with(b"PGDMP") {
        let looks_sql = head.starts_with(b"--")
            || String::from_utf8_lossy(&head).contains("PostgreSQL database dump");
        let what = if looks_sql {
            "a plain-SQL dump (pg_dump without -F c)"
        } else {
            "not a pg_dump custom-format archive (no PGDMP magic)"
        };
        return Err(Error::new(ErrorKind::DumpNotCustomFormat, format!("{} is {what}.", path.display()))
            .with_hint("The restore test needs the custom-format backup made with `pg_dump -F c -Z 6` (as `dryrun backup` writes it)."));
    }
    let truncated = || {
        Error::new(
            ErrorKind::DumpTruncated,
            format!(
                "{} ends inside its header ({size} bytes); the dump is truncated.",
                path.display()
            ),
        )
        .with_hint("Copy the dump again or take a new backup.")
    };
    let mut c = Cursor {
        b: &head,
        pos: 5,
        int_size: 4,
    };
    let vmaj = c.byte().ok_or_else(truncated)?;
    let vmin = c.byte().ok_or_else(truncated)?;
    let vrev = c.byte().ok_or_else(truncated)?;
    let int_size = c.byte().ok_or_else(truncated)? as usize;
    let _off_size = c.byte().ok_or_else(truncated)?;
    let format = c.byte().ok_or_else(truncated)?;
    if (vmaj, vmin) > MAX_SUPPORTED {
        return Err(Error::new(ErrorKind::DumpVersionUnsupported, format!(
            "{} was written by a newer pg_dump (archive format {vmaj}.{vmin}.{vrev}); PostgreSQL 16's pg_restore reads at most {}.{}.",
            path.display(), MAX_SUPPORTED.0, MAX_SUPPORTED.1)).with_hint("Dump with the pg_dump of PostgreSQL 16 (the production server's own), or restore into a matching newer server."));
    }
    if format != 1 {
        return Err(Error::new(
            ErrorKind::DumpNotCustomFormat,
            format!(
                "{} is a pg_dump archive of format {format}, not custom (1).",
                path.display()
            ),
        )
        .with_hint("Use `pg_dump -F c`."));
    }
    if !(1..=8).contains(&int_size) {
        return Err(Error::new(
            ErrorKind::DumpCorrupt,
            format!(
                "{} has an impossible header (int size {int_size}); the archive is corrupt.",
                path.display()
            ),
        )
        .with_hint("Copy the dump again from the backup location, or take a new backup with `dryrun backup`."));
    }
    c.int_size = int_size;
    let compression = if (vmaj, vmin) >= (1, 15) {
        match c.byte().ok_or_else(truncated)? {
            0 => "none".to_string(),
            1 => "gzip".to_string(),
            2 => "lz4".to_string(),
            3 => "zstd".to_string(),
            x => format!("unknown({x})"),
        }
    } else {
        format!("level {}", c.int().ok_or_else(truncated)?)
    };
    let mut fields = [0i64; 7];
    for f in fields.iter_mut() {
        *f = c.int().ok_or_else(truncated)?;
    }
    let [sec, min, hour, mday, mon, year, dst] = fields;
    // Out-of-range fields (a corrupt header) give no creation time rather than a panic;
    // pg_restore itself only warns about an invalid creation date.
    let field = |v: i64, add: i64| v.checked_add(add).and_then(|x| u32::try_from(x).ok());
    let created = year
        .checked_add(1900)
        .and_then(|y| i32::try_from(y).ok())
        .zip(field(mon, 1))
        .zip(field(mday, 0))
        .and_then(|((y, m), d)| NaiveDate::from_ymd_opt(y, m, d))
        .zip(field(hour, 0).zip(field(min, 0)).zip(field(sec, 0)))
        .and_then(|(d, ((h, mi), s))| d.and_hms_opt(h, mi, s));
    let database = c.string().ok_or_else(truncated)?;
    let server_version = c.string().ok_or_else(truncated)?;
    let pg_dump_version = c.string().ok_or_else(truncated)?;
    Ok(DumpInfo {
        archive_version: format!("{vmaj}.{vmin}.{vrev}"),
        compression,
        created,
        created_dst: match dst {
            d if d > 0 => Some(true),
            0 => Some(false),
            _ => None,
        },
        database,
        server_version,
        pg_dump_version,
        size_bytes: size,
    })
}

/// One entry of the archive's table of contents (as `pg_restore -l` lists it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TocEntry {
    /// `TABLE`, `TABLE DATA`, `MATERIALIZED VIEW`, `MATERIALIZED VIEW DATA`, `POLICY`, …
    pub desc: String,
    pub namespace: String,
    pub tag: String,
}

/// The table of contents of a custom-format archive.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Toc {
    pub entries: Vec<TocEntry>,
}

impl Toc {
    /// Ordinary and partitioned tables (`TABLE` entries), as `schema.name`.
    pub fn tables(&self) -> std::collections::BTreeSet<String> {
        self.entries
            .iter()
            .filter(|e| e.desc == "TABLE")
            .map(|e| format!("{}.{}", e.namespace, e.tag))
            .collect()
    }

    /// Whether the archive defines a table, view or materialized view `schema.name`.
    pub fn has_relation(&self, qualified: &str) -> bool {
        self.entries.iter().any(|e| {
            matches!(
                e.desc.as_str(),
                "TABLE" | "VIEW" | "MATERIALIZED VIEW" | "FOREIGN TABLE"
            ) && format!("{}.{}", e.namespace, e.tag) == qualified
        })
    }
}

/// Upper bound of one string of the TOC; a larger length means a corrupt archive.
const MAX_TOC_STRING: u64 = 1 << 30;

struct Reader<R> {
    r: R,
    int_size: usize,
    off_size: usize,
    pos: u64,
}

/// Why reading stopped: the file ended, or a value is impossible.
enum TocError {
    Eof,
    Corrupt(String),
}

impl<R: std::io::Read> Reader<R> {
    fn byte(&mut self) -> Result<u8, TocError> {
        let mut b = [0u8; 1];
        match self.r.read_exact(&mut b) {
            Ok(()) => {
                self.pos += 1;
                Ok(b[0])
            }
            Err(_) => Err(TocError::Eof),
        }
    }
    fn int(&mut self) -> Result<i64, TocError> {
        let sign = self.byte()?;
        let mut v: i64 = 0;
        for i in 0..self.int_size {
            v |= (self.byte()? as i64).wrapping_shl(8 * i as u32);
        }
        Ok(if sign != 0 { v.wrapping_neg() } else { v })
    }
    fn opt_string(&mut self) -> Result<Option<String>, TocError> {
        let len = self.int()?;
        if len < 0 {
            return Ok(None);
        }
        if len as u64 > MAX_TOC_STRING {
            return Err(TocError::Corrupt(format!(
                "a string of {len} bytes at offset {}",
                self.pos
            )));
        }
        let mut buf = vec![0u8; len as usize];
        self.r.read_exact(&mut buf).map_err(|_| TocError::Eof)?;
        self.pos += len as u64;
        Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
    }
    fn string(&mut self) -> Result<String, TocError> {
        Ok(self.opt_string()?.unwrap_or_default())
    }
    fn skip(&mut self, n: usize) -> Result<(), TocError> {
        for _ in 0..n {
            self.byte()?;
        }
        Ok(())
    }
}

/// Read the archive's table of contents, as PostgreSQL 16's `ReadHead` / `ReadToc` do
/// (archive versions 1.12 to 1.15). Call after [`inspect`] accepted the header.
pub fn read_toc(path: &Path) -> Result<Toc> {
    let f = std::fs::File::open(path).at(path, "open")?;
    let mut r = Reader {
        r: std::io::BufReader::with_capacity(1 << 16, f),
        int_size: 4,
        off_size: 8,
        pos: 0,
    };
    match read_toc_from(&mut r) {
        Ok(t) => Ok(t),
        Err(TocError::Eof) => Err(Error::new(
            ErrorKind::DumpTruncated,
            format!(
                "{} ends inside its table of contents (at byte {}); the dump is truncated.",
                path.display(),
                r.pos
            ),
        )
        .with_hint("Copy the dump again or take a new backup.")),
        Err(TocError::Corrupt(why)) => Err(Error::new(
            ErrorKind::DumpCorrupt,
            format!(
                "{} has an impossible table of contents ({why}); the archive is corrupt.",
                path.display()
            ),
        )
        .with_hint("Copy the dump again from the backup location, or take a new backup with `dryrun backup`.")),
    }
}

fn read_toc_from<R: std::io::Read>(r: &mut Reader<R>) -> Result<Toc, TocError> {
    r.skip(5)?; // PGDMP
    let vmaj = r.byte()?;
    let vmin = r.byte()?;
    let _vrev = r.byte()?;
    let v = (vmaj, vmin);
    if v < (1, 12) || v > MAX_SUPPORTED {
        return Err(TocError::Corrupt(format!(
            "archive version {vmaj}.{vmin} is outside 1.12..1.15"
        )));
    }
    r.int_size = r.byte()? as usize;
    r.off_size = r.byte()? as usize;
    if !(1..=8).contains(&r.int_size) || !(1..=16).contains(&r.off_size) {
        return Err(TocError::Corrupt("int or offset size".into()));
    }
    let _format = r.byte()?;
    if v >= (1, 15) {
        r.byte()?;
    } else {
        r.int()?;
    }
    for _ in 0..7 {
        r.int()?;
    }
    r.string()?; // database
    r.string()?; // server version
    r.string()?; // pg_dump version
    let count = r.int()?;
    if count < 0 {
        return Err(TocError::Corrupt(format!("{count} entries")));
    }
    let mut entries = Vec::new();
    for _ in 0..count {
        let dump_id = r.int()?;
        if dump_id <= 0 {
            return Err(TocError::Corrupt(format!("entry id {dump_id}")));
        }
        r.int()?; // hadDumper
        r.string()?; // tableoid
        r.string()?; // oid
        let tag = r.string()?;
        let desc = r.string()?;
        r.int()?; // section
        r.string()?; // defn
        r.string()?; // dropStmt
        r.string()?; // copyStmt
        let namespace = r.string()?;
        r.string()?; // tablespace
        if v >= (1, 14) {
            r.string()?; // tableam
        }
        r.string()?; // owner
        r.string()?; // withOids
        let mut deps = 0u64;
        while r.opt_string()?.is_some() {
            deps += 1;
            if deps > 1 << 24 {
                return Err(TocError::Corrupt("endless dependency list".into()));
            }
        }
        // Custom format: data state flag and data offset.
        r.byte()?;
        r.skip(r.off_size)?;
        entries.push(TocEntry {
            desc,
            namespace,
            tag,
        });
    }
    Ok(Toc { entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(int_size: u8, tail: &[u8]) -> Vec<u8> {
        let mut h = b"PGDMP".to_vec();
        h.extend_from_slice(&[1, 15, 0, int_size, 8, 1, 1]);
        h.extend_from_slice(tail);
        h
    }

    fn inspect_bytes(b: &[u8]) -> Result<DumpInfo> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.dump");
        std::fs::write(&p, b).unwrap();
        inspect(&p)
    }

    #[test]
    fn toc_of_the_bundled_fixture_lists_its_tables() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let toc = read_toc(&repo.join("fixtures/directus_full_fixture.dump")).unwrap();
        let psv =
            std::fs::read_to_string(repo.join("fixtures/directus_rowcounts_fixture.psv")).unwrap();
        let listed: std::collections::BTreeSet<String> = psv
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut c = l.split('|');
                Some(format!("{}.{}", c.next()?, c.next()?))
            })
            .collect();
        assert_eq!(toc.tables(), listed);
        assert!(toc.has_relation("public.dot_tools"));
        assert!(toc.entries.iter().any(|e| e.desc == "TABLE DATA"));
    }

    #[test]
    fn truncated_toc_is_refused_not_a_panic() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let b = std::fs::read(repo.join("fixtures/directus_full_fixture.dump")).unwrap();
        for cut in [200usize, 1000, 5000] {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("x.dump");
            std::fs::write(&p, &b[..cut]).unwrap();
            assert_eq!(
                read_toc(&p).unwrap_err().kind,
                crate::ErrorKind::DumpTruncated,
                "{cut}"
            );
        }
    }

    #[test]
    fn corrupt_headers_do_not_panic() {
        // sign byte set on i64::MIN, then huge date fields and a huge string length.
        let mut tail = vec![1, 0, 0, 0, 0, 0, 0, 0, 0x80];
        for _ in 0..6 {
            tail.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        }
        tail.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        let r = inspect_bytes(&header(8, &tail));
        assert_eq!(r.unwrap_err().kind, crate::ErrorKind::DumpTruncated);
        // All-zero fields: day 0 of January 1900 is no date, so no creation time.
        let r = inspect_bytes(&header(8, &[0; 200])).unwrap();
        assert_eq!(r.created, None);
        assert_eq!(
            inspect_bytes(&header(9, &[])).unwrap_err().kind,
            crate::ErrorKind::DumpCorrupt
        );
        assert_eq!(
            inspect_bytes(&header(4, &[0; 3])).unwrap_err().kind,
            crate::ErrorKind::DumpTruncated
        );
    }
}

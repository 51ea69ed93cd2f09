//! Header of a `pg_dump -F c` custom-format archive: format version, compression, creation
//! time and versions. Owns the early refusal of files that are not a restorable dump.

use std::io::Read;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::error::{Error, IoContext, Result};

/// Highest archive version PostgreSQL 16's pg_restore reads (K_VERS_1_15).
pub const MAX_SUPPORTED: (u8, u8) = (1, 15);

#[derive(Debug, Clone, Serialize)]
pub struct DumpInfo {
    pub archive_version: String,
    pub compression: String,
    /// Creation time written by pg_dump (its local time; the harness's images run in UTC).
    pub created: Option<NaiveDateTime>,
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
        return Err(Error::bad_input(
            "dump_empty",
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
        return Err(Error::bad_input("dump_not_custom_format", format!("{} is {what}.", path.display()))
            .with_hint("The restore test needs the custom-format backup made with `pg_dump -F c -Z 6` (as `dryrun backup` writes it)."));
    }
    let truncated = || {
        Error::bad_input(
            "dump_truncated",
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
        return Err(Error::bad_input("dump_version_unsupported", format!(
            "{} was written by a newer pg_dump (archive format {vmaj}.{vmin}.{vrev}); PostgreSQL 16's pg_restore reads at most {}.{}.",
            path.display(), MAX_SUPPORTED.0, MAX_SUPPORTED.1)).with_hint("Dump with the pg_dump of PostgreSQL 16 (the production server's own), or restore into a matching newer server."));
    }
    if format != 1 {
        return Err(Error::bad_input(
            "dump_not_custom_format",
            format!(
                "{} is a pg_dump archive of format {format}, not custom (1).",
                path.display()
            ),
        )
        .with_hint("Use `pg_dump -F c`."));
    }
    if !(1..=8).contains(&int_size) {
        return Err(Error::bad_input(
            "dump_corrupt",
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
    let [sec, min, hour, mday, mon, year, _dst] = fields;
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
        database,
        server_version,
        pg_dump_version,
        size_bytes: size,
    })
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
    fn corrupt_headers_do_not_panic() {
        // sign byte set on i64::MIN, then huge date fields and a huge string length.
        let mut tail = vec![1, 0, 0, 0, 0, 0, 0, 0, 0x80];
        for _ in 0..6 {
            tail.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        }
        tail.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        let r = inspect_bytes(&header(8, &tail));
        assert_eq!(r.unwrap_err().kind, "dump_truncated");
        // All-zero fields: day 0 of January 1900 is no date, so no creation time.
        let r = inspect_bytes(&header(8, &[0; 200])).unwrap();
        assert_eq!(r.created, None);
        assert_eq!(
            inspect_bytes(&header(9, &[])).unwrap_err().kind,
            "dump_corrupt"
        );
        assert_eq!(
            inspect_bytes(&header(4, &[0; 3])).unwrap_err().kind,
            "dump_truncated"
        );
    }
}

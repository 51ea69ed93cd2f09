//! Streaming SHA-256 of files and the `SHA256SUMS` format, read the way `sha256sum -c` reads it.
//! Owns checksum verification of every listed file, which happens before any container exists.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, IoContext, Result};

/// Who watches the bytes being hashed (the harness draws a byte bar on a terminal): told when
/// a file starts, given a counter for it, which is dropped when the file is done or failed.
pub trait Progress {
    /// A file of `total` bytes starts being read; `what` names it (`sha256 NAME`).
    fn start(&self, what: &str, total: u64) -> Box<dyn Counter>;
}

/// The bytes of one file as they are read; dropping it ends that file's progress.
pub trait Counter {
    fn advance(&self, bytes: u64);
}

/// No progress at all (tests, and callers that draw nothing).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _what: &str, _total: u64) -> Box<dyn Counter> {
        Box::new(Silent)
    }
}

impl Counter for Silent {
    fn advance(&self, _bytes: u64) {}
}

/// SHA-256 of a file, read in 1 MiB chunks (memory does not grow with file size); the bytes
/// read are reported to `progress`.
pub fn sha256_file(path: &Path, progress: &dyn Progress) -> Result<String> {
    let mut f = std::fs::File::open(path).at(path, "open")?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress.start(&format!("sha256 {}", file_name_of(path)), size);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).at(path, "read")?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        bar.advance(n as u64);
    }
    Ok(hex::encode(h.finalize()))
}

pub fn sha256_bytes(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// One line of a SHA256SUMS file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumEntry {
    pub digest: String,
    /// The name as the line carries it (absolute, `./x`, `dir/x` or plain).
    pub name: String,
    /// Its last path component: what the entry is matched by.
    pub file: String,
    pub line: usize,
}

/// The last path component of a listed name (`/srv/b/x.dump`, `./x.dump`, `b/x.dump` → `x.dump`).
pub fn base_name(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string())
}

fn file_name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Parse a SHA256SUMS file strictly, as `sha256sum` writes it: `<64 lowercase hex><two
/// spaces><name>`, or ` *name` (binary marker), a leading `\` for escaped names, or the
/// `--tag` form `SHA256 (name) = <hex>`.
pub fn parse_sums(path: &Path) -> Result<Vec<SumEntry>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            Error::new(
                ErrorKind::SumsMalformed,
                format!("{} is not a text SHA256SUMS file (not UTF-8).", path.display()),
            )
        } else {
            Error::io(path, "read the checksum file", e).with_hint(
                "Pass --sums pointing at the SHA256SUMS written next to the dump by `dryrun backup`.",
            )
        }
    })?;
    parse_sums_text(&text, path)
}

/// `sha256sum`'s escaping of names holding a backslash or newline (line starts with `\`).
fn unescape(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = name.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next()? {
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

pub fn parse_sums_text(text: &str, path: &Path) -> Result<Vec<SumEntry>> {
    let mut out: Vec<SumEntry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |why: &str| {
            Error::new(
                ErrorKind::SumsMalformed,
                format!("{}:{line}: {why}: {raw:?}.", path.display()),
            )
            .with_hint("Each line must be `<64 lowercase hex digits><two spaces><file name>`, as `sha256sum` writes it; regenerate it with `sha256sum FILE > SHA256SUMS`.")
        };
        let (escaped, body) = match raw.strip_prefix('\\') {
            Some(b) => (true, b),
            None => (false, raw),
        };
        let (digest, name) = if let Some(tag) = body.strip_prefix("SHA256 (") {
            let (n, d) = tag
                .rsplit_once(") = ")
                .ok_or_else(|| bad("`SHA256 (name) = digest` line without `) = `"))?;
            (d, n)
        } else {
            let (digest, rest) = body.split_at(
                body.find(' ')
                    .ok_or_else(|| bad("no space after the digest"))?,
            );
            let name = rest
                .strip_prefix("  ")
                .or_else(|| rest.strip_prefix(" *"))
                .ok_or_else(|| bad("digest and file name must be separated by two spaces"))?;
            (digest, name)
        };
        if digest.len() != 64 {
            return Err(bad(&format!(
                "digest has {} characters, expected 64",
                digest.len()
            )));
        }
        if digest.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad("digest is not lowercase hex"));
        }
        if !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("digest is not hexadecimal"));
        }
        let name = if escaped {
            unescape(name).ok_or_else(|| bad("bad escape in the file name"))?
        } else {
            name.to_string()
        };
        if name.is_empty() {
            return Err(bad("file name missing"));
        }
        let file = base_name(&name);
        if let Some(prev) = out.iter().find(|e| e.file == file) {
            return Err(bad(&format!(
                "{file} is listed twice (line {} and line {line}); entries are matched by file name",
                prev.line
            )));
        }
        out.push(SumEntry {
            digest: digest.to_string(),
            name,
            file,
            line,
        });
    }
    if out.is_empty() {
        return Err(Error::new(
            ErrorKind::SumsMalformed,
            format!("{} lists no file.", path.display()),
        )
        .with_hint("Regenerate it with `sha256sum FILE > SHA256SUMS`."));
    }
    Ok(out)
}

/// A file verified against its entry.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub file: String,
    pub sha256: String,
}

/// What a listed file is to the restore test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    Dump,
    RowCounts,
    Other,
}

/// The verdict on one entry of the sums file (`sha256sum -c --ignore-missing` semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileVerdict {
    /// Present, digest matches.
    Verified,
    /// The dump has no entry under its own name; its digest matches this entry exactly.
    VerifiedRenamed,
    /// Listed but not present in the sums file's folder: not verified (a note).
    Absent,
}

/// One listed file with its verdict, as the reports list it.
#[derive(Debug, Clone, Serialize)]
pub struct ListedFile {
    /// The name as the sums line carries it.
    pub listed_as: String,
    pub line: usize,
    /// The file that was checked (path as given, or the sums file's folder + the listed name).
    pub path: String,
    pub role: FileRole,
    pub verdict: FileVerdict,
    pub sha256: String,
}

/// Every entry of a sums file with its verdict, and the notes to report.
#[derive(Debug, Clone, Serialize)]
pub struct SumsCheck {
    pub sums: String,
    pub files: Vec<ListedFile>,
    pub notes: Vec<String>,
}

impl SumsCheck {
    /// The files that were verified (for the reports' artefact lists).
    pub fn verified(&self) -> Vec<Verified> {
        self.files
            .iter()
            .filter(|f| f.verdict != FileVerdict::Absent)
            .map(|f| Verified {
                file: file_name_of(Path::new(&f.path)),
                sha256: f.sha256.clone(),
            })
            .collect()
    }

    /// The verified dump's SHA-256 (none when the sums file checked no dump).
    pub fn dump_sha256(&self) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.role == FileRole::Dump && f.verdict != FileVerdict::Absent)
            .map(|f| f.sha256.as_str())
    }
}

fn mismatch(file: &Path, actual: &str, sums_path: &Path, e: &SumEntry) -> Error {
    Error::new(
        ErrorKind::ChecksumMismatch,
        format!(
            "{} does not match its checksum: SHA-256 is {actual}, {}:{} expects {}. The file is corrupt or not the one that was backed up; nothing was provisioned.",
            file.display(),
            sums_path.display(),
            e.line,
            e.digest
        ),
    )
    .with_hint("Copy the file again from the backup location (or take a new backup with `dryrun backup`); `sha256sum -c` in the sums file's folder shows the same.")
}

/// Find the entry for `file`: by its file name, else (exactly one entry with its digest) as a
/// renamed copy. Returns the entry, the file's digest and whether it was matched by digest.
fn entry_for<'a>(
    file: &Path,
    sums_path: &Path,
    entries: &'a [SumEntry],
    what: &str,
    progress: &dyn Progress,
) -> Result<(&'a SumEntry, String, bool)> {
    let name = file_name_of(file);
    let actual = sha256_file(file, progress)?;
    if let Some(e) = entries.iter().find(|e| e.file == name) {
        if actual != e.digest {
            return Err(mismatch(file, &actual, sums_path, e));
        }
        return Ok((e, actual, false));
    }
    let same: Vec<&SumEntry> = entries.iter().filter(|e| e.digest == actual).collect();
    match same.as_slice() {
        [e] => Ok((e, actual, true)),
        _ => Err(Error::new(
            ErrorKind::SumsNoEntry,
            format!(
                "{} has no entry for {name} (matched by file name, whatever path the line carries){}, so the {what} cannot be verified.",
                sums_path.display(),
                if same.is_empty() {
                    ", and no entry has its SHA-256".to_string()
                } else {
                    format!(", and {} entries have its SHA-256", same.len())
                }
            ),
        )
        .with_hint(format!(
            "Use the SHA256SUMS written together with this {what}; `sha256sum -c {}` in its folder must accept it.",
            file_name_of(sums_path)
        ))),
    }
}

/// Verify `file` against its entry (by file name, or a unique digest for a renamed copy).
pub fn verify_listed(
    file: &Path,
    sums_path: &Path,
    entries: &[SumEntry],
    progress: &dyn Progress,
) -> Result<Verified> {
    let (_, sha256, _) = entry_for(file, sums_path, entries, "dump", progress)?;
    Ok(Verified {
        file: file_name_of(file),
        sha256,
    })
}

/// `sha256sum -c --ignore-missing` over the whole sums file: the dump must be listed (by name
/// or, renamed, by digest) and match; the row-count file is verified when listed; every other
/// entry is looked for by its file name in the sums file's folder (the team's files were moved
/// there together, whatever path `sha256sum` was given): present → must match, absent → a note.
pub fn verify_set(
    sums_path: &Path,
    entries: &[SumEntry],
    dump: &Path,
    rowcounts: Option<&Path>,
    progress: &dyn Progress,
) -> Result<SumsCheck> {
    let mut files = Vec::new();
    let mut notes = Vec::new();
    let (de, dsha, renamed) = entry_for(dump, sums_path, entries, "dump", progress)?;
    if renamed {
        notes.push(format!(
            "{} has no entry in {} under its own name; its SHA-256 matches the entry for {} (line {}): verified as a renamed copy of {}",
            file_name_of(dump),
            sums_path.display(),
            de.name,
            de.line,
            de.file
        ));
    }
    files.push(ListedFile {
        listed_as: de.name.clone(),
        line: de.line,
        path: dump.display().to_string(),
        role: FileRole::Dump,
        verdict: if renamed {
            FileVerdict::VerifiedRenamed
        } else {
            FileVerdict::Verified
        },
        sha256: dsha,
    });
    let mut done = vec![de.line];
    if let Some(rc) = rowcounts {
        let name = file_name_of(rc);
        match entries.iter().find(|e| e.file == name) {
            Some(e) => {
                let actual = sha256_file(rc, progress)?;
                if actual != e.digest {
                    return Err(mismatch(rc, &actual, sums_path, e));
                }
                done.push(e.line);
                files.push(ListedFile {
                    listed_as: e.name.clone(),
                    line: e.line,
                    path: rc.display().to_string(),
                    role: FileRole::RowCounts,
                    verdict: FileVerdict::Verified,
                    sha256: actual,
                });
            }
            None => notes.push(format!(
                "row-count file {name} is not listed in {}: not verified",
                sums_path.display()
            )),
        }
    }
    let dir = sums_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    for e in entries.iter().filter(|e| !done.contains(&e.line)) {
        let p = dir.join(&e.file);
        if !p.is_file() {
            notes.push(format!(
                "{}: listed in {}:{}, absent from {}, not verified",
                e.file,
                sums_path.display(),
                e.line,
                dir.display()
            ));
            files.push(ListedFile {
                listed_as: e.name.clone(),
                line: e.line,
                path: p.display().to_string(),
                role: FileRole::Other,
                verdict: FileVerdict::Absent,
                sha256: String::new(),
            });
            continue;
        }
        let actual = sha256_file(&p, progress)?;
        if actual != e.digest {
            return Err(mismatch(&p, &actual, sums_path, e));
        }
        files.push(ListedFile {
            listed_as: e.name.clone(),
            line: e.line,
            path: p.display().to_string(),
            role: FileRole::Other,
            verdict: FileVerdict::Verified,
            sha256: actual,
        });
    }
    files.sort_by_key(|f| f.line);
    Ok(SumsCheck {
        sums: sums_path.display().to_string(),
        files,
        notes,
    })
}

/// Write a SHA256SUMS for the given files (names relative to `dir`), atomically.
pub fn write_sums(dir: &Path, names: &[String], progress: &dyn Progress) -> Result<PathBuf> {
    let mut text = String::new();
    for n in names {
        let d = sha256_file(&dir.join(n), progress)?;
        text.push_str(&format!("{d}  {n}\n"));
    }
    let path = dir.join("SHA256SUMS");
    crate::fsutil::write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sha256sum_output() {
        let d = "a".repeat(64);
        let e = parse_sums_text(&format!("{d}  x.dump\n{d} *y.sql\n"), Path::new("S")).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].name, "y.sql");
    }

    #[test]
    fn matches_by_file_name_whatever_the_path() {
        let d = "b".repeat(64);
        let text = format!(
            "{d}  /srv/backup/a.dump\n{d}  ./b.sql\n{d} *dir/c.psv\nSHA256 (e/f.log) = {d}\n\\{d}  g\\\\h\r\n"
        );
        let e = parse_sums_text(&text, Path::new("S")).unwrap();
        let files: Vec<&str> = e.iter().map(|e| e.file.as_str()).collect();
        assert_eq!(files, ["a.dump", "b.sql", "c.psv", "f.log", "g\\h"]);
        assert_eq!(e[0].name, "/srv/backup/a.dump");
        let twice = parse_sums_text(&format!("{d}  /a/x\n{d}  ./x\n"), Path::new("S"));
        assert!(twice.unwrap_err().message.contains("listed twice"));
    }

    #[test]
    fn rejects_upper_short_and_single_space() {
        let up = "A".repeat(64);
        for bad in [
            format!("{up}  x"),
            format!("{}  x", "a".repeat(63)),
            format!("{} x", "a".repeat(64)),
            format!("{}  x", "g".repeat(64)),
            String::new(),
        ] {
            let err = parse_sums_text(&bad, Path::new("S")).unwrap_err();
            assert_eq!(err.kind, crate::ErrorKind::SumsMalformed, "{bad:?}");
        }
    }

    /// A folder holding `files` and a `SHA256SUMS` listing each `(content, name)` of `listed`,
    /// and the parsed entries.
    fn backup_set(
        files: &[(&str, &[u8])],
        listed: &[(&[u8], &str)],
    ) -> (tempfile::TempDir, PathBuf, Vec<SumEntry>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let text: String = listed
            .iter()
            .map(|(content, name)| format!("{}  {name}\n", sha256_bytes(content)))
            .collect();
        let sums = dir.path().join("SHA256SUMS");
        std::fs::write(&sums, text).unwrap();
        let entries = parse_sums(&sums).unwrap();
        (dir, sums, entries)
    }

    #[test]
    fn verify_set_renamed_absent_and_tampered() {
        let (dir, sums, entries) = backup_set(
            &[("renamed.dump", b"dump"), ("s.sql", b"schema")],
            &[
                (b"dump", "/prod/orig.dump"),
                (b"schema", "./s.sql"),
                (b"x", "gone/pg_dump.stderr"),
            ],
        );
        let p = |n: &str| dir.path().join(n);
        let c = verify_set(&sums, &entries, &p("renamed.dump"), None, &Silent).unwrap();
        let v: Vec<FileVerdict> = c.files.iter().map(|f| f.verdict).collect();
        assert_eq!(
            v,
            [
                FileVerdict::VerifiedRenamed,
                FileVerdict::Verified,
                FileVerdict::Absent
            ]
        );
        assert!(c.notes[0].contains("renamed.dump") && c.notes[0].contains("/prod/orig.dump"));
        assert!(c.notes[1].contains("pg_dump.stderr") && c.notes[1].contains("not verified"));
        std::fs::write(p("s.sql"), b"tampered").unwrap();
        let e = verify_set(&sums, &entries, &p("renamed.dump"), None, &Silent).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::ChecksumMismatch);
        assert!(e.message.contains("s.sql") && e.message.contains("SHA256SUMS:2"));
        std::fs::write(p("other.dump"), b"other").unwrap();
        let e = verify_set(&sums, &entries, &p("other.dump"), None, &Silent).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::SumsNoEntry);
    }

    #[test]
    fn escaped_names_unescape_newline_carriage_return_and_backslash() {
        let h = sha256_bytes(b"x");
        let text = format!("\\{h}  a\\nb\\rc\\\\d.dump\n");
        let e = parse_sums_text(&text, Path::new("SHA256SUMS")).unwrap();
        assert_eq!(e[0].name, "a\nb\rc\\d.dump");
        let bad = format!("\\{h}  a\\tb.dump\n");
        assert!(parse_sums_text(&bad, Path::new("SHA256SUMS")).is_err());
    }

    #[test]
    fn listed_dump_and_row_count_file_are_verified_by_name_and_a_tampered_one_refused() {
        let (dir, sums, entries) = backup_set(
            &[("x.dump", b"dump"), ("rc.psv", b"counts")],
            &[(b"dump", "x.dump"), (b"counts", "rc.psv")],
        );
        let p = |n: &str| dir.path().join(n);
        let c = verify_set(&sums, &entries, &p("x.dump"), Some(&p("rc.psv")), &Silent).unwrap();
        let got: Vec<(FileRole, FileVerdict)> =
            c.files.iter().map(|f| (f.role, f.verdict)).collect();
        assert_eq!(
            got,
            [
                (FileRole::Dump, FileVerdict::Verified),
                (FileRole::RowCounts, FileVerdict::Verified)
            ]
        );
        assert!(c.notes.is_empty(), "{:?}", c.notes);
        std::fs::write(p("rc.psv"), b"tampered").unwrap();
        let e = verify_set(&sums, &entries, &p("x.dump"), Some(&p("rc.psv")), &Silent).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::ChecksumMismatch);
        assert!(e.message.contains("rc.psv"), "{}", e.message);
        std::fs::write(p("rc.psv"), b"counts").unwrap();
        std::fs::write(p("x.dump"), b"tampered").unwrap();
        let e = verify_set(&sums, &entries, &p("x.dump"), None, &Silent).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::ChecksumMismatch);
        assert!(e.message.contains("x.dump"), "{}", e.message);
    }
}

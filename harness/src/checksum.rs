//! Streaming SHA-256 of files and the `SHA256SUMS` format (`sha256sum -c` compatible).
//! Owns checksum verification that happens before any container is touched.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};

/// SHA-256 of a file, read in 1 MiB chunks (memory does not grow with file size).
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).at(path, "open")?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).at(path, "read")?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
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
    pub name: String,
    pub line: usize,
}

/// Parse a SHA256SUMS file strictly: `<64 lowercase hex><two spaces><file name>`
/// (`sha256sum`'s binary marker ` *name` is accepted too).
pub fn parse_sums(path: &Path) -> Result<Vec<SumEntry>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            Error::bad_input(
                "sums_malformed",
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

pub fn parse_sums_text(text: &str, path: &Path) -> Result<Vec<SumEntry>> {
    let mut out: Vec<SumEntry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |why: &str| {
            Error::bad_input(
                "sums_malformed",
                format!("{}:{line}: {why}: {raw:?}.", path.display()),
            )
            .with_hint("Each line must be `<64 lowercase hex digits><two spaces><file name>`, as `sha256sum` writes it; regenerate it with `sha256sum FILE > SHA256SUMS`.")
        };
        let (digest, rest) = raw.split_at(
            raw.find(' ')
                .ok_or_else(|| bad("no space after the digest"))?,
        );
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
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .ok_or_else(|| bad("digest and file name must be separated by two spaces"))?;
        if name.is_empty() {
            return Err(bad("file name missing"));
        }
        if out.iter().any(|e| e.name == name) {
            return Err(bad("file listed twice"));
        }
        out.push(SumEntry {
            digest: digest.to_string(),
            name: name.to_string(),
            line,
        });
    }
    if out.is_empty() {
        return Err(Error::bad_input(
            "sums_malformed",
            format!("{} lists no file.", path.display()),
        )
        .with_hint("Regenerate it with `sha256sum FILE > SHA256SUMS`."));
    }
    Ok(out)
}

/// Outcome of verifying one file against a sums file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verified {
    pub file: String,
    pub sha256: String,
}

/// Verify `file` against its entry in `sums` (matched by file name). The file must be listed.
pub fn verify_listed(file: &Path, sums_path: &Path, entries: &[SumEntry]) -> Result<Verified> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let entry = entries.iter().find(|e| e.name == name).ok_or_else(|| {
        Error::bad_input(
            "sums_no_entry",
            format!(
                "{} has no entry for {name}, so the dump cannot be verified.",
                sums_path.display()
            ),
        )
        .with_hint(
            "Use the SHA256SUMS written together with this dump, or add its line with `sha256sum`.",
        )
    })?;
    let actual = sha256_file(file)?;
    if actual != entry.digest {
        return Err(Error::bad_input(
            "checksum_mismatch",
            format!(
                "{} does not match its checksum: SHA-256 is {actual}, {}:{} expects {}. The file is corrupt or not the one that was backed up; nothing was provisioned.",
                file.display(),
                sums_path.display(),
                entry.line,
                entry.digest
            ),
        )
        .with_hint("Copy the dump again from the backup location, or take a new backup with `dryrun backup`."));
    }
    Ok(Verified {
        file: name,
        sha256: actual,
    })
}

/// Write a SHA256SUMS for the given files (names relative to `dir`), atomically.
pub fn write_sums(dir: &Path, names: &[String]) -> Result<PathBuf> {
    let mut text = String::new();
    for n in names {
        let d = sha256_file(&dir.join(n))?;
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
            assert_eq!(err.kind, "sums_malformed", "{bad:?}");
        }
    }
}

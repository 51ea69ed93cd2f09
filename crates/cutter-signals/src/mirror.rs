//! JSON-lines mirror of emitted signals, for dry runs.
//! One `Signal` per line, appended and flushed as it is emitted; readable back with `read_all`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::signal::Signal;

/// Appends every emitted signal as one JSON line to a file.
#[derive(Debug)]
pub struct JsonlMirror {
    path: PathBuf,
    file: Mutex<File>,
}

impl JsonlMirror {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: impl AsRef<Path>) -> Result<JsonlMirror> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(JsonlMirror {
            path,
            file: Mutex::new(file),
        })
    }

    /// The mirrored file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `signal` as one line and flushes it to the file.
    pub fn append(&self, signal: &Signal) -> Result<()> {
        let mut line = serde_json::to_vec(signal)?;
        line.push(b'\n');
        // A poisoned lock only means another append panicked; the file handle is still usable.
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(&line)?;
        file.flush()?;
        file.sync_data()?;
        Ok(())
    }

    /// Reads every signal of a mirror file, in file order (blank lines skipped).
    pub fn read_all(path: impl AsRef<Path>) -> Result<Vec<Signal>> {
        let reader = BufReader::new(File::open(path)?);
        let mut signals = Vec::new();
        for line in reader.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            signals.push(serde_json::from_str(&line).map_err(Error::Json)?);
        }
        Ok(signals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::SignalKind;
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    fn sample(n: u128) -> Signal {
        Signal {
            id: Uuid::from_u128(n),
            kind: SignalKind::SignatureFailure,
            change_set_id: Uuid::from_u128(7),
            emitter_dot_id: 991,
            routed_to: "G-2".into(),
            payload: serde_json::json!({"reason": "bad signature", "n": n as u64}),
            emitted_at: Utc
                .with_ymd_and_hms(2024, 5, 6, 7, 8, 9)
                .single()
                .expect("valid date"),
            acknowledged_by: None,
            acknowledged_at: None,
        }
    }

    #[test]
    fn appends_one_line_per_signal_and_reads_back() -> Result<()> {
        let dir =
            std::env::temp_dir().join(format!("cutter-signals-mirror-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("signals.jsonl");
        let _ = std::fs::remove_file(&path);
        {
            let mirror = JsonlMirror::open(&path)?;
            mirror.append(&sample(1))?;
            mirror.append(&sample(2))?;
        }
        // reopening appends instead of truncating
        JsonlMirror::open(&path)?.append(&sample(3))?;
        let text = std::fs::read_to_string(&path)?;
        assert_eq!(text.lines().count(), 3);
        assert!(text
            .lines()
            .all(|l| l.contains("\"kind\":\"signature_failure\"")));
        let back = JsonlMirror::read_all(&path)?;
        assert_eq!(back, vec![sample(1), sample(2), sample(3)]);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}

//! Writing reports: JSON for machines, Markdown for people, JUnit XML for CI, each written
//! to a temporary file and renamed, and each listed with its SHA-256.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::fsutil::write_atomic;

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<PathBuf> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::new(ErrorKind::Json, e.to_string()))?;
    write_atomic(path, format!("{text}\n").as_bytes())?;
    Ok(path.to_path_buf())
}

pub fn write_text(path: &Path, text: &str) -> Result<PathBuf> {
    write_atomic(path, text.as_bytes())?;
    Ok(path.to_path_buf())
}

/// Markdown for a restore test.
pub fn restore_markdown(r: &crate::restore::RestoreTestReport) -> String {
    let mut s = String::new();
    s.push_str("# HB-08 restore test\n\n");
    if let Some(h) = crate::fault::hooks_sentence(&r.test_hooks) {
        s.push_str(&format!("**{h}**\n\n"));
    }
    s.push_str(&format!(
        "**Verdict: {}**",
        r.verdict.as_str().to_uppercase()
    ));
    if let Some(st) = &r.stopped_at {
        s.push_str(&format!(" (stopped at {st})"));
    }
    s.push_str("\n\n");
    if let Some(reason) = &r.reason {
        s.push_str(&format!("Reason: {reason}\n\n"));
    }
    s.push_str(&format!(
        "## Checksums\n\nEvery entry of `{}` (matched by file name; other files looked for in its folder):\n\n| listed as | line | file | verdict | SHA-256 |\n|---|---|---|---|---|\n",
        r.checksums.sums
    ));
    for f in &r.checksums.files {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            f.listed_as,
            f.line,
            f.path,
            match f.verdict {
                crate::checksum::FileVerdict::Verified => "verified",
                crate::checksum::FileVerdict::VerifiedRenamed => "verified (renamed copy)",
                crate::checksum::FileVerdict::Absent => "listed, absent, not verified",
            },
            if f.sha256.is_empty() {
                "-".to_string()
            } else {
                format!("`{}`", f.sha256)
            }
        ));
    }
    s.push_str(&format!(
        "\n## Dump\n\n- archive format {} ({} compression), {} bytes\n- created {} by pg_dump {} from server {} (database `{}`)\n",
        r.dump.archive_version,
        r.dump.compression,
        r.dump.size_bytes,
        r.dump.created.map(|c| c.to_string()).unwrap_or_else(|| "?".into()),
        r.dump.pg_dump_version,
        r.dump.server_version,
        r.dump.database
    ));
    s.push_str(&format!(
        "\n## Environment\n\n- image `{}` (`{}`)\n- server version {}\n- run `{}`\n",
        r.image, r.image_id, r.server_version, r.run_id
    ));
    if !r.settings.is_empty() {
        s.push_str(&format!(
            "- restore-time settings: {}\n",
            r.settings
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(ro) = &r.restore {
        s.push_str(&format!(
            "\n## pg_restore\n\n- `-j {}`, exit code {}, errors ignored: {}\n",
            ro.jobs,
            ro.exit_code,
            ro.errors_ignored
                .map(|n| n.to_string())
                .unwrap_or_else(|| "0".into())
        ));
        s.push_str(&format!(
            "- messages found: {}; they account for {} of pg_restore's count\n",
            ro.messages.len(),
            ro.errors_accounted
        ));
        if let Some(n) = &ro.count_note {
            s.push_str(&format!("- {n}\n"));
        }
        for m in &ro.messages {
            s.push_str(&format!(
                "- {} ({}): {}\n",
                if m.benign { "note" } else { "ERROR" },
                m.kind,
                m.message.lines().next().unwrap_or("")
            ));
        }
    }
    if let Some(sm) = &r.smoke {
        s.push_str(&format!(
            "\n## Smoke test\n\n- checks: {}\n- tables: {} restored, {} in the snapshot ({})\n",
            sm.checks_source,
            sm.tables_restored,
            sm.tables_expected
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            match sm.count_kind {
                Some(crate::rowcounts::CountKind::Exact) => "exact counts",
                Some(crate::rowcounts::CountKind::Estimate) => "estimates, with tolerance",
                None => "no snapshot",
            },
        ));
        if let Some(ok) = sm.dot_pair_ok {
            s.push_str(&format!(
                "- DOT pair present and active: {}\n",
                if ok { "yes" } else { "NO" }
            ));
        }
        s.push_str("\n| check | result | detail |\n|---|---|---|\n");
        for c in &sm.checks {
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                c.check,
                if c.passed { "pass" } else { "FAIL" },
                c.detail.replace('|', "\\|")
            ));
        }
        if !sm.key_tables.is_empty() {
            s.push_str("\n| key table | snapshot | restored | match |\n|---|---|---|---|\n");
            for k in &sm.key_tables {
                s.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    k.table,
                    opt(k.expected),
                    opt(k.restored),
                    if k.matches { "yes" } else { "NO" }
                ));
            }
        }
        if !sm.differences.is_empty() {
            s.push_str("\nDifferences:\n\n");
            for d in &sm.differences {
                s.push_str(&format!("- {d}\n"));
            }
        }
    }
    if let Some(k) = &r.kept {
        s.push_str(&format!(
            "\n## {}\n\n- container `{}`, data volume `{}` (left alone by other runs' sweeps and by `dryrun gc`)\n- connect: `{}`\n- remove: `{}`{}\n",
            if k.persistent { "Persistent environment" } else { "Kept container" },
            k.container,
            k.volume,
            k.connect,
            k.remove,
            if k.persistent {
                ""
            } else {
                " (or `dryrun gc --all`, which removes every kept container whose command has exited)"
            }
        ));
    }
    if let Some(c) = &r.content {
        s.push_str(&crate::report::content_markdown(c));
    }
    if !r.notes.is_empty() {
        s.push_str("\n## Notes\n\n");
        for n in &r.notes {
            s.push_str(&format!("- {n}\n"));
        }
    }
    let t = &r.timings;
    s.push_str(&format!(
        "\n## Timings (ms)\n\nverify {} · provision {} · upload {} · restore {} · smoke {} · teardown {} · total {}\n",
        t.verify_ms, t.provision_ms, t.upload_ms, t.restore_ms, t.smoke_ms, t.teardown_ms, t.total_ms
    ));
    s.push_str("\n## Sign-off\n\n- G-4 (custodian): ____________________  date: __________\n");
    s
}

fn opt(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

/// The content-proof section of the restore-test report.
pub fn content_markdown(c: &crate::restore::ContentProof) -> String {
    let mut s = format!(
        "\n## Content proof\n\ncontent identical: {} of {} tables (against {}, {} ms)\n",
        c.tables_identical, c.tables_expected, c.file, c.ms
    );
    for d in &c.differing {
        s.push_str(&format!("- differs: {d}\n"));
    }
    s
}

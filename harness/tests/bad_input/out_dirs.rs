//! Output folders of `backup` and `fixture`: one that already holds a backup set is refused
//! without --force, and `fixture` has no default folder (never the committed fixtures/).

use std::path::PathBuf;
use std::process::Command;

use tempfile::TempDir;

use crate::support::*;

/// A folder holding a backup set (as `dryrun backup` leaves it).
fn folder_with_backup_set() -> (TempDir, PathBuf, Vec<String>) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().canonicalize().unwrap();
    std::fs::write(
        dir.join("SHA256SUMS"),
        format!("{}  a.dump\n", "1".repeat(64)),
    )
    .unwrap();
    std::fs::write(dir.join("a.dump"), b"PGDMP").unwrap();
    let before = listing(&dir);
    (tmp, dir, before)
}

#[test]
fn backup_into_a_folder_holding_a_backup_set() {
    let (_tmp, dir, before) = folder_with_backup_set();
    let sums_before = std::fs::read(dir.join("SHA256SUMS")).unwrap();
    let mut c = Command::new(BIN);
    c.current_dir(&dir)
        .args(["backup", "--source-container", "no-such-source", "--out"])
        .arg(&dir);
    let r = run(c);
    assert_refused(
        &r,
        3,
        "backup_set_exists",
        &[&dir.display().to_string(), "SHA256SUMS", "--force"],
    );
    assert_eq!(listing(&dir), before);
    assert_eq!(std::fs::read(dir.join("SHA256SUMS")).unwrap(), sums_before);
}

#[test]
fn fixture_into_a_folder_holding_a_backup_set() {
    let (_tmp, dir, before) = folder_with_backup_set();
    let mut c = Command::new(BIN);
    c.current_dir(repo()).args(["fixture", "--out"]).arg(&dir);
    let r = run(c);
    assert_refused(
        &r,
        3,
        "backup_set_exists",
        &[&dir.display().to_string(), "--force"],
    );
    assert_eq!(listing(&dir), before);
}

#[test]
fn fixture_without_out() {
    // A usage error (exit 2, clap's message naming --out): the committed fixtures/ is never a default.
    let fixtures = repo().join("fixtures");
    let before: Vec<(String, String)> = listing(&fixtures)
        .into_iter()
        .filter(|n| !fixtures.join(n).is_dir())
        .map(|n| {
            let d = sha256_hex(&std::fs::read(fixtures.join(&n)).unwrap());
            (n, d)
        })
        .collect();
    let mut c = Command::new(BIN);
    c.current_dir(repo()).args(["fixture", "--seed", "1"]);
    let r = run(c);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--out"), "{}", r.stderr);
    let after: Vec<(String, String)> = listing(&fixtures)
        .into_iter()
        .filter(|n| !fixtures.join(n).is_dir())
        .map(|n| {
            let d = sha256_hex(&std::fs::read(fixtures.join(&n)).unwrap());
            (n, d)
        })
        .collect();
    assert_eq!(after, before, "fixtures/ changed");
    assert_no_leftovers(&r);
}

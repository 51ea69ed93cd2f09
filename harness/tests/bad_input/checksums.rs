//! Bad SHA256SUMS files: a flipped byte, a missing or malformed file, no entry for the dump,
//! a tampered listed file, and the line format (case, length, separator).

use crate::inputs::*;
use crate::support::*;

#[test]
fn one_flipped_byte_fails_the_checksum() {
    let mut d = fixture(DUMP);
    let at = d.len() / 2;
    d[at] ^= 0x01;
    let listed = bundled_digest(DUMP);
    let i = Inputs::with_sums("flipped.dump", &d, |n, _| format!("{listed}  {n}\n"));
    let actual = sha256_hex(&d);
    let sums_line = format!("{}:1", i.path(&i.sums));
    let r = assert_bad_input(
        &i,
        "checksum_mismatch",
        &[&i.path(&i.dump), &actual, &listed, &sums_line],
    );
    assert!(r.stderr.contains("nothing was provisioned"), "{}", r.stderr);
}

#[test]
fn sums_file_missing() {
    let mut i = Inputs::new("fixture.dump", &fixture(DUMP));
    std::fs::remove_file(&i.sums).unwrap();
    i.snapshot();
    assert_bad_input(&i, "file_not_found", &[&i.path(&i.sums)]);
}

#[test]
fn sums_malformed() {
    let i = Inputs::with_sums("fixture.dump", &fixture(DUMP), |_, _| {
        "this is not a checksum line\n".into()
    });
    assert_bad_input(&i, "sums_malformed", &[&format!("{}:1", i.path(&i.sums))]);
}

#[test]
fn sums_without_entry_for_the_dump() {
    // Neither its name nor its digest is listed (a renamed copy with a listed digest passes).
    let other = "0".repeat(64);
    let i = Inputs::with_sums("fixture.dump", &fixture(DUMP), |_, _| {
        format!("{other}  some-other.dump\n")
    });
    let r = assert_bad_input(&i, "sums_no_entry", &[&i.path(&i.sums), "fixture.dump"]);
    assert!(
        r.stderr.contains("no entry has its SHA-256"),
        "{}",
        r.stderr
    );
}

#[test]
fn sums_listed_file_tampered() {
    // Every listed file present in the sums file's folder is verified, matched by file name
    // whatever path the line carries (here `./`), like `sha256sum -c`.
    let i = Inputs::with_sums("fixture.dump", &fixture(DUMP), |n, d| {
        format!(
            "{d}  {n}\n{}  ./schema.sql\n",
            sha256_hex(b"as backed up\n")
        )
    });
    std::fs::write(i.dir.join("schema.sql"), b"edited afterwards\n").unwrap();
    let mut i = i;
    i.snapshot();
    let schema = i.dir.join("schema.sql");
    let line = format!("{}:2", i.path(&i.sums));
    let r = assert_bad_input(&i, "checksum_mismatch", &[&i.path(&schema), &line]);
    assert!(r.stderr.contains("nothing was provisioned"), "{}", r.stderr);
}

/// Line 1 lists another file correctly; line 2 is the dump's line, bent by `bend`.
fn sums_line_2(bend: fn(&str, &str) -> String) -> Inputs {
    Inputs::with_sums("fixture.dump", &fixture(DUMP), move |n, d| {
        format!("{}  {PSV}\n{}\n", bundled_digest(PSV), bend(n, d))
    })
}

#[test]
fn sums_uppercase_digest() {
    let i = sums_line_2(|n, d| format!("{}  {n}", d.to_uppercase()));
    let r = assert_bad_input(&i, "sums_malformed", &[&format!("{}:2", i.path(&i.sums))]);
    assert!(r.stderr.contains("lowercase"), "{}", r.stderr);
}

#[test]
fn sums_short_digest() {
    let i = sums_line_2(|n, d| format!("{}  {n}", &d[..63]));
    let r = assert_bad_input(&i, "sums_malformed", &[&format!("{}:2", i.path(&i.sums))]);
    assert!(r.stderr.contains("63 characters"), "{}", r.stderr);
}

#[test]
fn sums_single_space_separator() {
    let i = sums_line_2(|n, d| format!("{d} {n}"));
    let r = assert_bad_input(&i, "sums_malformed", &[&format!("{}:2", i.path(&i.sums))]);
    assert!(r.stderr.contains("two spaces"), "{}", r.stderr);
}

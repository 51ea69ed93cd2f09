//! Bad dump files: empty, plain SQL, a newer pg_dump, a cut or impossible header, and a
//! truncated dump whose checksum matches (refused by pg_restore, with a report).

use crate::inputs::*;
use crate::support::*;

#[test]
fn empty_dump_file() {
    let i = Inputs::new("empty.dump", b"");
    let r = assert_bad_input(&i, "dump_empty", &[&i.path(&i.dump), "0 bytes"]);
    assert!(r.stderr.contains("not a pg_dump archive"), "{}", r.stderr);
}

#[test]
fn plain_sql_passed_as_custom_dump() {
    let i = Inputs::new("plain.dump", &fixture("directus_schema_fixture.sql"));
    let r = assert_bad_input(&i, "dump_not_custom_format", &[&i.path(&i.dump)]);
    assert!(r.stderr.contains("plain-SQL dump"), "{}", r.stderr);
}

#[test]
fn dump_from_newer_pg_dump() {
    // Header: "PGDMP", major, minor, revision, int size, offset size, format.
    let mut d = fixture(DUMP);
    assert_eq!((&d[..5], d[5], d[6]), (&b"PGDMP"[..], 1, 15));
    d[6] = 16;
    let i = Inputs::new("newer.dump", &d);
    let r = assert_bad_input(&i, "dump_version_unsupported", &[&i.path(&i.dump)]);
    assert!(
        r.stderr.contains("newer pg_dump") && r.stderr.contains("1.16"),
        "{}",
        r.stderr
    );
}

#[test]
fn dump_cut_inside_its_header() {
    let d = fixture(DUMP);
    let i = Inputs::new("header-cut.dump", &d[..40]);
    assert_bad_input(&i, "dump_truncated", &[&i.path(&i.dump), "40 bytes"]);
}

#[test]
fn dump_with_impossible_header() {
    let mut d = fixture(DUMP);
    assert_eq!(d[8], 4, "int size of the fixture's header");
    d[8] = 9;
    let i = Inputs::new("corrupt.dump", &d);
    assert_bad_input(&i, "dump_corrupt", &[&i.path(&i.dump), "int size 9"]);
}

#[test]
fn truncated_dump_with_matching_checksum() {
    let d = fixture(DUMP);
    let i = Inputs::new("truncated.dump", &d[..d.len() / 2]);
    let r = i.restore_test();
    let json = i.assert_failed_report(&r, "restore");
    assert_ne!(json["restore"]["exit_code"], 0, "{json}");
    assert!(r.stdout.contains("truncated.dump"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Reason: pg_restore exited"),
        "{}",
        r.stdout
    );
}

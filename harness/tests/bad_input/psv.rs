//! Bad row-count snapshots (PSV): malformed lines named with `file:line`, and tables absent
//! from the dump, which fail the smoke stage with a report.

use crate::inputs::*;

fn assert_psv_malformed(extra: &str, why: &str) {
    let (i, line) = Inputs::with_psv(extra);
    let at = format!("{}:{line}", i.path(i.psv.as_ref().unwrap()));
    let r = assert_bad_input(&i, "psv_malformed", &[&at]);
    assert!(r.stderr.contains(why), "expected {why:?}: {}", r.stderr);
}

#[test]
fn psv_wrong_column_count() {
    assert_psv_malformed("public|directus_extra\n", "expected 3 columns");
}

#[test]
fn psv_non_numeric_count() {
    assert_psv_malformed("public|directus_extra|many\n", "not an integer");
}

#[test]
fn psv_negative_count() {
    assert_psv_malformed("public|directus_extra|-3\n", "negative");
}

#[test]
fn psv_duplicate_table() {
    assert_psv_malformed("public|directus_access|5\n", "listed twice");
}

#[test]
fn psv_tables_absent_from_the_dump() {
    let (i, _) = Inputs::with_psv("public|ghost_alpha|5\ntac|ghost_beta|0\n");
    let r = i.restore_test();
    let json = i.assert_failed_report(&r, "smoke");
    for t in ["public.ghost_alpha", "tac.ghost_beta"] {
        assert!(
            r.stdout.contains(&format!("{t}: in the snapshot")),
            "the report does not name {t}:\n{}",
            r.stdout
        );
    }
    let diffs = json["smoke"]["differences"]
        .as_array()
        .expect("differences");
    assert_eq!(
        diffs.len(),
        2,
        "only the two ghost tables differ: {diffs:?}"
    );
    assert!(diffs.iter().all(|d| d["observed"].is_null()), "{diffs:?}");
}

//! Content-hash files of restore-test's content proof: not JSON, or listed in SHA256SUMS
//! with a digest that does not match.

use crate::inputs::*;
use crate::support::*;

const CONTENT: &str = "directus_content_fixture.json";

#[test]
fn content_file_not_json() {
    let mut i = Inputs::new(DUMP, &fixture(DUMP));
    let p = i.dir.join(CONTENT);
    std::fs::write(&p, "schema|table|rows\n").unwrap();
    i.snapshot();
    let r = run({
        let mut c = i.command();
        c.arg("--content").arg(&p);
        c
    });
    assert_refused(&r, 3, "content_malformed", &[&i.path(&p)]);
    i.assert_untouched();
}

#[test]
fn content_file_listed_with_a_wrong_digest() {
    // auto-detected next to the dump (directus_full_X.dump -> directus_content_X.json) because
    // SHA256SUMS lists it; its digest does not match
    let dump = fixture(DUMP);
    let i = Inputs::with_sums(DUMP, &dump, |n, d| {
        format!("{d}  {n}\n{}  {CONTENT}\n", sha256_hex(b"something else"))
    });
    let p = i.dir.join(CONTENT);
    std::fs::write(
        &p,
        "{\"definition\": \"dryrun-data-fp/v2\", \"tables\": []}\n",
    )
    .unwrap();
    let mut i = i;
    i.snapshot();
    assert_bad_input(&i, "checksum_mismatch", &[CONTENT]);
}

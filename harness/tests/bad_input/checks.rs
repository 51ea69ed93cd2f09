//! Bad smoke-checks files (`--checks`): malformed YAML, and key tables the dump does not
//! have, both refused before any container.

use crate::inputs::*;
use crate::support::*;

#[test]
fn checks_file_malformed() {
    let mut i = Inputs::new(DUMP, &fixture(DUMP));
    let checks = i.dir.join("checks.yaml");
    std::fs::write(
        &checks,
        "name: mine\nkey_tables: [public.dot_tools]\nowner: dba\n",
    )
    .unwrap();
    i.snapshot();
    let r = run({
        let mut c = i.command();
        c.arg("--checks").arg(&checks);
        c
    });
    let at = format!("{}:3:", checks.display());
    assert_refused(&r, 3, "checks_malformed", &[&at]);
    assert!(r.stderr.contains("unknown field `owner`"), "{}", r.stderr);
    i.assert_untouched();
}

#[test]
fn checks_need_a_table_the_dump_lacks() {
    let mut i = Inputs::new(DUMP, &fixture(DUMP));
    let checks = i.dir.join("checks.yaml");
    std::fs::write(
        &checks,
        "name: mine\nkey_tables: [public.dot_tools, sales.orders]\n",
    )
    .unwrap();
    i.snapshot();
    let r = run({
        let mut c = i.command();
        c.arg("--checks").arg(&checks);
        c
    });
    assert_refused(
        &r,
        3,
        "dump_lacks_tables",
        &[
            &i.path(&i.dump),
            "sales.orders (key table)",
            "--checks counts",
        ],
    );
    assert!(!r.stderr.contains("public.dot_tools ("), "{}", r.stderr);
    i.assert_untouched();
}

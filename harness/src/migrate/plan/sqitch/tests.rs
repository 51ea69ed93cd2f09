//! Unit tests of the Sqitch reader: the plan grammar, sqitch.conf, the scripts' psql conventions,
//! loading a project from disk (reworked changes) and the generated archive generator.

use super::*;

const HEAD: &str = "%syntax-version=1.0.0\n%project=p0\n%uri=https://example.invalid/p0\n\n";
const WHO: &str = "2026-01-01T00:00:00Z Planner Name <planner@example.com>";

fn plan(body: &str) -> Result<SqitchPlan> {
    parse_plan(&format!("{HEAD}{body}"), "x/sqitch.plan")
}

fn err(body: &str) -> Error {
    plan(body).expect_err("refused")
}

#[test]
fn pragmas_changes_tags_notes_and_dependencies() {
    let p = plan(&format!(
        "# a comment\n\
         a {WHO} # first change\n\
         \n\
         +b [a] {WHO}\n\
         c [a b !z] {WHO} # with a note # and a hash\n\
         @v1.0 {WHO} # the first tag\n\
         d [a@v1.0 @v1.0 p0:c] {WHO}\n\
         dir/e {WHO}\n"
    ))
    .expect("parses");
    assert_eq!(p.project, "p0");
    assert_eq!(p.uri.as_deref(), Some("https://example.invalid/p0"));
    assert_eq!(p.syntax_version.as_deref(), Some("1.0.0"));
    let names: Vec<&str> = p.changes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d", "dir/e"]);
    let a = &p.changes[0];
    assert_eq!((a.line, a.note.as_deref()), (6, Some("first change")));
    assert_eq!(a.timestamp, "2026-01-01T00:00:00Z");
    assert_eq!(
        (a.planner_name.as_str(), a.planner_email.as_str()),
        ("Planner Name", "planner@example.com")
    );
    let c = &p.changes[2];
    assert_eq!(c.note.as_deref(), Some("with a note # and a hash"));
    assert_eq!(
        c.requires
            .iter()
            .map(|d| d.text.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(c.conflicts.len(), 1);
    assert_eq!(c.conflicts[0].change.as_deref(), Some("z"));
    assert_eq!(c.tags, ["v1.0"]);
    assert_eq!(p.tags.len(), 1);
    assert_eq!((p.tags[0].line, p.tags[0].change), (10, 2));
    assert_eq!(p.tags[0].note.as_deref(), Some("the first tag"));
    let d = &p.changes[3];
    assert_eq!(d.requires[0].change.as_deref(), Some("a"));
    assert_eq!(d.requires[0].tag.as_deref(), Some("v1.0"));
    assert_eq!(d.requires[1].change, None);
    assert_eq!(d.requires[1].tag.as_deref(), Some("v1.0"));
    assert_eq!(d.requires[2].project.as_deref(), Some("p0"));
    assert!(p.changes.iter().all(|c| c.rework_tags.is_empty()));
}

#[test]
fn crlf_and_no_trailing_newline() {
    let text = format!("%project=p\r\n\r\na {WHO}\r\nb [a] {WHO}");
    let p = parse_plan(&text, "sqitch.plan").expect("parses");
    assert_eq!(p.changes.len(), 2);
    assert_eq!(p.changes[1].planner_email, "planner@example.com");
}

#[test]
fn reworked_change_gets_its_tags_latest_first() {
    let p = plan(&format!(
        "a {WHO}\nb {WHO}\n@v1 {WHO}\n@v1b {WHO}\nc {WHO}\n@v2 {WHO}\n\nb [b@v2] {WHO}\n@v3 {WHO}\nb [b@v3] {WHO}\n"
    ))
    .expect("parses");
    let b: Vec<&Change> = p.changes.iter().filter(|c| c.name == "b").collect();
    assert_eq!(b.len(), 3);
    assert_eq!(b[0].rework_tags, ["v2", "v1", "v1b"]);
    assert_eq!(b[1].rework_tags, ["v3"]);
    assert!(b[2].rework_tags.is_empty());
}

fn refused_at(body: &str, line: usize, needle: &str) {
    let e = err(body);
    assert!(
        e.message.starts_with(&format!("x/sqitch.plan:{line}: ")),
        "{}",
        e.message
    );
    assert!(e.message.contains(needle), "{needle:?} in {}", e.message);
    assert!(e.hint.is_some());
}

#[test]
fn syntax_errors_name_file_and_line() {
    refused_at(
        &format!("a {WHO}\na {WHO}\n"),
        6,
        "duplicates earlier declaration on line 5",
    );
    refused_at(
        &format!("a {WHO}\n@v1 {WHO}\n@v1 {WHO}\n"),
        7,
        "Tag \"v1\" duplicates",
    );
    refused_at(&format!("@v1 {WHO}\n"), 5, "without a preceding change");
    refused_at(&format!("a {WHO}\n@v/x {WHO}\n"), 6, "illegal character /");
    refused_at(
        &format!("a {WHO}\n@v1 [a] {WHO}\n"),
        6,
        "may not specify dependencies",
    );
    refused_at("a Planner <p@example.com>\n", 5, "Missing timestamp");
    refused_at(
        "a 2026-01-01T00:00:00Z\n",
        5,
        "Missing planner name and email",
    );
    refused_at("a\n", 5, "Missing timestamp and planner name and email");
    refused_at(&format!("-a {WHO}\n"), 5, "revert line");
    refused_at(&format!("a! {WHO}\n"), 5, "Invalid name");
    refused_at(&format!("foo@bar {WHO}\n"), 5, "Invalid name");
    refused_at(&format!("v1.2^3 {WHO}\n"), 5, "Invalid name");
    refused_at(&format!("HEAD {WHO}\n"), 5, "reserved name");
    refused_at(
        &format!("{} {WHO}\n", "a".repeat(40)),
        5,
        "confused with a SHA1",
    );
    refused_at(
        &format!("a {WHO}\nb [a a] {WHO}\n"),
        6,
        "Duplicate dependency",
    );
    refused_at(
        &format!("a {WHO}\nb [a b:] {WHO}\n"),
        6,
        "not a valid dependency",
    );
    refused_at(&format!("a [x {WHO}\n"), 5, "unterminated dependency list");
    // pragmas must be followed by an empty line before changes
    let e = parse_plan(&format!("%project=p0\na {WHO}\n"), "x/sqitch.plan").expect_err("x");
    assert!(
        e.message.starts_with("x/sqitch.plan:2: Invalid pragma"),
        "{}",
        e.message
    );
    let e = parse_plan(
        &format!("%syntax-version=1.0.0\n\na {WHO}\n"),
        "x/sqitch.plan",
    )
    .expect_err("x");
    assert!(e.message.contains("Missing %project"), "{}", e.message);
    assert_eq!(e.kind, crate::error::ErrorKind::MalformedPlan);
}

#[test]
fn dependencies_must_name_earlier_changes() {
    let kind = |body: &str| err(body).kind.as_str();
    refused_at(
        &format!("a [b] {WHO}\nb {WHO}\n"),
        5,
        "which the plan deploys later (line 6)",
    );
    refused_at(&format!("a [nope] {WHO}\n"), 5, "not declared earlier");
    refused_at(&format!("a [a] {WHO}\n"), 5, "cannot require itself");
    refused_at(&format!("a [@v9] {WHO}\n"), 5, "\"@v9\"");
    refused_at(
        &format!("a {WHO}\nb [a@v1] {WHO}\n@v1 {WHO}\n"),
        6,
        "\"a@v1\"",
    );
    refused_at(
        &format!("a {WHO}\n@v1 {WHO}\nb [b@v1] {WHO}\n"),
        7,
        "cannot require itself",
    );
    refused_at(
        &format!("a {WHO}\nb [!a] {WHO}\n"),
        6,
        "conflicts with \"!a\", which the plan deploys earlier (line 5)",
    );
    refused_at(
        &format!("a [other:x] {WHO}\n"),
        5,
        "another Sqitch project (other)",
    );
    assert_eq!(
        kind(&format!("a [other:x] {WHO}\n")),
        "cross_project_dependency"
    );
    assert_eq!(
        kind(&format!("a [!other:x] {WHO}\n")),
        "cross_project_dependency"
    );
    refused_at(&format!("a [{}] {WHO}\n", "0".repeat(40)), 5, "SHA-1 id");
    assert_eq!(kind(&format!("a [nope] {WHO}\n")), "plan_dependency");
    // a conflict with a later change, and this project's own prefix, are fine
    plan(&format!("a [!b] {WHO}\nb [p0:a] {WHO}\n")).expect("fine");
}

fn prep(text: &str, kind: ScriptKind) -> Result<Prepared> {
    prepare_script(text, "p/deploy/x.sql", kind)
}

fn refused(text: &str, kind: ScriptKind, line: usize, needle: &str) {
    let e = prep(text, kind).expect_err("refused");
    assert_eq!(e.kind, crate::error::ErrorKind::UnsupportedScript);
    assert!(
        e.message.starts_with(&format!("p/deploy/x.sql:{line}: ")),
        "{}",
        e.message
    );
    assert!(e.message.contains(needle), "{needle:?} in {}", e.message);
    assert!(e.hint.is_some());
}

#[test]
fn outer_begin_and_commit_are_blanked_keeping_lines() {
    let text = "-- Deploy p0:a to pg\n-- requires: b\n\nBEGIN;\n\nCREATE SCHEMA s; -- BEGIN; in a comment\nCREATE TABLE s.t (x text DEFAULT 'COMMIT;');\n\nCOMMIT;\n-- trailing\n";
    let p = prep(text, ScriptKind::Deploy).expect("prepared");
    assert_eq!(p.sql.lines().count(), text.lines().count());
    assert!(!p.sql.contains("\nBEGIN;"), "{}", p.sql);
    assert!(!p.sql.contains("\nCOMMIT;"), "{}", p.sql);
    assert!(p.sql.contains("'COMMIT;'"));
    assert!(p.sql.contains("-- BEGIN; in a comment"));
    assert_eq!(
        p.sql.lines().nth(5),
        Some("CREATE SCHEMA s; -- BEGIN; in a comment")
    );
    assert_eq!(p.creates_schemas, ["s"]);
    // variants: START TRANSACTION / END, lower case, /* */ comments around
    let p = prep(
        "/* head */ start transaction ; select 1; /* x */ end /* y */ ;\n",
        ScriptKind::Deploy,
    )
    .expect("prepared");
    assert_eq!(
        p.sql.trim_end(),
        "/* head */                     select 1; /* x */"
    );
    // a verify may end with ROLLBACK; a deploy may not
    prep(
        "BEGIN;\nSELECT 1/count(*) FROM t;\nROLLBACK;\n",
        ScriptKind::Verify,
    )
    .expect("ok");
    refused(
        "BEGIN;\nSELECT 1;\nROLLBACK;\n",
        ScriptKind::Deploy,
        3,
        "ends with ROLLBACK",
    );
    refused(
        "BEGIN;\nSELECT 1;\n",
        ScriptKind::Deploy,
        1,
        "does not close",
    );
    // no BEGIN/COMMIT at all is fine (it runs in the runner's transaction)
    assert_eq!(
        prep("SELECT 1;\n", ScriptKind::Deploy).expect("ok").sql,
        "SELECT 1;\n"
    );
}

#[test]
fn quotes_dollar_quotes_and_atomic_bodies_do_not_split() {
    let text = "BEGIN;\n\
        CREATE FUNCTION s.f() RETURNS trigger LANGUAGE plpgsql AS $fn$\nBEGIN\n  COMMIT;\n  RETURN NULL;\nEND\n$fn$;\n\
        DO $$ BEGIN ROLLBACK; END $$;\n\
        DO $a$ BEGIN EXECUTE $b$ COMMIT $b$; END $a$;\n\
        CREATE FUNCTION s.g() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;\n\
        SELECT E'it\\'s; COMMIT', 'a''b; ROLLBACK', \"COMMIT\" FROM t;\n\
        /* nested /* COMMIT; */ still */ SELECT 1;\n\
        COMMIT;\n";
    let p = prep(text, ScriptKind::Deploy).expect("prepared");
    assert!(p.sql.contains("$fn$\nBEGIN\n  COMMIT;"));
    assert!(p.sql.contains("BEGIN ATOMIC\n  SELECT CASE"));
    assert!(p.sql.ends_with("SELECT 1;\n       \n"), "{:?}", p.sql);
}

#[test]
fn what_the_runner_cannot_honour_is_refused_with_its_line() {
    let d = ScriptKind::Deploy;
    refused(
        "BEGIN;\n\\set ON_ERROR_STOP 1\nCOMMIT;\n",
        d,
        2,
        "psql meta-command",
    );
    refused("SELECT 1;\n  \\i other.sql\n", d, 2, "psql meta-command");
    refused("SELECT 1 \\gset\n", d, 1, "psql meta-command");
    refused("SELECT 1;\n\\echo 'it\n", d, 2, "psql meta-command");
    refused(
        "BEGIN;\nSELECT 1;\nCOMMIT;\nSELECT 2;\n",
        d,
        3,
        "transaction control (COMMIT)",
    );
    refused(
        "SELECT 1;\nBEGIN;\nSELECT 2;\nCOMMIT;\n",
        d,
        2,
        "transaction control (BEGIN)",
    );
    refused("SELECT 1;\nCOMMIT;\n", d, 2, "transaction control");
    refused(
        "BEGIN;\nPREPARE TRANSACTION 'x';\nCOMMIT;\n",
        d,
        2,
        "transaction control",
    );
    refused(
        "BEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;\n",
        d,
        1,
        "transaction control",
    );
    refused(
        "BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;\n",
        d,
        3,
        "transaction control (COMMIT AND CHAIN)",
    );
    for (sql, what) in [
        (
            "CREATE INDEX CONCURRENTLY i ON t (x);",
            "CREATE INDEX CONCURRENTLY",
        ),
        (
            "create unique index concurrently i on t (x);",
            "CREATE INDEX CONCURRENTLY",
        ),
        (
            "DROP INDEX CONCURRENTLY IF EXISTS i;",
            "DROP INDEX CONCURRENTLY",
        ),
        ("REINDEX TABLE CONCURRENTLY t;", "REINDEX ... CONCURRENTLY"),
        (
            "REINDEX (CONCURRENTLY) INDEX i;",
            "REINDEX ... CONCURRENTLY",
        ),
        ("REINDEX DATABASE d;", "REINDEX SCHEMA / DATABASE / SYSTEM"),
        ("VACUUM ANALYZE t;", "VACUUM"),
        ("CREATE DATABASE d;", "CREATE DATABASE"),
        ("DROP DATABASE IF EXISTS d;", "DROP DATABASE"),
        ("ALTER SYSTEM SET work_mem = '1MB';", "ALTER SYSTEM"),
        ("CREATE TABLESPACE ts LOCATION '/x';", "CREATE TABLESPACE"),
        ("DROP TABLESPACE ts;", "DROP TABLESPACE"),
        (
            "ALTER DATABASE d SET TABLESPACE ts;",
            "ALTER DATABASE ... SET TABLESPACE",
        ),
        (
            "ALTER TABLE p DETACH PARTITION c CONCURRENTLY;",
            "DETACH PARTITION",
        ),
        ("CLUSTER;", "CLUSTER without a table"),
        ("DISCARD ALL;", "DISCARD ALL"),
        (
            "CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p;",
            "CREATE SUBSCRIPTION",
        ),
        ("COPY t FROM STDIN;", "COPY ... FROM STDIN"),
    ] {
        refused(&format!("BEGIN;\n\n{sql}\nCOMMIT;\n"), d, 3, what);
    }
    // their transactional relatives pass
    for sql in [
        "CREATE INDEX i ON t (x);",
        "REINDEX TABLE t;",
        "CLUSTER t USING i;",
        "ANALYZE t;",
        "ALTER DATABASE d SET work_mem = '1MB';",
        "SAVEPOINT a; ROLLBACK TO SAVEPOINT a; RELEASE a;",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY m;",
        "COPY t TO '/tmp/x';",
        "SELECT 'VACUUM; CREATE DATABASE x;';",
    ] {
        prep(&format!("BEGIN;\n{sql}\nCOMMIT;\n"), d).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let e = prep("SELECT 'open;\n", d).expect_err("unterminated");
    assert!(e.message.starts_with("p/deploy/x.sql:1:"), "{}", e.message);
}

#[test]
fn session_settings_become_transaction_settings() {
    let p = prep(
        "BEGIN;\nSET client_min_messages = 'warning';\nset search_path to s;\nSET SESSION statement_timeout = 0;\nSET LOCAL lock_timeout = 0;\nSET SESSION AUTHORIZATION DEFAULT;\nSET TRANSACTION READ ONLY;\nCOMMIT;\n",
        ScriptKind::Revert,
    )
    .expect("prepared");
    let lines: Vec<&str> = p.sql.lines().collect();
    assert_eq!(lines[1], "SET LOCAL client_min_messages = 'warning';");
    assert_eq!(lines[2], "set LOCAL search_path to s;");
    assert_eq!(lines[3], "SET LOCAL statement_timeout = 0;");
    assert_eq!(lines[4], "SET LOCAL lock_timeout = 0;");
    assert_eq!(lines[5], "SET LOCAL SESSION AUTHORIZATION DEFAULT;");
    assert_eq!(lines[6], "SET TRANSACTION READ ONLY;");
}

#[test]
fn created_schemas_are_found() {
    let p = prep(
        "CREATE SCHEMA IF NOT EXISTS a;\ncreate schema \"Quoted\";\nCREATE SCHEMA AUTHORIZATION joe;\nCREATE SCHEMA B AUTHORIZATION joe;\nSELECT 'CREATE SCHEMA x';\n",
        ScriptKind::Deploy,
    )
    .expect("prepared");
    assert_eq!(p.creates_schemas, ["a", "Quoted", "joe", "b"]);
}

#[test]
fn conf_engine_and_layout() {
    check_conf(
        "[core]\n\tengine = pg\n[engine \"pg\"]\n\ttarget = db:pg:\n",
        "c",
    )
    .expect("ok");
    check_conf("[core]\n\ttop_dir = .\n\tdeploy_dir = deploy\n", "c").expect("default layout");
    let e = check_conf("[core]\n\tengine = mysql\n", "x/sqitch.conf").expect_err("engine");
    assert!(e.message.starts_with("x/sqitch.conf:2: "), "{}", e.message);
    assert_eq!(e.kind, crate::error::ErrorKind::SqitchConf);
    let e =
        check_conf("[core]\n\tengine = pg\n\ttop_dir = db\n", "x/sqitch.conf").expect_err("layout");
    assert!(
        e.message.starts_with("x/sqitch.conf:3: core.top_dir"),
        "{}",
        e.message
    );
    let e = check_conf("[engine \"pg\"]\n\textension = psql\n", "c").expect_err("ext");
    assert!(e.message.contains("engine.pg.extension"), "{}", e.message);
}

/// A project on disk: the reworked change's earlier instance reads the `@tag` scripts.
fn write(dir: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

fn load_dir(dir: &Path) -> Result<Project> {
    let read = |rel: &str| {
        let p = dir.join(rel);
        std::fs::read_to_string(&p).map_err(|e| Error::io(&p, "read", e))
    };
    let exists = |rel: &str| dir.join(rel).is_file();
    load(dir, &read, &exists)
}

#[test]
fn reworked_change_reads_the_tagged_scripts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let plan = format!("%project=p\n\nschema {WHO}\nf [schema] {WHO}\n@v1 {WHO}\nf [f@v1] {WHO}\n");
    let mut files = vec![("sqitch.plan", plan.as_str())];
    let scripts = [
        ("deploy/schema.sql", "BEGIN;\nCREATE SCHEMA s;\nCOMMIT;\n"),
        ("verify/schema.sql", "SELECT 1;\n"),
        ("revert/schema.sql", "DROP SCHEMA IF EXISTS s;\n"),
        ("deploy/f@v1.sql", "-- f v1\n"),
        ("verify/f@v1.sql", "-- verify f v1\n"),
        ("revert/f@v1.sql", "-- revert f v1\n"),
        ("deploy/f.sql", "-- f v2\n"),
        ("verify/f.sql", "-- verify f v2\n"),
        ("revert/f.sql", "-- revert f v2\n"),
    ];
    files.extend(scripts);
    write(d, &files);
    let p = load_dir(d).expect("loads");
    assert_eq!(p.schema, "s");
    let names: Vec<&str> = p.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["schema", "f@v1", "f"]);
    assert_eq!(p.steps[1].deploy, "-- f v1\n");
    assert_eq!(p.steps[1].revert, "-- revert f v1\n");
    assert_eq!(p.steps[2].verify, "-- verify f v2\n");
    assert_eq!(
        p.steps[1]
            .files
            .iter()
            .map(|f| f.0.as_str())
            .collect::<Vec<_>>(),
        ["deploy/f@v1.sql", "verify/f@v1.sql", "revert/f@v1.sql"]
    );
    assert_eq!(p.steps[0].deploy, "      \nCREATE SCHEMA s;\n       \n");
    assert_eq!(p.files.len(), 1);

    // the tagged file missing: named, with why
    std::fs::remove_file(d.join("revert/f@v1.sql")).expect("rm");
    let e = load_dir(d).expect_err("missing");
    assert_eq!(e.kind, crate::error::ErrorKind::PlanFileMissing);
    assert!(
        e.message
            .contains("sqitch.plan:4: change \"f\" has no revert script"),
        "{}",
        e.message
    );
    assert!(e.message.contains("revert/f@v1.sql"), "{}", e.message);
    assert!(e.message.contains("reworked later"), "{}", e.message);
    write(d, &[("revert/f@v1.sql", "SELECT 1;\n")]);

    // a refused script stops the load, naming its file and line
    write(d, &[("verify/f.sql", "SELECT 1;\n\\q\n")]);
    let e = load_dir(d).expect_err("meta");
    assert!(e.message.contains("verify/f.sql:2: "), "{}", e.message);
    write(d, &[("verify/f.sql", "SELECT 1;\n")]);

    // no schema, several schemas
    write(d, &[("deploy/schema.sql", "SELECT 1;\n")]);
    assert_eq!(
        load_dir(d).expect_err("none").kind,
        crate::error::ErrorKind::PlanSchema
    );
    write(
        d,
        &[
            ("deploy/schema.sql", "CREATE SCHEMA s;\n"),
            ("deploy/f.sql", "CREATE SCHEMA t;\n"),
        ],
    );
    let e = load_dir(d).expect_err("two");
    assert!(e.message.contains("2 schemas (s, t)"), "{}", e.message);
}

#[test]
fn rework_tag_file_is_the_first_that_exists_in_sqitch_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let plan = format!("%project=p\n\ns {WHO}\n@v1 {WHO}\nx {WHO}\n@v2 {WHO}\n\ns [s@v2] {WHO}\n");
    let mut files: Vec<(String, String)> = vec![("sqitch.plan".into(), plan)];
    for k in ["deploy", "verify", "revert"] {
        // only the @v1 copy exists (the rework tags are [v2, v1]): Sqitch takes it
        files.push((format!("{k}/s@v1.sql"), "CREATE SCHEMA s;\n".into()));
        files.push((format!("{k}/s.sql"), "SELECT 2;\n".into()));
        files.push((format!("{k}/x.sql"), "SELECT 3;\n".into()));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write(d, &refs);
    let p = load_dir(d).expect("loads");
    assert_eq!(p.steps[0].name, "s@v1");
    write(
        d,
        &[
            ("deploy/s@v2.sql", "CREATE SCHEMA s;\n"),
            ("verify/s@v2.sql", ""),
            ("revert/s@v2.sql", ""),
        ],
    );
    assert_eq!(load_dir(d).expect("loads").steps[0].name, "s@v2");
}

#[test]
fn generic_archive_names_the_schema() {
    let sql = generic_archive_sql("cutter_governance");
    assert!(sql.contains("n.nspname = 'cutter_governance'"));
    assert!(sql.contains("row_to_json"));
    assert!(!sql.trim_end().ends_with(';'));
}

//! Unit tests of the fingerprint: digests, catalog parsing, the copy plan, the proof's rule,
//! the content file and the diff's wording.

use super::*;

#[test]
fn the_horizon_keeps_the_xid_and_drops_the_epoch() {
    assert_eq!(xid32(800), 800);
    assert_eq!(xid32((3 << 32) | 800), 800);
    assert_eq!(xid32(u64::from(u32::MAX)), u32::MAX);
}

#[test]
fn the_proof_takes_only_older_rows_with_the_same_count() {
    // Every row older than the earlier snapshot's xmin (age 50 there), same count: proven.
    assert!(unchanged(3, 3, Some(51), 50));
    // A row as young as the horizon or younger (written at or after it): not proven.
    assert!(!unchanged(3, 3, Some(50), 50));
    assert!(!unchanged(3, 3, Some(7), 50));
    // A special xmin (age INT_MAX, modulo INT_MAX = 0) never passes.
    assert!(!unchanged(3, 3, Some(i32::MAX % i32::MAX), 50));
    // A different count (a delete) is never taken over.
    assert!(!unchanged(3, 2, Some(51), 50));
    // No rows: proven only if there were none before either.
    assert!(unchanged(0, 0, None, 50));
    assert!(!unchanged(1, 0, None, 50));
    // A negative horizon age (the horizon is in the future: a bug or wraparound): never.
    assert!(!unchanged(3, 3, Some(51), -1));
}

fn cat(name: &str, relkind: &str) -> CatalogTable {
    CatalogTable {
        schema: "public".into(),
        name: name.into(),
        relkind: relkind.into(),
        populated: true,
        oid: 100,
        relfilenode: 200,
        bytes: 8192,
        descriptor: "id int4".into(),
        builtin_types: true,
        logged: true,
        leaves: None,
        leaves_plain: None,
    }
}

fn stamp_of(tables: &[CatalogTable]) -> Stamp {
    Stamp {
        database: "d/1".into(),
        horizon: 1000,
        tables: tables
            .iter()
            .map(|t| {
                let st = TableStamp {
                    oid: t.oid,
                    relfilenode: t.relfilenode,
                    descriptor: t.descriptor.clone(),
                    data: TableData {
                        row_count: 3,
                        content_sha256: Some("h".into()),
                    },
                    wal_since: None,
                };
                (t.key(), st)
            })
            .collect(),
    }
}

fn names(c: &[(CatalogTable, TableData)]) -> Vec<String> {
    c.iter().map(|(t, _)| t.name.clone()).collect()
}

#[test]
fn only_tables_with_the_same_identity_storage_and_columns_are_candidates() {
    let base = cat("t", "r");
    let prev = stamp_of(std::slice::from_ref(&base));
    let got = proof_candidates(std::slice::from_ref(&base), &prev, None);
    assert_eq!(names(&got), ["t"]);
    assert_eq!(got[0].1, prev.tables[&base.key()].data, "the earlier data");
    // Each way the table may have been replaced or rewritten drops it.
    let mut changed = Vec::new();
    for (why, f) in [
        (
            "another oid (dropped and re-created)",
            (|t: &mut CatalogTable| t.oid += 1) as fn(&mut CatalogTable),
        ),
        (
            "another relfilenode (TRUNCATE, VACUUM FULL, CLUSTER, rewrite)",
            |t| t.relfilenode += 1,
        ),
        ("another column list", |t| t.descriptor.push_str(", x text")),
        ("a non-built-in column type", |t| t.builtin_types = false),
        ("a partitioned parent", |t| t.relkind = "p".into()),
        ("a view", |t| t.relkind = "v".into()),
        ("an unpopulated materialized view", |t| {
            t.relkind = "m".into();
            t.populated = false;
        }),
        ("not in the earlier stamp", |t| t.name = "u".into()),
    ] {
        let mut t = base.clone();
        f(&mut t);
        if !proof_candidates(&[t], &prev, None).is_empty() {
            changed.push(why);
        }
    }
    assert!(changed.is_empty(), "taken as candidates: {changed:?}");
    // A populated materialized view with an unchanged identity is one.
    let mut mv = base.clone();
    mv.relkind = "m".into();
    assert_eq!(names(&proof_candidates(&[mv], &prev, None)), ["t"]);
    // Earlier data that cannot be taken over: relfilenode 0 (mapped catalog), an
    // unpopulated view's -1 count, no content hash.
    for g in [
        (|s: &mut TableStamp| s.relfilenode = 0) as fn(&mut TableStamp),
        |s| s.data.row_count = -1,
        |s| s.data.content_sha256 = None,
    ] {
        let mut t = base.clone();
        let mut p = prev.clone();
        if let Some(s) = p.tables.get_mut(&base.key()) {
            g(s);
            t.relfilenode = s.relfilenode;
        }
        assert!(proof_candidates(&[t], &p, None).is_empty());
    }
    // An empty table is a candidate like any other (its proof is the count 0, no rows).
    let mut empty = prev.clone();
    if let Some(s) = empty.tables.get_mut(&base.key()) {
        s.data.row_count = 0;
    }
    assert_eq!(
        names(&proof_candidates(std::slice::from_ref(&base), &empty, None)),
        ["t"]
    );
    // `only` restricts the candidates to the tables named.
    let other = cat("o", "r");
    let prev2 = stamp_of(&[base.clone(), other.clone()]);
    let both = [base.clone(), other.clone()];
    assert_eq!(names(&proof_candidates(&both, &prev2, None)), ["t", "o"]);
    let only = [other.key()];
    assert_eq!(names(&proof_candidates(&both, &prev2, Some(&only))), ["o"]);
}

fn schema_fp(items: &[(&str, &str, &str)]) -> SchemaFingerprint {
    SchemaFingerprint {
        objects: items
            .iter()
            .map(|(k, i, d)| ((k.to_string(), i.to_string()), d.to_string()))
            .collect(),
        cluster: BTreeMap::new(),
    }
}

#[test]
fn embedded_sql_is_present() {
    assert!(SCHEMA_SQL.contains("schema fingerprint requires search_path"));
    assert!(TABLES_SQL.contains("row_to_json"));
}

#[test]
fn schema_hash_is_canonical_and_sensitive() {
    let a = schema_fp(&[
        ("table", "public.a", "x"),
        ("index", "public.i", "CREATE INDEX"),
    ]);
    let b = schema_fp(&[
        ("index", "public.i", "CREATE INDEX"),
        ("table", "public.a", "x"),
    ]);
    assert_eq!(a.sha256(), b.sha256());
    let c = schema_fp(&[
        ("table", "public.a", "y"),
        ("index", "public.i", "CREATE INDEX"),
    ]);
    assert_ne!(a.sha256(), c.sha256());
    // field boundaries matter: ("ab","c") differs from ("a","bc")
    let d = schema_fp(&[("t", "ab", "c")]);
    let e = schema_fp(&[("t", "a", "bc")]);
    assert_ne!(d.sha256(), e.sha256());
    assert_eq!(a.len(), 2);
}

#[test]
fn schema_diff_names_objects() {
    let base = schema_fp(&[
        ("table", "public.a", "relkind=r"),
        ("view", "s.v", "SELECT 1"),
    ]);
    let other = schema_fp(&[
        ("table", "public.a", "relkind=p"),
        (
            "index",
            "cutter_governance.cut_unit_logical_unit_idx",
            "CREATE INDEX cut_unit_logical_unit_idx ON cutter_governance.cut_unit\n USING btree (logical_unit_id)",
        ),
    ]);
    let d = diff_schema(&base, &other);
    let text: Vec<String> = d.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        text,
        vec![
            "+ index cutter_governance.cut_unit_logical_unit_idx: CREATE INDEX cut_unit_logical_unit_idx ON cutter_governance.cut_unit USING btree (logical_unit_id)",
            "~ table public.a: relkind=r -> relkind=p",
            "- view s.v: SELECT 1",
        ]
    );
    assert!(diff_schema(&base, &base).is_empty());
}

#[test]
fn long_definitions_are_cut_around_the_difference() {
    let prefix = "x".repeat(500);
    let base = schema_fp(&[("function", "s.f()", &format!("{prefix} AAA tail"))]);
    let other = schema_fp(&[("function", "s.f()", &format!("{prefix} BBB tail"))]);
    let line = diff_schema(&base, &other)[0].to_string();
    assert!(line.contains("AAA"), "{line}");
    assert!(line.contains("BBB"), "{line}");
    assert!(line.chars().count() < 2 * SHOWN_CHARS + 40, "{line}");
    let added = SchemaChange {
        kind: ChangeKind::Added,
        object_kind: "function".into(),
        identity: "s.f()".into(),
        before: None,
        after: Some(prefix),
    }
    .to_string();
    assert!(added.chars().count() <= "+ function s.f(): ".len() + SHOWN_CHARS);
}

#[test]
fn data_diff_display() {
    let mk = |n: i64, h: &str| TableData {
        row_count: n,
        content_sha256: Some(h.to_string()),
    };
    let mut base = DataFingerprint::default();
    base.tables.insert(
        ("public".into(), "tac_publication".into()),
        mk(2938, "a1b2c3d4e5f6a7b8c9d0"),
    );
    base.tables
        .insert(("cutter_governance".into(), "signal".into()), mk(0, "e3b0"));
    let mut other = base.clone();
    other.tables.insert(
        ("public".into(), "tac_publication".into()),
        mk(2939, "c3d4e5f6a7b8c9d0e1f2"),
    );
    let d = diff_data(&base, &other);
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].to_string(),
        "~ table public.tac_publication: rows 2938 -> 2939, content a1b2c3d4e5f6.. -> c3d4e5f6a7b8.."
    );
    let without = other.without_schema("cutter_governance");
    assert_eq!(without.len(), 1);
    let d = diff_data(&other, &without);
    assert_eq!(
        d[0].to_string(),
        "- table cutter_governance.signal: rows 0, content e3b0"
    );
    assert_ne!(base.sha256(), other.sha256());
}

#[test]
fn embedded_sql_covers_the_database_state() {
    for kind in [
        "'database'",
        "'database_setting'",
        "'large_object'",
        "'publication'",
        "'publication_table'",
        "'subscription'",
        "'event_trigger'",
        "'comment', 'database current_database()'",
    ] {
        assert!(SCHEMA_SQL.contains(kind), "{kind}");
    }
    // the database's name is never output: only compared with
    let code: String = SCHEMA_SQL
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect();
    assert_eq!(code.matches("current_database()").count(), 4, "{code}");
    assert_eq!(
        code.matches("pg_catalog.current_database()").count(),
        1,
        "compared in cur only"
    );
    // a subscription's connection string only as a hash (it may hold a password)
    assert!(SCHEMA_SQL.contains("pg_catalog.sha256(pg_catalog.convert_to(su.subconninfo"));
}

#[test]
fn cluster_rows_are_compared_and_hashed_but_not_counted() {
    let base = schema_fp(&[("schema", "public", "")]);
    let plain_hash = base.sha256();
    let mut with = base.clone();
    with.cluster
        .insert(("role".into(), "postgres".into()), "superuser=true".into());
    // no cluster rows: the hash is the one it always was
    assert_eq!(
        plain_hash,
        sha256_hex(json_line(&["schema", "public", ""]).as_bytes())
    );
    assert_ne!(with.sha256(), plain_hash);
    assert_eq!(with.len(), 1);
    let mut after = with.clone();
    after.cluster.insert(
        ("role".into(), "p0_sabotage_role".into()),
        "superuser=false".into(),
    );
    after.objects.insert(
        ("database_setting".into(), "for=* lock_timeout".into()),
        "3s".into(),
    );
    let lines: Vec<String> = diff_schema(&with, &after)
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "+ database_setting for=* lock_timeout: 3s",
            "+ role p0_sabotage_role: superuser=false"
        ]
    );
}

#[test]
fn duplicate_keys_are_kept() {
    let mut m = BTreeMap::new();
    insert_unique(&mut m, "other".into(), "x".into(), "1".into());
    insert_unique(&mut m, "other".into(), "x".into(), "2".into());
    assert_eq!(m.len(), 2);
    assert_eq!(m[&("other".to_string(), "x #2".to_string())], "2");
}

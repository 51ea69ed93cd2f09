//! The state outside the schema against a real PostgreSQL 16 container: every new kind of the
//! schema fingerprint (the database's own settings, ACL, comment, owner and limits, large
//! objects, publications, subscriptions) and of the cluster-global state (roles, memberships,
//! role settings, tablespaces, slots, ALTER SYSTEM) is named when changed, back to equal when
//! undone, and stable under a template copy and pg_dump -Fc | pg_restore.

use std::collections::BTreeMap;

use harness::cluster_state::{self, ClusterState};
use harness::container::{PgContainer, PgSpec, DB_USER};
use harness::docker::RunIdentity;
use harness::fingerprint::{self, SchemaFingerprint};

mod common;
use common::{docker_and_image, SweepOnDrop};

const SETUP_SQL: &[&str] = &[
    "CREATE ROLE wt_reader NOLOGIN",
    "CREATE ROLE wt_owner NOLOGIN",
    "CREATE TABLE public.t (a int PRIMARY KEY, b text)",
    "CREATE PUBLICATION pub FOR TABLE public.t (a, b) WHERE (a > 3) WITH (publish = 'insert')",
    "SELECT pg_catalog.lo_from_bytea(16500, 'hello')",
    "GRANT SELECT ON LARGE OBJECT 16500 TO wt_reader",
    "COMMENT ON LARGE OBJECT 16500 IS 'a large object'",
    "ALTER DATABASE orig SET lock_timeout = '3s'",
    "ALTER ROLE wt_reader IN DATABASE orig SET statement_timeout = '5s'",
    "GRANT CONNECT ON DATABASE orig TO wt_reader",
    "REVOKE TEMPORARY ON DATABASE orig FROM PUBLIC",
    "COMMENT ON DATABASE orig IS 'the first'",
    "ALTER DATABASE orig CONNECTION LIMIT 50",
];

/// The database-level rows: what a template copy and a restore without --create do not carry.
fn database_level(k: &(String, String)) -> bool {
    k.0 == "database" || k.0 == "database_setting" || k.1 == "database current_database()"
}

/// One change: statements (each on its own), the lines the diff must hold, the undo.
struct Change {
    apply: &'static [&'static str],
    expect: &'static [&'static str],
    undo: &'static [&'static str],
}

const SCHEMA_CHANGES: &[Change] = &[
    Change {
        apply: &["ALTER DATABASE orig SET work_mem = '7MB'"],
        expect: &["+ database_setting for=* work_mem: 7MB"],
        undo: &["ALTER DATABASE orig RESET work_mem"],
    },
    Change {
        apply: &["ALTER ROLE wt_reader IN DATABASE orig SET statement_timeout = '9s'"],
        expect: &["~ database_setting for=wt_reader statement_timeout: 5s -> 9s"],
        undo: &["ALTER ROLE wt_reader IN DATABASE orig SET statement_timeout = '5s'"],
    },
    Change {
        apply: &["GRANT CREATE ON DATABASE orig TO wt_reader"],
        expect: &["~ privilege database current_database(): +wt_reader:CONNECT, -PUBLIC:TEMPORARY -> +wt_reader:CONNECT, +wt_reader:CREATE, -PUBLIC:TEMPORARY"],
        undo: &["REVOKE CREATE ON DATABASE orig FROM wt_reader"],
    },
    Change {
        apply: &["COMMENT ON DATABASE orig IS 'changed'"],
        expect: &["~ comment database current_database(): the first -> changed"],
        undo: &["COMMENT ON DATABASE orig IS 'the first'"],
    },
    Change {
        apply: &["ALTER DATABASE orig OWNER TO wt_owner", "ALTER DATABASE orig CONNECTION LIMIT 7"],
        expect: &["~ database current_database(): connection_limit=50 -> owner=wt_owner; connection_limit=7"],
        undo: &["ALTER DATABASE orig OWNER TO CURRENT_USER", "ALTER DATABASE orig CONNECTION LIMIT 50"],
    },
    Change {
        apply: &["SELECT pg_catalog.lo_from_bytea(16600, 'y')"],
        expect: &["+ large_object 16600: owner=directus; bytes=1; sha256=a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa"],
        undo: &["SELECT pg_catalog.lo_unlink(16600)"],
    },
    Change {
        apply: &["SELECT pg_catalog.lo_put(16500, 0, 'H')"],
        expect: &["~ large_object 16500: owner=directus; bytes=5; sha256=2cf24"],
        undo: &["SELECT pg_catalog.lo_put(16500, 0, 'h')"],
    },
    Change {
        apply: &["ALTER LARGE OBJECT 16500 OWNER TO wt_owner"],
        expect: &["~ large_object 16500: owner=directus; bytes=5; sha256=2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 -> owner=wt_owner;"],
        undo: &["ALTER LARGE OBJECT 16500 OWNER TO CURRENT_USER"],
    },
    Change {
        apply: &["GRANT UPDATE ON LARGE OBJECT 16500 TO wt_reader"],
        expect: &["~ privilege large_object 16500: +wt_reader:SELECT -> +wt_reader:SELECT, +wt_reader:UPDATE"],
        undo: &["REVOKE UPDATE ON LARGE OBJECT 16500 FROM wt_reader"],
    },
    Change {
        apply: &["COMMENT ON LARGE OBJECT 16500 IS 'changed'"],
        expect: &["~ comment large object 16500: a large object -> changed"],
        undo: &["COMMENT ON LARGE OBJECT 16500 IS 'a large object'"],
    },
    Change {
        apply: &["ALTER PUBLICATION pub SET (publish = 'insert, update')"],
        expect: &["~ publication pub: all_tables=false; insert=true; update=false;", "-> all_tables=false; insert=true; update=true;"],
        undo: &["ALTER PUBLICATION pub SET (publish = 'insert')"],
    },
    Change {
        apply: &["ALTER PUBLICATION pub SET TABLE public.t (a) WHERE (a > 5)"],
        expect: &["~ publication_table public.t in publication pub: columns=a,b; where=(a > 3) -> columns=a; where=(a > 5)"],
        undo: &["ALTER PUBLICATION pub SET TABLE public.t (a, b) WHERE (a > 3)"],
    },
    Change {
        apply: &["CREATE SUBSCRIPTION sub CONNECTION 'host=127.0.0.1 dbname=nowhere password=secret' PUBLICATION pub WITH (connect = false)"],
        expect: &["+ subscription sub: enabled=false; publications=pub; slot=sub;"],
        undo: &["ALTER SUBSCRIPTION sub SET (slot_name = NONE)", "DROP SUBSCRIPTION sub"],
    },
    Change {
        apply: &[
            "CREATE FUNCTION public.evt() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$",
            "CREATE EVENT TRIGGER wt_evt ON ddl_command_end EXECUTE FUNCTION public.evt()",
        ],
        expect: &["+ event_trigger wt_evt: event=ddl_command_end; function=public.evt()"],
        undo: &["DROP EVENT TRIGGER wt_evt", "DROP FUNCTION public.evt()"],
    },
];

const CLUSTER_CHANGES: &[Change] = &[
    Change {
        apply: &["CREATE ROLE wt_new NOLOGIN"],
        expect: &["+ role wt_new: superuser=false; inherit=true"],
        undo: &["DROP ROLE wt_new"],
    },
    Change {
        apply: &["ALTER ROLE wt_reader CREATEDB"],
        expect: &["~ role wt_reader: …"],
        undo: &["ALTER ROLE wt_reader NOCREATEDB"],
    },
    Change {
        apply: &["ALTER ROLE wt_reader PASSWORD 'wt-secret'"],
        expect: &["password=none -> ", "password=set"],
        undo: &["ALTER ROLE wt_reader PASSWORD NULL"],
    },
    Change {
        apply: &["CREATE ROLE wt_member NOLOGIN", "GRANT wt_reader TO wt_member WITH ADMIN TRUE, INHERIT FALSE"],
        expect: &["+ role_membership wt_member in wt_reader by directus: admin=true; inherit=false; set=true"],
        undo: &["DROP ROLE wt_member"],
    },
    Change {
        apply: &["ALTER ROLE wt_reader SET work_mem = '3MB'", "ALTER ROLE ALL SET maintenance_work_mem = '70MB'"],
        expect: &["+ role_setting for=wt_reader work_mem: 3MB", "+ role_setting for=* maintenance_work_mem: 70MB"],
        undo: &["ALTER ROLE wt_reader RESET work_mem", "ALTER ROLE ALL RESET maintenance_work_mem"],
    },
    Change {
        apply: &["CREATE TABLESPACE wt_space LOCATION '/tmp/wt_space'", "GRANT CREATE ON TABLESPACE wt_space TO wt_reader"],
        expect: &["+ tablespace wt_space: owner=directus; options=-; location=/tmp/wt_space; grants=wt_reader:CREATE"],
        undo: &["DROP TABLESPACE wt_space"],
    },
    Change {
        apply: &["COMMENT ON ROLE wt_reader IS 'reads'"],
        expect: &["+ comment role wt_reader: reads"],
        undo: &["COMMENT ON ROLE wt_reader IS NULL"],
    },
    Change {
        apply: &["SELECT pg_catalog.pg_create_physical_replication_slot('wt_slot')"],
        expect: &["+ replication_slot wt_slot: type=physical"],
        undo: &["SELECT pg_catalog.pg_drop_replication_slot('wt_slot')"],
    },
    Change {
        apply: &["ALTER SYSTEM SET work_mem = '9MB'"],
        expect: &["+ system_setting work_mem: 9MB"],
        undo: &["ALTER SYSTEM RESET work_mem"],
    },
];

async fn exec_each(c: &tokio_postgres::Client, sql: &[&str]) {
    for s in sql {
        c.batch_execute(s)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e:?}"));
    }
}

async fn schema(pg: &PgContainer, db: &str) -> SchemaFingerprint {
    let c = pg.connect(db).await.expect("connect");
    fingerprint::schema(&c)
        .await
        .unwrap_or_else(|e| panic!("schema fingerprint of {db}: {}", e.report()))
}

async fn cluster(pg: &PgContainer) -> ClusterState {
    let c = pg.connect("postgres").await.expect("connect");
    cluster_state::take(&c)
        .await
        .unwrap_or_else(|e| panic!("cluster state: {}", e.report()))
}

fn lines(changes: Vec<fingerprint::SchemaChange>) -> Vec<String> {
    changes.iter().map(|c| c.to_string()).collect()
}

/// Every expected fragment is in one of the lines (`…` in a fragment: only the head counts).
fn assert_named(what: &str, got: &[String], expect: &[&str]) {
    for e in expect {
        let e = e.trim_end_matches('…');
        assert!(
            got.iter().any(|l| l.contains(e)),
            "{what}: no line contains {e:?}; diff:\n{}",
            got.join("\n")
        );
    }
}

fn without(
    fp: &SchemaFingerprint,
    pred: impl Fn(&(String, String)) -> bool,
) -> BTreeMap<(String, String), String> {
    fp.objects
        .iter()
        .filter(|(k, _)| !pred(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_named_when_changed_and_stable_under_copy_and_restore() {
    let (docker, image) = docker_and_image().await;
    let run = RunIdentity::new();
    let _sweep = SweepOnDrop {
        docker: docker.clone(),
        run_id: run.run_id.clone(),
    };
    let pg = PgContainer::start(&docker, &run, &PgSpec::new(&image, "test-whole-state"))
        .await
        .unwrap_or_else(|e| panic!("start: {}", e.report()));
    let admin = pg.connect("postgres").await.expect("connect");
    admin
        .batch_execute("CREATE DATABASE orig")
        .await
        .expect("create orig");
    let out = pg
        .exec(&["mkdir", "-p", "/tmp/wt_space"], true)
        .await
        .expect("mkdir");
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    {
        let c = pg.connect("orig").await.expect("connect orig");
        exec_each(&c, SETUP_SQL).await;
    }
    let base = schema(&pg, "orig").await;
    let cbase = cluster(&pg).await;
    for kind in [
        "database",
        "database_setting",
        "large_object",
        "publication",
        "publication_table",
    ] {
        assert!(
            base.objects.keys().any(|(k, _)| k == kind),
            "no {kind} row in {:#?}",
            base.objects
                .keys()
                .filter(|(k, _)| k != "column")
                .collect::<Vec<_>>()
        );
    }
    // never a password hash, nor the database's name
    let all: String = format!("{:?}{:?}", base.objects, cbase.objects);
    assert!(!all.contains("SCRAM"), "a password hash in the fingerprint");
    assert!(
        !all.contains("secret"),
        "a connection password in the fingerprint"
    );
    assert!(
        !all.contains("orig"),
        "the database's name in the fingerprint: {all}"
    );

    // each change named by the diff, and the undo back to equal
    let c = pg.connect("orig").await.expect("connect orig");
    for ch in SCHEMA_CHANGES {
        exec_each(&c, ch.apply).await;
        let got = lines(fingerprint::diff_schema(&base, &schema(&pg, "orig").await));
        assert_named(ch.apply[0], &got, ch.expect);
        assert!(!got.join("\n").contains("secret"), "{got:?}");
        exec_each(&c, ch.undo).await;
        let back = lines(fingerprint::diff_schema(&base, &schema(&pg, "orig").await));
        assert!(back.is_empty(), "after undoing {}: {back:?}", ch.apply[0]);
    }
    for ch in CLUSTER_CHANGES {
        exec_each(&c, ch.apply).await;
        let got = lines(cbase.diff(&cluster(&pg).await));
        assert_named(ch.apply[0], &got, ch.expect);
        assert!(!got.join("\n").contains("SCRAM"), "{got:?}");
        exec_each(&c, ch.undo).await;
        let back = lines(cbase.diff(&cluster(&pg).await));
        assert!(back.is_empty(), "after undoing {}: {back:?}", ch.apply[0]);
    }
    drop(c);

    // A template copy carries the content (large objects, publications) but not the database
    // object's own state: those rows are absent in the copy, the rest is identical.
    admin
        .batch_execute("CREATE DATABASE copy1 TEMPLATE orig")
        .await
        .expect("template copy");
    let copy = schema(&pg, "copy1").await;
    assert_eq!(
        without(&copy, database_level),
        without(&base, database_level)
    );
    assert!(
        copy.objects.keys().all(|k| !database_level(k)),
        "{:?}",
        copy.objects
            .keys()
            .filter(|k| database_level(k))
            .collect::<Vec<_>>()
    );
    assert!(copy
        .objects
        .contains_key(&("large_object".to_string(), "16500".to_string())));

    // pg_dump -Fc | pg_restore: the same without --create; everything with --create.
    let sh = |cmd: String| {
        let pg = &pg;
        async move {
            let out = pg.exec(&["sh", "-c", &cmd], true).await.expect("exec");
            assert_eq!(out.exit_code, 0, "{cmd}: {}", out.stderr);
        }
    };
    sh(format!("pg_dump -U {DB_USER} -Fc -f /tmp/orig.dump orig")).await;
    sh(format!(
        "createdb -U {DB_USER} rest1 && pg_restore -U {DB_USER} -d rest1 /tmp/orig.dump"
    ))
    .await;
    let rest = schema(&pg, "rest1").await;
    assert_eq!(
        without(&rest, database_level),
        without(&base, database_level)
    );
    admin
        .batch_execute("ALTER DATABASE orig RENAME TO orig_src")
        .await
        .expect("rename");
    sh(format!(
        "pg_restore -U {DB_USER} -d postgres --create /tmp/orig.dump"
    ))
    .await;
    let created = schema(&pg, "orig").await;
    assert_eq!(
        lines(fingerprint::diff_schema(&base, &created)),
        Vec::<String>::new()
    );
    // and the cluster-global state is the same from any database
    assert_eq!(cluster(&pg).await, cbase);
    let from_copy = {
        let c = pg.connect("copy1").await.expect("connect copy");
        cluster_state::take(&c).await.expect("cluster state")
    };
    assert_eq!(from_copy, cbase);
    pg.remove().await.expect("remove");
}

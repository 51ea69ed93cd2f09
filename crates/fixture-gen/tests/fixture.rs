//! Database-free checks of the generated SQL: determinism, table count against the
//! bootstrap dump, the single `workflow_admin` reference and the `dot_tools` rows.

use std::io::{self, Write};
use std::path::PathBuf;

use fixture_gen::{
    write_roles_sql, write_sql, write_sql_with_summary, Options, DIRECTUS_BOOTSTRAP_TABLES,
    KEY_TABLES, TOTAL_TABLES,
};
use sha2::{Digest, Sha256};

fn generate(seed: u64, scale: u32) -> String {
    let mut out = Vec::new();
    write_sql(&mut out, &Options { seed, scale }).expect("generation succeeds");
    String::from_utf8(out).expect("output is UTF-8")
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn bootstrap() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/directus-12.3.1-bootstrap.sql");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn create_table_names(sql: &str) -> Vec<String> {
    sql.lines()
        .filter_map(|l| l.strip_prefix("CREATE TABLE "))
        .map(|rest| {
            rest.split([' ', '('])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Rows of a `COPY <table> (...) FROM stdin;` block, split into fields.
fn copy_rows(sql: &str, table: &str) -> Vec<Vec<String>> {
    let head = format!("COPY {table} (");
    let mut rows = Vec::new();
    let mut inside = false;
    for line in sql.lines() {
        if inside {
            if line == "\\." {
                break;
            }
            rows.push(line.split('\t').map(str::to_string).collect());
        } else if line.starts_with(&head) {
            inside = true;
        }
    }
    rows
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let a = generate(7, 1);
    let b = generate(7, 1);
    let c = generate(8, 1);
    assert_eq!(sha(&a), sha(&b));
    assert_ne!(sha(&a), sha(&c));
    // The schema does not depend on the seed.
    assert_eq!(create_table_names(&a), create_table_names(&c));
}

#[test]
fn table_count_matches_bootstrap() {
    let boot = bootstrap();
    let boot_tables = create_table_names(&boot);
    assert_eq!(boot_tables.len(), DIRECTUS_BOOTSTRAP_TABLES);
    let sql = generate(1, 1);
    let ours = create_table_names(&sql);
    assert_eq!(ours.len(), TOTAL_TABLES - boot_tables.len());
    assert_eq!(sql.matches("CREATE TABLE").count(), ours.len());
    let mut all: Vec<&String> = boot_tables.iter().chain(ours.iter()).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), TOTAL_TABLES, "duplicate table names");
    for name in &ours {
        assert!(
            name.starts_with("public.") || name.starts_with("tac."),
            "unqualified or unexpected schema: {name}"
        );
    }
    for (schema, table) in KEY_TABLES {
        let q = format!("{schema}.{table}");
        assert!(
            all.iter().any(|n| **n == q),
            "key table {q} is never created"
        );
    }
    assert_eq!(KEY_TABLES.len(), 10);
    for needed in [
        "public.tac_logical_unit",
        "public.tac_unit_version",
        "public.tac_publication",
        "public.universal_edges",
        "public.dot_tools",
    ] {
        assert!(ours.iter().any(|n| n == needed), "{needed} missing");
    }
    assert!(sql.contains(") PARTITION BY RANGE (occurred_at);"));
    assert_eq!(
        sql.matches(" PARTITION OF public.tac_audit_event ").count(),
        2
    );
}

#[test]
fn workflow_admin_named_once_and_only_by_the_policy() {
    let sql = generate(3, 1);
    let hits: Vec<&str> = sql
        .lines()
        .filter(|l| l.contains("workflow_admin"))
        .collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(sql.matches("workflow_admin").count(), 1);
    assert!(hits[0].starts_with(
        "CREATE POLICY tac_publication_workflow ON public.tac_publication TO workflow_admin"
    ));
    assert!(sql.contains("ALTER TABLE public.tac_publication ENABLE ROW LEVEL SECURITY;"));
    assert!(!sql.contains("GRANT "));
    assert!(!sql.contains("OWNER TO"));
    assert!(!sql.contains("CREATE ROLE"));

    let mut roles = Vec::new();
    write_roles_sql(&mut roles).expect("roles sql");
    let roles = String::from_utf8(roles).expect("utf8");
    assert_eq!(
        roles.trim_end(),
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='workflow_admin') THEN CREATE ROLE workflow_admin NOLOGIN; END IF; END $$;"
    );
}

#[test]
fn dot_tools_cutter_pair_present() {
    for seed in [1, 99] {
        let sql = generate(seed, 1);
        let rows = copy_rows(&sql, "public.dot_tools");
        let find = |id: &str| {
            rows.iter()
                .find(|r| r[0] == id)
                .unwrap_or_else(|| panic!("dot_tools id {id} missing"))
                .clone()
        };
        // id, code, name, tier, paired_with, status, tool_revision, ...
        let a = find("992");
        assert_eq!(
            (a[1].as_str(), a[3].as_str(), a[4].as_str(), a[5].as_str()),
            ("DOT-IU-CUTTER", "A", "991", "active")
        );
        assert_eq!(a[6], "0.1.0");
        let b = find("991");
        assert_eq!(
            (b[1].as_str(), b[3].as_str(), b[4].as_str(), b[5].as_str()),
            ("DOT-IU-CUTTER-VERIFY", "B", "992", "active")
        );
        assert_eq!(b[6], "0.1.0");
        let mut ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), rows.len(), "duplicate dot_tools ids");
    }
}

#[test]
fn row_counts_and_scaling() {
    let mut one = Vec::new();
    let s1 = write_sql_with_summary(&mut one, &Options { seed: 5, scale: 1 }).expect("scale 1");
    let mut two = Vec::new();
    let s2 = write_sql_with_summary(&mut two, &Options { seed: 5, scale: 2 }).expect("scale 2");
    assert_eq!(s1.business.units, 2_000);
    assert_eq!(s1.business.edges, 8_000);
    assert!(
        (3_500..4_500).contains(&s1.business.versions),
        "{}",
        s1.business.versions
    );
    assert_eq!(s2.business.units, 4_000);
    assert_eq!(s2.business.edges, 16_000);
    assert_eq!(s1.filler_rows, s2.filler_rows, "filler tables do not scale");
    assert_eq!(s1.tables_created, s2.tables_created);
    assert!(two.len() > one.len() * 3 / 2);
    let sql = String::from_utf8(one).expect("utf8");
    assert_eq!(copy_rows(&sql, "public.tac_logical_unit").len(), 2_000);
    assert_eq!(copy_rows(&sql, "public.universal_edges").len(), 8_000);
    assert!(write_sql(&mut Vec::new(), &Options { seed: 1, scale: 0 }).is_err());
}

#[test]
fn bodies_exercise_canonicalization_inputs() {
    let sql = generate(11, 1);
    let rows = copy_rows(&sql, "public.tac_unit_version");
    // Column 5 is body (COPY-escaped).
    let bodies: Vec<&str> = rows.iter().map(|r| r[5].as_str()).collect();
    assert!(bodies.iter().any(|b| b.contains("\\r\\n")), "CRLF");
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("  \\n") || b.contains("  \\r")),
        "trailing blanks"
    );
    assert!(bodies.iter().any(|b| b.contains('Đ')), "non-ASCII");
    assert!(bodies.iter().any(|b| b.contains('ñ')), "non-ASCII");
    assert!(bodies.iter().any(|b| b.starts_with('\u{feff}')), "BOM");
    assert!(bodies.iter().any(|b| b.contains('\u{303}')), "NFD");
    assert!(bodies.iter().all(|b| b.contains("## ")), "headings");
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("\\n- ") || b.contains("\\r\\n- ")),
        "lists"
    );
}

#[test]
fn deterministic_values_only() {
    let sql = generate(2, 1);
    let lower = sql.to_lowercase();
    assert!(!lower.contains("now()"));
    assert!(!lower.contains("gen_random_uuid"));
    assert!(!lower.contains("random()"));
    for row in copy_rows(&sql, "public.tac_audit_event") {
        assert!(
            row[1].starts_with("2026-"),
            "audit event outside 2026: {}",
            row[1]
        );
    }
}

/// A sink recording the largest single write, to show output is streamed in chunks.
struct MaxWrite {
    max: usize,
    total: usize,
}

impl Write for MaxWrite {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.max = self.max.max(buf.len());
        self.total += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn output_is_streamed() {
    let mut sink = MaxWrite { max: 0, total: 0 };
    write_sql(&mut sink, &Options { seed: 1, scale: 2 }).expect("generation");
    assert!(sink.total > 8 * (1 << 20), "total {}", sink.total);
    assert!(sink.max <= 1 << 17, "largest write {}", sink.max);
}

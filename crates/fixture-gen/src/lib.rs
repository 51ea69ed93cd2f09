//! Deterministic generator of a Directus-shaped PostgreSQL 16 fixture database.
//!
//! [`write_sql`] streams plain SQL (DDL + `COPY ... FROM stdin` data) meant to be loaded
//! with `psql -v ON_ERROR_STOP=1` right after `fixtures/directus-12.3.1-bootstrap.sql`.
//! The same [`Options`] always produce byte-identical output: every value comes from a
//! seeded in-crate PRNG and every timestamp is an offset from 2026-01-01T00:00:00Z.
//!
//! Resulting database: exactly [`TOTAL_TABLES`] tables (relkind `r`/`p`) in schemas
//! `public` and `tac`: the [`DIRECTUS_BOOTSTRAP_TABLES`] `directus_*` tables of the
//! bootstrap, the TAC business tables (including a partitioned audit log with two
//! partitions) and small filler applications in schema `tac`.
//!
//! The role `workflow_admin` must exist before loading (see [`write_roles_sql`]); the
//! generated SQL names it in exactly one object, a row-level-security policy on
//! `public.tac_publication`, and in no GRANT or OWNER statement.

mod business;
mod copy;
mod directus;
mod filler;
mod objects;
mod rng;
mod schema;
mod text;

use std::io::{self, BufWriter, Write};

pub use business::BusinessCounts;
pub use objects::WORKFLOW_ROLE;

/// Total number of tables (relkind `r` or `p`, outside system schemas) after loading the
/// bootstrap and the generated SQL.
pub const TOTAL_TABLES: usize = 236;

/// Number of tables created by `fixtures/directus-12.3.1-bootstrap.sql`.
pub const DIRECTUS_BOOTSTRAP_TABLES: usize = 33;

/// Number of `CREATE TABLE` statements in the generated SQL.
pub const GENERATED_TABLES: usize = TOTAL_TABLES - DIRECTUS_BOOTSTRAP_TABLES;

/// Ten key tables `(schema, table)` the harness checks first after a restore.
pub const KEY_TABLES: &[(&str, &str)] = &[
    ("public", "tac_logical_unit"),
    ("public", "tac_unit_version"),
    ("public", "tac_publication"),
    ("public", "universal_edges"),
    ("public", "dot_tools"),
    ("public", "directus_users"),
    ("public", "directus_collections"),
    ("public", "directus_fields"),
    ("public", "directus_migrations"),
    ("public", "directus_activity"),
];

/// Generation options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// PRNG seed; changes values, never the schema or the row counts.
    pub seed: u64,
    /// Scale factor (>= 1): business-table row counts grow linearly with it.
    /// Scale 1 is the small committed fixture.
    pub scale: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { seed: 1, scale: 1 }
    }
}

/// Row counts of the main tables produced for some [`Options`].
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Rows written per business table.
    pub business: BusinessCounts,
    /// Rows written into the filler tables of schema `tac`, all tables together.
    pub filler_rows: u64,
    /// Number of `CREATE TABLE` statements written.
    pub tables_created: usize,
}

/// Shared generation context.
pub(crate) struct Ctx {
    pub seed: u64,
    pub scale: u64,
    /// Directus user ids (bootstrap admin first) that rows may reference.
    pub users: Vec<String>,
}

/// Writes the statement creating the `workflow_admin` role if it is missing. It is kept
/// out of [`write_sql`] because the restore target of the harness must not have the role.
pub fn write_roles_sql(out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='{WORKFLOW_ROLE}') THEN CREATE ROLE {WORKFLOW_ROLE} NOLOGIN; END IF; END $$;"
    )
}

/// Streams the fixture SQL for `opts` into `out` (buffered internally; never holds more
/// than one row of data in memory).
pub fn write_sql(out: &mut impl Write, opts: &Options) -> io::Result<()> {
    write_sql_with_summary(out, opts).map(|_| ())
}

/// Like [`write_sql`], also returning the row counts that were written.
pub fn write_sql_with_summary(out: &mut impl Write, opts: &Options) -> io::Result<Summary> {
    if opts.scale == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "scale must be at least 1",
        ));
    }
    let mut w = BufWriter::with_capacity(1 << 17, out);
    let summary = generate(&mut w, opts)?;
    w.flush()?;
    Ok(summary)
}

fn generate<W: Write>(w: &mut W, opts: &Options) -> io::Result<Summary> {
    let ctx = Ctx {
        seed: opts.seed,
        scale: u64::from(opts.scale),
        users: directus::user_ids(opts.seed),
    };
    let business_tables = business::tables();
    let filler_count = GENERATED_TABLES
        .checked_sub(business_tables.len())
        .filter(|n| *n <= filler::capacity())
        .ok_or_else(|| io::Error::other("internal: filler capacity does not fit TOTAL_TABLES"))?;
    let plan = filler::plan(filler_count);
    let filler_tables: Vec<schema::Table> = plan.iter().map(filler::table).collect();
    let mut summary = Summary::default();

    objects::write_header(w, opts.seed, opts.scale)?;

    // Pre-data: schema, types, sequences, functions, tables.
    objects::write_pre_data(w)?;
    for t in business_tables.iter().chain(filler_tables.iter()) {
        t.write_create(w)?;
        summary.tables_created += 1;
    }
    objects::write_sequence_owners(w)?;

    // Data.
    let mut seqs = schema::SeqSets::default();
    directus::write_data(w, &ctx, &business_tables, &mut seqs)?;
    summary.business = business::write_data(w, &ctx, &mut seqs)?;
    for f in &plan {
        summary.filler_rows += filler::write_data(w, &ctx, &plan, f, &mut seqs)?;
    }
    seqs.write(w)?;

    // Post-data: indexes, constraints, views, functions, triggers, policy, comments.
    objects::write_indexes(w, &filler_tables)?;
    for t in business_tables.iter().chain(filler_tables.iter()) {
        t.write_fks(w)?;
    }
    objects::write_views_functions_triggers(w)?;
    for t in business_tables.iter().chain(filler_tables.iter()) {
        t.write_comment(w)?;
    }
    objects::write_rls(w)?;
    writeln!(w, "--\n-- fixture-gen: end\n--")?;
    Ok(summary)
}

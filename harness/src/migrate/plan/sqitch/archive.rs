//! The archive generator for a plan that brings none (a Sqitch project): the SQL that lists one
//! row-exporting query per table of the plan's schema, children before parents.

/// The archive generator for a plan that brings none (a Sqitch project): one
/// `(table_name, sql)` row per table of `schema` (partitions through their parent), children
/// before parents by foreign keys (then by name), each `sql` returning
/// `(table_name, row_json)` ordered by the primary key (by the row's text without one).
/// `schema` must be a plain identifier.
pub fn generic_archive_sql(schema: &str) -> String {
    format!(
        r#"-- Generated archive generator for schema {schema} (the plan brings no archive.sql).
WITH RECURSIVE tbl AS (
    SELECT c.oid, c.relname
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = '{schema}'
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
), fk AS (
    SELECT DISTINCT k.conrelid AS child, k.confrelid AS parent
    FROM pg_catalog.pg_constraint AS k
    WHERE k.contype = 'f' AND k.conparentid = 0 AND k.conrelid <> k.confrelid
      AND k.conrelid IN (SELECT oid FROM tbl) AND k.confrelid IN (SELECT oid FROM tbl)
), chain (oid, depth, path) AS (
    SELECT tbl.oid, 0, ARRAY[tbl.oid] FROM tbl
    UNION ALL
    SELECT fk.parent, chain.depth + 1, chain.path || fk.parent
    FROM chain JOIN fk ON fk.child = chain.oid
    WHERE fk.parent <> ALL (chain.path)
), level AS (
    SELECT oid, max(depth) AS depth FROM chain GROUP BY oid
)
SELECT tbl.relname::text AS table_name,
       pg_catalog.format(
           'SELECT %L::text AS table_name, pg_catalog.row_to_json(t)::text AS row_json FROM %I.%I AS t ORDER BY %s',
           tbl.relname, '{schema}', tbl.relname,
           COALESCE((
               SELECT pg_catalog.string_agg(pg_catalog.format('t.%I', a.attname), ', ' ORDER BY k.ord)
               FROM pg_catalog.pg_index AS i
               CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k (attnum, ord)
               JOIN pg_catalog.pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
               WHERE i.indrelid = tbl.oid AND i.indisprimary),
           't::text COLLATE "C"')) AS sql
FROM tbl JOIN level ON level.oid = tbl.oid
ORDER BY level.depth, tbl.relname COLLATE "C""#
    )
}

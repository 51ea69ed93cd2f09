-- Test plan more-steps: migrations/p0/archive.sql with cut_note among the known tables.
--
-- P0 archive GENERATOR: run BEFORE reverting; returns one (table_name, sql) row per table that
-- currently exists in cutter_governance, in revert order (children before parents; a table
-- not known to P0 would come first).
--
-- Run each `sql` and write its rows to the archive artefact; every generated statement returns
-- (table_name text, row_json text), one JSON object per row, ordered by the primary key
-- (by the row's text form if a table has none). Works after a partial deploy (missing tables are
-- simply not listed). Read-only; creates nothing. For stable JSON timestamps run it with
-- SET TimeZone = 'UTC' (row_to_json renders timestamptz in the session time zone).
--
-- Static equivalents for a full deploy (same order):
--   SELECT row_to_json(t)::text FROM cutter_governance.signal t ORDER BY t.id;
--   SELECT row_to_json(t)::text FROM cutter_governance.dot_pair_signature t ORDER BY t.id;
--   SELECT row_to_json(t)::text FROM cutter_governance.cut_note t ORDER BY t.id;
--   SELECT row_to_json(t)::text FROM cutter_governance.cut_unit t ORDER BY t.id;
--   SELECT row_to_json(t)::text FROM cutter_governance.cut_change_set t ORDER BY t.id;
--   SELECT row_to_json(t)::text FROM cutter_governance.dot_tool_revision t ORDER BY t.dot_id, t.tool_revision;
SELECT c.relname::text AS table_name,
       pg_catalog.format(
           'SELECT %L::text AS table_name, pg_catalog.row_to_json(t)::text AS row_json FROM cutter_governance.%I AS t ORDER BY %s',
           c.relname, c.relname,
           COALESCE((
               SELECT pg_catalog.string_agg(pg_catalog.format('t.%I', a.attname), ', ' ORDER BY k.ord)
               FROM pg_catalog.pg_index AS i
               CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k (attnum, ord)
               JOIN pg_catalog.pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
               WHERE i.indrelid = c.oid AND i.indisprimary),
           't::text COLLATE "C"')) AS sql
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = 'cutter_governance'
-- known P0 tables in revert order; any other table in the schema comes first, by name
LEFT JOIN (VALUES (1, 'signal'), (2, 'dot_pair_signature'), (3, 'cut_note'), (4, 'cut_unit'),
                  (5, 'cut_change_set'), (6, 'dot_tool_revision')) AS known (ord, table_name)
  ON known.table_name = c.relname
WHERE c.relkind IN ('r', 'p')
ORDER BY COALESCE(known.ord, 0), c.relname COLLATE "C"

-- Data fingerprint GENERATOR: returns one (schema_name, table_name, relkind, sql) row per
-- table; run each `sql` (same session) to get (schema_name, table_name, row_count, content_sha256).
--
-- Read-only, creates nothing (no helper function: that would change the schema fingerprint).
-- Session requirement (checked here and again inside every generated statement):
--   SET search_path = pg_catalog; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';
--   SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex';
--   SET lc_monetary = 'C';
-- because a row's text form (t::text) depends on them. Otherwise it raises
--   invalid input syntax for type boolean: "data fingerprint requires ...".
--
-- content_sha256 = sha256 of the sorted, newline-joined list of per-row sha256(t::text) hex
-- digests (a multiset hash: row order and physical layout do not matter, duplicates do;
-- empty table -> sha256 of ''). Leaf tables (r) and populated materialized views (m) are
-- read with FROM ONLY, so inheritance children are not counted twice; a partitioned parent
-- (p) only reports count(*) over all its partitions and content_sha256 = NULL (its rows are
-- hashed under the partitions). Unpopulated materialized views report NULL, 'unpopulated'.
WITH settings (ok) AS (
    SELECT pg_catalog.current_setting('search_path') = 'pg_catalog'
       AND pg_catalog.current_setting('TimeZone') = 'UTC'
       AND pg_catalog.current_setting('DateStyle') LIKE 'ISO,%'
       AND pg_catalog.current_setting('IntervalStyle') = 'postgres'
       AND pg_catalog.current_setting('extra_float_digits')::integer >= 1
       AND pg_catalog.current_setting('bytea_output') = 'hex'
       AND pg_catalog.current_setting('lc_monetary') = 'C'
),
guard AS (
    SELECT CASE WHEN settings.ok THEN true
                -- not a constant: a constant CAST would be folded (and raise) at plan time
                ELSE CAST('data fingerprint requires search_path=pg_catalog, TimeZone=UTC, DateStyle=ISO, '
                          || 'IntervalStyle=postgres, extra_float_digits>=1, bytea_output=hex, lc_monetary=C; got '
                          || pg_catalog.concat_ws(', ', pg_catalog.current_setting('search_path'),
                                                  pg_catalog.current_setting('TimeZone'),
                                                  pg_catalog.current_setting('DateStyle'),
                                                  pg_catalog.current_setting('IntervalStyle'),
                                                  pg_catalog.current_setting('extra_float_digits'),
                                                  pg_catalog.current_setting('bytea_output'),
                                                  pg_catalog.current_setting('lc_monetary')) AS boolean)
           END AS ok
    FROM settings
),
-- the same check, embedded in each generated statement (it may run later or elsewhere)
embedded (check_expr) AS (
    VALUES ($chk$(CASE WHEN pg_catalog.current_setting('search_path') = 'pg_catalog'
       AND pg_catalog.current_setting('TimeZone') = 'UTC'
       AND pg_catalog.current_setting('DateStyle') LIKE 'ISO,%'
       AND pg_catalog.current_setting('IntervalStyle') = 'postgres'
       AND pg_catalog.current_setting('extra_float_digits')::integer >= 1
       AND pg_catalog.current_setting('bytea_output') = 'hex'
       AND pg_catalog.current_setting('lc_monetary') = 'C' THEN true
  ELSE CAST('data fingerprint requires search_path=pg_catalog, TimeZone=UTC, DateStyle=ISO, IntervalStyle=postgres, extra_float_digits>=1, bytea_output=hex, lc_monetary=C; got ' || pg_catalog.concat_ws(', ', pg_catalog.current_setting('search_path'), pg_catalog.current_setting('TimeZone'), pg_catalog.current_setting('DateStyle'), pg_catalog.current_setting('IntervalStyle'), pg_catalog.current_setting('extra_float_digits'), pg_catalog.current_setting('bytea_output'), pg_catalog.current_setting('lc_monetary')) AS boolean) END)$chk$)
)
SELECT n.nspname::text AS schema_name,
       c.relname::text AS table_name,
       c.relkind::text AS relkind,
       CASE
           WHEN c.relkind = 'p' THEN pg_catalog.format(
               'SELECT %L::text AS schema_name, %L::text AS table_name, count(*) AS row_count, '
               'NULL::text AS content_sha256 FROM %I.%I HAVING %s',
               n.nspname, c.relname, n.nspname, c.relname, embedded.check_expr)
           WHEN c.relkind = 'm' AND NOT c.relispopulated THEN pg_catalog.format(
               'SELECT %L::text AS schema_name, %L::text AS table_name, NULL::bigint AS row_count, '
               '''unpopulated''::text AS content_sha256 WHERE %s',
               n.nspname, c.relname, embedded.check_expr)
           ELSE pg_catalog.format(
               'SELECT %L::text AS schema_name, %L::text AS table_name, count(*) AS row_count, '
               'pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to('
               'COALESCE(pg_catalog.string_agg(r.h, E''\n'' ORDER BY r.h COLLATE "C"), ''''), ''UTF8'')), ''hex'') AS content_sha256 '
               'FROM (SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(t::text, ''UTF8'')), ''hex'') AS h '
               'FROM ONLY %I.%I AS t) AS r HAVING %s',
               n.nspname, c.relname, n.nspname, c.relname, embedded.check_expr)
       END AS sql
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
CROSS JOIN embedded
CROSS JOIN guard
WHERE guard.ok
  AND c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\_temp\_%'
  AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"

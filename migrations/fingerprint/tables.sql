-- Tables of the data fingerprint: one JSON object per leaf table (r), partitioned table (p)
-- and materialized view (m) outside pg_catalog, information_schema, pg_toast and temp schemas,
-- in (schema, name) byte order. Read-only; needs no session settings (it reads the catalog
-- in the caller's snapshot). Fields:
--   schema, name, relkind, populated   what the table is (an unpopulated matview has no rows)
--   oid, relfilenode                    identity and storage file (TRUNCATE, VACUUM FULL,
--                                       CLUSTER, a rewriting ALTER TABLE and a plain REFRESH
--                                       give a new relfilenode)
--   bytes                               heap size, to schedule large tables first
--   descriptor                          md5 of the column list as SELECT * sees it (name,
--                                       type, typmod, dropped, fast-default value; for an
--                                       enum column also its labels with their OIDs, which
--                                       enum_send turns the stored OIDs into)
--   builtin_types                       every column has a built-in type (OID < 16384) or an
--                                       enum type (whose labels the descriptor holds): its
--                                       binary send cannot change under the table unseen
--   logged                              a permanent relation: all its changes are in the WAL
--   leaves, leaves_plain                for a partitioned table: the OIDs of its leaf
--                                       partitions, and whether all of them are plain tables
SELECT pg_catalog.row_to_json(q)::text
FROM (
    SELECT n.nspname::text AS schema,
           c.relname::text AS name,
           c.relkind::text AS relkind,
           c.relispopulated AS populated,
           c.oid::bigint AS oid,
           c.relfilenode::bigint AS relfilenode,
           CASE WHEN c.relkind IN ('r', 'm') THEN pg_catalog.pg_relation_size(c.oid) ELSE 0 END AS bytes,
           pg_catalog.md5(COALESCE((
               SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', a.attnum, a.attname, a.atttypid,
                          a.atttypmod, a.attisdropped, a.atthasmissing, a.attmissingval::text,
                          (SELECT pg_catalog.string_agg(e.oid::text || '=' || pg_catalog.quote_literal(e.enumlabel), ';'
                                      ORDER BY e.oid)
                           FROM pg_catalog.pg_enum AS e WHERE e.enumtypid = a.atttypid)), ','
                          ORDER BY a.attnum)
               FROM pg_catalog.pg_attribute AS a
               WHERE a.attrelid = c.oid AND a.attnum > 0), '')) AS descriptor,
           NOT EXISTS (
               SELECT 1 FROM pg_catalog.pg_attribute AS a
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 AND a.atttypid >= 16384
                 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type AS t
                                 WHERE t.oid = a.atttypid AND t.typtype = 'e')) AS builtin_types,
           c.relpersistence = 'p' AS logged,
           CASE WHEN c.relkind = 'p' THEN (
               SELECT COALESCE(pg_catalog.array_agg(pt.relid::oid::bigint ORDER BY pt.relid::oid), '{}')
               FROM pg_catalog.pg_partition_tree(c.oid) AS pt WHERE pt.isleaf) END AS leaves,
           CASE WHEN c.relkind = 'p' THEN (
               SELECT COALESCE(pg_catalog.bool_and(lc.relkind = 'r'), true)
               FROM pg_catalog.pg_partition_tree(c.oid) AS pt
               JOIN pg_catalog.pg_class AS lc ON lc.oid = pt.relid
               WHERE pt.isleaf) END AS leaves_plain
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND n.nspname NOT LIKE 'pg\_temp\_%'
      AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
    ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"
) AS q

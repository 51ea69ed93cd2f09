-- Verify P0 step 02_dot_tool_revision. Raises (SQLSTATE P0001) unless the step is in place.
-- Read-only: checks columns, constraints and the two seed rows.
DO $verify$
DECLARE
    rel regclass := pg_catalog.to_regclass('cutter_governance.dot_tool_revision');
    missing text;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'P0 verify 02_dot_tool_revision: table cutter_governance.dot_tool_revision is missing';
    END IF;

    SELECT string_agg(e.col || ' ' || e.typ, ', ') INTO missing
    FROM (VALUES
        ('dot_id', 'integer', true),
        ('tool_revision', 'text', true),
        ('registered_at', 'timestamp with time zone', true)
    ) AS e (col, typ, not_null)
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = rel AND a.attname = e.col AND NOT a.attisdropped
          AND pg_catalog.format_type(a.atttypid, a.atttypmod) = e.typ AND a.attnotnull = e.not_null);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 02_dot_tool_revision: missing or wrong columns: %', missing;
    END IF;

    SELECT string_agg(e.name, ', ') INTO missing
    FROM (VALUES ('dot_tool_revision_pkey'), ('dot_tool_revision_dot_id_check'),
                 ('dot_tool_revision_tool_revision_check')) AS e (name)
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS c
                      WHERE c.conrelid = rel AND c.conname = e.name AND c.convalidated);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 02_dot_tool_revision: missing constraints: %', missing;
    END IF;

    SELECT string_agg(e.dot_id::text || ' ' || e.code, ', ') INTO missing
    FROM (VALUES (992, 'DOT-IU-CUTTER'), (991, 'DOT-IU-CUTTER-VERIFY')) AS e (dot_id, code)
    WHERE NOT EXISTS (
        SELECT 1 FROM cutter_governance.dot_tool_revision AS r
        JOIN public.dot_tools AS d ON d.id = r.dot_id
        WHERE r.dot_id = e.dot_id AND r.tool_revision = '0.1.0' AND d.code = e.code);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 02_dot_tool_revision: seed revision 0.1.0 missing for: %', missing;
    END IF;
END
$verify$;

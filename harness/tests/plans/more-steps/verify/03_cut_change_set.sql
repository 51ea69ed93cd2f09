-- Verify P0 step 03_cut_change_set. Raises (SQLSTATE P0001) unless the step is in place.
-- Read-only: checks columns, constraints and indexes.
DO $verify$
DECLARE
    rel regclass := pg_catalog.to_regclass('cutter_governance.cut_change_set');
    missing text;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'P0 verify 03_cut_change_set: table cutter_governance.cut_change_set is missing';
    END IF;

    SELECT string_agg(e.col || ' ' || e.typ, ', ') INTO missing
    FROM (VALUES
        ('id', 'uuid', true),
        ('state', 'text', true),
        ('source_ref', 'text', false),
        ('source_canonical_sha256', 'text', true),
        ('executor_tool_revision', 'text', false),
        ('verifier_tool_revision', 'text', false),
        ('tool_revision_match', 'boolean', false),
        ('created_at', 'timestamp with time zone', true),
        ('updated_at', 'timestamp with time zone', true)
    ) AS e (col, typ, not_null)
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = rel AND a.attname = e.col AND NOT a.attisdropped
          AND pg_catalog.format_type(a.atttypid, a.atttypmod) = e.typ AND a.attnotnull = e.not_null);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 03_cut_change_set: missing or wrong columns: %', missing;
    END IF;

    SELECT string_agg(e.name, ', ') INTO missing
    FROM (VALUES ('cut_change_set_pkey'), ('cut_change_set_state_check'),
                 ('cut_change_set_source_canonical_sha256_check'), ('cut_change_set_drift_check'),
                 ('cut_change_set_match_check')) AS e (name)
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS c
                      WHERE c.conrelid = rel AND c.conname = e.name AND c.convalidated);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 03_cut_change_set: missing constraints: %', missing;
    END IF;

    IF pg_catalog.to_regclass('cutter_governance.cut_change_set_state_idx') IS NULL THEN
        RAISE EXCEPTION 'P0 verify 03_cut_change_set: index cut_change_set_state_idx is missing';
    END IF;
END
$verify$;

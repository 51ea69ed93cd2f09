-- Verify step 04a_cut_note. Raises (SQLSTATE P0001) unless the step is in place.
-- Read-only: columns, constraints and the index.
DO $verify$
DECLARE
    rel regclass := pg_catalog.to_regclass('cutter_governance.cut_note');
    missing text;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'P0 verify 04a_cut_note: table cutter_governance.cut_note is missing';
    END IF;

    SELECT string_agg(e.col || ' ' || e.typ, ', ') INTO missing
    FROM (VALUES
        ('id', 'uuid', true),
        ('change_set_id', 'uuid', true),
        ('body', 'text', true),
        ('created_at', 'timestamp with time zone', true)
    ) AS e (col, typ, not_null)
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = rel AND a.attname = e.col AND NOT a.attisdropped
          AND pg_catalog.format_type(a.atttypid, a.atttypmod) = e.typ AND a.attnotnull = e.not_null);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 04a_cut_note: missing or wrong columns: %', missing;
    END IF;

    SELECT string_agg(e.name, ', ') INTO missing
    FROM (VALUES ('cut_note_pkey'), ('cut_note_change_set_id_fkey'), ('cut_note_body_check')) AS e (name)
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS c
                      WHERE c.conrelid = rel AND c.conname = e.name AND c.convalidated);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 04a_cut_note: missing constraints: %', missing;
    END IF;

    IF pg_catalog.to_regclass('cutter_governance.cut_note_change_set_id_idx') IS NULL THEN
        RAISE EXCEPTION 'P0 verify 04a_cut_note: index cut_note_change_set_id_idx is missing';
    END IF;
END
$verify$;

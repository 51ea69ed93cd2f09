-- Verify P0 step 04_cut_unit. Raises (SQLSTATE P0001) unless the step is in place.
-- Read-only: columns, constraints, indexes, and logical_unit_id's type vs public.tac_logical_unit.id.
DO $verify$
DECLARE
    rel regclass := pg_catalog.to_regclass('cutter_governance.cut_unit');
    missing text;
    lu_type text;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'P0 verify 04_cut_unit: table cutter_governance.cut_unit is missing';
    END IF;

    SELECT string_agg(e.col || ' ' || e.typ, ', ') INTO missing
    FROM (VALUES
        ('id', 'uuid', true),
        ('change_set_id', 'uuid', true),
        ('byte_start', 'bigint', true),
        ('byte_end', 'bigint', true),
        ('start_token_position', 'integer', true),
        ('end_token_position', 'integer', true),
        ('logical_unit_id', 'uuid', false),
        ('content_sha256', 'text', false),
        ('created_at', 'timestamp with time zone', true)
    ) AS e (col, typ, not_null)
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = rel AND a.attname = e.col AND NOT a.attisdropped
          AND pg_catalog.format_type(a.atttypid, a.atttypmod) = e.typ AND a.attnotnull = e.not_null);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 04_cut_unit: missing or wrong columns: %', missing;
    END IF;

    SELECT string_agg(e.name, ', ') INTO missing
    FROM (VALUES ('cut_unit_pkey'), ('cut_unit_change_set_id_fkey'), ('cut_unit_byte_start_check'),
                 ('cut_unit_byte_range_check'), ('cut_unit_start_token_position_check'),
                 ('cut_unit_token_range_check'), ('cut_unit_content_sha256_check')) AS e (name)
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS c
                      WHERE c.conrelid = rel AND c.conname = e.name AND c.convalidated);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 04_cut_unit: missing constraints: %', missing;
    END IF;

    SELECT string_agg(e.name, ', ') INTO missing
    FROM (VALUES ('cut_unit_change_set_id_idx'), ('cut_unit_logical_unit_id_idx')) AS e (name)
    WHERE pg_catalog.to_regclass('cutter_governance.' || e.name) IS NULL;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 04_cut_unit: missing indexes: %', missing;
    END IF;

    -- The soft reference must be joinable: same type as public.tac_logical_unit.id when that exists.
    SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO lu_type
    FROM pg_catalog.pg_attribute AS a
    WHERE a.attrelid = pg_catalog.to_regclass('public.tac_logical_unit') AND a.attname = 'id'
      AND NOT a.attisdropped;
    IF lu_type IS NOT NULL AND lu_type <> 'uuid' THEN
        RAISE EXCEPTION 'P0 verify 04_cut_unit: public.tac_logical_unit.id is %, cut_unit.logical_unit_id is uuid', lu_type;
    END IF;
END
$verify$;

-- Verify P0 step 06_signal. Raises (SQLSTATE P0001) unless the step is in place.
-- Read-only: columns, constraints, indexes, the trigger function and the enabled trigger.
DO $verify$
DECLARE
    rel regclass := pg_catalog.to_regclass('cutter_governance.signal');
    missing text;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'P0 verify 06_signal: table cutter_governance.signal is missing';
    END IF;

    SELECT string_agg(e.col || ' ' || e.typ, ', ') INTO missing
    FROM (VALUES
        ('id', 'uuid', true),
        ('kind', 'text', true),
        ('change_set_id', 'uuid', true),
        ('emitter_dot_id', 'integer', true),
        ('routed_to', 'text', true),
        ('payload', 'jsonb', true),
        ('emitted_at', 'timestamp with time zone', true),
        ('acknowledged_by', 'text', false),
        ('acknowledged_at', 'timestamp with time zone', false)
    ) AS e (col, typ, not_null)
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = rel AND a.attname = e.col AND NOT a.attisdropped
          AND pg_catalog.format_type(a.atttypid, a.atttypmod) = e.typ AND a.attnotnull = e.not_null);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 06_signal: missing or wrong columns: %', missing;
    END IF;

    SELECT string_agg(e.name, ', ') INTO missing
    FROM (VALUES ('signal_pkey'), ('signal_kind_check'), ('signal_routed_to_check'),
                 ('signal_emitter_dot_id_check'), ('signal_acknowledged_check'),
                 ('signal_acknowledged_by_check')) AS e (name)
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS c
                      WHERE c.conrelid = rel AND c.conname = e.name AND c.convalidated);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 06_signal: missing constraints: %', missing;
    END IF;

    SELECT string_agg(e.name, ', ') INTO missing
    FROM (VALUES ('signal_change_set_id_idx'), ('signal_unacknowledged_idx')) AS e (name)
    WHERE pg_catalog.to_regclass('cutter_governance.' || e.name) IS NULL;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 06_signal: missing indexes: %', missing;
    END IF;

    IF pg_catalog.to_regprocedure('cutter_governance.signal_notify_g2_backlog()') IS NULL THEN
        RAISE EXCEPTION 'P0 verify 06_signal: function cutter_governance.signal_notify_g2_backlog() is missing';
    END IF;

    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_trigger AS t
        WHERE t.tgrelid = rel AND t.tgname = 'signal_notify_g2_backlog' AND NOT t.tgisinternal
          AND t.tgenabled = 'O'
          AND t.tgfoid = pg_catalog.to_regprocedure('cutter_governance.signal_notify_g2_backlog()')
          AND t.tgtype = 5 /* ROW (1) | INSERT (4), neither BEFORE nor INSTEAD OF => AFTER INSERT FOR EACH ROW */) THEN
        RAISE EXCEPTION 'P0 verify 06_signal: enabled AFTER INSERT trigger signal_notify_g2_backlog is missing';
    END IF;
END
$verify$;

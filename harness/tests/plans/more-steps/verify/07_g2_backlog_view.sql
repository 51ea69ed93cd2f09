-- Verify P0 step 07_g2_backlog_view. Raises (SQLSTATE P0001) unless the step is in place.
-- Read-only.
DO $verify$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c
                   WHERE c.oid = pg_catalog.to_regclass('cutter_governance.g2_backlog') AND c.relkind = 'v') THEN
        RAISE EXCEPTION 'P0 verify 07_g2_backlog_view: view cutter_governance.g2_backlog is missing';
    END IF;
    -- planning the view proves its columns still resolve
    PERFORM 1 FROM cutter_governance.g2_backlog LIMIT 0;
END
$verify$;

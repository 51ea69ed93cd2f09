-- Verify P0 step 01_schema. Raises (SQLSTATE P0001) unless the step is in place.
-- Read-only.
DO $verify$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'cutter_governance') THEN
        RAISE EXCEPTION 'P0 verify 01_schema: schema cutter_governance is missing';
    END IF;
END
$verify$;

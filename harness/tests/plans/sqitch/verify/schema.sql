-- Verify p0:schema on pg

BEGIN;

SELECT pg_catalog.has_schema_privilege('cutter_governance', 'usage');

ROLLBACK;

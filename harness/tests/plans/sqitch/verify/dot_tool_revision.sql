-- Verify p0:dot_tool_revision on pg

BEGIN;

SELECT dot_id, tool_revision, registered_at
FROM cutter_governance.dot_tool_revision
WHERE false;

-- the constraints (division by zero when one is missing)
SELECT 1 / count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = 'cutter_governance.dot_tool_revision'::regclass AND conname = 'dot_tool_revision_pkey';
SELECT 1 / count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = 'cutter_governance.dot_tool_revision'::regclass AND conname = 'dot_tool_revision_dot_id_check';
SELECT 1 / count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = 'cutter_governance.dot_tool_revision'::regclass AND conname = 'dot_tool_revision_tool_revision_check';

-- the seed: the DOT pair at 0.1.0, matching public.dot_tools
SELECT 1 / count(*) FROM cutter_governance.dot_tool_revision AS r
JOIN public.dot_tools AS d ON d.id = r.dot_id
WHERE r.dot_id = 992 AND r.tool_revision = '0.1.0' AND d.code = 'DOT-IU-CUTTER';
SELECT 1 / count(*) FROM cutter_governance.dot_tool_revision AS r
JOIN public.dot_tools AS d ON d.id = r.dot_id
WHERE r.dot_id = 991 AND r.tool_revision = '0.1.0' AND d.code = 'DOT-IU-CUTTER-VERIFY';

ROLLBACK;

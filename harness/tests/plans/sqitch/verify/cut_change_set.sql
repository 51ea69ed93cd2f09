-- Verify p0:cut_change_set on pg

BEGIN;

SELECT id, state, source_ref, source_canonical_sha256, executor_tool_revision,
       verifier_tool_revision, tool_revision_match, created_at, updated_at
FROM cutter_governance.cut_change_set
WHERE false;

SELECT 1 / count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = 'cutter_governance.cut_change_set'::regclass AND conname = 'cut_change_set_state_check';
SELECT 1 / count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = 'cutter_governance.cut_change_set'::regclass AND conname = 'cut_change_set_drift_check';
SELECT 1 / count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = 'cutter_governance.cut_change_set'::regclass AND conname = 'cut_change_set_match_check';
SELECT 'cutter_governance.cut_change_set_state_idx'::regclass;

ROLLBACK;

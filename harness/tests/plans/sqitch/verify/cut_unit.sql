-- Verify p0:cut_unit on pg

BEGIN;

SELECT id, change_set_id, byte_start, byte_end, start_token_position, end_token_position,
       logical_unit_id, content_sha256, created_at
FROM cutter_governance.cut_unit
WHERE false;

SELECT 1 / count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = 'cutter_governance.cut_unit'::regclass AND conname = 'cut_unit_change_set_id_fkey';
SELECT 1 / count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = 'cutter_governance.cut_unit'::regclass AND conname = 'cut_unit_byte_range_check';
SELECT 1 / count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = 'cutter_governance.cut_unit'::regclass AND conname = 'cut_unit_token_range_check';
SELECT 'cutter_governance.cut_unit_change_set_id_idx'::regclass;
SELECT 'cutter_governance.cut_unit_logical_unit_id_idx'::regclass;

ROLLBACK;

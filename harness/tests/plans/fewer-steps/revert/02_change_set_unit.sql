-- Test plan fewer-steps, revert of step 02_change_set_unit: the revert files of P0 steps 03_cut_change_set and 04_cut_unit (in reverse order), as in migrations/p0.

-- Revert P0 step 04_cut_unit. Idempotent.
-- Archive the rows first (archive.sql): they are dropped with the table.
DROP TABLE IF EXISTS cutter_governance.cut_unit RESTRICT;

-- Revert P0 step 03_cut_change_set. Idempotent.
-- Archive the rows first (archive.sql): they are dropped with the table.
DROP TABLE IF EXISTS cutter_governance.cut_change_set RESTRICT;

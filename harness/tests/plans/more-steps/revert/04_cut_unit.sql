-- Revert P0 step 04_cut_unit. Idempotent.
-- Archive the rows first (archive.sql): they are dropped with the table.
DROP TABLE IF EXISTS cutter_governance.cut_unit RESTRICT;

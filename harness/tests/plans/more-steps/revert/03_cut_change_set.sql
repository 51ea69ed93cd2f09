-- Revert P0 step 03_cut_change_set. Idempotent.
-- Archive the rows first (archive.sql): they are dropped with the table.
DROP TABLE IF EXISTS cutter_governance.cut_change_set RESTRICT;

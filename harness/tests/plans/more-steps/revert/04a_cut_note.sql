-- Revert step 04a_cut_note. Idempotent.
-- Archive the rows first (archive.sql): they are dropped with the table.
DROP TABLE IF EXISTS cutter_governance.cut_note RESTRICT;

-- Revert P0 step 05_dot_pair_signature. Idempotent.
-- Archive the rows first (archive.sql): they are dropped with the table.
DROP TABLE IF EXISTS cutter_governance.dot_pair_signature RESTRICT;

-- Test plan fewer-steps, revert of step 03_signature_signal: the revert files of P0 steps 05_dot_pair_signature and 06_signal (in reverse order), as in migrations/p0.

-- Revert P0 step 06_signal (table, its indexes and trigger, then the trigger function).
-- Idempotent. Archive the rows first (archive.sql): they are dropped with the table.
DROP TABLE IF EXISTS cutter_governance.signal RESTRICT;
DROP FUNCTION IF EXISTS cutter_governance.signal_notify_g2_backlog() RESTRICT;

-- Revert P0 step 05_dot_pair_signature. Idempotent.
-- Archive the rows first (archive.sql): they are dropped with the table.
DROP TABLE IF EXISTS cutter_governance.dot_pair_signature RESTRICT;

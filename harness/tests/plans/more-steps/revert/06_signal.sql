-- Revert P0 step 06_signal (table, its indexes and trigger, then the trigger function).
-- Idempotent. Archive the rows first (archive.sql): they are dropped with the table.
DROP TABLE IF EXISTS cutter_governance.signal RESTRICT;
DROP FUNCTION IF EXISTS cutter_governance.signal_notify_g2_backlog() RESTRICT;

-- Revert P0 step 07_g2_backlog_view. Idempotent.
DROP VIEW IF EXISTS cutter_governance.g2_backlog RESTRICT;

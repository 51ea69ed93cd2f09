-- Test plan fewer-steps, revert of step 04_g2_backlog_view: the revert files of P0 steps 07_g2_backlog_view, as in migrations/p0.

-- Revert P0 step 07_g2_backlog_view. Idempotent.
DROP VIEW IF EXISTS cutter_governance.g2_backlog RESTRICT;

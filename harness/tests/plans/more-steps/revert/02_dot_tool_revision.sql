-- Revert P0 step 02_dot_tool_revision (table and its seed rows). Idempotent.
-- public.dot_tools was only read by the deploy, so nothing to undo there.
DROP TABLE IF EXISTS cutter_governance.dot_tool_revision RESTRICT;

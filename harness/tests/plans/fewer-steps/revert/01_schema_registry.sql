-- Test plan fewer-steps, revert of step 01_schema_registry: the revert files of P0 steps 01_schema and 02_dot_tool_revision (in reverse order), as in migrations/p0.

-- Revert P0 step 02_dot_tool_revision (table and its seed rows). Idempotent.
-- public.dot_tools was only read by the deploy, so nothing to undo there.
DROP TABLE IF EXISTS cutter_governance.dot_tool_revision RESTRICT;

-- Revert P0 step 01_schema. Idempotent.
-- RESTRICT on purpose: every later step drops its own objects, so the schema must be
-- empty here; anything left behind (a revert bug, or an object someone created by
-- hand) makes this fail loudly instead of being destroyed silently by CASCADE.
DROP SCHEMA IF EXISTS cutter_governance RESTRICT;

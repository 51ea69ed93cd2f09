-- Revert P0 step 01_schema. Idempotent.
-- RESTRICT on purpose: every later step drops its own objects, so the schema must be
-- empty here; anything left behind (a revert bug, or an object someone created by
-- hand) makes this fail loudly instead of being destroyed silently by CASCADE.
DROP SCHEMA IF EXISTS cutter_governance RESTRICT;

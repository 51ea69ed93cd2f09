-- Revert p0:dot_tool_revision from pg
-- Idempotent (DROP ... IF EXISTS ... RESTRICT): the harness runs every revert.

BEGIN;

SET client_min_messages = 'warning';

DROP TABLE IF EXISTS cutter_governance.dot_tool_revision RESTRICT;

COMMIT;

-- Revert p0:schema from pg
-- Idempotent (DROP ... IF EXISTS ... RESTRICT): the harness runs every revert.

BEGIN;

SET client_min_messages = 'warning';

-- RESTRICT: every later change drops its own objects, so the schema must be empty here.
DROP SCHEMA IF EXISTS cutter_governance RESTRICT;

COMMIT;

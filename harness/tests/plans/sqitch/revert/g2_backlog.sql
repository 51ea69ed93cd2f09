-- Revert p0:g2_backlog from pg
-- Idempotent (DROP ... IF EXISTS ... RESTRICT): the harness runs every revert.

BEGIN;

SET client_min_messages = 'warning';

DROP VIEW IF EXISTS cutter_governance.g2_backlog RESTRICT;

COMMIT;

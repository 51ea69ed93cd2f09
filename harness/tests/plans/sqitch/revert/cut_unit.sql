-- Revert p0:cut_unit from pg
-- Idempotent (DROP ... IF EXISTS ... RESTRICT): the harness runs every revert.

BEGIN;

SET client_min_messages = 'warning';

DROP TABLE IF EXISTS cutter_governance.cut_unit RESTRICT;

COMMIT;

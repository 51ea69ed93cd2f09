-- Revert p0:signal from pg (v0.1)
-- Idempotent (DROP ... IF EXISTS ... RESTRICT): the harness runs every revert.

BEGIN;

SET client_min_messages = 'warning';

DROP TABLE IF EXISTS cutter_governance.signal RESTRICT;
DROP FUNCTION IF EXISTS cutter_governance.signal_notify_g2_backlog() RESTRICT;

COMMIT;

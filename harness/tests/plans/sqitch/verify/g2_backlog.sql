-- Verify p0:g2_backlog on pg

BEGIN;

SELECT id, kind, change_set_id, emitter_dot_id, routed_to, payload, emitted_at
FROM cutter_governance.g2_backlog
WHERE false;

ROLLBACK;

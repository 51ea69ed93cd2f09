-- Deploy p0:g2_backlog to pg
-- requires: signal

BEGIN;

-- A plain view over cutter_governance.signal; no grants are issued.
CREATE VIEW cutter_governance.g2_backlog AS
SELECT s.id, s.kind, s.change_set_id, s.emitter_dot_id, s.routed_to, s.payload, s.emitted_at
FROM cutter_governance.signal AS s
WHERE s.acknowledged_at IS NULL;

COMMENT ON VIEW cutter_governance.g2_backlog IS 'Unacknowledged signals routed to G-2, oldest first when ordered by emitted_at';

COMMIT;

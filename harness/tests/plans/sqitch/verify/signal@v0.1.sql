-- Verify p0:signal on pg (v0.1)

BEGIN;

SELECT id, kind, change_set_id, emitter_dot_id, routed_to, payload, emitted_at,
       acknowledged_by, acknowledged_at
FROM cutter_governance.signal
WHERE false;

SELECT 'cutter_governance.signal_change_set_id_idx'::regclass;
SELECT 'cutter_governance.signal_unacknowledged_idx'::regclass;
SELECT 'cutter_governance.signal_notify_g2_backlog()'::regprocedure;

-- the enabled AFTER INSERT FOR EACH ROW trigger (tgtype 5) bound to the function
SELECT 1 / count(*) FROM pg_catalog.pg_trigger
WHERE tgrelid = 'cutter_governance.signal'::regclass AND tgname = 'signal_notify_g2_backlog'
  AND NOT tgisinternal AND tgenabled = 'O' AND tgtype = 5
  AND tgfoid = 'cutter_governance.signal_notify_g2_backlog()'::regprocedure;

ROLLBACK;

-- Revert p0:signal from pg: back to the v0.1 trigger function (payload without routed_to).
-- Idempotent, and a no-op where the function does not exist.

BEGIN;

DO $revert$
BEGIN
    IF pg_catalog.to_regprocedure('cutter_governance.signal_notify_g2_backlog()') IS NOT NULL THEN
        EXECUTE $ddl$
CREATE OR REPLACE FUNCTION cutter_governance.signal_notify_g2_backlog()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $fn$
BEGIN
    PERFORM pg_notify(
        'cutter_g2_backlog',
        json_build_object(
            'id', NEW.id,
            'kind', NEW.kind,
            'change_set_id', NEW.change_set_id,
            'emitter_dot_id', NEW.emitter_dot_id
        )::text
    );
    RETURN NULL;
END
$fn$
$ddl$;
        EXECUTE $ddl$
COMMENT ON FUNCTION cutter_governance.signal_notify_g2_backlog() IS
    'AFTER INSERT trigger: NOTIFY cutter_g2_backlog with {id, kind, change_set_id, emitter_dot_id}'
$ddl$;
    END IF;
END
$revert$;

COMMIT;

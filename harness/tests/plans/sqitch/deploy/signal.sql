-- Deploy p0:signal to pg
-- requires: signal@v0.1
-- Rework of signal: the NOTIFY payload also carries routed_to (the table, its indexes and the
-- trigger are those of signal@v0.1).

BEGIN;

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
            'emitter_dot_id', NEW.emitter_dot_id,
            'routed_to', NEW.routed_to
        )::text
    );
    RETURN NULL;
END
$fn$;

COMMENT ON FUNCTION cutter_governance.signal_notify_g2_backlog() IS
    'AFTER INSERT trigger: NOTIFY cutter_g2_backlog with {id, kind, change_set_id, emitter_dot_id, routed_to}';

COMMIT;

-- Deploy p0:signal to pg (v0.1: the NOTIFY payload without routed_to)
-- requires: schema

BEGIN;

-- Every inserted signal is announced on channel cutter_g2_backlog (delivered at commit).
CREATE TABLE cutter_governance.signal (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    kind            text        NOT NULL,
    change_set_id   uuid        NOT NULL,
    emitter_dot_id  integer     NOT NULL,
    routed_to       text        NOT NULL DEFAULT 'G-2',
    payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    emitted_at      timestamptz NOT NULL DEFAULT now(),
    acknowledged_by text,
    acknowledged_at timestamptz,
    CONSTRAINT signal_pkey PRIMARY KEY (id),
    CONSTRAINT signal_kind_check CHECK (kind IN ('dot_pair_drift', 'signature_failure')),
    CONSTRAINT signal_routed_to_check CHECK (routed_to = 'G-2'),
    CONSTRAINT signal_emitter_dot_id_check CHECK (emitter_dot_id > 0),
    CONSTRAINT signal_acknowledged_check
        CHECK ((acknowledged_by IS NULL) = (acknowledged_at IS NULL)),
    CONSTRAINT signal_acknowledged_by_check CHECK (acknowledged_by <> '')
);

CREATE INDEX signal_change_set_id_idx ON cutter_governance.signal (change_set_id, emitted_at);
CREATE INDEX signal_unacknowledged_idx ON cutter_governance.signal (emitted_at)
    WHERE acknowledged_at IS NULL;

COMMENT ON TABLE cutter_governance.signal IS
    'Signals routed to the G-2 backlog; change_set_id is not a FK so a signal survives an aborted change set';

CREATE FUNCTION cutter_governance.signal_notify_g2_backlog()
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
$fn$;

COMMENT ON FUNCTION cutter_governance.signal_notify_g2_backlog() IS
    'AFTER INSERT trigger: NOTIFY cutter_g2_backlog with {id, kind, change_set_id, emitter_dot_id}';

CREATE TRIGGER signal_notify_g2_backlog
    AFTER INSERT ON cutter_governance.signal
    FOR EACH ROW
    EXECUTE FUNCTION cutter_governance.signal_notify_g2_backlog();

COMMIT;

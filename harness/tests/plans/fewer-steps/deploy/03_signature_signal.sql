-- Test plan fewer-steps, deploy of step 03_signature_signal: the deploy files of P0 steps 05_dot_pair_signature and 06_signal, as in migrations/p0.

-- P0 step 05_dot_pair_signature: executor and verifier signatures of the DOT pair.
-- Each row targets exactly one thing: a change set (executor) or a signature (verifier).
CREATE TABLE cutter_governance.dot_pair_signature (
    id                    uuid        NOT NULL DEFAULT gen_random_uuid(),
    signature_kind        text        NOT NULL,
    change_set_id         uuid,
    verifies_signature_id uuid,
    payload_envelope      jsonb       NOT NULL,
    payload_hash          text        NOT NULL,
    signature_payload     text        NOT NULL,
    signer_dot_id         integer     NOT NULL,
    signer_tool_revision  text        NOT NULL,
    credential_ref        text        NOT NULL,
    signed_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dot_pair_signature_pkey PRIMARY KEY (id),
    CONSTRAINT dot_pair_signature_change_set_id_fkey FOREIGN KEY (change_set_id)
        REFERENCES cutter_governance.cut_change_set (id),
    CONSTRAINT dot_pair_signature_verifies_signature_id_fkey FOREIGN KEY (verifies_signature_id)
        REFERENCES cutter_governance.dot_pair_signature (id),
    CONSTRAINT dot_pair_signature_signature_kind_check
        CHECK (signature_kind IN ('executor_cut', 'verifier_cut')),
    CONSTRAINT dot_pair_signature_payload_hash_check CHECK (payload_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT dot_pair_signature_payload_envelope_check CHECK (jsonb_typeof(payload_envelope) = 'object'),
    CONSTRAINT dot_pair_signature_signer_dot_id_check CHECK (signer_dot_id > 0),
    CONSTRAINT dot_pair_signature_credential_ref_check CHECK (credential_ref <> ''),
    -- exactly one target: a change set XOR another signature
    CONSTRAINT dot_pair_signature_exactly_one_target_check
        CHECK (num_nonnulls(change_set_id, verifies_signature_id) = 1),
    -- the target must fit the kind
    CONSTRAINT dot_pair_signature_kind_target_check CHECK (
        (signature_kind = 'executor_cut' AND change_set_id IS NOT NULL)
        OR (signature_kind = 'verifier_cut' AND verifies_signature_id IS NOT NULL)
    ),
    CONSTRAINT dot_pair_signature_not_self_check CHECK (verifies_signature_id <> id)
);

CREATE INDEX dot_pair_signature_change_set_id_idx ON cutter_governance.dot_pair_signature (change_set_id)
    WHERE change_set_id IS NOT NULL;
CREATE INDEX dot_pair_signature_verifies_signature_id_idx
    ON cutter_governance.dot_pair_signature (verifies_signature_id)
    WHERE verifies_signature_id IS NOT NULL;

COMMENT ON TABLE cutter_governance.dot_pair_signature IS
    'Signatures of the DOT pair: executor_cut signs a change set, verifier_cut signs an executor signature';
COMMENT ON COLUMN cutter_governance.dot_pair_signature.credential_ref IS
    'Reference to the signing credential (never the secret itself)';

-- P0 step 06_signal: the G-2 signal backlog and its NOTIFY trigger.
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
            'emitter_dot_id', NEW.emitter_dot_id,
            'routed_to', NEW.routed_to
        )::text
    );
    RETURN NULL;
END
$fn$;

COMMENT ON FUNCTION cutter_governance.signal_notify_g2_backlog() IS
    'AFTER INSERT trigger: NOTIFY cutter_g2_backlog with {id, kind, change_set_id, emitter_dot_id, routed_to}';

CREATE TRIGGER signal_notify_g2_backlog
    AFTER INSERT ON cutter_governance.signal
    FOR EACH ROW
    EXECUTE FUNCTION cutter_governance.signal_notify_g2_backlog();

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

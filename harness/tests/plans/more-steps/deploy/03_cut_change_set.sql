-- P0 step 03_cut_change_set: one row per proposed cut of a canonical source.
-- tool_revision_match records whether executor and verifier revisions agreed.
CREATE TABLE cutter_governance.cut_change_set (
    id                      uuid        NOT NULL DEFAULT gen_random_uuid(),
    state                   text        NOT NULL DEFAULT 'draft',
    source_ref              text,
    source_canonical_sha256 text        NOT NULL,
    executor_tool_revision  text,
    verifier_tool_revision  text,
    tool_revision_match     boolean,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cut_change_set_pkey PRIMARY KEY (id),
    CONSTRAINT cut_change_set_state_check CHECK (state IN (
        'draft', 'signed', 'verified', 'invalid_drift', 'invalid_signature', 'applied', 'rolled_back'
    )),
    CONSTRAINT cut_change_set_source_canonical_sha256_check
        CHECK (source_canonical_sha256 ~ '^[0-9a-f]{64}$'),
    -- a drifted change set can never claim matching revisions ...
    CONSTRAINT cut_change_set_drift_check
        CHECK (state <> 'invalid_drift' OR tool_revision_match IS NOT TRUE),
    -- ... and only a change set whose revisions matched can be verified/applied.
    CONSTRAINT cut_change_set_match_check
        CHECK (state NOT IN ('verified', 'applied', 'rolled_back') OR tool_revision_match IS TRUE)
);

CREATE INDEX cut_change_set_state_idx ON cutter_governance.cut_change_set (state);

COMMENT ON TABLE cutter_governance.cut_change_set IS
    'A proposed cut of one canonical source into units; lifecycle in state';

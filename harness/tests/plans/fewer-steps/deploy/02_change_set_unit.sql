-- Test plan fewer-steps, deploy of step 02_change_set_unit: the deploy files of P0 steps 03_cut_change_set and 04_cut_unit, as in migrations/p0.

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

-- P0 step 04_cut_unit: the units (byte and token ranges) of a change set.
-- logical_unit_id is a soft reference to public.tac_logical_unit(id): no FK (see README).
CREATE TABLE cutter_governance.cut_unit (
    id                   uuid        NOT NULL DEFAULT gen_random_uuid(),
    change_set_id        uuid        NOT NULL,
    byte_start           bigint      NOT NULL,
    byte_end             bigint      NOT NULL,
    start_token_position integer     NOT NULL,
    end_token_position   integer     NOT NULL,
    logical_unit_id      uuid,
    content_sha256       text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cut_unit_pkey PRIMARY KEY (id),
    CONSTRAINT cut_unit_change_set_id_fkey FOREIGN KEY (change_set_id)
        REFERENCES cutter_governance.cut_change_set (id) ON DELETE CASCADE,
    CONSTRAINT cut_unit_byte_start_check CHECK (byte_start >= 0),
    CONSTRAINT cut_unit_byte_range_check CHECK (byte_start < byte_end),
    CONSTRAINT cut_unit_start_token_position_check CHECK (start_token_position >= 0),
    CONSTRAINT cut_unit_token_range_check CHECK (start_token_position <= end_token_position),
    CONSTRAINT cut_unit_content_sha256_check
        CHECK (content_sha256 IS NULL OR content_sha256 ~ '^[0-9a-f]{64}$')
);

CREATE INDEX cut_unit_change_set_id_idx ON cutter_governance.cut_unit (change_set_id, byte_start);
CREATE INDEX cut_unit_logical_unit_id_idx ON cutter_governance.cut_unit (logical_unit_id)
    WHERE logical_unit_id IS NOT NULL;

COMMENT ON TABLE cutter_governance.cut_unit IS
    'One unit of a change set: half-open byte range [byte_start, byte_end) and token range';
COMMENT ON COLUMN cutter_governance.cut_unit.logical_unit_id IS
    'Optional soft reference to public.tac_logical_unit(id); deliberately not a foreign key so P0 never alters public tables';

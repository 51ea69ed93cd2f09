-- Test plan more-steps, step 04a_cut_note: free-text notes on a change set (not part of the
-- stand-in P0; it proves that a plan with one more step, in the middle, rolls back too).
CREATE TABLE cutter_governance.cut_note (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    change_set_id uuid        NOT NULL,
    body          text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cut_note_pkey PRIMARY KEY (id),
    CONSTRAINT cut_note_change_set_id_fkey FOREIGN KEY (change_set_id)
        REFERENCES cutter_governance.cut_change_set (id) ON DELETE CASCADE,
    CONSTRAINT cut_note_body_check CHECK (body <> '')
);

CREATE INDEX cut_note_change_set_id_idx ON cutter_governance.cut_note (change_set_id, created_at);

COMMENT ON TABLE cutter_governance.cut_note IS 'Free-text notes on a change set';

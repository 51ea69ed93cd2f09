-- Verify P0 step 05_dot_pair_signature. Raises (SQLSTATE P0001) unless the step is in place.
-- Read-only: columns, constraints (incl. the exactly-one target CHECK) and indexes.
DO $verify$
DECLARE
    rel regclass := pg_catalog.to_regclass('cutter_governance.dot_pair_signature');
    missing text;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'P0 verify 05_dot_pair_signature: table cutter_governance.dot_pair_signature is missing';
    END IF;

    SELECT string_agg(e.col || ' ' || e.typ, ', ') INTO missing
    FROM (VALUES
        ('id', 'uuid', true),
        ('signature_kind', 'text', true),
        ('change_set_id', 'uuid', false),
        ('verifies_signature_id', 'uuid', false),
        ('payload_envelope', 'jsonb', true),
        ('payload_hash', 'text', true),
        ('signature_payload', 'text', true),
        ('signer_dot_id', 'integer', true),
        ('signer_tool_revision', 'text', true),
        ('credential_ref', 'text', true),
        ('signed_at', 'timestamp with time zone', true)
    ) AS e (col, typ, not_null)
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = rel AND a.attname = e.col AND NOT a.attisdropped
          AND pg_catalog.format_type(a.atttypid, a.atttypmod) = e.typ AND a.attnotnull = e.not_null);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 05_dot_pair_signature: missing or wrong columns: %', missing;
    END IF;

    SELECT string_agg(e.name, ', ') INTO missing
    FROM (VALUES ('dot_pair_signature_pkey'), ('dot_pair_signature_change_set_id_fkey'),
                 ('dot_pair_signature_verifies_signature_id_fkey'),
                 ('dot_pair_signature_signature_kind_check'), ('dot_pair_signature_payload_hash_check'),
                 ('dot_pair_signature_payload_envelope_check'), ('dot_pair_signature_signer_dot_id_check'),
                 ('dot_pair_signature_credential_ref_check'),
                 ('dot_pair_signature_exactly_one_target_check'),
                 ('dot_pair_signature_kind_target_check'), ('dot_pair_signature_not_self_check')) AS e (name)
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS c
                      WHERE c.conrelid = rel AND c.conname = e.name AND c.convalidated);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 05_dot_pair_signature: missing constraints: %', missing;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS c
                   WHERE c.conrelid = rel AND c.conname = 'dot_pair_signature_exactly_one_target_check'
                     AND pg_catalog.pg_get_constraintdef(c.oid)
                         = 'CHECK ((num_nonnulls(change_set_id, verifies_signature_id) = 1))') THEN
        RAISE EXCEPTION 'P0 verify 05_dot_pair_signature: exactly-one target CHECK has the wrong definition';
    END IF;

    SELECT string_agg(e.name, ', ') INTO missing
    FROM (VALUES ('dot_pair_signature_change_set_id_idx'),
                 ('dot_pair_signature_verifies_signature_id_idx')) AS e (name)
    WHERE pg_catalog.to_regclass('cutter_governance.' || e.name) IS NULL;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'P0 verify 05_dot_pair_signature: missing indexes: %', missing;
    END IF;
END
$verify$;

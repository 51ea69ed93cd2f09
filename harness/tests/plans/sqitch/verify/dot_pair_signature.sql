-- Verify p0:dot_pair_signature on pg

BEGIN;

SELECT id, signature_kind, change_set_id, verifies_signature_id, payload_envelope, payload_hash,
       signature_payload, signer_dot_id, signer_tool_revision, credential_ref, signed_at
FROM cutter_governance.dot_pair_signature
WHERE false;

-- the exactly-one target CHECK, by its definition
SELECT 1 / count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = 'cutter_governance.dot_pair_signature'::regclass
  AND conname = 'dot_pair_signature_exactly_one_target_check'
  AND pg_catalog.pg_get_constraintdef(oid) = 'CHECK ((num_nonnulls(change_set_id, verifies_signature_id) = 1))';
SELECT 1 / count(*) FROM pg_catalog.pg_constraint
WHERE conrelid = 'cutter_governance.dot_pair_signature'::regclass AND conname = 'dot_pair_signature_kind_target_check';
SELECT 'cutter_governance.dot_pair_signature_change_set_id_idx'::regclass;
SELECT 'cutter_governance.dot_pair_signature_verifies_signature_id_idx'::regclass;

ROLLBACK;

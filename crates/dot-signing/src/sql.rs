//! Every statement on `cutter_governance.{dot_pair_signature, cut_change_set, cut_unit,
//! dot_tool_revision}`, as plain text with its `$n` parameters documented (no client here).

/// The columns of `cutter_governance.dot_pair_signature` as rows are written and read back
/// (the fields of [`crate::SignatureColumns`]): the order of `$1..$11` in [`INSERT_SIGNATURE`] and of the select list of
/// [`SELECT_SIGNATURES_OF_CHANGE_SET`].
pub const SIGNATURE_COLUMNS: [&str; 11] = [
    "id",
    "signature_kind",
    "payload_envelope",
    "payload_hash",
    "signature_payload",
    "signed_at",
    "signer_dot_id",
    "signer_tool_revision",
    "credential_ref",
    "change_set_id",
    "verifies_signature_id",
];

/// Register a draft change set: `$1` id (uuid), `$2` source_ref (text), `$3`
/// source_canonical_sha256 (text).
pub const INSERT_CHANGE_SET: &str = "INSERT INTO cutter_governance.cut_change_set (id, state, source_ref, source_canonical_sha256) VALUES ($1, 'draft', $2, $3)";

/// One unit of a change set: `$1` change_set_id (uuid), `$2` byte_start (bigint), `$3`
/// byte_end (bigint), `$4` start_token_position (integer), `$5` end_token_position (integer).
pub const INSERT_UNIT: &str = "INSERT INTO cutter_governance.cut_unit (change_set_id, byte_start, byte_end, start_token_position, end_token_position) VALUES ($1, $2, $3, $4, $5)";

/// The tool revision registered last for a DOT: `$1` dot_id (integer); one `text` column.
pub const SELECT_REGISTERED_TOOL_REVISION: &str = "SELECT tool_revision FROM cutter_governance.dot_tool_revision WHERE dot_id = $1 ORDER BY registered_at DESC LIMIT 1";

/// One signature row: `$1..$11` the columns of [`SIGNATURE_COLUMNS`], in that order.
pub const INSERT_SIGNATURE: &str = "INSERT INTO cutter_governance.dot_pair_signature (id, signature_kind, payload_envelope, payload_hash, signature_payload, signed_at, signer_dot_id, signer_tool_revision, credential_ref, change_set_id, verifies_signature_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)";

/// The signatures of a change set, executor first: those referencing it and those verifying
/// one of them. `$1` change_set_id (uuid); the columns of [`SIGNATURE_COLUMNS`], in that order.
pub const SELECT_SIGNATURES_OF_CHANGE_SET: &str = "SELECT s.id, s.signature_kind, s.payload_envelope, s.payload_hash, s.signature_payload, s.signed_at, s.signer_dot_id, s.signer_tool_revision, s.credential_ref, s.change_set_id, s.verifies_signature_id \
     FROM cutter_governance.dot_pair_signature s \
     WHERE s.change_set_id = $1 OR s.verifies_signature_id IN (SELECT id FROM cutter_governance.dot_pair_signature WHERE change_set_id = $1) \
     ORDER BY s.signature_kind";

/// Tamper with the envelopes of a change set's executor signatures (their `canonical_sha256`
/// becomes 64 zeros, the stored hash and signature stay): `$1` change_set_id (uuid).
pub const TAMPER_ENVELOPES_OF_CHANGE_SET: &str = "UPDATE cutter_governance.dot_pair_signature SET payload_envelope = jsonb_set(payload_envelope, '{canonical_sha256}', to_jsonb(repeat('0', 64))) WHERE change_set_id = $1";

/// Delete the verifier signatures of a change set (those verifying one of its executor
/// signatures): `$1` change_set_id (uuid).
pub const DELETE_VERIFIER_SIGNATURES_OF_CHANGE_SET: &str = "DELETE FROM cutter_governance.dot_pair_signature WHERE verifies_signature_id IN (SELECT id FROM cutter_governance.dot_pair_signature WHERE change_set_id = $1)";

/// A change set after a tool revision drift ([`crate::CHANGE_SET_STATE_INVALID_DRIFT`],
/// revisions not matching): `$1` id (uuid).
pub const MARK_CHANGE_SET_INVALID_DRIFT: &str = "UPDATE cutter_governance.cut_change_set SET state = 'invalid_drift', tool_revision_match = false, updated_at = now() WHERE id = $1";

/// A change set whose signatures all verified (revisions matching): `$1` id (uuid).
pub const MARK_CHANGE_SET_VERIFIED: &str = "UPDATE cutter_governance.cut_change_set SET state = 'verified', tool_revision_match = true, updated_at = now() WHERE id = $1";

/// The state of a change set: `$1` id (uuid); one `text` column.
pub const SELECT_CHANGE_SET_STATE: &str =
    "SELECT state FROM cutter_governance.cut_change_set WHERE id = $1";

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOY_02: &str = include_str!("../../../migrations/p0/deploy/02_dot_tool_revision.sql");
    const DEPLOY_03: &str = include_str!("../../../migrations/p0/deploy/03_cut_change_set.sql");
    const DEPLOY_04: &str = include_str!("../../../migrations/p0/deploy/04_cut_unit.sql");
    const DEPLOY_05: &str = include_str!("../../../migrations/p0/deploy/05_dot_pair_signature.sql");

    /// The columns a P0 deploy file declares for its table (`    name  type ...` lines).
    fn declared(deploy: &str, table: &str) -> Vec<String> {
        let head = format!("CREATE TABLE cutter_governance.{table} (");
        let body = deploy
            .split_once(head.as_str())
            .map(|(_, b)| b)
            .unwrap_or_else(|| panic!("{table} is not created by its deploy file"));
        body.lines()
            .take_while(|l| !l.starts_with(')'))
            .filter_map(|l| l.strip_prefix("    "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| {
                *w != "CONSTRAINT"
                    && w.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
            .map(str::to_string)
            .collect()
    }

    /// Every statement names its table and only columns the P0 migration declares.
    #[test]
    fn statements_match_the_p0_migration() {
        let cases: [(&str, &str, &str, &[&str]); 10] = [
            (
                INSERT_CHANGE_SET,
                DEPLOY_03,
                "cut_change_set",
                &["id", "state", "source_ref", "source_canonical_sha256"],
            ),
            (
                INSERT_UNIT,
                DEPLOY_04,
                "cut_unit",
                &[
                    "change_set_id",
                    "byte_start",
                    "byte_end",
                    "start_token_position",
                    "end_token_position",
                ],
            ),
            (
                SELECT_REGISTERED_TOOL_REVISION,
                DEPLOY_02,
                "dot_tool_revision",
                &["tool_revision", "dot_id", "registered_at"],
            ),
            (
                INSERT_SIGNATURE,
                DEPLOY_05,
                "dot_pair_signature",
                &SIGNATURE_COLUMNS,
            ),
            (
                SELECT_SIGNATURES_OF_CHANGE_SET,
                DEPLOY_05,
                "dot_pair_signature",
                &SIGNATURE_COLUMNS,
            ),
            (
                TAMPER_ENVELOPES_OF_CHANGE_SET,
                DEPLOY_05,
                "dot_pair_signature",
                &["payload_envelope", "change_set_id"],
            ),
            (
                DELETE_VERIFIER_SIGNATURES_OF_CHANGE_SET,
                DEPLOY_05,
                "dot_pair_signature",
                &["verifies_signature_id", "id", "change_set_id"],
            ),
            (
                MARK_CHANGE_SET_INVALID_DRIFT,
                DEPLOY_03,
                "cut_change_set",
                &["state", "tool_revision_match", "updated_at", "id"],
            ),
            (
                MARK_CHANGE_SET_VERIFIED,
                DEPLOY_03,
                "cut_change_set",
                &["state", "tool_revision_match", "updated_at", "id"],
            ),
            (
                SELECT_CHANGE_SET_STATE,
                DEPLOY_03,
                "cut_change_set",
                &["state", "id"],
            ),
        ];
        for (sql, deploy, table, cols) in cases {
            assert!(sql.contains(&format!("cutter_governance.{table}")), "{sql}");
            let declared = declared(deploy, table);
            for c in cols {
                assert!(sql.contains(c), "{c} not in {sql}");
                assert!(
                    declared.iter().any(|d| d == c),
                    "{table}.{c} not declared: {declared:?}"
                );
            }
        }
        assert!(MARK_CHANGE_SET_INVALID_DRIFT
            .contains(&format!("'{}'", crate::CHANGE_SET_STATE_INVALID_DRIFT)));
        for state in ["'draft'", "'verified'", "'invalid_drift'"] {
            assert!(
                DEPLOY_03.contains(state),
                "{state} is not a cut_change_set state"
            );
        }
    }

    /// Signature rows are written and read in the column order of [`SIGNATURE_COLUMNS`].
    #[test]
    fn signature_statements_use_the_column_order() {
        let list = SIGNATURE_COLUMNS.join(", ");
        assert!(INSERT_SIGNATURE.contains(&format!("({list}) VALUES")));
        let params: Vec<String> = (1..=SIGNATURE_COLUMNS.len())
            .map(|i| format!("${i}"))
            .collect();
        assert!(INSERT_SIGNATURE.ends_with(&format!("VALUES ({})", params.join(","))));
        let select: Vec<String> = SIGNATURE_COLUMNS.iter().map(|c| format!("s.{c}")).collect();
        assert!(SELECT_SIGNATURES_OF_CHANGE_SET
            .starts_with(&format!("SELECT {} FROM", select.join(", "))));
        let cols = serde_json::to_value(crate::SignatureColumns {
            id: uuid::Uuid::nil(),
            signature_kind: String::new(),
            payload_envelope: serde_json::Value::Null,
            payload_hash: String::new(),
            signature_payload: String::new(),
            signed_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            signer_dot_id: 0,
            signer_tool_revision: String::new(),
            credential_ref: String::new(),
            change_set_id: None,
            verifies_signature_id: None,
        })
        .expect("serialize");
        let mut names: Vec<&str> = cols
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = SIGNATURE_COLUMNS.to_vec();
        names.sort_unstable();
        want.sort_unstable();
        assert_eq!(names, want, "SignatureColumns has exactly these columns");
    }
}

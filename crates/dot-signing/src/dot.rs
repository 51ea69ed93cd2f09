//! The DOT pair (992 executor, 991 verifier) and the two signature kinds.
//! Owns which DOT signs which kind and the registry facts (code, tier, pairing).

use serde::{Deserialize, Serialize};

/// Role of a DOT in the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DotRole {
    /// Performs the cut (signs `executor_cut`).
    Executor,
    /// Verifies the cut (signs `verifier_cut`).
    Verifier,
}

/// Registry facts about one DOT of the pair (ids are `integer` in the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DotIdentity {
    /// Numeric DOT id.
    pub id: i32,
    /// DOT code.
    pub code: &'static str,
    /// Tier (`"A"` or `"B"`).
    pub tier: &'static str,
    /// Role in the pair.
    pub role: DotRole,
    /// Id of the other DOT of the pair.
    pub paired_with: i32,
}

/// DOT 992, `DOT-IU-CUTTER`: tier A, executor, paired with 991.
pub const DOT_IU_CUTTER: DotIdentity = DotIdentity {
    id: 992,
    code: "DOT-IU-CUTTER",
    tier: "A",
    role: DotRole::Executor,
    paired_with: 991,
};

/// DOT 991, `DOT-IU-CUTTER-VERIFY`: tier B, verifier, paired with 992.
pub const DOT_IU_CUTTER_VERIFY: DotIdentity = DotIdentity {
    id: 991,
    code: "DOT-IU-CUTTER-VERIFY",
    tier: "B",
    role: DotRole::Verifier,
    paired_with: 992,
};

impl DotIdentity {
    /// The DOT of the pair with this id, if any.
    pub fn by_id(id: i32) -> Option<&'static DotIdentity> {
        [&DOT_IU_CUTTER, &DOT_IU_CUTTER_VERIFY]
            .into_iter()
            .find(|d| d.id == id)
    }
}

/// `signature_kind` of a `dot_pair_signature` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureKind {
    /// Signed by the executor, DOT 992; references its change set.
    ExecutorCut,
    /// Signed by the verifier, DOT 991; references the executor signature.
    VerifierCut,
}

impl SignatureKind {
    /// `"executor_cut"` or `"verifier_cut"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureKind::ExecutorCut => "executor_cut",
            SignatureKind::VerifierCut => "verifier_cut",
        }
    }

    /// Parses `"executor_cut"` / `"verifier_cut"`.
    pub fn parse(s: &str) -> Option<SignatureKind> {
        match s {
            "executor_cut" => Some(SignatureKind::ExecutorCut),
            "verifier_cut" => Some(SignatureKind::VerifierCut),
            _ => None,
        }
    }

    /// The DOT that signs this kind (992 for `executor_cut`, 991 for `verifier_cut`).
    pub fn signer(self) -> &'static DotIdentity {
        match self {
            SignatureKind::ExecutorCut => &DOT_IU_CUTTER,
            SignatureKind::VerifierCut => &DOT_IU_CUTTER_VERIFY,
        }
    }
}

impl std::fmt::Display for SignatureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

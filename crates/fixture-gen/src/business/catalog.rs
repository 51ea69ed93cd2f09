//! The fixed rows of the business tables: document types, publication channels, tag words,
//! locales and the `dot_tools` registry (the DOT pair among them).
/// Document types: (code, name, retention years, requires approval).
pub(super) const DOC_TYPES: &[(&str, &str, i32, bool)] = &[
    ("POL", "Policy", 10, true),
    ("PRC", "Procedure", 7, true),
    ("GDL", "Guideline", 5, true),
    ("STD", "Standard", 10, true),
    ("FRM", "Form", 3, false),
    ("MAN", "Manual", 7, true),
    ("PLN", "Plan", 5, true),
    ("REG", "Register", 12, false),
];

/// Publication channels: (code, label, base url, active).
pub(super) const CHANNELS: &[(&str, &str, &str, bool)] = &[
    ("web", "Public website", "https://docs.example.test/", true),
    ("pdf", "PDF export", "https://files.example.test/pdf/", true),
    (
        "intranet",
        "Intranet",
        "https://intra.example.test/tac/",
        true,
    ),
    (
        "api",
        "Content API",
        "https://api.example.test/v1/units/",
        false,
    ),
];

pub(super) const TAG_WORDS: &[&str] = &[
    "finance",
    "hr",
    "legal",
    "it",
    "security",
    "privacy",
    "quality",
    "safety",
    "operations",
    "procurement",
    "sales",
    "marketing",
    "support",
    "engineering",
    "facilities",
    "training",
];

pub(super) const LOCALES: &[&str] = &["en", "en", "en", "en", "en", "en", "hr", "es", "de", "fr"];

/// `dot_tools` rows: (id, code, name, tier, paired_with, status, revision, description).
#[allow(clippy::type_complexity)]
pub(super) const DOT_TOOLS: &[(i32, &str, &str, &str, Option<i32>, &str, &str, &str)] = &[
    (
        901,
        "DOT-MD-LINT",
        "Markdown linter",
        "C",
        None,
        "active",
        "1.4.2",
        "Style checks on unit bodies.",
    ),
    (
        902,
        "DOT-MD-CANON",
        "Markdown canonicalizer",
        "B",
        None,
        "active",
        "0.1.0",
        "canon-md-v0.1.0 normalization.",
    ),
    (
        903,
        "DOT-SIGN",
        "Detached signer",
        "A",
        Some(904),
        "active",
        "2.0.1",
        "Signs publication manifests.",
    ),
    (
        904,
        "DOT-SIGN-VERIFY",
        "Signature verifier",
        "B",
        Some(903),
        "active",
        "2.0.1",
        "Verifies DOT-SIGN output.",
    ),
    (
        905,
        "DOT-EDGE-SYNC",
        "Edge synchronizer",
        "B",
        None,
        "active",
        "0.9.3",
        "Rebuilds universal_edges.",
    ),
    (
        906,
        "DOT-PUB-EXPORT",
        "Publication exporter",
        "C",
        None,
        "deprecated",
        "0.7.0",
        "Legacy PDF exporter.",
    ),
    (
        907,
        "DOT-ARCHIVE",
        "Archiver",
        "C",
        None,
        "disabled",
        "0.2.5",
        "Moves retired units to cold storage.",
    ),
    (
        991,
        "DOT-IU-CUTTER-VERIFY",
        "Information-unit cutter verifier",
        "B",
        Some(992),
        "active",
        "0.1.0",
        "Independently re-derives and checks every cut.",
    ),
    (
        992,
        "DOT-IU-CUTTER",
        "Information-unit cutter",
        "A",
        Some(991),
        "active",
        "0.1.0",
        "Cuts unit versions into information units.",
    ),
];

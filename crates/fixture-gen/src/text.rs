//! Seeded natural-ish text: titles, names, sentences and the Markdown bodies of
//! `tac_unit_version`, deliberately salted with the inputs a canonicalizer must handle.
//!
//! Bodies mix headings, lists, tables, quotes and code spans with non-ASCII letters, CRLF or
//! lone-CR line endings, trailing blanks, a leading BOM, NFD sequences and odd final newlines.

use crate::rng::Rng;

/// Plain-ASCII vocabulary for sentences.
const WORDS: &[&str] = &[
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "for",
    "is",
    "on",
    "with",
    "by",
    "as",
    "be",
    "at",
    "this",
    "that",
    "from",
    "or",
    "must",
    "shall",
    "may",
    "should",
    "each",
    "every",
    "any",
    "document",
    "unit",
    "version",
    "policy",
    "procedure",
    "record",
    "owner",
    "review",
    "approval",
    "publication",
    "channel",
    "reader",
    "section",
    "clause",
    "annex",
    "schedule",
    "register",
    "control",
    "risk",
    "audit",
    "finding",
    "evidence",
    "retention",
    "period",
    "archive",
    "draft",
    "release",
    "change",
    "request",
    "impact",
    "assessment",
    "supplier",
    "contract",
    "invoice",
    "payment",
    "ledger",
    "account",
    "customer",
    "employee",
    "training",
    "incident",
    "report",
    "response",
    "escalation",
    "threshold",
    "metric",
    "target",
    "baseline",
    "quarter",
    "year",
    "month",
    "week",
    "day",
    "deadline",
    "template",
    "form",
    "checklist",
    "workflow",
    "task",
    "handover",
    "operator",
    "system",
    "service",
    "backup",
    "restore",
    "migration",
    "schema",
    "table",
    "field",
    "value",
    "index",
    "key",
    "signature",
    "hash",
    "token",
    "access",
    "role",
    "permission",
    "group",
    "team",
    "department",
    "office",
    "site",
    "region",
    "country",
    "language",
    "translation",
    "glossary",
    "term",
    "definition",
    "scope",
    "purpose",
    "objective",
    "principle",
    "requirement",
    "exception",
    "waiver",
    "deviation",
    "correction",
    "action",
    "verification",
    "validation",
    "test",
    "result",
    "status",
    "priority",
    "severity",
    "level",
    "approved",
    "pending",
    "rejected",
    "withdrawn",
    "superseded",
    "current",
    "previous",
    "next",
    "new",
    "old",
    "internal",
    "external",
    "public",
    "confidential",
    "restricted",
    "general",
    "specific",
    "minimum",
    "maximum",
    "annual",
    "monthly",
    "daily",
    "manual",
    "automatic",
    "formal",
    "informal",
    "written",
    "signed",
    "stored",
    "kept",
    "sent",
    "received",
    "checked",
    "updated",
    "created",
    "deleted",
    "merged",
    "split",
    "linked",
    "cut",
    "paired",
    "tool",
    "cutter",
    "verify",
    "tier",
    "revision",
    "batch",
    "queue",
    "signal",
    "edge",
    "node",
    "graph",
    "within",
    "before",
    "after",
    "during",
    "without",
    "under",
    "over",
    "between",
    "against",
    "clearly",
    "promptly",
    "securely",
    "only",
    "also",
    "not",
    "never",
    "always",
    "where",
    "when",
    "which",
    "who",
    "their",
    "its",
    "our",
    "all",
    "no",
    "two",
    "three",
    "five",
    "ten",
];

/// Words with non-ASCII letters or punctuation (all NFC).
const INTL_WORDS: &[&str] = &[
    "Đorđević",
    "Đakovo",
    "đak",
    "señal",
    "año",
    "niño",
    "mañana",
    "ñandú",
    "Zürich",
    "Müller",
    "façade",
    "naïve",
    "coöperate",
    "Ærø",
    "Łódź",
    "Škoda",
    "čaj",
    "žurnal",
    "Ångström",
    "crème",
    "brûlée",
    "São Paulo",
    "Kraków",
    "Göteborg",
    "résumé",
    "déjà vu",
    "€120",
    "±5 %",
    "→",
    "—",
    "“quoted”",
    "«guillemets»",
    "Straße",
    "İstanbul",
    "Ελλάδα",
    "Москва",
    "東京",
    "한국어",
];

/// Words rendered in decomposed (NFD) form: base letter followed by a combining mark.
const NFD_WORDS: &[&str] = &[
    "Cafe\u{301}",
    "man\u{303}ana",
    "Zu\u{308}rich",
    "nai\u{308}ve",
    "re\u{301}sume\u{301}",
    "S\u{30c}koda",
];

const TITLE_NOUNS: &[&str] = &[
    "Policy",
    "Procedure",
    "Guideline",
    "Standard",
    "Instruction",
    "Charter",
    "Handbook",
    "Checklist",
    "Manual",
    "Playbook",
    "Specification",
    "Register",
    "Plan",
    "Framework",
];

const TITLE_TOPICS: &[&str] = &[
    "Document Control",
    "Records Retention",
    "Access Management",
    "Change Management",
    "Incident Response",
    "Supplier Onboarding",
    "Data Migration",
    "Backup and Restore",
    "Publication Workflow",
    "Translation Review",
    "Signature Verification",
    "Risk Assessment",
    "Internal Audit",
    "Training Records",
    "Travel Expenses",
    "Procurement",
    "Asset Register",
    "Quality Assurance",
    "Release Management",
    "Business Continuity",
    "Privacy Notice",
    "Code Review",
    "Cutter Operations",
    "Edge Reconciliation",
    "Archive Handling",
    "Customer Complaints",
    "Field Service",
    "Vendor Payments",
    "Key Rotation",
    "Onboarding",
];

const SECTION_TITLES: &[&str] = &[
    "Purpose",
    "Scope",
    "Definitions",
    "Responsibilities",
    "Procedure",
    "Requirements",
    "Exceptions",
    "Records",
    "References",
    "Revision History",
    "Controls",
    "Metrics",
    "Escalation",
    "Appendix",
    "Notes",
    "Roles",
    "Inputs",
    "Outputs",
];

/// First names (some non-ASCII).
pub const FIRST_NAMES: &[&str] = &[
    "Ana",
    "Marko",
    "Ivana",
    "Luka",
    "Petra",
    "Đorđe",
    "Sofía",
    "José",
    "Núria",
    "Jürgen",
    "Zoë",
    "Chloé",
    "Mateo",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Mia",
    "Lucas",
    "Amelia",
    "Elena",
    "Tomás",
    "Ingrid",
    "Björn",
    "Aleksandra",
    "Nikola",
    "Hana",
    "Kenji",
    "Priya",
    "Omar",
];

/// Last names (some non-ASCII).
pub const LAST_NAMES: &[&str] = &[
    "Horvat",
    "Kovačević",
    "Babić",
    "Marić",
    "Jurić",
    "Novak",
    "García",
    "Muñoz",
    "Núñez",
    "Müller",
    "Schmidt",
    "Dubois",
    "Lefèvre",
    "Rossi",
    "Bianchi",
    "Smith",
    "Johnson",
    "Brown",
    "Williams",
    "Taylor",
    "Nowak",
    "Wiśniewski",
    "Sørensen",
    "Åberg",
    "Yamamoto",
    "Patel",
    "Haddad",
    "O'Brien",
    "Đurić",
    "Petrović",
];

/// A random ASCII word.
pub fn word(rng: &mut Rng) -> &'static str {
    rng.pick(WORDS)
}

/// A document title such as "Records Retention Procedure".
pub fn title(rng: &mut Rng) -> String {
    let topic = rng.pick(TITLE_TOPICS);
    let noun = rng.pick(TITLE_NOUNS);
    if rng.chance(12) {
        let intl = rng.pick(INTL_WORDS);
        format!("{topic} {noun} ({intl})")
    } else {
        format!("{topic} {noun}")
    }
}

/// A sentence of `lo..=hi` words, capitalised and terminated.
pub fn sentence(rng: &mut Rng, lo: i64, hi: i64, intl_percent: u64, nfd: bool) -> String {
    let n = rng.range(lo, hi);
    let mut s = String::with_capacity(n as usize * 8);
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        let w: &str = if nfd && rng.chance(4) {
            rng.pick(NFD_WORDS)
        } else if rng.chance(intl_percent) {
            rng.pick(INTL_WORDS)
        } else {
            rng.pick(WORDS)
        };
        if i == 0 {
            let mut cs = w.chars();
            if let Some(f) = cs.next() {
                s.extend(f.to_uppercase());
                s.push_str(cs.as_str());
            }
        } else if rng.chance(3) {
            s.push_str("**");
            s.push_str(w);
            s.push_str("**");
        } else if rng.chance(2) {
            s.push('`');
            s.push_str(w);
            s.push('`');
        } else {
            s.push_str(w);
        }
    }
    s.push(if rng.chance(8) { ';' } else { '.' });
    s
}

/// Line-ending and whitespace quirks of one body.
struct Quirks {
    eol: &'static str,
    trailing_ws_percent: u64,
    nfd: bool,
}

/// Markdown body of one unit version. `title` is the logical unit's title.
pub fn markdown_body(rng: &mut Rng, title: &str, version_no: i32) -> String {
    let roll = rng.below(100);
    let eol = match roll {
        0..=9 => "\r\n",
        10..=11 => "\r",
        _ => "\n",
    };
    let q = Quirks {
        eol,
        trailing_ws_percent: if rng.chance(20) { 25 } else { 0 },
        nfd: rng.chance(6),
    };
    let intl = if rng.chance(30) { 6 } else { 1 };

    let mut lines: Vec<String> = Vec::with_capacity(48);
    lines.push(format!("# {title}"));
    lines.push(String::new());
    lines.push(format!(
        "_Version {version_no}_ {}",
        sentence(rng, 4, 10, intl, q.nfd)
    ));
    lines.push(String::new());

    let sections = rng.range(2, 3);
    for s in 0..sections {
        let heading = rng.pick(SECTION_TITLES);
        lines.push(format!("## {}. {heading}", s + 1));
        lines.push(String::new());
        let blocks = rng.range(1, 2);
        for _ in 0..blocks {
            match rng.below(10) {
                0..=4 => {
                    let n = rng.range(1, 3);
                    let para: Vec<String> =
                        (0..n).map(|_| sentence(rng, 5, 13, intl, q.nfd)).collect();
                    lines.push(para.join(" "));
                }
                5 | 6 => {
                    let ordered = rng.chance(40);
                    for i in 0..rng.range(2, 5) {
                        let item = sentence(rng, 3, 9, intl, q.nfd);
                        if ordered {
                            lines.push(format!("{}. {item}", i + 1));
                        } else {
                            lines.push(format!("- {item}"));
                        }
                        if rng.chance(15) {
                            lines.push(format!("  - {}", sentence(rng, 2, 6, intl, q.nfd)));
                        }
                    }
                }
                7 => {
                    lines.push("| Field | Value |".to_string());
                    lines.push("|-------|-------|".to_string());
                    for _ in 0..rng.range(1, 3) {
                        lines.push(format!("| {} | {} |", word(rng), rng.range(1, 999)));
                    }
                }
                8 => {
                    lines.push(format!("> {}", sentence(rng, 6, 14, intl, q.nfd)));
                }
                _ => {
                    lines.push("```".to_string());
                    lines.push(format!("{}\t= {}", word(rng), rng.range(0, 100_000)));
                    lines.push("```".to_string());
                }
            }
            lines.push(String::new());
        }
    }

    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 2).sum::<usize>() + 8);
    if rng.chance(2) {
        out.push('\u{feff}');
    }
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        if q.trailing_ws_percent > 0 && !line.is_empty() && rng.chance(q.trailing_ws_percent) {
            out.push_str(if rng.chance(20) { " \t" } else { "  " });
        }
        if i < last {
            out.push_str(q.eol);
        }
    }
    // Final newline: usually one, sometimes none, sometimes several.
    match rng.below(100) {
        0..=4 => {}
        5..=9 => {
            for _ in 0..rng.range(2, 4) {
                out.push_str(q.eol);
            }
        }
        _ => out.push_str(q.eol),
    }
    out
}

/// Number of whitespace-separated words.
pub fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_markdown_and_vary() {
        let mut rng = Rng::new(42, "body");
        let mut crlf = 0;
        let mut non_ascii = 0;
        let mut total = 0usize;
        for i in 0..400 {
            let b = markdown_body(&mut rng, "Access Management Policy", i);
            assert!(b
                .trim_start_matches('\u{feff}')
                .starts_with("# Access Management Policy"));
            assert!(b.contains("## 1. "));
            if b.contains("\r\n") {
                crlf += 1;
            }
            if !b.is_ascii() {
                non_ascii += 1;
            }
            total += b.len();
        }
        assert!(crlf > 10, "crlf rows: {crlf}");
        assert!(non_ascii > 100, "non-ascii rows: {non_ascii}");
        assert!(total / 400 > 400, "average body too small");
    }
}

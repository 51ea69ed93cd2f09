//! The TAC document system in schema `public`: logical units, unit versions (Markdown
//! bodies), publications, reviews, tags, attachments, the generic edge table and `dot_tools`.
//!
//! Also owns the partitioned audit log. Per-unit facts are derived from (seed, unit index)
//! so dependent tables can be streamed without keeping earlier tables in memory.

use std::io::{self, Write};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::copy::Copy;
use crate::rng::{hash3, timestamptz, uuid_at, Rng, DAY, EPOCH_UNIX};
use crate::schema::{col, Partitioning, SeqSets, Table};
use crate::text;
use crate::Ctx;

/// Logical units per scale unit.
pub const UNITS_PER_SCALE: u64 = 2_000;
/// Universal edges per scale unit.
pub const EDGES_PER_SCALE: u64 = 8_000;
/// Audit events per scale unit.
pub const AUDIT_PER_SCALE: u64 = 3_000;

/// Standalone sequence behind `tac_logical_unit.doc_number`.
pub const DOC_NUMBER_SEQ: &str = "public.tac_document_number_seq";
/// Standalone sequence behind the partitioned audit log's id.
pub const AUDIT_SEQ: &str = "public.tac_audit_event_id_seq";
/// First document number handed out.
const DOC_NUMBER_BASE: i64 = 100_000;

/// Document types: (code, name, retention years, requires approval).
const DOC_TYPES: &[(&str, &str, i32, bool)] = &[
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
const CHANNELS: &[(&str, &str, &str, bool)] = &[
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

const TAG_WORDS: &[&str] = &[
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

const LOCALES: &[&str] = &["en", "en", "en", "en", "en", "en", "hr", "es", "de", "fr"];

/// `dot_tools` rows: (id, code, name, tier, paired_with, status, revision, description).
#[allow(clippy::type_complexity)]
const DOT_TOOLS: &[(i32, &str, &str, &str, Option<i32>, &str, &str, &str)] = &[
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

/// Latest-version status of a logical unit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Latest {
    Approved,
    InReview,
    Draft,
}

/// Facts about logical unit `i` that other tables need, derived without state.
struct Unit {
    id: String,
    created: i64,
    versions: u64,
    latest: Latest,
}

fn unit(seed: u64, i: u64) -> Unit {
    let h = hash3(seed, "tac_logical_unit.facts", i);
    Unit {
        id: uuid_at(seed, "tac_logical_unit", i),
        created: EPOCH_UNIX + (h % (150 * DAY as u64)) as i64,
        versions: 1 + (h >> 32) % 3,
        latest: match (h >> 40) % 100 {
            0..=69 => Latest::Approved,
            70..=84 => Latest::InReview,
            _ => Latest::Draft,
        },
    }
}

fn unit_title(seed: u64, i: u64) -> String {
    let mut r = Rng::new(hash3(seed, "tac_logical_unit.title", i), "title");
    text::title(&mut r)
}

/// Creation time of version `v` (1-based) of a unit.
fn version_created(seed: u64, u: &Unit, i: u64, v: u64) -> i64 {
    let h = hash3(seed, "tac_unit_version.created", i * 8 + v);
    u.created + (v as i64 - 1) * 20 * DAY + (h % (10 * DAY as u64)) as i64
}

/// Table definitions owned by this module, in creation order.
pub fn tables() -> Vec<Table> {
    let users = "public.directus_users";
    vec![
        Table::new(
            "public",
            "tac_doc_type",
            vec![
                col("code", "text", "NOT NULL"),
                col("name", "text", "NOT NULL"),
                col("retention_years", "integer", "NOT NULL"),
                col("requires_approval", "boolean", "DEFAULT true NOT NULL"),
            ],
        )
        .pk("code")
        .check("retention", "retention_years > 0"),
        Table::new(
            "public",
            "tac_tag",
            vec![
                col("id", "integer", "GENERATED BY DEFAULT AS IDENTITY"),
                col("slug", "text", "NOT NULL"),
                col("label", "text", "NOT NULL"),
                col("color", "text", ""),
            ],
        )
        .pk("id")
        .unique("slug"),
        Table::new(
            "public",
            "tac_publication_channel",
            vec![
                col("code", "text", "NOT NULL"),
                col("label", "text", "NOT NULL"),
                col("base_url", "text", "NOT NULL"),
                col("active", "boolean", "DEFAULT true NOT NULL"),
            ],
        )
        .pk("code"),
        Table::new(
            "public",
            "dot_tools",
            vec![
                col("id", "integer", "NOT NULL"),
                col("code", "text", "NOT NULL"),
                col("name", "text", "NOT NULL"),
                col("tier", "text", "NOT NULL"),
                col("paired_with", "integer", ""),
                col("status", "text", "DEFAULT 'active'::text NOT NULL"),
                col("tool_revision", "text", "NOT NULL"),
                col("description", "text", ""),
                col("config", "jsonb", "DEFAULT '{}'::jsonb NOT NULL"),
                col(
                    "created_at",
                    "timestamp with time zone",
                    "DEFAULT CURRENT_TIMESTAMP NOT NULL",
                ),
                col(
                    "updated_at",
                    "timestamp with time zone",
                    "DEFAULT CURRENT_TIMESTAMP NOT NULL",
                ),
            ],
        )
        .pk("id")
        .unique("code")
        .check(
            "tier",
            "tier = ANY (ARRAY['A'::text, 'B'::text, 'C'::text])",
        )
        .check(
            "status",
            "status = ANY (ARRAY['active'::text, 'deprecated'::text, 'disabled'::text])",
        )
        .check("not_self_paired", "paired_with IS DISTINCT FROM id")
        .fk("paired_with", "public.dot_tools", "id", "SET NULL")
        .comment("DOT tool registry; tier A tools are paired with an independent tier B verifier."),
        Table::new(
            "public",
            "tac_logical_unit",
            vec![
                col("id", "uuid", "NOT NULL"),
                col("code", "text", "NOT NULL"),
                col(
                    "doc_number",
                    "bigint",
                    "DEFAULT nextval('public.tac_document_number_seq'::regclass) NOT NULL",
                ),
                col("title", "text", "NOT NULL"),
                col("doc_type", "text", "NOT NULL"),
                col("status", "text", "DEFAULT 'draft'::text NOT NULL"),
                col("owner_user", "uuid", ""),
                col("parent_id", "uuid", ""),
                col("metadata", "jsonb", "DEFAULT '{}'::jsonb NOT NULL"),
                col("sort", "integer", ""),
                col(
                    "created_at",
                    "timestamp with time zone",
                    "DEFAULT CURRENT_TIMESTAMP NOT NULL",
                ),
                col(
                    "updated_at",
                    "timestamp with time zone",
                    "DEFAULT CURRENT_TIMESTAMP NOT NULL",
                ),
            ],
        )
        .pk("id")
        .unique("code")
        .unique("doc_number")
        .check(
            "status",
            "status = ANY (ARRAY['draft'::text, 'active'::text, 'retired'::text])",
        )
        .fk("doc_type", "public.tac_doc_type", "code", "")
        .fk("owner_user", users, "id", "SET NULL")
        .fk("parent_id", "public.tac_logical_unit", "id", "SET NULL")
        .comment("A document of the TAC system, independent of its textual versions."),
        Table::new(
            "public",
            "tac_unit_version",
            vec![
                col("id", "bigint", "GENERATED BY DEFAULT AS IDENTITY"),
                col("logical_unit_id", "uuid", "NOT NULL"),
                col("version_no", "integer", "NOT NULL"),
                col(
                    "status",
                    "public.tac_version_status",
                    "DEFAULT 'draft'::public.tac_version_status NOT NULL",
                ),
                col("locale", "text", "DEFAULT 'en'::text NOT NULL"),
                col("body", "text", "NOT NULL"),
                col("body_sha256", "character(64)", "NOT NULL"),
                col("word_count", "integer", "NOT NULL"),
                col("created_by", "uuid", ""),
                col(
                    "created_at",
                    "timestamp with time zone",
                    "DEFAULT CURRENT_TIMESTAMP NOT NULL",
                ),
                col("approved_at", "timestamp with time zone", ""),
                col("change_note", "text", ""),
            ],
        )
        .pk("id")
        .unique("logical_unit_id, version_no")
        .check("version_no", "version_no > 0")
        .fk(
            "logical_unit_id",
            "public.tac_logical_unit",
            "id",
            "CASCADE",
        )
        .fk("created_by", users, "id", "SET NULL")
        .comment("Immutable textual versions (Markdown) of logical units."),
        Table::new(
            "public",
            "tac_publication",
            vec![
                col("id", "integer", "GENERATED BY DEFAULT AS IDENTITY"),
                col("unit_version_id", "bigint", "NOT NULL"),
                col("channel", "text", "NOT NULL"),
                col("status", "text", "DEFAULT 'scheduled'::text NOT NULL"),
                col("published_at", "timestamp with time zone", ""),
                col("withdrawn_at", "timestamp with time zone", ""),
                col("url", "text", ""),
                col("checksum", "text", ""),
                col("payload", "jsonb", ""),
            ],
        )
        .pk("id")
        .check(
            "status",
            "status = ANY (ARRAY['scheduled'::text, 'published'::text, 'withdrawn'::text])",
        )
        .fk(
            "unit_version_id",
            "public.tac_unit_version",
            "id",
            "CASCADE",
        )
        .fk("channel", "public.tac_publication_channel", "code", "")
        .comment("Where and when a unit version was made available to readers."),
        Table::new(
            "public",
            "tac_review",
            vec![
                col("id", "bigint", "GENERATED BY DEFAULT AS IDENTITY"),
                col("unit_version_id", "bigint", "NOT NULL"),
                col("reviewer", "uuid", ""),
                col("verdict", "text", "NOT NULL"),
                col("score", "smallint", ""),
                col("comment", "text", ""),
                col("reviewed_at", "timestamp with time zone", "NOT NULL"),
            ],
        )
        .pk("id")
        .check(
            "verdict",
            "verdict = ANY (ARRAY['approve'::text, 'request_changes'::text, 'comment'::text])",
        )
        .check("score", "score >= 1 AND score <= 5")
        .fk(
            "unit_version_id",
            "public.tac_unit_version",
            "id",
            "CASCADE",
        )
        .fk("reviewer", users, "id", "SET NULL"),
        Table::new(
            "public",
            "tac_unit_tag",
            vec![
                col("logical_unit_id", "uuid", "NOT NULL"),
                col("tag_id", "integer", "NOT NULL"),
                col("added_at", "timestamp with time zone", "NOT NULL"),
            ],
        )
        .pk("logical_unit_id, tag_id")
        .fk(
            "logical_unit_id",
            "public.tac_logical_unit",
            "id",
            "CASCADE",
        )
        .fk("tag_id", "public.tac_tag", "id", "CASCADE"),
        Table::new(
            "public",
            "tac_attachment",
            vec![
                col("id", "uuid", "NOT NULL"),
                col("logical_unit_id", "uuid", "NOT NULL"),
                col("filename", "text", "NOT NULL"),
                col("mime_type", "text", "NOT NULL"),
                col("size_bytes", "bigint", "NOT NULL"),
                col("sha256", "character(64)", "NOT NULL"),
                col("storage_key", "text", "NOT NULL"),
                col("created_at", "timestamp with time zone", "NOT NULL"),
            ],
        )
        .pk("id")
        .unique("storage_key")
        .fk(
            "logical_unit_id",
            "public.tac_logical_unit",
            "id",
            "CASCADE",
        ),
        Table::new(
            "public",
            "universal_edges",
            vec![
                col("id", "bigint", "GENERATED BY DEFAULT AS IDENTITY"),
                col("src_kind", "text", "NOT NULL"),
                col("src_id", "text", "NOT NULL"),
                col("dst_kind", "text", "NOT NULL"),
                col("dst_id", "text", "NOT NULL"),
                col("edge_type", "text", "NOT NULL"),
                col("weight", "numeric(6,3)", "DEFAULT 1.000 NOT NULL"),
                col("attrs", "jsonb", ""),
                col("created_at", "timestamp with time zone", "NOT NULL"),
            ],
        )
        .pk("id")
        .check(
            "no_self_loop",
            "NOT (src_kind = dst_kind AND src_id = dst_id)",
        )
        .comment("Generic typed edges between any two entities, addressed by (kind, id)."),
        Table::new(
            "public",
            "tac_audit_event",
            vec![
                col(
                    "id",
                    "bigint",
                    "DEFAULT nextval('public.tac_audit_event_id_seq'::regclass) NOT NULL",
                ),
                col("occurred_at", "timestamp with time zone", "NOT NULL"),
                col("actor", "uuid", ""),
                col("action", "text", "NOT NULL"),
                col("entity_kind", "text", "NOT NULL"),
                col("entity_id", "text", "NOT NULL"),
                col("client_ip", "inet", ""),
                col("detail", "jsonb", "DEFAULT '{}'::jsonb NOT NULL"),
            ],
        )
        .pk("id, occurred_at")
        .partitioning(Partitioning::Parent("RANGE (occurred_at)"))
        .comment("Audit log of the TAC system, range-partitioned by half-year."),
        Table::new("public", "tac_audit_event_2026h1", vec![]).partitioning(Partitioning::Of {
            parent: "public.tac_audit_event".into(),
            bounds: "FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2026-07-01 00:00:00+00')"
                .into(),
        }),
        Table::new("public", "tac_audit_event_2026h2", vec![]).partitioning(Partitioning::Of {
            parent: "public.tac_audit_event".into(),
            bounds: "FOR VALUES FROM ('2026-07-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')"
                .into(),
        }),
    ]
}

/// Looks a table up by name in [`tables`] output.
fn find<'a>(tables: &'a [Table], name: &str) -> io::Result<&'a Table> {
    tables
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| io::Error::other(format!("internal: table {name} not defined")))
}

/// Row counts of the business tables (written to stderr by the binary, used by tests).
#[derive(Debug, Default, Clone)]
pub struct BusinessCounts {
    pub units: u64,
    pub versions: u64,
    pub publications: u64,
    pub reviews: u64,
    pub unit_tags: u64,
    pub attachments: u64,
    pub edges: u64,
    pub audit: u64,
}

/// Writes the data of every business table and records their sequence positions.
pub fn write_data<W: Write>(
    out: &mut W,
    ctx: &Ctx,
    seqs: &mut SeqSets,
) -> io::Result<BusinessCounts> {
    let defs = tables();
    let seed = ctx.seed;
    let n_units = UNITS_PER_SCALE * ctx.scale;
    let mut counts = BusinessCounts::default();

    // Lookup tables.
    let t = find(&defs, "tac_doc_type")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    for (code, name, years, approval) in DOC_TYPES {
        c.text(code).text(name).raw(years).bool(*approval);
        c.end_row()?;
    }
    c.finish()?;

    let t = find(&defs, "tac_tag")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    let mut rng = Rng::new(seed, "tac_tag");
    let n_tags = tag_count();
    for i in 0..n_tags {
        let base = TAG_WORDS[(i as usize) % TAG_WORDS.len()];
        let round = i as usize / TAG_WORDS.len();
        let slug = if round == 0 {
            base.to_string()
        } else {
            format!("{base}-{}", round + 1)
        };
        let label = capitalize(&slug.replace('-', " "));
        let color = format!("#{}", rng.hex(3));
        c.raw(i + 1).text(&slug).text(&label).text(&color);
        c.end_row()?;
    }
    c.finish()?;
    seqs.column(&t.qname(), "id", n_tags as i64);

    let t = find(&defs, "tac_publication_channel")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    for (code, label, url, active) in CHANNELS {
        c.text(code).text(label).text(url).bool(*active);
        c.end_row()?;
    }
    c.finish()?;

    let t = find(&defs, "dot_tools")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    for (k, (id, code, name, tier, paired, status, rev, desc)) in DOT_TOOLS.iter().enumerate() {
        let created = EPOCH_UNIX - 90 * DAY + (k as i64) * 3 * DAY + 9 * 3600;
        let config = json!({
            "canon_rule": "canon-md-v0.1.0",
            "max_batch": 500,
            "tier": tier,
            "timeout_ms": 30000,
        });
        c.raw(id)
            .text(code)
            .text(name)
            .text(tier)
            .opt_raw(*paired)
            .text(status)
            .text(rev)
            .text(desc)
            .json(&config)
            .raw(timestamptz(created))
            .raw(timestamptz(created + 14 * DAY));
        c.end_row()?;
    }
    c.finish()?;

    // tac_logical_unit
    let t = find(&defs, "tac_logical_unit")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    let mut rng = Rng::new(seed, "tac_logical_unit");
    for i in 0..n_units {
        let u = unit(seed, i);
        let doc_type = DOC_TYPES[rng.below(DOC_TYPES.len() as u64) as usize].0;
        let status = match rng.below(100) {
            0..=9 => "draft",
            10..=89 => "active",
            _ => "retired",
        };
        let owner = if rng.chance(95) {
            Some(rng.pick_ref(&ctx.users).as_str())
        } else {
            None
        };
        let parent = if i > 10 && rng.chance(20) {
            Some(uuid_at(seed, "tac_logical_unit", rng.below(i)))
        } else {
            None
        };
        let keywords: Vec<&str> = (0..rng.range(1, 4)).map(|_| text::word(&mut rng)).collect();
        let meta = json!({
            "confidentiality": rng.pick(&["public", "internal", "confidential", "restricted"]),
            "department": rng.pick(TAG_WORDS),
            "keywords": keywords,
            "review_cycle_months": rng.pick(&[6, 12, 12, 24, 36]),
            "source": if rng.chance(30) { "import" } else { "editor" },
        });
        let updated = u.created + (u.versions as i64 - 1) * 20 * DAY + rng.range(0, 9 * DAY);
        c.raw(&u.id)
            .raw(format_args!("LU-{:06}", i + 1))
            .raw(DOC_NUMBER_BASE + i as i64 + 1)
            .text(&unit_title(seed, i))
            .text(doc_type)
            .text(status)
            .opt_text(owner)
            .opt_text(parent.as_deref())
            .json(&meta)
            .raw(i + 1)
            .raw(timestamptz(u.created))
            .raw(timestamptz(updated));
        c.end_row()?;
    }
    counts.units = c.finish()?;
    seqs.sequence(DOC_NUMBER_SEQ, DOC_NUMBER_BASE + n_units as i64);

    // tac_unit_version
    let t = find(&defs, "tac_unit_version")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    let mut rng = Rng::new(seed, "tac_unit_version");
    let mut vid: u64 = 0;
    for i in 0..n_units {
        let u = unit(seed, i);
        let title = unit_title(seed, i);
        let locale = rng.pick(LOCALES);
        for v in 1..=u.versions {
            vid += 1;
            let status = if v < u.versions {
                "superseded"
            } else {
                match u.latest {
                    Latest::Approved => "approved",
                    Latest::InReview => "in_review",
                    Latest::Draft => "draft",
                }
            };
            let body = text::markdown_body(&mut rng, &title, v as i32);
            let sha = hex::encode(Sha256::digest(body.as_bytes()));
            let created = version_created(seed, &u, i, v);
            let approved = matches!(status, "approved" | "superseded")
                .then(|| timestamptz(created + rng.range(3600, 5 * DAY)));
            let note = if v == 1 {
                Some("Initial version.".to_string())
            } else if rng.chance(70) {
                Some(text::sentence(&mut rng, 3, 9, 2, false))
            } else {
                None
            };
            c.raw(vid)
                .raw(&u.id)
                .raw(v)
                .raw(status)
                .raw(locale)
                .text(&body)
                .raw(&sha)
                .raw(text::word_count(&body))
                .raw(rng.pick_ref(&ctx.users))
                .raw(timestamptz(created))
                .opt_raw(approved)
                .opt_text(note.as_deref());
            c.end_row()?;
        }
    }
    counts.versions = c.finish()?;
    seqs.column(&t.qname(), "id", vid as i64);

    // tac_publication: live publications of approved latest versions, withdrawn ones of
    // superseded versions.
    let t = find(&defs, "tac_publication")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    let mut rng = Rng::new(seed, "tac_publication");
    let mut pid: u64 = 0;
    let mut first_vid: u64 = 1;
    for i in 0..n_units {
        let u = unit(seed, i);
        for v in 1..=u.versions {
            let this_vid = first_vid + v - 1;
            let latest = v == u.versions;
            let publish = if latest {
                u.latest == Latest::Approved
            } else {
                rng.chance(40)
            };
            if !publish {
                continue;
            }
            let created = version_created(seed, &u, i, v);
            // Distinct channels per version (keeps the partial unique index valid).
            let first = rng.below(CHANNELS.len() as u64) as usize;
            let n_ch = if rng.chance(35) { 2 } else { 1 };
            for k in 0..n_ch {
                let (channel, _, base, _) = CHANNELS[(first + k) % CHANNELS.len()];
                pid += 1;
                let published = created + rng.range(DAY, 6 * DAY);
                let (status, withdrawn) = if !latest {
                    (
                        "withdrawn",
                        Some(created + 20 * DAY + rng.range(0, 3 * DAY)),
                    )
                } else if rng.chance(5) {
                    ("scheduled", None)
                } else {
                    ("published", None)
                };
                let published_at = (status != "scheduled").then_some(published);
                let payload = json!({
                    "format": if channel == "pdf" { "application/pdf" } else { "text/html" },
                    "pages": rng.range(1, 40),
                    "signed_by": "DOT-SIGN",
                    "version_id": this_vid,
                });
                c.raw(pid)
                    .raw(this_vid)
                    .raw(channel)
                    .raw(status)
                    .opt_raw(published_at.map(timestamptz))
                    .opt_raw(withdrawn.map(timestamptz))
                    .text(&format!("{base}LU-{:06}/v{v}", i + 1))
                    .raw(rng.hex(20))
                    .json(&payload);
                c.end_row()?;
            }
        }
        first_vid += u.versions;
    }
    counts.publications = c.finish()?;
    seqs.column(&t.qname(), "id", pid as i64);

    // tac_review: about half of the versions have one or two reviews.
    let t = find(&defs, "tac_review")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    let mut rng = Rng::new(seed, "tac_review");
    let mut rid: u64 = 0;
    let mut vid: u64 = 0;
    for i in 0..n_units {
        let u = unit(seed, i);
        for v in 1..=u.versions {
            vid += 1;
            let n = match rng.below(100) {
                0..=54 => 0,
                55..=89 => 1,
                _ => 2,
            };
            for _ in 0..n {
                rid += 1;
                let verdict = rng.pick(&["approve", "approve", "request_changes", "comment"]);
                let comment = rng
                    .chance(60)
                    .then(|| text::sentence(&mut rng, 4, 14, 3, false));
                let score = rng.chance(80).then(|| rng.range(1, 5));
                let at = version_created(seed, &u, i, v) + rng.range(600, 4 * DAY);
                c.raw(rid)
                    .raw(vid)
                    .raw(rng.pick_ref(&ctx.users))
                    .raw(verdict)
                    .opt_raw(score)
                    .opt_text(comment.as_deref())
                    .raw(timestamptz(at));
                c.end_row()?;
            }
        }
    }
    counts.reviews = c.finish()?;
    seqs.column(&t.qname(), "id", rid as i64);

    // tac_unit_tag: 0-3 distinct tags per unit.
    let t = find(&defs, "tac_unit_tag")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    let mut rng = Rng::new(seed, "tac_unit_tag");
    for i in 0..n_units {
        let u = unit(seed, i);
        let n = rng.below(4);
        let start = rng.below(n_tags);
        let stride = 1 + rng.below(7);
        for k in 0..n {
            let tag = (start + k * stride) % n_tags + 1;
            c.raw(&u.id)
                .raw(tag)
                .raw(timestamptz(u.created + rng.range(0, 30 * DAY)));
            c.end_row()?;
        }
    }
    counts.unit_tags = c.finish()?;

    // tac_attachment: a quarter of the units carry one or two files.
    let t = find(&defs, "tac_attachment")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    let mut rng = Rng::new(seed, "tac_attachment");
    let mut aid: u64 = 0;
    for i in 0..n_units {
        if !rng.chance(25) {
            continue;
        }
        let u = unit(seed, i);
        for _ in 0..rng.range(1, 2) {
            let (ext, mime) = rng.pick(&[
                ("pdf", "application/pdf"),
                (
                    "docx",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                ),
                ("png", "image/png"),
                (
                    "xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
                ("csv", "text/csv"),
            ]);
            let id = uuid_at(seed, "tac_attachment", aid);
            aid += 1;
            let name = format!("{}-{}.{ext}", text::word(&mut rng), rng.range(1, 99));
            c.raw(&id)
                .raw(&u.id)
                .text(&name)
                .raw(mime)
                .raw(rng.range(2_000, 9_000_000))
                .raw(rng.hex(32))
                .raw(format_args!("tac/{}/{id}.{ext}", &u.id[..2]))
                .raw(timestamptz(u.created + rng.range(0, 60 * DAY)));
            c.end_row()?;
        }
    }
    counts.attachments = c.finish()?;

    // universal_edges
    counts.edges = write_edges(out, ctx, &defs, n_units, vid, pid, seqs)?;
    counts.audit = write_audit(out, ctx, &defs, n_units, seqs)?;
    Ok(counts)
}

/// Number of rows in `tac_tag`.
fn tag_count() -> u64 {
    40
}

fn capitalize(s: &str) -> String {
    let mut cs = s.chars();
    match cs.next() {
        Some(f) => f.to_uppercase().chain(cs).collect(),
        None => String::new(),
    }
}

fn write_edges<W: Write>(
    out: &mut W,
    ctx: &Ctx,
    defs: &[Table],
    n_units: u64,
    n_versions: u64,
    n_pubs: u64,
    seqs: &mut SeqSets,
) -> io::Result<u64> {
    let seed = ctx.seed;
    let t = find(defs, "universal_edges")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    let mut rng = Rng::new(seed, "universal_edges");
    let n = EDGES_PER_SCALE * ctx.scale;
    let lu = |k: u64| uuid_at(seed, "tac_logical_unit", k);
    for id in 1..=n {
        let roll = rng.below(100);
        let a = rng.below(n_units);
        let mut b = rng.below(n_units);
        if b == a {
            b = (a + 1) % n_units;
        }
        let va = 1 + rng.below(n_versions.max(1));
        let mut vb = 1 + rng.below(n_versions.max(1));
        if vb == va {
            vb = va % n_versions.max(2) + 1;
        }
        let (sk, si, dk, di, et): (&str, String, &str, String, &str) = match roll {
            0..=39 => ("logical_unit", lu(a), "logical_unit", lu(b), "references"),
            40..=54 => (
                "unit_version",
                va.to_string(),
                "logical_unit",
                lu(b),
                "derived_from",
            ),
            55..=64 => (
                "unit_version",
                va.to_string(),
                "unit_version",
                vb.to_string(),
                "supersedes",
            ),
            65..=72 => (
                "logical_unit",
                lu(a),
                "dot_tool",
                "992".to_string(),
                "cut_by",
            ),
            73..=77 => (
                "logical_unit",
                lu(a),
                "dot_tool",
                "991".to_string(),
                "verified_by",
            ),
            78..=87 => (
                "logical_unit",
                lu(a),
                "directus_user",
                rng.pick_ref(&ctx.users).clone(),
                "owned_by",
            ),
            88..=94 if n_pubs > 0 => (
                "unit_version",
                va.to_string(),
                "publication",
                (1 + rng.below(n_pubs)).to_string(),
                "published_as",
            ),
            _ => ("logical_unit", lu(a), "logical_unit", lu(b), "mentions"),
        };
        let weight = rng.range(1, 1000);
        let attrs = if rng.chance(30) {
            Some(json!({
                "confidence": rng.range(50, 100),
                "origin": rng.pick(&["cutter", "editor", "import", "sync"]),
            }))
        } else {
            None
        };
        let created = EPOCH_UNIX + rng.range(0, 240 * DAY);
        c.raw(id)
            .raw(sk)
            .raw(&si)
            .raw(dk)
            .raw(&di)
            .raw(et)
            .raw(format_args!("{}.{:03}", weight / 1000, weight % 1000));
        match &attrs {
            Some(v) => c.json(v),
            None => c.null(),
        };
        c.raw(timestamptz(created));
        c.end_row()?;
    }
    let rows = c.finish()?;
    seqs.column(&t.qname(), "id", n as i64);
    Ok(rows)
}

fn write_audit<W: Write>(
    out: &mut W,
    ctx: &Ctx,
    defs: &[Table],
    n_units: u64,
    seqs: &mut SeqSets,
) -> io::Result<u64> {
    let seed = ctx.seed;
    let t = find(defs, "tac_audit_event")?;
    let mut c = Copy::begin(out, &t.qname(), &t.col_names())?;
    let mut rng = Rng::new(seed, "tac_audit_event");
    let n = AUDIT_PER_SCALE * ctx.scale;
    let year = 365 * DAY;
    // Events are spread over 2026 in increasing time order, so both partitions fill.
    for id in 1..=n {
        let at = EPOCH_UNIX + ((id - 1) as i64 * year) / n as i64 + rng.range(0, 59);
        let action = rng.pick(&[
            "create", "update", "update", "publish", "withdraw", "review", "cut",
        ]);
        let k = rng.below(n_units);
        let ip = format!(
            "10.{}.{}.{}",
            rng.below(4),
            rng.below(256),
            1 + rng.below(254)
        );
        let detail = json!({
            "at": crate::rng::iso8601(at),
            "code": format!("LU-{:06}", k + 1),
            "fields": rng.range(1, 6),
            "request_id": rng.hex(8),
        });
        c.raw(id)
            .raw(timestamptz(at))
            .opt_raw(rng.chance(90).then(|| rng.pick_ref(&ctx.users).clone()))
            .raw(action)
            .raw("logical_unit")
            .raw(uuid_at(seed, "tac_logical_unit", k))
            .raw(&ip)
            .json(&detail);
        c.end_row()?;
    }
    let rows = c.finish()?;
    seqs.sequence(AUDIT_SEQ, n as i64);
    Ok(rows)
}

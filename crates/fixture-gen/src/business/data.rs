//! The rows of the document tables: lookups, logical units, versions, publications, reviews,
//! tags and attachments, then the edges and the audit log; counts and sequence positions.

use std::io::{self, Write};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::copy::Copy;
use crate::rng::{timestamptz, uuid_at, Rng, DAY, EPOCH_UNIX};
use crate::schema::SeqSets;
use crate::text;
use crate::Ctx;

use super::audit::write_audit;
use super::catalog::{CHANNELS, DOC_TYPES, DOT_TOOLS, LOCALES, TAG_WORDS};
use super::edges::write_edges;
use super::tables::{find, tables};
use super::units::{unit, unit_title, version_created, Latest};
use super::{BusinessCounts, DOC_NUMBER_BASE, DOC_NUMBER_SEQ, UNITS_PER_SCALE};
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

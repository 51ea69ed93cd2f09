//! Rows added to the Directus system tables created by the bootstrap dump: roles, policies,
//! users, the registration of the TAC collections (collections, fields, relations,
//! permissions) and an activity/revision history proportional to the scale.
//!
//! Only data is written here; the `directus_*` tables themselves come from the bootstrap.

use std::io::{self, Write};

use serde_json::json;

use crate::copy::Copy;
use crate::rng::{timestamptz, uuid_at, Rng, DAY, EPOCH_UNIX};
use crate::schema::{Partitioning, SeqSets, Table};
use crate::text;
use crate::Ctx;

/// Administrator user created by the Directus bootstrap.
pub const ADMIN_USER: &str = "9360aa84-c499-4753-aff9-b63a8548f655";

/// Generated (non-admin) Directus users.
pub const EXTRA_USERS: u64 = 24;
/// Activity rows (each with one revision) per scale unit.
pub const ACTIVITY_PER_SCALE: u64 = 500;

/// (name, icon, description) of the generated roles; each gets a policy of the same name.
const ROLES: &[(&str, &str, &str)] = &[
    ("Editor", "edit", "Writes and revises TAC documents."),
    (
        "Reviewer",
        "rate_review",
        "Reviews unit versions before approval.",
    ),
    (
        "Publisher",
        "publish",
        "Publishes approved versions to channels.",
    ),
];

/// Icons of registered collections (collections not listed get "database").
const ICONS: &[(&str, &str)] = &[
    ("tac_logical_unit", "description"),
    ("tac_unit_version", "history_edu"),
    ("tac_publication", "public"),
    ("universal_edges", "hub"),
    ("dot_tools", "construction"),
    ("tac_review", "rate_review"),
    ("tac_tag", "sell"),
    ("tac_attachment", "attach_file"),
];

/// The Directus user ids (admin first) every table may reference.
pub fn user_ids(seed: u64) -> Vec<String> {
    let mut v = vec![ADMIN_USER.to_string()];
    v.extend((0..EXTRA_USERS).map(|i| uuid_at(seed, "directus_users", i)));
    v
}

fn role_id(seed: u64, i: usize) -> String {
    uuid_at(seed, "directus_roles", i as u64)
}

fn policy_id(seed: u64, i: usize) -> String {
    uuid_at(seed, "directus_policies", i as u64)
}

/// Business tables registered as Directus collections (public, not partitioned).
fn registered(tables: &[Table]) -> Vec<&Table> {
    tables
        .iter()
        .filter(|t| t.schema == "public" && matches!(t.partitioning, Partitioning::None))
        .collect()
}

/// Writes every Directus row; `tables` are the business tables to register.
pub fn write_data<W: Write>(
    out: &mut W,
    ctx: &Ctx,
    tables: &[Table],
    seqs: &mut SeqSets,
) -> io::Result<()> {
    let seed = ctx.seed;
    writeln!(
        out,
        "UPDATE public.directus_settings SET project_name = 'TAC Documents', project_url = 'https://cms.example.test', project_color = '#2F6F4E', default_language = 'en-US' WHERE id = 1;\n"
    )?;

    let mut c = Copy::begin(
        out,
        "public.directus_roles",
        &["id", "name", "icon", "description", "parent"],
    )?;
    for (i, (name, icon, desc)) in ROLES.iter().enumerate() {
        c.raw(role_id(seed, i))
            .text(name)
            .text(icon)
            .text(desc)
            .null();
        c.end_row()?;
    }
    c.finish()?;

    let mut c = Copy::begin(
        out,
        "public.directus_policies",
        &[
            "id",
            "name",
            "icon",
            "description",
            "ip_access",
            "enforce_tfa",
            "admin_access",
            "app_access",
        ],
    )?;
    for (i, (name, icon, desc)) in ROLES.iter().enumerate() {
        c.raw(policy_id(seed, i))
            .text(&format!("{name}s"))
            .text(icon)
            .text(desc)
            .null()
            .bool(i == 2)
            .bool(false)
            .bool(true);
        c.end_row()?;
    }
    c.finish()?;

    let mut c = Copy::begin(
        out,
        "public.directus_access",
        &["id", "role", "\"user\"", "policy", "sort"],
    )?;
    for i in 0..ROLES.len() {
        c.raw(uuid_at(seed, "directus_access", i as u64))
            .raw(role_id(seed, i))
            .null()
            .raw(policy_id(seed, i))
            .raw(1);
        c.end_row()?;
    }
    c.finish()?;

    let mut rng = Rng::new(seed, "directus_users");
    let mut c = Copy::begin(
        out,
        "public.directus_users",
        &[
            "id",
            "first_name",
            "last_name",
            "email",
            "title",
            "language",
            "status",
            "role",
            "last_access",
            "provider",
            "email_notifications",
            "text_direction",
        ],
    )?;
    for (i, id) in ctx.users.iter().skip(1).enumerate() {
        let status = if i % 11 == 10 { "suspended" } else { "active" };
        c.raw(id)
            .text(rng.pick(text::FIRST_NAMES))
            .text(rng.pick(text::LAST_NAMES))
            .raw(format_args!("user{:02}@tac.example.test", i + 1))
            .opt_text(
                rng.chance(60)
                    .then(|| rng.pick(&["Editor", "Analyst", "Lead", "Auditor"])),
            )
            .raw(rng.pick(&["en-US", "en-US", "hr-HR", "es-ES", "de-DE"]))
            .raw(status)
            .raw(role_id(seed, i % ROLES.len()))
            .opt_raw(
                rng.chance(80)
                    .then(|| timestamptz(EPOCH_UNIX + rng.range(0, 200 * DAY))),
            )
            .raw("default")
            .bool(rng.chance(70))
            .raw("auto");
        c.end_row()?;
    }
    c.finish()?;

    let regs = registered(tables);
    let mut c = Copy::begin(
        out,
        "public.directus_collections",
        &[
            "collection",
            "icon",
            "note",
            "hidden",
            "singleton",
            "archive_field",
            "archive_value",
            "unarchive_value",
            "sort_field",
            "accountability",
            "sort",
            "\"group\"",
            "collapse",
            "versioning",
        ],
    )?;
    c.raw("tac")
        .raw("folder")
        .text("TAC document system")
        .bool(false)
        .bool(false)
        .null()
        .null()
        .null()
        .null()
        .raw("all")
        .raw(1)
        .null()
        .raw("open")
        .bool(false);
    c.end_row()?;
    for (i, t) in regs.iter().enumerate() {
        let has_status = t.cols.iter().any(|col| col.name == "status");
        let icon = ICONS
            .iter()
            .find(|(n, _)| *n == t.name)
            .map_or("database", |(_, i)| i);
        c.text(&t.name)
            .raw(icon)
            .opt_text(t.comment)
            .bool(false)
            .bool(false)
            .opt_raw(has_status.then_some("status"))
            .opt_raw(has_status.then_some(if t.name == "dot_tools" {
                "disabled"
            } else {
                "archived"
            }))
            .opt_raw(has_status.then_some("draft"))
            .opt_raw(
                t.cols
                    .iter()
                    .any(|col| col.name == "sort")
                    .then_some("sort"),
            )
            .raw("all")
            .raw(i + 1)
            .raw("tac")
            .raw("open")
            .bool(t.name == "tac_logical_unit");
        c.end_row()?;
    }
    c.finish()?;

    let mut c = Copy::begin(
        out,
        "public.directus_fields",
        &[
            "id",
            "collection",
            "field",
            "special",
            "interface",
            "options",
            "display",
            "readonly",
            "hidden",
            "sort",
            "width",
            "note",
            "required",
            "searchable",
        ],
    )?;
    let mut fid: i64 = 0;
    for t in &regs {
        for (pos, column) in t.cols.iter().enumerate() {
            fid += 1;
            let is_pk =
                t.pk.is_some_and(|pk| pk.split(',').any(|p| p.trim() == column.name));
            let fk = t.fks.iter().find(|f| f.cols == column.name);
            let (special, interface, display): (Option<&str>, &str, Option<&str>) =
                match (column.name, column.ty) {
                    ("created_at", _) => (Some("date-created"), "datetime", Some("datetime")),
                    ("updated_at", _) => (Some("date-updated"), "datetime", Some("datetime")),
                    ("created_by", _) => {
                        (Some("user-created"), "select-dropdown-m2o", Some("user"))
                    }
                    ("body", _) => (None, "input-rich-text-md", Some("formatted-value")),
                    (_, "jsonb") => (Some("cast-json"), "input-code", None),
                    (_, "boolean") => (Some("cast-boolean"), "boolean", Some("boolean")),
                    (_, "uuid") if is_pk => (Some("uuid"), "input", None),
                    (_, ty) if ty.starts_with("timestamp") => (None, "datetime", Some("datetime")),
                    _ if fk.is_some() => (None, "select-dropdown-m2o", Some("related-values")),
                    _ => (None, "input", None),
                };
            let options = match interface {
                "input-code" => Some(json!({ "language": "JSON" })),
                "input-rich-text-md" => {
                    Some(json!({ "toolbar": ["heading", "bold", "bullist", "numlist", "code"] }))
                }
                _ => None,
            };
            let readonly =
                is_pk || special.is_some_and(|s| s.starts_with("date-") || s == "user-created");
            c.raw(fid)
                .text(&t.name)
                .raw(column.name)
                .opt_raw(special)
                .raw(interface);
            match &options {
                Some(v) => c.json(v),
                None => c.null(),
            };
            c.opt_raw(display)
                .bool(readonly)
                .bool(is_pk && column.ty != "text")
                .raw(pos + 1)
                .raw(if column.name == "body" || column.ty == "jsonb" {
                    "full"
                } else {
                    "half"
                })
                .opt_text(
                    (column.name == "body")
                        .then_some("Markdown; canonicalized with canon-md before signing."),
                )
                .bool(
                    column.extra.contains("NOT NULL")
                        && !column.extra.contains("DEFAULT")
                        && !is_pk,
                )
                .bool(column.ty != "jsonb");
            c.end_row()?;
        }
    }
    c.finish()?;
    seqs.column("public.directus_fields", "id", fid);

    let mut c = Copy::begin(
        out,
        "public.directus_relations",
        &[
            "id",
            "many_collection",
            "many_field",
            "one_collection",
            "one_deselect_action",
        ],
    )?;
    let mut rid: i64 = 0;
    for t in &regs {
        for fk in &t.fks {
            let Some(one) = fk.ref_table.strip_prefix("public.") else {
                continue;
            };
            if fk.cols.contains(',') {
                continue;
            }
            rid += 1;
            c.raw(rid)
                .text(&t.name)
                .raw(fk.cols)
                .text(one)
                .raw(if fk.on_delete == "CASCADE" {
                    "delete"
                } else {
                    "nullify"
                });
            c.end_row()?;
        }
    }
    c.finish()?;
    seqs.column("public.directus_relations", "id", rid);

    let mut c = Copy::begin(
        out,
        "public.directus_permissions",
        &[
            "id",
            "collection",
            "action",
            "permissions",
            "validation",
            "presets",
            "fields",
            "policy",
        ],
    )?;
    let mut pid: i64 = 0;
    for (pi, _) in ROLES.iter().enumerate() {
        for t in &regs {
            let mut actions = vec!["read"];
            match (pi, t.name.as_str()) {
                (
                    0,
                    "tac_logical_unit" | "tac_unit_version" | "tac_unit_tag" | "tac_attachment",
                ) => {
                    actions.extend(["create", "update"]);
                }
                (1, "tac_review") => actions.extend(["create", "update"]),
                (2, "tac_publication") => actions.extend(["create", "update", "delete"]),
                _ => {}
            }
            for action in actions {
                pid += 1;
                let perms = if action == "update" && t.name == "tac_unit_version" {
                    json!({ "status": { "_neq": "approved" } })
                } else {
                    json!({})
                };
                c.raw(pid)
                    .text(&t.name)
                    .raw(action)
                    .json(&perms)
                    .null()
                    .null()
                    .raw("*")
                    .raw(policy_id(seed, pi));
                c.end_row()?;
            }
        }
    }
    c.finish()?;
    seqs.column("public.directus_permissions", "id", pid);

    write_activity(out, ctx)?;
    let n = (ACTIVITY_PER_SCALE * ctx.scale) as i64;
    seqs.column("public.directus_activity", "id", n);
    seqs.column("public.directus_revisions", "id", n);
    Ok(())
}

/// Activity entries (and one revision each) for edits of logical units and versions.
fn write_activity<W: Write>(out: &mut W, ctx: &Ctx) -> io::Result<()> {
    let seed = ctx.seed;
    let n = ACTIVITY_PER_SCALE * ctx.scale;
    let n_units = crate::business::UNITS_PER_SCALE * ctx.scale;
    // Each activity's core facts come from a per-id stream, so the revision written for it
    // later can re-derive them without keeping the activity rows.
    let event = |id: u64| {
        let mut r = Rng::new(crate::rng::hash3(seed, "directus_activity", id), "activity");
        let k = r.below(n_units);
        let action = if r.chance(30) { "create" } else { "update" };
        let at = EPOCH_UNIX + ((id - 1) as i64 * 240 * DAY) / n as i64 + r.range(0, 3600);
        (k, action, at, r)
    };
    let mut c = Copy::begin(
        out,
        "public.directus_activity",
        &[
            "id",
            "action",
            "\"user\"",
            "\"timestamp\"",
            "ip",
            "user_agent",
            "collection",
            "item",
            "origin",
        ],
    )?;
    for id in 1..=n {
        let (k, action, at, mut rng) = event(id);
        c.raw(id)
            .raw(action)
            .raw(rng.pick_ref(&ctx.users))
            .raw(timestamptz(at))
            .raw(format_args!("192.0.2.{}", 1 + rng.below(254)))
            .raw(rng.pick(&[
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "directus-sdk/19.1.0",
            ]))
            .raw("tac_logical_unit")
            .raw(uuid_at(seed, "tac_logical_unit", k))
            .raw("https://cms.example.test");
        c.end_row()?;
    }
    c.finish()?;

    let mut rrng = Rng::new(seed, "directus_revisions");
    let mut c = Copy::begin(
        out,
        "public.directus_revisions",
        &[
            "id",
            "activity",
            "collection",
            "item",
            "data",
            "delta",
            "parent",
            "version",
        ],
    )?;
    for id in 1..=n {
        let (k, action, at, _) = event(id);
        let status = rrng.pick(&["draft", "active", "active", "retired"]);
        let data = json!({
            "code": format!("LU-{:06}", k + 1),
            "id": uuid_at(seed, "tac_logical_unit", k),
            "status": status,
            "updated_at": crate::rng::iso8601(at),
        });
        let delta = if action == "create" {
            data.clone()
        } else {
            json!({ "status": status, "updated_at": crate::rng::iso8601(at) })
        };
        c.raw(id)
            .raw(id)
            .raw("tac_logical_unit")
            .raw(uuid_at(seed, "tac_logical_unit", k))
            .json(&data)
            .json(&delta)
            .null()
            .null();
        c.end_row()?;
    }
    c.finish()?;
    Ok(())
}

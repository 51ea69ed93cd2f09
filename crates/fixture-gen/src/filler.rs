//! The filler applications in schema `tac`: one small "area" per business function
//! (crm, hr, fin, ...) each with the same family of related tables, to reach the table count.
//!
//! Table set and row counts depend only on the count requested, never on the seed or the
//! scale; the seed only changes the values.

use std::io::{self, Write};

use serde_json::json;

use crate::copy::Copy;
use crate::rng::{date, hash3, timestamptz, uuid_at, Rng, DAY, EPOCH_UNIX};
use crate::schema::{col, SeqSets, Table};
use crate::text;
use crate::Ctx;

/// Area prefixes, in order.
const AREAS: &[&str] = &[
    "crm", "hr", "fin", "inv", "ops", "proj", "kb", "mkt", "sup", "lgl",
];

/// Entity kinds of every area, parents before children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entity {
    Accounts,
    Contacts,
    Addresses,
    Notes,
    Tags,
    AccountTags,
    Settings,
    Events,
    Attachments,
    Tasks,
    TaskComments,
    Categories,
    Items,
    ItemPrices,
    Imports,
    ImportRows,
    Webhooks,
    AuditTrail,
    Snapshots,
}

const ENTITIES: &[Entity] = &[
    Entity::Accounts,
    Entity::Contacts,
    Entity::Addresses,
    Entity::Notes,
    Entity::Tags,
    Entity::AccountTags,
    Entity::Settings,
    Entity::Events,
    Entity::Attachments,
    Entity::Tasks,
    Entity::TaskComments,
    Entity::Categories,
    Entity::Items,
    Entity::ItemPrices,
    Entity::Imports,
    Entity::ImportRows,
    Entity::Webhooks,
    Entity::AuditTrail,
    Entity::Snapshots,
];

impl Entity {
    fn suffix(self) -> &'static str {
        match self {
            Entity::Accounts => "accounts",
            Entity::Contacts => "contacts",
            Entity::Addresses => "addresses",
            Entity::Notes => "notes",
            Entity::Tags => "tags",
            Entity::AccountTags => "account_tags",
            Entity::Settings => "settings",
            Entity::Events => "events",
            Entity::Attachments => "attachments",
            Entity::Tasks => "tasks",
            Entity::TaskComments => "task_comments",
            Entity::Categories => "categories",
            Entity::Items => "items",
            Entity::ItemPrices => "item_prices",
            Entity::Imports => "imports",
            Entity::ImportRows => "import_rows",
            Entity::Webhooks => "webhooks",
            Entity::AuditTrail => "audit_trail",
            Entity::Snapshots => "snapshots",
        }
    }

    /// Entities whose rows must exist for this entity to have rows.
    fn parents(self) -> &'static [Entity] {
        match self {
            Entity::Contacts | Entity::Notes | Entity::Tasks => &[Entity::Accounts],
            Entity::Addresses => &[Entity::Contacts],
            Entity::AccountTags => &[Entity::Accounts, Entity::Tags],
            Entity::Attachments => &[Entity::Notes],
            Entity::TaskComments => &[Entity::Tasks],
            Entity::Items => &[Entity::Categories],
            Entity::ItemPrices => &[Entity::Items],
            Entity::ImportRows => &[Entity::Imports],
            _ => &[],
        }
    }

    /// True if the primary key is an integer sequence (serial or identity) named `id`.
    fn has_int_id(self) -> bool {
        !matches!(
            self,
            Entity::Notes
                | Entity::AccountTags
                | Entity::Settings
                | Entity::Attachments
                | Entity::Imports
                | Entity::Snapshots
        )
    }
}

/// One filler table: its area, entity kind and row count.
#[derive(Clone, Debug)]
pub struct Filler {
    area: &'static str,
    entity: Entity,
    rows: u64,
}

impl Filler {
    fn name(&self) -> String {
        table_name(self.area, self.entity)
    }
}

fn table_name(area: &str, e: Entity) -> String {
    format!("{area}_{}", e.suffix())
}

fn q(area: &str, e: Entity) -> String {
    format!("tac.{}", table_name(area, e))
}

/// Maximum number of filler tables this module can produce.
pub fn capacity() -> usize {
    AREAS.len() * ENTITIES.len()
}

/// The first `n` filler tables (areas in order, entities in order) with their row counts.
pub fn plan(n: usize) -> Vec<Filler> {
    let mut out: Vec<Filler> = Vec::with_capacity(n);
    'areas: for (ai, area) in AREAS.iter().enumerate() {
        for (ei, e) in ENTITIES.iter().enumerate() {
            if out.len() == n {
                break 'areas;
            }
            let idx = (ai * ENTITIES.len() + ei) as u64;
            let h = hash3(0x7AC0_F111, "filler.count", idx);
            let mut rows = if h % 9 == 4 { 0 } else { 1 + (h >> 8) % 50 };
            for p in e.parents() {
                let parent_rows = out
                    .iter()
                    .find(|f| f.area == *area && f.entity == *p)
                    .map_or(0, |f| f.rows);
                if parent_rows == 0 {
                    rows = 0;
                }
            }
            if *e == Entity::AccountTags {
                let acc = rows_of(&out, area, Entity::Accounts);
                let tags = rows_of(&out, area, Entity::Tags);
                rows = rows.min(acc * tags);
            }
            out.push(Filler {
                area,
                entity: *e,
                rows,
            });
        }
    }
    out
}

fn rows_of(plan: &[Filler], area: &str, e: Entity) -> u64 {
    plan.iter()
        .find(|f| f.area == area && f.entity == e)
        .map_or(0, |f| f.rows)
}

/// Table definition of a filler table.
pub fn table(f: &Filler) -> Table {
    let a = f.area;
    let ts = "timestamp with time zone";
    let name = f.name();
    match f.entity {
        Entity::Accounts => Table::new(
            "tac",
            name,
            vec![
                col("id", "bigint", "GENERATED BY DEFAULT AS IDENTITY"),
                col("uid", "uuid", "NOT NULL"),
                col("name", "text", "NOT NULL"),
                col("status", "text", "DEFAULT 'active'::text NOT NULL"),
                col("balance", "numeric(14,2)", "DEFAULT 0 NOT NULL"),
                col("is_active", "boolean", "DEFAULT true NOT NULL"),
                col("meta", "jsonb", "DEFAULT '{}'::jsonb NOT NULL"),
                col("created_at", ts, "DEFAULT CURRENT_TIMESTAMP NOT NULL"),
                col("updated_at", ts, ""),
            ],
        )
        .pk("id")
        .unique("uid"),
        Entity::Contacts => Table::new(
            "tac",
            name,
            vec![
                col("id", "serial", "NOT NULL"),
                col("account_id", "bigint", "NOT NULL"),
                col("first_name", "text", "NOT NULL"),
                col("last_name", "text", "NOT NULL"),
                col("email", "text", ""),
                col("phone", "text", ""),
                col("created_at", ts, "NOT NULL"),
            ],
        )
        .pk("id")
        .fk("account_id", q(a, Entity::Accounts), "id", "CASCADE"),
        Entity::Addresses => Table::new(
            "tac",
            name,
            vec![
                col("id", "serial", "NOT NULL"),
                col("contact_id", "integer", "NOT NULL"),
                col("line1", "text", "NOT NULL"),
                col("city", "text", "NOT NULL"),
                col("country_code", "character(2)", "NOT NULL"),
                col("postal_code", "text", ""),
            ],
        )
        .pk("id")
        .fk("contact_id", q(a, Entity::Contacts), "id", "CASCADE"),
        Entity::Notes => Table::new(
            "tac",
            name,
            vec![
                col("id", "uuid", "NOT NULL"),
                col("account_id", "bigint", ""),
                col("body", "text", "NOT NULL"),
                col("pinned", "boolean", "DEFAULT false NOT NULL"),
                col("created_at", ts, "NOT NULL"),
            ],
        )
        .pk("id")
        .fk("account_id", q(a, Entity::Accounts), "id", "SET NULL"),
        Entity::Tags => Table::new(
            "tac",
            name,
            vec![
                col("id", "serial", "NOT NULL"),
                col("label", "text", "NOT NULL"),
                col("color", "text", ""),
            ],
        )
        .pk("id")
        .unique("label"),
        Entity::AccountTags => Table::new(
            "tac",
            name,
            vec![
                col("account_id", "bigint", "NOT NULL"),
                col("tag_id", "integer", "NOT NULL"),
            ],
        )
        .pk("account_id, tag_id")
        .fk("account_id", q(a, Entity::Accounts), "id", "CASCADE")
        .fk("tag_id", q(a, Entity::Tags), "id", "CASCADE"),
        Entity::Settings => Table::new(
            "tac",
            name,
            vec![
                col("setting_key", "text", "NOT NULL"),
                col("setting_value", "jsonb", "NOT NULL"),
                col("updated_at", ts, "NOT NULL"),
            ],
        )
        .pk("setting_key"),
        Entity::Events => Table::new(
            "tac",
            name,
            vec![
                col("id", "bigserial", "NOT NULL"),
                col("kind", "text", "NOT NULL"),
                col("payload", "jsonb", ""),
                col("occurred_at", ts, "NOT NULL"),
            ],
        )
        .pk("id"),
        Entity::Attachments => Table::new(
            "tac",
            name,
            vec![
                col("id", "uuid", "NOT NULL"),
                col("note_id", "uuid", "NOT NULL"),
                col("filename", "text", "NOT NULL"),
                col("mime_type", "text", "NOT NULL"),
                col("size_bytes", "bigint", "NOT NULL"),
                col("sha256", "text", ""),
            ],
        )
        .pk("id")
        .check("size", "size_bytes >= 0")
        .fk("note_id", q(a, Entity::Notes), "id", "CASCADE"),
        Entity::Tasks => Table::new(
            "tac",
            name,
            vec![
                col("id", "integer", "GENERATED BY DEFAULT AS IDENTITY"),
                col("account_id", "bigint", ""),
                col("title", "text", "NOT NULL"),
                col("due_on", "date", ""),
                col("priority", "smallint", "DEFAULT 3 NOT NULL"),
                col("done", "boolean", "DEFAULT false NOT NULL"),
                col("estimate_hours", "numeric(6,2)", ""),
            ],
        )
        .pk("id")
        .check("priority", "priority >= 1 AND priority <= 5")
        .fk("account_id", q(a, Entity::Accounts), "id", "SET NULL"),
        Entity::TaskComments => Table::new(
            "tac",
            name,
            vec![
                col("id", "bigint", "GENERATED BY DEFAULT AS IDENTITY"),
                col("task_id", "integer", "NOT NULL"),
                col("author", "uuid", ""),
                col("body", "text", "NOT NULL"),
                col("created_at", ts, "NOT NULL"),
            ],
        )
        .pk("id")
        .fk("task_id", q(a, Entity::Tasks), "id", "CASCADE")
        .fk("author", "public.directus_users", "id", "SET NULL"),
        Entity::Categories => Table::new(
            "tac",
            name,
            vec![
                col("id", "serial", "NOT NULL"),
                col("parent_id", "integer", ""),
                col("name", "text", "NOT NULL"),
                col("slug", "text", "NOT NULL"),
            ],
        )
        .pk("id")
        .unique("slug")
        .fk("parent_id", q(a, Entity::Categories), "id", ""),
        Entity::Items => Table::new(
            "tac",
            name,
            vec![
                col("id", "integer", "GENERATED BY DEFAULT AS IDENTITY"),
                col("category_id", "integer", "NOT NULL"),
                col("sku", "text", "NOT NULL"),
                col("name", "text", "NOT NULL"),
                col("unit_price", "numeric(12,2)", "NOT NULL"),
                col("active", "boolean", "DEFAULT true NOT NULL"),
                col("attrs", "jsonb", ""),
            ],
        )
        .pk("id")
        .unique("sku")
        .fk("category_id", q(a, Entity::Categories), "id", ""),
        Entity::ItemPrices => Table::new(
            "tac",
            name,
            vec![
                col("id", "bigserial", "NOT NULL"),
                col("item_id", "integer", "NOT NULL"),
                col("currency", "character(3)", "NOT NULL"),
                col("amount", "numeric(12,2)", "NOT NULL"),
                col("valid_from", "date", "NOT NULL"),
                col("valid_to", "date", ""),
            ],
        )
        .pk("id")
        .check("validity", "valid_to IS NULL OR valid_to > valid_from")
        .fk("item_id", q(a, Entity::Items), "id", "CASCADE"),
        Entity::Imports => Table::new(
            "tac",
            name,
            vec![
                col("id", "uuid", "NOT NULL"),
                col("source", "text", "NOT NULL"),
                col("status", "text", "NOT NULL"),
                col("started_at", ts, "NOT NULL"),
                col("finished_at", ts, ""),
                col("row_count", "integer", "DEFAULT 0 NOT NULL"),
            ],
        )
        .pk("id"),
        Entity::ImportRows => Table::new(
            "tac",
            name,
            vec![
                col("id", "bigint", "GENERATED BY DEFAULT AS IDENTITY"),
                col("import_id", "uuid", "NOT NULL"),
                col("line_no", "integer", "NOT NULL"),
                col("raw", "jsonb", "NOT NULL"),
                col("error", "text", ""),
            ],
        )
        .pk("id")
        .unique("import_id, line_no")
        .fk("import_id", q(a, Entity::Imports), "id", "CASCADE"),
        Entity::Webhooks => Table::new(
            "tac",
            name,
            vec![
                col("id", "serial", "NOT NULL"),
                col("url", "text", "NOT NULL"),
                col("secret_hash", "text", ""),
                col("events", "text[]", "DEFAULT '{}'::text[] NOT NULL"),
                col("enabled", "boolean", "DEFAULT true NOT NULL"),
            ],
        )
        .pk("id"),
        Entity::AuditTrail => Table::new(
            "tac",
            name,
            vec![
                col("id", "bigint", "GENERATED BY DEFAULT AS IDENTITY"),
                col("actor", "uuid", ""),
                col("action", "text", "NOT NULL"),
                col("entity", "text", "NOT NULL"),
                col("entity_id", "text", "NOT NULL"),
                col("at", ts, "NOT NULL"),
                col("diff", "jsonb", ""),
            ],
        )
        .pk("id"),
        Entity::Snapshots => Table::new(
            "tac",
            name,
            vec![
                col("id", "uuid", "NOT NULL"),
                col("taken_at", ts, "NOT NULL"),
                col("data", "jsonb", "NOT NULL"),
                col("size_bytes", "bigint", "NOT NULL"),
            ],
        )
        .pk("id"),
    }
}

/// Writes the rows of one filler table and records its sequence position.
pub fn write_data<W: Write>(
    out: &mut W,
    ctx: &Ctx,
    plan: &[Filler],
    f: &Filler,
    seqs: &mut SeqSets,
) -> io::Result<u64> {
    let t = table(f);
    let qname = t.qname();
    let seed = ctx.seed;
    let a = f.area;
    let mut rng = Rng::new(seed, &qname);
    let parent = |e: Entity| rows_of(plan, a, e).max(1);
    let uid = |e: Entity, k: u64| uuid_at(seed, &q(a, e), k);
    let ts = |rng: &mut Rng| timestamptz(EPOCH_UNIX - 200 * DAY + rng.range(0, 300 * DAY));

    let mut c = Copy::begin(out, &qname, &t.col_names())?;
    for k in 0..f.rows {
        let id = k + 1;
        match f.entity {
            Entity::Accounts => {
                let name = format!(
                    "{} {} {}",
                    capital(text::word(&mut rng)),
                    capital(text::word(&mut rng)),
                    rng.pick(&["d.o.o.", "GmbH", "S.L.", "Ltd", "Inc.", "AB"])
                );
                let meta = json!({
                    "segment": rng.pick(&["smb", "enterprise", "public"]),
                    "tier": rng.range(1, 3),
                });
                c.raw(id)
                    .raw(uuid_at(seed, &qname, k))
                    .text(&name)
                    .raw(rng.pick(&["active", "active", "prospect", "closed"]))
                    .cents(rng.range(-50_000, 5_000_000))
                    .bool(rng.chance(85))
                    .json(&meta)
                    .raw(ts(&mut rng))
                    .opt_raw(rng.chance(70).then(|| ts(&mut rng)));
            }
            Entity::Contacts => {
                let first = rng.pick(text::FIRST_NAMES);
                let last = rng.pick(text::LAST_NAMES);
                let email = format!("contact{id}.{a}@example.test");
                c.raw(id)
                    .raw(1 + rng.below(parent(Entity::Accounts)))
                    .text(first)
                    .text(last)
                    .opt_text(rng.chance(90).then_some(email.as_str()))
                    .opt_raw(
                        rng.chance(60)
                            .then(|| format!("+385 1 {:07}", rng.below(10_000_000))),
                    )
                    .raw(ts(&mut rng));
            }
            Entity::Addresses => {
                let (city, cc) = rng.pick(&[
                    ("Zagreb", "HR"),
                    ("Split", "HR"),
                    ("Madrid", "ES"),
                    ("A Coruña", "ES"),
                    ("Zürich", "CH"),
                    ("Kraków", "PL"),
                    ("Lyon", "FR"),
                    ("Leeds", "GB"),
                ]);
                c.raw(id)
                    .raw(1 + rng.below(parent(Entity::Contacts)))
                    .text(&format!(
                        "{} {} {}",
                        rng.range(1, 200),
                        capital(text::word(&mut rng)),
                        "Street"
                    ))
                    .text(city)
                    .raw(cc)
                    .opt_raw(rng.chance(90).then(|| rng.range(10_000, 99_999)));
            }
            Entity::Notes => {
                c.raw(uuid_at(seed, &qname, k))
                    .opt_raw(
                        rng.chance(90)
                            .then(|| 1 + rng.below(parent(Entity::Accounts))),
                    )
                    .text(&text::sentence(&mut rng, 5, 25, 5, false))
                    .bool(rng.chance(10))
                    .raw(ts(&mut rng));
            }
            Entity::Tags => {
                let color = format!("#{}", rng.hex(3));
                c.raw(id)
                    .text(&format!("{}-{id}", text::word(&mut rng)))
                    .opt_text(rng.chance(80).then_some(color.as_str()));
            }
            Entity::AccountTags => {
                let acc = rows_of(plan, a, Entity::Accounts).max(1);
                let tags = rows_of(plan, a, Entity::Tags).max(1);
                c.raw(k % acc + 1).raw((k / acc) % tags + 1);
            }
            Entity::Settings => {
                let v = json!({ "enabled": rng.chance(50), "limit": rng.range(1, 1000) });
                c.text(&format!("{a}.{}.{id}", text::word(&mut rng)))
                    .json(&v)
                    .raw(ts(&mut rng));
            }
            Entity::Events => {
                let p = rng
                    .chance(85)
                    .then(|| json!({ "n": rng.range(0, 100), "ok": rng.chance(90) }));
                c.raw(id)
                    .raw(rng.pick(&["login", "export", "sync", "error", "notify"]));
                match &p {
                    Some(v) => c.json(v),
                    None => c.null(),
                };
                c.raw(ts(&mut rng));
            }
            Entity::Attachments => {
                let note = rng.below(parent(Entity::Notes));
                c.raw(uuid_at(seed, &qname, k))
                    .raw(uid(Entity::Notes, note))
                    .text(&format!("{}_{id}.pdf", text::word(&mut rng)))
                    .raw("application/pdf")
                    .raw(rng.range(1_000, 5_000_000))
                    .opt_raw(rng.chance(80).then(|| rng.hex(32)));
            }
            Entity::Tasks => {
                let due = rng
                    .chance(70)
                    .then(|| date(EPOCH_UNIX + rng.range(-60 * DAY, 120 * DAY)));
                c.raw(id)
                    .opt_raw(
                        rng.chance(85)
                            .then(|| 1 + rng.below(parent(Entity::Accounts))),
                    )
                    .text(&text::sentence(&mut rng, 3, 8, 3, false))
                    .opt_raw(due)
                    .raw(rng.range(1, 5))
                    .bool(rng.chance(40));
                if rng.chance(60) {
                    c.cents(rng.range(25, 4000));
                } else {
                    c.null();
                }
            }
            Entity::TaskComments => {
                c.raw(id)
                    .raw(1 + rng.below(parent(Entity::Tasks)))
                    .opt_raw(rng.chance(90).then(|| rng.pick_ref(&ctx.users).clone()))
                    .text(&text::sentence(&mut rng, 4, 20, 8, false))
                    .raw(ts(&mut rng));
            }
            Entity::Categories => {
                let name = capital(text::word(&mut rng));
                c.raw(id)
                    .opt_raw((id > 3 && rng.chance(60)).then(|| 1 + rng.below(id - 1)))
                    .text(&name)
                    .text(&format!("{}-{id}", name.to_lowercase()));
            }
            Entity::Items => {
                let attrs = rng
                    .chance(50)
                    .then(|| json!({ "color": rng.pick(&["red", "blue", "grey"]), "weight_g": rng.range(10, 5000) }));
                c.raw(id)
                    .raw(1 + rng.below(parent(Entity::Categories)))
                    .raw(format_args!("{}-{:05}", a.to_uppercase(), id))
                    .text(&format!(
                        "{} {}",
                        capital(text::word(&mut rng)),
                        text::word(&mut rng)
                    ))
                    .cents(rng.range(99, 250_000))
                    .bool(rng.chance(90));
                match &attrs {
                    Some(v) => c.json(v),
                    None => c.null(),
                };
            }
            Entity::ItemPrices => {
                let from = EPOCH_UNIX - rng.range(0, 400) * DAY;
                let to = rng
                    .chance(40)
                    .then(|| date(from + rng.range(30, 365) * DAY));
                c.raw(id)
                    .raw(1 + rng.below(parent(Entity::Items)))
                    .raw(rng.pick(&["EUR", "EUR", "USD", "GBP", "CHF"]))
                    .cents(rng.range(99, 250_000))
                    .raw(date(from))
                    .opt_raw(to);
            }
            Entity::Imports => {
                let start = EPOCH_UNIX - rng.range(0, 200) * DAY;
                let done = rng.chance(85);
                c.raw(uuid_at(seed, &qname, k))
                    .raw(rng.pick(&["csv", "xlsx", "api", "legacy-db"]))
                    .raw(if done { "finished" } else { "failed" })
                    .raw(timestamptz(start))
                    .opt_raw(done.then(|| timestamptz(start + rng.range(5, 3600))))
                    .raw(rng.range(0, 5000));
            }
            Entity::ImportRows => {
                let imports = parent(Entity::Imports);
                let raw = json!({ "col1": text::word(&mut rng), "col2": rng.range(0, 999) });
                c.raw(id)
                    .raw(uid(Entity::Imports, k % imports))
                    .raw(k / imports + 1)
                    .json(&raw)
                    .opt_raw(rng.chance(10).then_some("invalid date"));
            }
            Entity::Webhooks => {
                let n = rng.range(1, 3) as usize;
                let evs: Vec<&str> = (0..n)
                    .map(|i| ["items.create", "items.update", "items.delete"][i])
                    .collect();
                c.raw(id)
                    .text(&format!("https://hooks.example.test/{a}/{id}"))
                    .opt_raw(rng.chance(70).then(|| rng.hex(16)))
                    .raw(format_args!("{{{}}}", evs.join(",")))
                    .bool(rng.chance(80));
            }
            Entity::AuditTrail => {
                let diff = rng
                    .chance(70)
                    .then(|| json!({ "field": text::word(&mut rng), "from": rng.range(0, 9), "to": rng.range(0, 9) }));
                c.raw(id)
                    .opt_raw(rng.chance(90).then(|| rng.pick_ref(&ctx.users).clone()))
                    .raw(rng.pick(&["insert", "update", "delete"]))
                    .raw(table_name(a, Entity::Accounts))
                    .raw(rng.range(1, 50))
                    .raw(ts(&mut rng));
                match &diff {
                    Some(v) => c.json(v),
                    None => c.null(),
                };
            }
            Entity::Snapshots => {
                let data =
                    json!({ "rows": rng.range(0, 10_000), "tables": rng.range(1, 19), "area": a });
                c.raw(uuid_at(seed, &qname, k))
                    .raw(ts(&mut rng))
                    .json(&data)
                    .raw(rng.range(1_000, 90_000_000));
            }
        }
        c.end_row()?;
    }
    let rows = c.finish()?;
    if f.entity.has_int_id() {
        seqs.column(&qname, "id", rows as i64);
    }
    Ok(rows)
}

fn capital(w: &str) -> String {
    let mut cs = w.chars();
    match cs.next() {
        Some(f) => f.to_uppercase().chain(cs).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_consistent() {
        let p = plan(capacity());
        assert_eq!(p.len(), capacity());
        for f in &p {
            for parent in f.entity.parents() {
                if f.rows > 0 {
                    assert!(
                        rows_of(&p, f.area, *parent) > 0,
                        "{} without parent rows",
                        f.name()
                    );
                }
            }
            assert!(f.rows <= 50);
        }
        assert!(p.iter().any(|f| f.rows == 0));
        assert_eq!(plan(5).len(), 5);
    }
}

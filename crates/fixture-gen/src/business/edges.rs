//! The rows of `universal_edges`: typed links between units, versions, publications, the DOT
//! tools and Directus users, drawn from one seeded stream.

use std::io::{self, Write};

use serde_json::json;

use crate::copy::Copy;
use crate::rng::{timestamptz, uuid_at, Rng, DAY, EPOCH_UNIX};
use crate::schema::{SeqSets, Table};
use crate::Ctx;

use super::tables::find;
use super::EDGES_PER_SCALE;
pub(super) fn write_edges<W: Write>(
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

//! The rows of the partitioned audit log `tac_audit_event`: events spread over 2026 in time
//! order so both partitions fill, and its standalone id sequence.

use std::io::{self, Write};

use serde_json::json;

use crate::copy::Copy;
use crate::rng::{timestamptz, uuid_at, Rng, DAY, EPOCH_UNIX};
use crate::schema::{SeqSets, Table};
use crate::Ctx;

use super::tables::find;
use super::{AUDIT_PER_SCALE, AUDIT_SEQ};
pub(super) fn write_audit<W: Write>(
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

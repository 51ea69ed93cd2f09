//! Per-unit facts derived from (seed, unit index) alone: id, creation time, number of versions,
//! latest status and title, so dependent tables stream without keeping earlier rows.

use crate::rng::{hash3, uuid_at, Rng, DAY, EPOCH_UNIX};
use crate::text;
/// Latest-version status of a logical unit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Latest {
    Approved,
    InReview,
    Draft,
}

/// Facts about logical unit `i` that other tables need, derived without state.
pub(super) struct Unit {
    pub(super) id: String,
    pub(super) created: i64,
    pub(super) versions: u64,
    pub(super) latest: Latest,
}

pub(super) fn unit(seed: u64, i: u64) -> Unit {
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

pub(super) fn unit_title(seed: u64, i: u64) -> String {
    let mut r = Rng::new(hash3(seed, "tac_logical_unit.title", i), "title");
    text::title(&mut r)
}

/// Creation time of version `v` (1-based) of a unit.
pub(super) fn version_created(seed: u64, u: &Unit, i: u64, v: u64) -> i64 {
    let h = hash3(seed, "tac_unit_version.created", i * 8 + v);
    u.created + (v as i64 - 1) * 20 * DAY + (h % (10 * DAY as u64)) as i64
}

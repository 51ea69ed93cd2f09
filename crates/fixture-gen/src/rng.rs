//! Deterministic randomness: a hand-rolled xoshiro256** PRNG seeded through SplitMix64,
//! plus stateless hashing helpers and the seed-derived UUID / timestamp / date formatting.
//!
//! The generator is implemented here (not taken from a crate) so that the byte stream for a
//! given seed can never change because a dependency changed its algorithm or its defaults.

use std::fmt::Write as _;

/// Fixed epoch every generated timestamp is based on: 2026-01-01T00:00:00Z.
pub const EPOCH_UNIX: i64 = 1_767_225_600;

/// Seconds in one day.
pub const DAY: i64 = 86_400;

/// One SplitMix64 step: advances `state` and returns a well-mixed 64-bit value.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over a label, used to separate independent streams of the same seed.
const fn label_hash(label: &str) -> u64 {
    let bytes = label.as_bytes();
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
        i += 1;
    }
    h
}

/// Stateless hash of (seed, label, index): used when a value must be recomputable from
/// an index alone (e.g. the UUID of logical unit #i, or its number of versions).
pub fn hash3(seed: u64, label: &str, index: u64) -> u64 {
    let mut s =
        seed ^ label_hash(label).rotate_left(17) ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    splitmix64(&mut s);
    splitmix64(&mut s)
}

/// Seed-derived UUID (version 4 layout) for entity `index` of kind `label`.
pub fn uuid_at(seed: u64, label: &str, index: u64) -> String {
    let hi = hash3(seed, label, index.wrapping_mul(2));
    let lo = hash3(seed, label, index.wrapping_mul(2).wrapping_add(1));
    format_uuid(hi, lo)
}

/// Formats 128 random bits as a canonical lowercase v4 UUID.
pub fn format_uuid(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    let mut s = String::with_capacity(36);
    // Writing into a String cannot fail.
    let _ = write!(
        s,
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    );
    s
}

/// xoshiro256** generator; one instance per table (stream) keeps tables independent.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for stream `label` of `seed`.
    pub fn new(seed: u64, label: &str) -> Self {
        let mut sm = seed ^ label_hash(label);
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Rng { s }
    }

    /// Next raw 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform integer in `0..n` (returns 0 when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant for fixtures.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64 + 1;
        lo + self.below(span) as i64
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A uniformly chosen element of a non-empty slice (callers only pass constant,
    /// non-empty tables; an empty slice panics, which would be a generator bug).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *self.pick_ref(items)
    }

    /// Like [`Rng::pick`], returning a reference.
    pub fn pick_ref<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = self.below(items.len() as u64) as usize;
        &items[i.min(items.len().saturating_sub(1))]
    }

    /// Lowercase hex string of `bytes` random bytes.
    pub fn hex(&mut self, bytes: usize) -> String {
        let mut s = String::with_capacity(bytes * 2);
        let mut left = bytes;
        while left > 0 {
            let v = self.next_u64();
            let take = left.min(8);
            for k in 0..take {
                let _ = write!(s, "{:02x}", (v >> (8 * k)) & 0xFF);
            }
            left -= take;
        }
        s
    }
}

/// Converts days since 1970-01-01 to a civil (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD HH:MM:SS+00` for a Unix timestamp (the COPY text form of timestamptz).
pub fn timestamptz(unix: i64) -> String {
    let days = unix.div_euclid(DAY);
    let secs = unix.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}+00",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ` (ISO 8601, used inside JSON payloads).
pub fn iso8601(unix: i64) -> String {
    let days = unix.div_euclid(DAY);
    let secs = unix.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// `YYYY-MM-DD` for a Unix timestamp (the COPY text form of date).
pub fn date(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_formats() {
        assert_eq!(timestamptz(EPOCH_UNIX), "2026-01-01 00:00:00+00");
        assert_eq!(timestamptz(0), "1970-01-01 00:00:00+00");
        assert_eq!(timestamptz(951_782_400 + 3_661), "2000-02-29 01:01:01+00");
        assert_eq!(date(EPOCH_UNIX + 181 * DAY), "2026-07-01");
        assert_eq!(iso8601(EPOCH_UNIX - 1), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn uuid_layout() {
        let u = uuid_at(7, "x", 3);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(u, uuid_at(7, "x", 3));
        assert_ne!(u, uuid_at(7, "x", 4));
        assert_ne!(u, uuid_at(8, "x", 3));
    }

    #[test]
    fn streams_are_reproducible_and_independent() {
        let mut a = Rng::new(1, "t");
        let mut b = Rng::new(1, "t");
        let mut c = Rng::new(1, "u");
        let va: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let vb: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let vc: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(va, vb);
        assert_ne!(va, vc);
        let mut r = Rng::new(5, "r");
        for _ in 0..1000 {
            let v = r.range(-3, 3);
            assert!((-3..=3).contains(&v));
        }
    }
}

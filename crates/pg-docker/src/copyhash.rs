//! The content hash of a table: an order-independent multiset hash of the rows of a binary COPY
//! stream (`COPY … TO STDOUT (FORMAT binary)`), fed chunk by chunk from any transport.
//!
//! Definition (version `v2`): every tuple of the stream, exactly as framed by binary COPY
//! (its 16-bit field count, then per field the 32-bit length, `-1` for NULL, and the bytes),
//! is hashed with SHA-256; the 256-bit digests, read as big-endian integers, are added modulo
//! 2^256; the table's content hash is `SHA-256("dryrun-data-fp/v2\0" || sum)` in hex.
//!
//! Why a sum of SHA-256 digests: addition is commutative and associative, so row order,
//! physical layout and how rows are split between chunks or connections do not matter, while
//! a duplicate row adds its digest twice (XOR would cancel it). A modular sum over 256-bit
//! digests is the classic "AdHash" multiset hash; for accidental differences (what a dry run
//! must catch) two different row multisets collide with probability about 2^-256 per pair.
//! A deliberate forger could use generalized-birthday (Wagner) attacks to find colliding sets
//! far faster than 2^128, which is acceptable here: the harness proves its own restore and
//! revert, it does not defend against an adversary who chooses rows. The row count is kept
//! next to the hash, so a collision would also need an equal count.
//!
//! Binary COPY is each type's `send` function: the bytes are identical for equal values on the
//! same PostgreSQL major version (independent of DateStyle, TimeZone, extra_float_digits,
//! bytea_output, lc_monetary), which is the comparison the harness makes. Across majors a
//! type's binary form could in principle change; compare fingerprints within one major only.

use sha2::{Digest, Sha256};

/// The 11-byte signature that starts every binary COPY stream.
pub const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Domain tag of the content hash (changes if the definition changes).
pub const DEFINITION: &str = "dryrun-data-fp/v2";
/// Flag bit 16 of the header: OIDs are included (never asked for; refused).
const FLAG_OIDS: u32 = 1 << 16;

/// A malformed binary COPY stream (a transport or server problem, never user input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed binary COPY stream at byte {offset} of table #{table}: {what}")]
pub struct FormatError {
    pub table: usize,
    pub offset: u64,
    pub what: &'static str,
}

/// One table's result: the number of tuples and the content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    pub rows: i64,
    pub content_sha256: String,
    /// Bytes of the binary COPY stream (header and trailer included).
    pub bytes: u64,
}

/// Order-independent sum of per-row SHA-256 digests (mod 2^256, four 64-bit limbs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MultisetSum([u64; 4]);

impl MultisetSum {
    /// Add one row's digest.
    pub fn add_row(&mut self, row: &[u8]) {
        let d = Sha256::digest(row);
        let mut carry = 0u64;
        // limb 0 is the least significant: digest bytes 24..32
        for i in 0..4 {
            let off = 24 - 8 * i;
            let mut limb = [0u8; 8];
            limb.copy_from_slice(&d[off..off + 8]);
            let v = u64::from_be_bytes(limb);
            let (s1, c1) = self.0[i].overflowing_add(v);
            let (s2, c2) = s1.overflowing_add(carry);
            self.0[i] = s2;
            carry = u64::from(c1) + u64::from(c2);
        }
    }
    /// The content hash of the multiset.
    pub fn finish(&self) -> String {
        let mut h = Sha256::new();
        h.update(DEFINITION.as_bytes());
        h.update([0u8]);
        for limb in self.0.iter().rev() {
            h.update(limb.to_be_bytes());
        }
        hex::encode(h.finalize())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Header,
    Tuples,
    End,
}

/// Hashes a concatenation of `tables` binary COPY streams (one per table, each with its
/// header and trailer), arriving in chunks split anywhere.
#[derive(Debug)]
pub struct StreamHasher {
    expected: usize,
    done: Vec<TableDigest>,
    phase: Phase,
    pending: Vec<u8>,
    offset: u64,
    table_start: u64,
    rows: i64,
    sum: MultisetSum,
}

impl StreamHasher {
    /// A hasher for a stream of `tables` consecutive COPY outputs.
    pub fn new(tables: usize) -> StreamHasher {
        StreamHasher {
            expected: tables,
            done: Vec::with_capacity(tables),
            phase: if tables == 0 {
                Phase::End
            } else {
                Phase::Header
            },
            pending: Vec::new(),
            offset: 0,
            table_start: 0,
            rows: 0,
            sum: MultisetSum::default(),
        }
    }

    fn err(&self, what: &'static str) -> FormatError {
        FormatError {
            table: self.done.len() + 1,
            offset: self.offset,
            what,
        }
    }

    /// Feed the next chunk.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), FormatError> {
        if self.pending.is_empty() {
            let used = self.parse(data)?;
            self.pending.extend_from_slice(&data[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.pending);
            buf.extend_from_slice(data);
            let used = self.parse(&buf)?;
            buf.drain(..used);
            self.pending = buf;
        }
        Ok(())
    }

    /// Parse as many complete items (header, tuple, trailer) as `buf` holds; returns the
    /// number of bytes consumed.
    fn parse(&mut self, buf: &[u8]) -> Result<usize, FormatError> {
        let mut pos = 0usize;
        loop {
            let rest = &buf[pos..];
            match self.phase {
                Phase::End => {
                    if !rest.is_empty() {
                        return Err(self.err("bytes after the last table's trailer"));
                    }
                    return Ok(pos);
                }
                Phase::Header => {
                    if rest.len() < 19 {
                        return Ok(pos);
                    }
                    if &rest[..11] != SIGNATURE {
                        return Err(self.err("missing PGCOPY signature"));
                    }
                    let flags = u32::from_be_bytes([rest[11], rest[12], rest[13], rest[14]]);
                    if flags & FLAG_OIDS != 0 {
                        return Err(self.err("stream includes OIDs"));
                    }
                    let ext = u32::from_be_bytes([rest[15], rest[16], rest[17], rest[18]]) as usize;
                    if rest.len() < 19 + ext {
                        return Ok(pos);
                    }
                    self.table_start = self.offset;
                    pos += 19 + ext;
                    self.offset += (19 + ext) as u64;
                    self.phase = Phase::Tuples;
                }
                Phase::Tuples => {
                    if rest.len() < 2 {
                        return Ok(pos);
                    }
                    let fields = i16::from_be_bytes([rest[0], rest[1]]);
                    if fields == -1 {
                        pos += 2;
                        self.offset += 2;
                        self.done.push(TableDigest {
                            rows: self.rows,
                            content_sha256: self.sum.finish(),
                            bytes: self.offset - self.table_start,
                        });
                        self.rows = 0;
                        self.sum = MultisetSum::default();
                        self.phase = if self.done.len() == self.expected {
                            Phase::End
                        } else {
                            Phase::Header
                        };
                        continue;
                    }
                    if fields < 0 {
                        return Err(self.err("negative field count"));
                    }
                    let mut end = 2usize;
                    let mut complete = true;
                    for _ in 0..fields {
                        if rest.len() < end + 4 {
                            complete = false;
                            break;
                        }
                        let len = i32::from_be_bytes([
                            rest[end],
                            rest[end + 1],
                            rest[end + 2],
                            rest[end + 3],
                        ]);
                        end += 4;
                        if len == -1 {
                            continue;
                        }
                        if len < 0 {
                            return Err(self.err("negative field length"));
                        }
                        end += len as usize;
                        if rest.len() < end {
                            complete = false;
                            break;
                        }
                    }
                    if !complete {
                        return Ok(pos);
                    }
                    self.sum.add_row(&rest[..end]);
                    self.rows += 1;
                    pos += end;
                    self.offset += end as u64;
                }
            }
        }
    }

    /// The digests of all tables; an error if the stream ended early.
    pub fn finish(self) -> Result<Vec<TableDigest>, FormatError> {
        if self.phase != Phase::End || !self.pending.is_empty() {
            return Err(self.err("stream ended before the last table's trailer"));
        }
        Ok(self.done)
    }
}

/// Hash one complete stream held in memory (tests, small tables).
pub fn hash_stream(data: &[u8], tables: usize) -> Result<Vec<TableDigest>, FormatError> {
    let mut h = StreamHasher::new(tables);
    h.feed(data)?;
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(rows: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
        let mut v = SIGNATURE.to_vec();
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        for r in rows {
            v.extend_from_slice(&(r.len() as i16).to_be_bytes());
            for f in r {
                match f {
                    None => v.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(b) => {
                        v.extend_from_slice(&(b.len() as i32).to_be_bytes());
                        v.extend_from_slice(b);
                    }
                }
            }
        }
        v.extend_from_slice(&(-1i16).to_be_bytes());
        v
    }

    #[test]
    fn order_independent_duplicates_count_and_split_anywhere() {
        let a: Vec<Option<&[u8]>> = vec![Some(b"1"), None, Some(b"x")];
        let b: Vec<Option<&[u8]>> = vec![Some(b"2"), Some(b""), Some(b"y")];
        let ab = stream(&[a.clone(), b.clone()]);
        let ba = stream(&[b.clone(), a.clone()]);
        let aab = stream(&[a.clone(), a.clone(), b.clone()]);
        let h_ab = hash_stream(&ab, 1).unwrap();
        assert_eq!(h_ab[0].rows, 2);
        assert_eq!(h_ab, hash_stream(&ba, 1).unwrap());
        let h_aab = hash_stream(&aab, 1).unwrap();
        assert_eq!(h_aab[0].rows, 3);
        assert_ne!(h_ab[0].content_sha256, h_aab[0].content_sha256);
        // NULL differs from empty
        let n = stream(&[vec![None]]);
        let e = stream(&[vec![Some(b"")]]);
        assert_ne!(
            hash_stream(&n, 1).unwrap()[0].content_sha256,
            hash_stream(&e, 1).unwrap()[0].content_sha256
        );
        // every split point, byte by byte and two tables back to back
        let mut two = ab.clone();
        two.extend_from_slice(&aab);
        let whole = hash_stream(&two, 2).unwrap();
        for cut in 0..two.len() {
            let mut h = StreamHasher::new(2);
            h.feed(&two[..cut]).unwrap();
            h.feed(&two[cut..]).unwrap();
            assert_eq!(h.finish().unwrap(), whole, "cut at {cut}");
        }
        let mut h = StreamHasher::new(2);
        for b in &two {
            h.feed(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(h.finish().unwrap(), whole);
    }

    #[test]
    fn empty_table_and_malformed_streams() {
        let empty = hash_stream(&stream(&[]), 1).unwrap();
        assert_eq!(empty[0].rows, 0);
        assert_eq!(empty[0].content_sha256, MultisetSum::default().finish());
        let s = stream(&[vec![Some(b"abc")]]);
        assert!(hash_stream(&s[..s.len() - 1], 1).is_err(), "truncated");
        assert!(hash_stream(&s, 2).is_err(), "second table missing");
        let mut extra = s.clone();
        extra.push(0);
        assert!(hash_stream(&extra, 1).is_err(), "trailing bytes");
        let mut bad = s.clone();
        bad[0] = b'X';
        assert!(hash_stream(&bad, 1).is_err(), "signature");
    }

    #[test]
    fn carry_propagates() {
        let mut s = MultisetSum([u64::MAX, u64::MAX, 0, 0]);
        let before = s;
        s.add_row(b"r");
        assert_ne!(s, before);
        // a + b == b + a at the limb level
        let mut x = MultisetSum::default();
        x.add_row(b"a");
        x.add_row(b"b");
        let mut y = MultisetSum::default();
        y.add_row(b"b");
        y.add_row(b"a");
        assert_eq!(x, y);
    }
}

//! Packed rows to histograms of distinct outcomes, in first-occurrence order.
//!
//! Three strategies, picked by [`count_rows`]: a dense table indexed by the outcome when
//! `2^num_bits` is small next to the number of rows, a hash map on the outcome as a `u64` for
//! up to 64 bits, and a hash map on the (padding-masked) row bytes above that. All of them give
//! the same answer: the distinct outcomes in the order they first appear, their counts, and
//! optionally, for every row, which distinct outcome it is.

use crate::alloc;
use crate::error::{Error, Result};
use crate::layout::{first_byte_mask, num_bytes, row_to_u64};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Distinct outcomes of a set of rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Histogram {
    /// Row index of the first occurrence of each distinct outcome, in first-occurrence order.
    pub first_rows: Vec<usize>,
    /// How many rows hold each distinct outcome (aligned with `first_rows`).
    pub counts: Vec<u64>,
    /// For every row, the index of its outcome in `first_rows` (only when asked for).
    pub ids: Option<Vec<u32>>,
}

/// Largest `num_bits` for which a dense table is considered (a 2^24-entry table is 64 MiB).
const DENSE_MAX_BITS: usize = 24;

/// Whether a dense table of `2^num_bits` slots pays off for `rows` rows: it must not be much
/// larger than the input, or clearing it costs more than hashing would.
fn use_dense(num_bits: usize, rows: usize) -> bool {
    num_bits <= DENSE_MAX_BITS && (1usize << num_bits) <= 8 * rows.max(1 << 12)
}

/// Counts the distinct outcomes of `rows` rows of `num_bytes(num_bits)` bytes (padding masked).
/// With `want_ids`, also records for every row which distinct outcome it holds.
///
/// # Errors
/// [`Error::Shape`] when `data` is not a whole number of rows; [`Error::Value`] when there are
/// 2^32 or more rows and `want_ids` is set.
pub fn count_rows(data: &[u8], num_bits: usize, want_ids: bool) -> Result<Histogram> {
    let nb = num_bytes(num_bits);
    if nb == 0 {
        // Every row is the empty outcome; the number of rows is unknown from the bytes alone,
        // so the caller handles zero-bit arrays with `count_empty_rows`.
        return Ok(Histogram {
            ids: want_ids.then(Vec::new),
            ..Histogram::default()
        });
    }
    if !data.len().is_multiple_of(nb) {
        return Err(Error::Shape {
            location: "packed rows".into(),
            message: format!(
                "{} bytes is not a whole number of {nb}-byte rows",
                data.len()
            ),
        });
    }
    let rows = data.len() / nb;
    if want_ids && u32::try_from(rows).is_err() {
        return Err(Error::Value(format!("too many shots for one call: {rows}")));
    }
    let mut h = Histogram {
        ids: if want_ids {
            Some(alloc::with_capacity(rows)?)
        } else {
            None
        },
        ..Histogram::default()
    };
    // The dense table's u32 slots hold per-outcome counts when no ids are kept, so it is
    // limited to fewer than 2^32 rows (beyond that, the hash map's u64 counts).
    if num_bits <= 64 && use_dense(num_bits, rows) && u32::try_from(rows).is_ok() {
        count_dense(data, nb, num_bits, &mut h);
    } else if num_bits <= 64 {
        count_hashed_u64(data, nb, num_bits, &mut h);
    } else {
        count_hashed_bytes(data, nb, num_bits, &mut h);
    }
    Ok(h)
}

/// Histogram of `rows` rows of zero bits: one outcome (the empty string) when there are rows.
///
/// # Errors
/// [`Error::Alloc`] when the per-row ids cannot be allocated.
pub fn count_empty_rows(rows: usize, want_ids: bool) -> Result<Histogram> {
    if rows == 0 {
        return Ok(Histogram {
            ids: want_ids.then(Vec::new),
            ..Histogram::default()
        });
    }
    let ids = if want_ids {
        let mut ids = alloc::with_capacity(rows)?;
        ids.resize(rows, 0);
        Some(ids)
    } else {
        None
    };
    Ok(Histogram {
        first_rows: vec![0],
        counts: vec![rows as u64],
        ids,
    })
}

/// Records one row whose outcome has slot `slot` (0 = not seen yet, else id + 1).
#[inline]
fn record(h: &mut Histogram, slot: &mut u32, row: usize) {
    if *slot == 0 {
        h.first_rows.push(row);
        h.counts.push(0);
        // At most 2^32 - 1 distinct outcomes can exist when rows fit u32 (checked when ids are
        // wanted); without ids a wrap here would only be reachable past 4 billion rows.
        *slot = h.counts.len() as u32;
    }
    let id = (*slot - 1) as usize;
    h.counts[id] += 1;
    if let Some(ids) = h.ids.as_mut() {
        ids.push(id as u32);
    }
}

fn count_dense(data: &[u8], nb: usize, num_bits: usize, h: &mut Histogram) {
    let mut table = vec![0u32; 1usize << num_bits];
    if h.ids.is_some() {
        for (r, row) in data.chunks_exact(nb).enumerate() {
            let v = row_to_u64(row, num_bits) as usize;
            record(h, &mut table[v], r);
        }
        return;
    }
    // Counts only: the table holds the counts themselves, so each row touches one random slot
    // (not a slot and then a count); the outcomes are listed as first seen and their counts
    // read back at the end. A u32 slot cannot overflow: `count_rows` sends 2^32 rows or more
    // to the hash map.
    let mut outcomes: Vec<u32> = Vec::new();
    for (r, row) in data.chunks_exact(nb).enumerate() {
        let v = row_to_u64(row, num_bits) as usize;
        let slot = &mut table[v];
        if *slot == 0 {
            h.first_rows.push(r);
            outcomes.push(v as u32);
        }
        *slot += 1;
    }
    h.counts = outcomes
        .iter()
        .map(|&v| u64::from(table[v as usize]))
        .collect();
}

fn count_hashed_u64(data: &[u8], nb: usize, num_bits: usize, h: &mut Histogram) {
    let mut map: HashMap<u64, u32, BuildMix> = HashMap::default();
    for (r, row) in data.chunks_exact(nb).enumerate() {
        let slot = map.entry(row_to_u64(row, num_bits)).or_insert(0);
        record(h, slot, r);
    }
}

fn count_hashed_bytes(data: &[u8], nb: usize, num_bits: usize, h: &mut Histogram) {
    // Key: the masked first byte and the untouched rest of the row, so no copy is needed.
    let mask = first_byte_mask(num_bits);
    let mut map: HashMap<(u8, &[u8]), u32, BuildMix> = HashMap::default();
    for (r, row) in data.chunks_exact(nb).enumerate() {
        let slot = map.entry((row[0] & mask, &row[1..])).or_insert(0);
        record(h, slot, r);
    }
}

/// A small, fast hasher for outcome keys (these are measurement data, not attacker-chosen
/// strings, so `SipHash`'s `DoS` resistance buys nothing here while costing a lot per shot).
#[derive(Default, Clone, Copy)]
struct Mix(u64);

type BuildMix = BuildHasherDefault<Mix>;

impl Mix {
    #[inline]
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(26) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

impl Hasher for Mix {
    #[inline]
    fn finish(&self) -> u64 {
        // Final avalanche (murmur3's fmix64) so both the high bits (hashbrown's tags) and the
        // low bits (bucket index) depend on every input bit.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, x: u8) {
        self.add(u64::from(x));
    }

    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.add(x);
    }

    #[inline]
    fn write_usize(&mut self, x: usize) {
        self.add(x as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::write_u64_row;

    type Strategy = fn(&[u8], usize, usize, &mut Histogram);

    /// Reference: a linear scan keeping first-occurrence order.
    fn reference(rows: &[Vec<u8>], num_bits: usize) -> (Vec<usize>, Vec<u64>, Vec<u32>) {
        let mask = first_byte_mask(num_bits);
        let key = |r: &Vec<u8>| {
            let mut k = r.clone();
            k[0] &= mask;
            k
        };
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let (mut first, mut counts, mut ids) = (Vec::new(), Vec::new(), Vec::new());
        for (i, r) in rows.iter().enumerate() {
            let k = key(r);
            let id = if let Some(p) = keys.iter().position(|x| *x == k) {
                p
            } else {
                keys.push(k);
                first.push(i);
                counts.push(0);
                keys.len() - 1
            };
            counts[id] += 1;
            ids.push(id as u32);
        }
        (first, counts, ids)
    }

    fn random_rows(n: usize, num_bits: usize, distinct: u64, seed: u64) -> Vec<Vec<u8>> {
        let nb = num_bytes(num_bits);
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let mut row: Vec<u8> = (0..nb).map(|i| (x >> (i % 8 * 8)) as u8).collect();
                if num_bits <= 64 {
                    write_u64_row(x % distinct, &mut row[nb.saturating_sub(8)..]);
                } else {
                    row[nb - 1] = (x % distinct) as u8;
                }
                // Garbage in the padding must not split outcomes.
                row[0] |= !first_byte_mask(num_bits) & (x >> 40) as u8;
                row
            })
            .collect()
    }

    #[test]
    fn all_strategies_match_reference() {
        for &num_bits in &[1usize, 7, 8, 9, 20, 30, 63, 64, 65, 128] {
            for &(n, distinct) in &[(0usize, 1u64), (1, 1), (50, 3), (500, 1 << 40)] {
                let rows = random_rows(n, num_bits, distinct, num_bits as u64 * 31 + n as u64);
                let data: Vec<u8> = rows.concat();
                let (first, counts, ids) = reference(&rows, num_bits);
                let h = count_rows(&data, num_bits, true).unwrap();
                assert_eq!(h.first_rows, first, "bits={num_bits} n={n}");
                assert_eq!(h.counts, counts);
                assert_eq!(h.ids.unwrap(), ids);
                // Every strategy on its own, where it applies.
                let nb = num_bytes(num_bits);
                let mut strategies: Vec<Strategy> = vec![count_hashed_bytes];
                if num_bits <= 64 {
                    strategies.push(count_hashed_u64);
                }
                if num_bits <= DENSE_MAX_BITS {
                    strategies.push(count_dense);
                }
                for f in strategies {
                    let mut h = Histogram::default();
                    f(&data, nb, num_bits, &mut h);
                    assert_eq!((h.first_rows, h.counts), (first.clone(), counts.clone()));
                }
            }
        }
    }

    #[test]
    fn zero_bits_and_bad_lengths() {
        let h = count_empty_rows(3, true).unwrap();
        assert_eq!(
            (h.first_rows, h.counts, h.ids),
            (vec![0], vec![3], Some(vec![0, 0, 0]))
        );
        assert_eq!(count_empty_rows(0, false).unwrap(), Histogram::default());
        assert!(count_rows(&[0, 0, 0], 9, false).is_err());
    }
}

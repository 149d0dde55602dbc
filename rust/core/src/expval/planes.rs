//! Packed rows seen 64 shots at a time as bit planes, and per-term sums over them.

use super::{layout, Error, Result, Term, BLOCK, CHUNK};

/// A contiguous block of packed rows: `num_rows` rows of `ceil(num_bits / 8)` bytes each.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::struct_field_names)] // `num_rows` is the name used throughout the crate
pub struct Rows<'a> {
    pub(super) data: &'a [u8],
    pub(super) num_rows: usize,
    pub(super) num_bits: usize,
    pub(super) nbytes: usize,
}

impl<'a> Rows<'a> {
    /// Wraps `data`, checking that it holds exactly `num_rows` rows of `num_bits` bits.
    ///
    /// # Errors
    /// [`Error::Shape`] when `data` is not `num_rows` whole rows.
    pub fn new(data: &'a [u8], num_rows: usize, num_bits: usize) -> Result<Rows<'a>> {
        let nbytes = layout::num_bytes(num_bits);
        if num_rows.checked_mul(nbytes) != Some(data.len()) {
            return Err(Error::Shape {
                location: "packed rows".into(),
                message: format!(
                    "{} bytes do not hold {num_rows} rows of {num_bits} bits ({nbytes} bytes each)",
                    data.len()
                ),
            });
        }
        Ok(Rows {
            data,
            num_rows,
            num_bits,
            nbytes,
        })
    }

    /// Number of rows.
    #[must_use]
    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// Number of bits per row.
    #[must_use]
    pub fn num_bits(&self) -> usize {
        self.num_bits
    }

    /// Rows `start..end` as their own view.
    pub(super) fn range(&self, start: usize, end: usize) -> Rows<'a> {
        Rows {
            data: &self.data[start * self.nbytes..end * self.nbytes],
            num_rows: end - start,
            num_bits: self.num_bits,
            nbytes: self.nbytes,
        }
    }

    /// Bits `64 w .. 64 w + 64` of row `i` as an integer (padding bits above `num_bits` may be
    /// set; callers ignore planes at or above `num_bits`).
    #[inline]
    pub(super) fn word(&self, i: usize, w: usize) -> u64 {
        let row = &self.data[i * self.nbytes..(i + 1) * self.nbytes];
        let hi = self.nbytes - 8 * w;
        let lo = hi.saturating_sub(8);
        row[lo..hi]
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }

    /// Transposes rows `start..start + count` (`count <= 64`) into `planes`: lane `l` of
    /// `planes[k]` is bit `k` of row `start + l`; lanes at or above `count` are zero.
    pub(super) fn load_planes(&self, start: usize, count: usize, planes: &mut [u64]) {
        let mut block = [0u64; BLOCK];
        for w in 0..self.num_bits.div_ceil(64) {
            // Rows of at most 8 bytes (the common case) load with a fixed-size read.
            match self.nbytes {
                1 => self.load_narrow::<1>(start, count, &mut block),
                2 => self.load_narrow::<2>(start, count, &mut block),
                3 => self.load_narrow::<3>(start, count, &mut block),
                4 => self.load_narrow::<4>(start, count, &mut block),
                5 => self.load_narrow::<5>(start, count, &mut block),
                6 => self.load_narrow::<6>(start, count, &mut block),
                7 => self.load_narrow::<7>(start, count, &mut block),
                8 => self.load_narrow::<8>(start, count, &mut block),
                _ => {
                    for (l, slot) in block.iter_mut().enumerate() {
                        *slot = if l < count {
                            self.word(start + l, w)
                        } else {
                            0
                        };
                    }
                }
            }
            transpose64(&mut block);
            let bits = (self.num_bits - 64 * w).min(64);
            planes[64 * w..64 * w + bits].copy_from_slice(&block[..bits]);
        }
    }

    /// Rows of exactly `NB <= 8` bytes as integers into `block` (zeros after `count`).
    #[inline]
    pub(super) fn load_narrow<const NB: usize>(
        &self,
        start: usize,
        count: usize,
        block: &mut [u64; BLOCK],
    ) {
        let rows = &self.data[start * NB..(start + count) * NB];
        for (slot, row) in block.iter_mut().zip(rows.chunks_exact(NB)) {
            let mut buf = [0u8; 8];
            buf[8 - NB..].copy_from_slice(row);
            *slot = u64::from_be_bytes(buf);
        }
        block[count..].fill(0);
    }
}

/// In-place transpose of a 64×64 bit matrix: afterwards bit `j` of `a[i]` is what bit `i` of
/// `a[j]` was. Recursive block swaps, six rounds of 32 word pairs.
pub(super) fn transpose64(a: &mut [u64; BLOCK]) {
    let mut j = 32usize;
    let mut mask: u64 = 0x0000_0000_FFFF_FFFF;
    while j != 0 {
        // Swap the high-j bits of a[k] with the low-j bits of a[k + j] in every 2j-bit group,
        // for each k whose bit j is clear; the inner loop runs over j contiguous words.
        for base in (0..BLOCK).step_by(2 * j) {
            let (lo, hi) = a[base..base + 2 * j].split_at_mut(j);
            for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                let t = ((*x >> j) ^ *y) & mask;
                *y ^= t;
                *x ^= t << j;
            }
        }
        j >>= 1;
        mask ^= mask << j;
    }
}

/// Bit-plane words that flip every lane of the bits set in a packed flip row.
pub(super) fn flipped_bits(flip: &[u8], num_bits: usize) -> Vec<usize> {
    (0..num_bits)
        .filter(|&k| layout::get_bit(flip, k))
        .collect()
}

/// Visits the rows block by block with the planes ready, after `XORing` out `flips`.
pub(super) fn for_each_block(
    rows: &Rows<'_>,
    flips: &[usize],
    mut visit: impl FnMut(&[u64], usize, u64),
) {
    let mut planes = vec![0u64; rows.num_bits];
    let mut start = 0;
    while start < rows.num_rows {
        let count = (rows.num_rows - start).min(BLOCK);
        rows.load_planes(start, count, &mut planes);
        let valid = if count == BLOCK {
            u64::MAX
        } else {
            (1u64 << count) - 1
        };
        for &k in flips {
            planes[k] ^= valid;
        }
        visit(&planes, count, valid);
        start += count;
    }
}

/// A term on rows of at most 64 bits: `Z` positions and projector `(position, value)`s.
pub(super) type NarrowTerm = (Vec<u8>, Vec<(u8, bool)>);

/// Terms on rows of at most 64 bits with their positions as bytes.
pub(super) fn narrow_terms<'t>(terms: impl Iterator<Item = &'t Term>) -> Vec<NarrowTerm> {
    terms
        .map(|t| {
            (
                t.z.iter().map(|&b| b as u8).collect(),
                t.proj.iter().map(|&(b, v)| (b as u8, v)).collect(),
            )
        })
        .collect()
}

/// [`Term::words`] for a narrow term on a block's planes held in a fixed array (indices masked
/// to 6 bits, so no bounds checks). A pure-Z term's `nonzero` is `valid`.
#[inline]
pub(super) fn narrow_words(fixed: &[u64; 64], (z, proj): &NarrowTerm, valid: u64) -> (u64, u64) {
    let sign = z.iter().fold(0u64, |s, &b| s ^ fixed[usize::from(b & 63)]);
    let nonzero = proj.iter().fold(valid, |n, &(b, want)| {
        let plane = fixed[usize::from(b & 63)];
        n & if want { plane } else { !plane }
    });
    (sign, nonzero)
}

/// Sum over rows of each term's value (an exact integer).
#[must_use]
pub fn term_sums(rows: &Rows<'_>, terms: &[&Term]) -> Vec<i64> {
    let mut sums = vec![0i64; terms.len()];
    if rows.num_bits <= 64 {
        // Narrow rows: planes in a fixed array and 6-bit indices, so lookups need no bounds
        // checks; pure-Z terms need one popcount (lanes past the block's end are zero).
        let narrow = narrow_terms(terms.iter().copied());
        let mut fixed = [0u64; 64];
        for_each_block(rows, &[], |planes, count, valid| {
            fixed[..planes.len()].copy_from_slice(planes);
            for (sum, term) in sums.iter_mut().zip(&narrow) {
                let (sign, nonzero) = narrow_words(&fixed, term, valid);
                if term.1.is_empty() {
                    *sum += count as i64 - 2 * i64::from(sign.count_ones());
                } else {
                    let neg = i64::from((nonzero & sign).count_ones());
                    *sum += i64::from(nonzero.count_ones()) - 2 * neg;
                }
            }
        });
        return sums;
    }
    for_each_block(rows, &[], |planes, _count, valid| {
        for (sum, term) in sums.iter_mut().zip(terms) {
            let (sign, nonzero) = term.words(planes, valid);
            let neg = i64::from((nonzero & sign).count_ones());
            let pos = i64::from((nonzero & !sign).count_ones());
            *sum += pos - neg;
        }
    });
    sums
}

/// Splits `0..n` into chunks of `CHUNK` rows (one chunk when `n` is small).
pub(super) fn chunks(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n.div_ceil(CHUNK).max(1)).map(move |c| (c * CHUNK, ((c + 1) * CHUNK).min(n)))
}

//! Diagonal terms (`I Z 0 1`) on packed rows: means for `BitArray.expectation_values`, and
//! per-group means and variances for the Estimator.
//!
//! A term's value on a shot with row `r` is `[(r & p) == v] * (-1)^popcount(r & z)`. Rather than
//! evaluating terms row by row, shots are processed in blocks of 64: the block is transposed into
//! one 64-bit *plane* per bit (lane `l` of plane `k` is bit `k` of shot `l`), so a term's signs for
//! 64 shots are the XOR of the planes of its `Z` positions and its projector condition is an AND of
//! planes. The cost per term is then `O(weight)` word operations per 64 shots, independent of the
//! row width, and the transposition is paid once per block for all terms.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::layout;

/// Shots per block: one lane of a 64-bit plane per shot.
const BLOCK: usize = 64;
/// Shots per unit of parallel work (a multiple of `BLOCK`).
const CHUNK: usize = BLOCK * 256;
/// Below this many (shot × term) evaluations a call stays on the calling thread.
const PARALLEL_WORK: usize = 1 << 21;

/// One diagonal term on the bits of a row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Term {
    /// Bits whose value flips the sign (`Z` positions).
    pub z: Vec<u32>,
    /// Projector positions and the value each must have (`0` or `1` positions).
    pub proj: Vec<(u32, bool)>,
}

impl Term {
    /// Builds a term from little-endian word masks (bit `k` of the row is bit `k % 64` of word
    /// `k / 64`): `z` marks `Z` positions, `p` projector positions and `v` their wanted values.
    ///
    /// Fails when a mask touches a bit at or above `num_bits`, when `v` has a bit outside `p`, or
    /// when `z` and `p` overlap (a position is one letter).
    pub fn from_masks(z: &[u64], p: &[u64], v: &[u64], num_bits: usize) -> Result<Term> {
        let mut term = Term::default();
        let words = z.len().max(p.len()).max(v.len());
        let word = |m: &[u64], w: usize| m.get(w).copied().unwrap_or(0);
        for w in 0..words {
            let (zw, pw, vw) = (word(z, w), word(p, w), word(v, w));
            if vw & !pw != 0 {
                return Err(Error::Value(format!(
                    "term has a projector value on bit {} that is not a projector position",
                    64 * w + (vw & !pw).trailing_zeros() as usize
                )));
            }
            if zw & pw != 0 {
                return Err(Error::Value(format!(
                    "term has both a Z and a projector on bit {}",
                    64 * w + (zw & pw).trailing_zeros() as usize
                )));
            }
            for (mask, is_z) in [(zw, true), (pw, false)] {
                let mut m = mask;
                while m != 0 {
                    let bit = 64 * w + m.trailing_zeros() as usize;
                    m &= m - 1;
                    if bit >= num_bits {
                        return Err(Error::Value(format!(
                            "term acts on bit {bit} but the rows have only {num_bits} bits"
                        )));
                    }
                    if is_z {
                        term.z.push(bit as u32);
                    } else {
                        term.proj.push((bit as u32, (vw >> (bit % 64)) & 1 == 1));
                    }
                }
            }
        }
        Ok(term)
    }

    /// The term's signs and non-zero lanes for one block of planes: a lane's value is
    /// `0` when its `nonzero` bit is clear, else `-1` when its `sign` bit is set, else `+1`.
    #[inline]
    fn words(&self, planes: &[u64], valid: u64) -> (u64, u64) {
        let sign = self.z.iter().fold(0u64, |s, &b| s ^ planes[b as usize]);
        let nonzero = self.proj.iter().fold(valid, |n, &(b, want)| {
            let plane = planes[b as usize];
            n & if want { plane } else { !plane }
        });
        (sign, nonzero)
    }
}

/// `num_terms` terms from row-major mask tables of equal size (each term's masks are
/// `len / num_terms` consecutive words, see [`Term::from_masks`]); errors name the term.
pub fn terms_from_masks(
    z: &[u64],
    p: &[u64],
    v: &[u64],
    num_terms: usize,
    num_bits: usize,
) -> Result<Vec<Term>> {
    let words = z.len().checked_div(num_terms).unwrap_or(0);
    if z.len() != p.len() || z.len() != v.len() || words * num_terms != z.len() {
        return Err(Error::Shape {
            location: "term masks".into(),
            message: format!(
                "z, p and v must each hold {num_terms} terms of equal width, got {}, {} and {} words",
                z.len(),
                p.len(),
                v.len()
            ),
        });
    }
    (0..num_terms)
        .map(|t| {
            let r = t * words..(t + 1) * words;
            Term::from_masks(&z[r.clone()], &p[r.clone()], &v[r], num_bits)
                .map_err(|e| e.within(format_args!("term {t}")))
        })
        .collect()
}

/// A contiguous block of packed rows: `num_rows` rows of `ceil(num_bits / 8)` bytes each.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    data: &'a [u8],
    num_rows: usize,
    num_bits: usize,
    nbytes: usize,
}

impl<'a> Rows<'a> {
    /// Wraps `data`, checking that it holds exactly `num_rows` rows of `num_bits` bits.
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
    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// Number of bits per row.
    pub fn num_bits(&self) -> usize {
        self.num_bits
    }

    /// Rows `start..end` as their own view.
    fn range(&self, start: usize, end: usize) -> Rows<'a> {
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
    fn word(&self, i: usize, w: usize) -> u64 {
        let row = &self.data[i * self.nbytes..(i + 1) * self.nbytes];
        let hi = self.nbytes - 8 * w;
        let lo = hi.saturating_sub(8);
        row[lo..hi]
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }

    /// Transposes rows `start..start + count` (`count <= 64`) into `planes`: lane `l` of
    /// `planes[k]` is bit `k` of row `start + l`; lanes at or above `count` are zero.
    fn load_planes(&self, start: usize, count: usize, planes: &mut [u64]) {
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
    fn load_narrow<const NB: usize>(&self, start: usize, count: usize, block: &mut [u64; BLOCK]) {
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
fn transpose64(a: &mut [u64; BLOCK]) {
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
fn flipped_bits(flip: &[u8], num_bits: usize) -> Vec<usize> {
    (0..num_bits)
        .filter(|&k| layout::get_bit(flip, k))
        .collect()
}

/// Visits the rows block by block with the planes ready, after XORing out `flips`.
fn for_each_block(rows: &Rows<'_>, flips: &[usize], mut visit: impl FnMut(&[u64], usize, u64)) {
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
type NarrowTerm = (Vec<u8>, Vec<(u8, bool)>);

/// Sum over rows of each term's value (an exact integer).
pub fn term_sums(rows: &Rows<'_>, terms: &[&Term]) -> Vec<i64> {
    let mut sums = vec![0i64; terms.len()];
    if rows.num_bits <= 64 {
        // Narrow rows: planes in a fixed array and 6-bit indices, so lookups need no bounds
        // checks; pure-Z terms need one popcount (lanes past the block's end are zero).
        let narrow: Vec<NarrowTerm> = terms
            .iter()
            .map(|t| {
                (
                    t.z.iter().map(|&b| b as u8).collect(),
                    t.proj.iter().map(|&(b, v)| (b as u8, v)).collect(),
                )
            })
            .collect();
        let mut fixed = [0u64; 64];
        for_each_block(rows, &[], |planes, count, valid| {
            fixed[..planes.len()].copy_from_slice(planes);
            for (sum, (z, proj)) in sums.iter_mut().zip(&narrow) {
                let sign = z.iter().fold(0u64, |s, &b| s ^ fixed[usize::from(b & 63)]);
                if proj.is_empty() {
                    *sum += count as i64 - 2 * i64::from(sign.count_ones());
                } else {
                    let nonzero = proj.iter().fold(valid, |n, &(b, want)| {
                        let plane = fixed[usize::from(b & 63)];
                        n & if want { plane } else { !plane }
                    });
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
fn chunks(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n.div_ceil(CHUNK).max(1)).map(move |c| (c * CHUNK, ((c + 1) * CHUNK).min(n)))
}

/// Observables as sums of terms, in compressed rows: observable `o` is
/// `sum(coeffs[i] * term[terms[i]] for i in ptr[o]..ptr[o + 1])`.
#[derive(Debug, Clone, Copy)]
pub struct Sums<'a> {
    pub ptr: &'a [usize],
    pub terms: &'a [usize],
    pub coeffs: &'a [f64],
}

impl Sums<'_> {
    fn len(&self) -> usize {
        self.ptr.len().saturating_sub(1)
    }

    fn check(&self, num_terms: usize) -> Result<()> {
        let bad = |m: String| Err(Error::Value(format!("invalid observable table: {m}")));
        if self.ptr.first().copied().unwrap_or(0) != 0
            || self.ptr.windows(2).any(|w| w[0] > w[1])
            || self.ptr.last().copied().unwrap_or(0) != self.terms.len()
        {
            return bad("offsets must rise from 0 to the number of entries".into());
        }
        if self.terms.len() != self.coeffs.len() {
            return bad("term indices and coefficients differ in length".into());
        }
        if let Some(&t) = self.terms.iter().find(|&&t| t >= num_terms) {
            return bad(format!("term index {t} with only {num_terms} terms"));
        }
        Ok(())
    }

    fn entries(&self, o: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        (self.ptr[o]..self.ptr[o + 1]).map(move |i| (self.terms[i], self.coeffs[i]))
    }
}

/// Expectation values of observables on cells of packed rows.
///
/// `data` holds `num_cells` cells of `num_shots` rows each. Output `k` is the mean over the shots
/// of cell `out_cell[k]` of observable `out_obs[k]`. Each cell evaluates only the terms its
/// outputs need, all of them in one pass over its rows.
#[allow(clippy::too_many_arguments)]
pub fn expectation_values(
    data: &[u8],
    num_cells: usize,
    num_shots: usize,
    num_bits: usize,
    terms: &[Term],
    observables: Sums<'_>,
    out_cell: &[usize],
    out_obs: &[usize],
) -> Result<Vec<f64>> {
    let total_rows = num_cells
        .checked_mul(num_shots)
        .ok_or_else(|| Error::Value("too many rows".into()))?;
    let rows = Rows::new(data, total_rows, num_bits)?;
    observables.check(terms.len())?;
    if out_cell.len() != out_obs.len() {
        return Err(Error::Value(
            "output cell and observable indices differ in length".into(),
        ));
    }
    if let Some(&c) = out_cell.iter().find(|&&c| c >= num_cells) {
        return Err(Error::Index(format!(
            "cell {c} out of range for {num_cells} cells"
        )));
    }
    if let Some(&o) = out_obs.iter().find(|&&o| o >= observables.len()) {
        return Err(Error::Index(format!(
            "observable {o} out of range for {} observables",
            observables.len()
        )));
    }
    if out_cell.is_empty() {
        return Ok(Vec::new());
    }
    if num_shots == 0 {
        return Err(Error::Value(
            "cannot compute expectation values from 0 shots".into(),
        ));
    }
    let needed = needed_terms(num_cells, terms.len(), &observables, out_cell, out_obs);

    // Work items: (cell, shot chunk); each sums the cell's needed terms over its chunk.
    let items: Vec<(usize, usize, usize)> = (0..num_cells)
        .filter(|&c| !needed[c].is_empty())
        .flat_map(|c| chunks(num_shots).map(move |(a, b)| (c, a, b)))
        .collect();
    let work: usize = needed.iter().map(|n| n.len() * num_shots).sum();
    let eval = |&(c, a, b): &(usize, usize, usize)| {
        let cell_terms: Vec<&Term> = needed[c].iter().map(|&t| &terms[t]).collect();
        let base = c * num_shots;
        term_sums(&rows.range(base + a, base + b), &cell_terms)
    };
    let partial: Vec<Vec<i64>> = if work >= PARALLEL_WORK {
        items.par_iter().map(eval).collect()
    } else {
        items.iter().map(eval).collect()
    };

    // means[c][t] for the needed terms, via a per-cell position table.
    let mut sums: Vec<Vec<i64>> = needed.iter().map(|n| vec![0; n.len()]).collect();
    for ((c, _, _), part) in items.iter().zip(partial) {
        for (s, p) in sums[*c].iter_mut().zip(part) {
            *s += p;
        }
    }
    let mut position = vec![usize::MAX; terms.len()];
    let mut out = vec![0.0; out_cell.len()];
    let mut order: Vec<usize> = (0..out_cell.len()).collect();
    order.sort_by_key(|&k| out_cell[k]);
    let mut current = usize::MAX;
    let n = num_shots as f64;
    for k in order {
        let c = out_cell[k];
        if c != current {
            for (i, &t) in needed[c].iter().enumerate() {
                position[t] = i;
            }
            current = c;
        }
        out[k] = observables
            .entries(out_obs[k])
            .map(|(t, coeff)| coeff * (sums[c][position[t]] as f64 / n))
            .sum();
    }
    Ok(out)
}

/// For each cell, the sorted distinct terms used by the observables evaluated on it.
fn needed_terms(
    num_cells: usize,
    num_terms: usize,
    observables: &Sums<'_>,
    out_cell: &[usize],
    out_obs: &[usize],
) -> Vec<Vec<usize>> {
    let mut by_cell: Vec<Vec<usize>> = vec![Vec::new(); num_cells];
    for (&c, &o) in out_cell.iter().zip(out_obs) {
        by_cell[c].push(o);
    }
    let mut seen = vec![usize::MAX; num_terms];
    by_cell
        .into_iter()
        .enumerate()
        .map(|(c, mut obs)| {
            obs.sort_unstable();
            obs.dedup();
            let mut ts = Vec::new();
            for o in obs {
                for (t, _) in observables.entries(o) {
                    if seen[t] != c {
                        seen[t] = c;
                        ts.push(t);
                    }
                }
            }
            ts.sort_unstable();
            ts
        })
        .collect()
}

/// Running count, mean and sum of squared deviations (merged with Chan et al.'s formula, which
/// stays exact for constant data and avoids the cancellation of `E[x²] - E[x]²`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    /// Combines the statistics of two disjoint sets of samples.
    pub fn merge(self, other: Moments) -> Moments {
        if self.n == 0 {
            return other;
        }
        if other.n == 0 {
            return self;
        }
        let n = self.n + other.n;
        let (na, nb, nn) = (self.n as f64, other.n as f64, n as f64);
        let delta = other.mean - self.mean;
        Moments {
            n,
            mean: self.mean + delta * nb / nn,
            m2: self.m2 + other.m2 + delta * delta * na * nb / nn,
        }
    }

    /// Population variance (`ddof = 0`); zero for fewer than one sample.
    pub fn variance(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            (self.m2 / self.n as f64).max(0.0)
        }
    }
}

/// The measured data of one Estimator group: `num_rand` randomizations of `shots` rows each,
/// with an optional packed flip row per randomization (bits flipped before measuring, XORed out
/// here), and the terms measured on it.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    pub rows: Rows<'a>,
    pub num_rand: usize,
    pub flips: Option<&'a [u8]>,
    pub terms: Vec<Term>,
}

/// An observable restricted to one group: `sum(c * term)` over its entries, contributing to one
/// output cell.
#[derive(Debug, Clone)]
pub struct Part {
    pub group: usize,
    pub cell: usize,
    pub entries: Vec<(usize, f64)>,
}

/// Estimator results per output cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimates {
    pub evs: Vec<f64>,
    pub stds: Vec<f64>,
    pub ensemble_standard_error: Vec<f64>,
}

/// Per-shot moments of each part of one group over rows `a..b` of randomization `r`.
///
/// A part's per-shot value is `v = sum(c_t * a_t)` with `a_t` in `{-1, 0, +1}`. Rather than
/// summing `v` shot by shot, this tallies exact integers per 64-shot block with popcounts:
/// `sum(a_t)`, `sum(a_t^2)` for every term and `sum(a_t * a_u)` for every pair of terms that
/// share a part. Then `n * sum(v) = n * sum(c_t * sum(a_t))` and
/// `n^2 * var(v) = sum_{t,u} c_t c_u (n * sum(a_t a_u) - sum(a_t) sum(a_u))`, each bracket an
/// exact integer: constant data gives a variance of exactly zero, and a block costs one
/// AND/XOR/popcount per pair instead of a multiply-add per shot and term.
fn part_moments(group: &Group<'_>, parts: &[&Part], r: usize, a: usize, b: usize) -> Vec<Moments> {
    let shots = group.rows.num_rows / group.num_rand;
    let rows = group.rows.range(r * shots + a, r * shots + b);
    let flips = match group.flips {
        Some(f) => {
            let nb = layout::num_bytes(rows.num_bits);
            flipped_bits(&f[r * nb..(r + 1) * nb], rows.num_bits)
        }
        None => Vec::new(),
    };
    // Every pair (t, u), t < u, of distinct terms that appear together in some part.
    let mut pairs: Vec<(usize, usize)> = parts
        .iter()
        .flat_map(|part| {
            let e = &part.entries;
            (0..e.len()).flat_map(move |i| (i + 1..e.len()).map(move |j| (e[i].0, e[j].0)))
        })
        .filter(|&(t, u)| t != u)
        .map(|(t, u)| (t.min(u), t.max(u)))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();

    let nterms = group.terms.len();
    let mut words = vec![(0u64, 0u64); nterms];
    let (mut lin, mut sq) = (vec![0i64; nterms], vec![0i64; nterms]);
    let mut cross = vec![0i64; pairs.len()];
    let mut n = 0u64;
    for_each_block(&rows, &flips, |planes, count, valid| {
        n += count as u64;
        for (t, term) in group.terms.iter().enumerate() {
            let (sign, nonzero) = term.words(planes, valid);
            words[t] = (sign, nonzero);
            let neg = i64::from((nonzero & sign).count_ones());
            let all = i64::from(nonzero.count_ones());
            lin[t] += all - 2 * neg;
            sq[t] += all;
        }
        for (x, &(t, u)) in cross.iter_mut().zip(&pairs) {
            let ((st, nt), (su, nu)) = (words[t], words[u]);
            let both = nt & nu;
            // a_t * a_u is +1 where the signs agree, -1 where they differ, 0 off `both`.
            *x += i64::from(both.count_ones()) - 2 * i64::from((both & (st ^ su)).count_ones());
        }
    });
    if n == 0 {
        return vec![Moments::default(); parts.len()];
    }
    let nn = i128::from(n);
    let cov = |t: usize, u: usize| -> f64 {
        // n^2 * cov(a_t, a_u), exactly.
        let s = if t == u {
            sq[t]
        } else {
            let key = (t.min(u), t.max(u));
            cross[pairs.binary_search(&key).expect("pair tallied")]
        };
        (nn * i128::from(s) - i128::from(lin[t]) * i128::from(lin[u])) as f64
    };
    let nf = n as f64;
    parts
        .iter()
        .map(|part| {
            let e = &part.entries;
            let mean = e.iter().map(|&(t, c)| c * lin[t] as f64).sum::<f64>() / nf;
            let mut n2var = 0.0;
            for (i, &(t, c)) in e.iter().enumerate() {
                n2var += c * c * cov(t, t);
                for &(u, d) in &e[i + 1..] {
                    n2var += 2.0 * c * d * cov(t, u);
                }
            }
            Moments {
                n,
                mean,
                m2: (n2var / nf).max(0.0),
            }
        })
        .collect()
}

/// Estimator values and standard errors for `num_cells` output cells.
///
/// Cell `k` gets `offsets[k]` (its identity terms) plus the mean of every part with
/// `cell == k`. `ensemble_standard_error` adds `var_g / n_g` over the cell's parts (population
/// variance of the per-shot part value over all `n_g` shots of its group, twirl flips removed):
/// terms measured together keep their covariance, groups are independent. With `R > 1`
/// randomizations, `stds` is the sample standard deviation (`ddof = 1`) of the `R`
/// per-randomization estimates divided by `sqrt(R)`; with `R = 1` it equals the ensemble error.
pub fn estimate(
    groups: &[Group<'_>],
    parts: &[Part],
    num_cells: usize,
    offsets: &[f64],
) -> Result<Estimates> {
    if offsets.len() != num_cells {
        return Err(Error::Value(format!(
            "{} offsets for {num_cells} cells",
            offsets.len()
        )));
    }
    let num_rand = groups.first().map_or(1, |g| g.num_rand);
    for (i, g) in groups.iter().enumerate() {
        let where_ = format!("group {i}");
        if g.num_rand == 0 || g.num_rand != num_rand {
            return Err(Error::Value(format!(
                "{where_}: {} randomizations, but group 0 has {num_rand}; every group needs the same positive number",
                g.num_rand
            )));
        }
        if g.rows.num_rows / g.num_rand * g.num_rand != g.rows.num_rows {
            return Err(Error::Shape {
                location: where_,
                message: format!(
                    "{} rows do not split into {} randomizations",
                    g.rows.num_rows, g.num_rand
                ),
            });
        }
        if g.rows.num_rows == 0 {
            return Err(Error::Value(format!("{where_}: no shots were measured")));
        }
        if let Some(f) = g.flips {
            let need = g.num_rand * layout::num_bytes(g.rows.num_bits);
            if f.len() != need {
                return Err(Error::Shape {
                    location: where_,
                    message: format!(
                        "flip masks have {} bytes, expected {need} ({} randomizations of {} bits)",
                        f.len(),
                        g.num_rand,
                        g.rows.num_bits
                    ),
                });
            }
        }
    }
    for (i, p) in parts.iter().enumerate() {
        if p.group >= groups.len() {
            return Err(Error::Index(format!(
                "part {i}: group {} out of range for {} groups",
                p.group,
                groups.len()
            )));
        }
        if p.cell >= num_cells {
            return Err(Error::Index(format!(
                "part {i}: cell {} out of range for {num_cells} cells",
                p.cell
            )));
        }
        let nt = groups[p.group].terms.len();
        if let Some(&(t, _)) = p.entries.iter().find(|(t, _)| *t >= nt) {
            return Err(Error::Index(format!(
                "part {i}: term {t} out of range for the {nt} terms of group {}",
                p.group
            )));
        }
    }

    let mut by_group: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for (i, p) in parts.iter().enumerate() {
        by_group[p.group].push(i);
    }
    // Work items: (group, randomization, shot chunk).
    let items: Vec<(usize, usize, usize, usize)> = groups
        .iter()
        .enumerate()
        .filter(|(g, _)| !by_group[*g].is_empty())
        .flat_map(|(g, grp)| {
            let shots = grp.rows.num_rows / grp.num_rand;
            (0..grp.num_rand).flat_map(move |r| chunks(shots).map(move |(a, b)| (g, r, a, b)))
        })
        .collect();
    let work: usize = groups
        .iter()
        .zip(&by_group)
        .map(|(g, ps)| g.rows.num_rows * ps.iter().map(|&p| parts[p].entries.len()).sum::<usize>())
        .sum();
    let eval = |&(g, r, a, b): &(usize, usize, usize, usize)| {
        let ps: Vec<&Part> = by_group[g].iter().map(|&p| &parts[p]).collect();
        part_moments(&groups[g], &ps, r, a, b)
    };
    let partial: Vec<Vec<Moments>> = if work >= PARALLEL_WORK {
        items.par_iter().map(eval).collect()
    } else {
        items.iter().map(eval).collect()
    };

    // per_rand[p][r]: moments of part p within randomization r (chunks merged in order).
    let mut per_rand = vec![vec![Moments::default(); num_rand]; parts.len()];
    for (&(g, r, _, _), ms) in items.iter().zip(partial) {
        for (&p, m) in by_group[g].iter().zip(ms) {
            per_rand[p][r] = per_rand[p][r].merge(m);
        }
    }

    let mut evs = offsets.to_vec();
    let mut var = vec![0.0; num_cells];
    let mut rand_evs = vec![offsets.to_vec(); num_rand];
    for (p, part) in parts.iter().enumerate() {
        let total = per_rand[p]
            .iter()
            .fold(Moments::default(), |acc, &m| acc.merge(m));
        evs[part.cell] += total.mean;
        var[part.cell] += total.variance() / total.n as f64;
        for (r, m) in per_rand[p].iter().enumerate() {
            rand_evs[r][part.cell] += m.mean;
        }
    }
    let ese: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
    let stds = if num_rand > 1 {
        (0..num_cells)
            .map(|k| {
                let r = num_rand as f64;
                let mean = rand_evs.iter().map(|e| e[k]).sum::<f64>() / r;
                let ss: f64 = rand_evs.iter().map(|e| (e[k] - mean).powi(2)).sum();
                (ss / (r - 1.0)).sqrt() / r.sqrt()
            })
            .collect()
    } else {
        ese.clone()
    };
    Ok(Estimates {
        evs,
        stds,
        ensemble_standard_error: ese,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator so the tests need no extra crate.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = self.0;
            x ^ (x >> 29)
        }
    }

    fn random_rows(rng: &mut Lcg, n: usize, num_bits: usize, garbage: bool) -> Vec<u8> {
        let nb = layout::num_bytes(num_bits);
        let mut data: Vec<u8> = (0..n * nb).map(|_| rng.next() as u8).collect();
        if !garbage {
            for row in data.chunks_mut(nb.max(1)) {
                if nb > 0 {
                    row[0] &= layout::first_byte_mask(num_bits);
                }
            }
        }
        data
    }

    /// Per-shot value by the definition, bit by bit.
    fn naive_value(row: &[u8], term: &Term) -> f64 {
        let ok = term
            .proj
            .iter()
            .all(|&(b, want)| layout::get_bit(row, b as usize) == want);
        if !ok {
            return 0.0;
        }
        let parity = term
            .z
            .iter()
            .filter(|&&b| layout::get_bit(row, b as usize))
            .count();
        if parity % 2 == 0 {
            1.0
        } else {
            -1.0
        }
    }

    fn random_term(rng: &mut Lcg, num_bits: usize) -> Term {
        let mut t = Term::default();
        for b in 0..num_bits as u32 {
            match rng.next() % 5 {
                0 | 1 => t.z.push(b),
                2 => t.proj.push((b, rng.next() % 2 == 1)),
                _ => {}
            }
        }
        t
    }

    #[test]
    fn transpose_matches_naive() {
        let mut rng = Lcg(7);
        let mut a = [0u64; 64];
        for x in a.iter_mut() {
            *x = rng.next();
        }
        let orig = a;
        transpose64(&mut a);
        for (i, row) in a.iter().enumerate() {
            for (j, col) in orig.iter().enumerate() {
                assert_eq!((row >> j) & 1, (col >> i) & 1, "i={i} j={j}");
            }
        }
    }

    #[test]
    fn term_sums_match_definition() {
        let mut rng = Lcg(11);
        for num_bits in [0usize, 1, 7, 8, 9, 20, 63, 64, 65, 130] {
            for n in [0usize, 1, 63, 64, 65, 200] {
                let data = random_rows(&mut rng, n, num_bits, true);
                let rows = Rows::new(&data, n, num_bits).unwrap();
                let terms: Vec<Term> = (0..6).map(|_| random_term(&mut rng, num_bits)).collect();
                let refs: Vec<&Term> = terms.iter().collect();
                let sums = term_sums(&rows, &refs);
                let nb = layout::num_bytes(num_bits);
                for (t, s) in terms.iter().zip(&sums) {
                    let want: f64 = (0..n)
                        .map(|i| naive_value(&data[i * nb..(i + 1) * nb], t))
                        .sum();
                    assert_eq!(*s as f64, want, "bits={num_bits} n={n} term={t:?}");
                }
            }
        }
    }

    #[test]
    fn masks_round_trip_and_validate() {
        let t = Term::from_masks(&[0b101, 1], &[0b010], &[0b010], 65).unwrap();
        assert_eq!(t.z, vec![0, 2, 64]);
        assert_eq!(t.proj, vec![(1, true)]);
        assert!(Term::from_masks(&[0, 1], &[], &[], 64).is_err());
        assert!(Term::from_masks(&[1], &[1], &[0], 4).is_err());
        assert!(Term::from_masks(&[], &[2], &[1], 4).is_err());
    }

    #[test]
    fn worked_example() {
        // Shots 00, 01, 11, 11: ZZ = 0.5, IZ = -0.5, ZI = 0, I0 = 0.25, I1 = 0.75, 11 = 0.5.
        let data = [0u8, 1, 3, 3];
        let terms = vec![
            Term {
                z: vec![0, 1],
                proj: vec![],
            },
            Term {
                z: vec![0],
                proj: vec![],
            },
            Term {
                z: vec![1],
                proj: vec![],
            },
            Term {
                z: vec![],
                proj: vec![(0, false)],
            },
            Term {
                z: vec![],
                proj: vec![(0, true)],
            },
            Term {
                z: vec![],
                proj: vec![(0, true), (1, true)],
            },
        ];
        let ptr: Vec<usize> = (0..=6).collect();
        let idx: Vec<usize> = (0..6).collect();
        let coeffs = vec![1.0; 6];
        let sums = Sums {
            ptr: &ptr,
            terms: &idx,
            coeffs: &coeffs,
        };
        let out =
            expectation_values(&data, 1, 4, 2, &terms, sums, &[0; 6], &[0, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(out, vec![0.5, -0.5, 0.0, 0.25, 0.75, 0.5]);
        let err = expectation_values(&[], 1, 0, 2, &terms, sums, &[0], &[0]).unwrap_err();
        assert!(matches!(err, Error::Value(_)));
    }

    #[test]
    fn many_cells_and_parallel_path_agree_with_definition() {
        let mut rng = Lcg(3);
        let (cells, shots, bits) = (3usize, 40_000usize, 20usize);
        let data = random_rows(&mut rng, cells * shots, bits, true);
        let terms: Vec<Term> = (0..10).map(|_| random_term(&mut rng, bits)).collect();
        // Observable o = term o with coefficient (o + 1) / 2, plus term 0.
        let mut ptr = vec![0];
        let mut idx = Vec::new();
        let mut coeffs = Vec::new();
        for o in 0..10 {
            idx.extend([o, 0]);
            coeffs.extend([(o as f64 + 1.0) / 2.0, -1.0]);
            ptr.push(idx.len());
        }
        let sums = Sums {
            ptr: &ptr,
            terms: &idx,
            coeffs: &coeffs,
        };
        let out_cell: Vec<usize> = (0..30).map(|k| k / 10).collect();
        let out_obs: Vec<usize> = (0..30).map(|k| k % 10).collect();
        let out = expectation_values(&data, cells, shots, bits, &terms, sums, &out_cell, &out_obs)
            .unwrap();
        let nb = layout::num_bytes(bits);
        for k in 0..30 {
            let c = out_cell[k];
            let mean = |t: &Term| {
                (0..shots)
                    .map(|i| {
                        let r = (c * shots + i) * nb;
                        naive_value(&data[r..r + nb], t)
                    })
                    .sum::<f64>()
                    / shots as f64
            };
            let o = out_obs[k];
            let want = (o as f64 + 1.0) / 2.0 * mean(&terms[o]) - mean(&terms[0]);
            assert!((out[k] - want).abs() < 1e-12, "k={k}: {} vs {want}", out[k]);
        }
    }

    #[test]
    fn moments_merge_is_exact_for_constants_and_matches_two_pass() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 37) % 11) as f64 * 0.3 - 1.0)
            .collect();
        let one = |x: f64| Moments {
            n: 1,
            mean: x,
            m2: 0.0,
        };
        let m = xs
            .iter()
            .fold(Moments::default(), |acc, &x| acc.merge(one(x)));
        let mean = xs.iter().sum::<f64>() / 1000.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 1000.0;
        assert!((m.mean - mean).abs() < 1e-12 && (m.variance() - var).abs() < 1e-12);
        let c = (0..77).fold(Moments::default(), |acc, _| acc.merge(one(0.7)));
        assert_eq!(c.variance(), 0.0);
    }

    /// Reference estimator by the definition: per-shot part values, flips XORed into the rows.
    fn naive_estimate(
        groups: &[Group<'_>],
        parts: &[Part],
        cells: usize,
        offsets: &[f64],
    ) -> Estimates {
        let r_count = groups[0].num_rand;
        let mut evs = offsets.to_vec();
        let mut var = vec![0.0; cells];
        let mut rand_evs = vec![offsets.to_vec(); r_count];
        for part in parts {
            let g = &groups[part.group];
            let nb = layout::num_bytes(g.rows.num_bits);
            let shots = g.rows.num_rows / g.num_rand;
            let mut all = Vec::new();
            for r in 0..g.num_rand {
                let mut vals = Vec::new();
                for i in 0..shots {
                    let mut row =
                        g.rows.data[(r * shots + i) * nb..(r * shots + i + 1) * nb].to_vec();
                    if let Some(f) = g.flips {
                        for (x, y) in row.iter_mut().zip(&f[r * nb..(r + 1) * nb]) {
                            *x ^= y;
                        }
                    }
                    vals.push(
                        part.entries
                            .iter()
                            .map(|&(t, c)| c * naive_value(&row, &g.terms[t]))
                            .sum::<f64>(),
                    );
                }
                rand_evs[r][part.cell] += vals.iter().sum::<f64>() / shots as f64;
                all.extend(vals);
            }
            let n = all.len() as f64;
            let mean = all.iter().sum::<f64>() / n;
            evs[part.cell] += mean;
            var[part.cell] += all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n / n;
        }
        let ese: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
        let stds = if r_count > 1 {
            (0..cells)
                .map(|k| {
                    let r = r_count as f64;
                    let m = rand_evs.iter().map(|e| e[k]).sum::<f64>() / r;
                    (rand_evs.iter().map(|e| (e[k] - m).powi(2)).sum::<f64>() / (r - 1.0)).sqrt()
                        / r.sqrt()
                })
                .collect()
        } else {
            ese.clone()
        };
        Estimates {
            evs,
            stds,
            ensemble_standard_error: ese,
        }
    }

    #[test]
    fn estimate_matches_definition_with_and_without_flips() {
        let mut rng = Lcg(99);
        for (num_rand, with_flips) in [(1usize, false), (1, true), (4, true), (3, false)] {
            let specs = [(9usize, 130usize), (3, 70), (66, 65)];
            let datas: Vec<Vec<u8>> = specs
                .iter()
                .map(|&(bits, shots)| random_rows(&mut rng, shots * num_rand, bits, true))
                .collect();
            let flips: Vec<Vec<u8>> = specs
                .iter()
                .map(|&(bits, _)| random_rows(&mut rng, num_rand, bits, false))
                .collect();
            let groups: Vec<Group<'_>> = specs
                .iter()
                .enumerate()
                .map(|(i, &(bits, shots))| Group {
                    rows: Rows::new(&datas[i], shots * num_rand, bits).unwrap(),
                    num_rand,
                    flips: with_flips.then(|| &flips[i][..]),
                    terms: (0..5).map(|_| random_term(&mut rng, bits)).collect(),
                })
                .collect();
            let parts = vec![
                Part {
                    group: 0,
                    cell: 0,
                    entries: vec![(0, 0.5), (1, -1.5), (4, 2.0)],
                },
                Part {
                    group: 1,
                    cell: 0,
                    entries: vec![(2, 0.25)],
                },
                Part {
                    group: 2,
                    cell: 1,
                    entries: vec![(3, 1.0), (0, 1.0)],
                },
                Part {
                    group: 0,
                    cell: 2,
                    entries: vec![(1, 3.0)],
                },
                // A term listed twice in one part (its pair is its own square).
                Part {
                    group: 1,
                    cell: 2,
                    entries: vec![(2, 1.0), (4, -0.75), (2, -0.5)],
                },
            ];
            let offsets = [0.5, 0.0, -1.0, 2.0];
            let got = estimate(&groups, &parts, 4, &offsets).unwrap();
            let want = naive_estimate(&groups, &parts, 4, &offsets);
            for (a, b) in [
                (&got.evs, &want.evs),
                (&got.stds, &want.stds),
                (&got.ensemble_standard_error, &want.ensemble_standard_error),
            ] {
                for (x, y) in a.iter().zip(b.iter()) {
                    assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
                }
            }
            // Cell 3 has only its identity offset.
            assert_eq!((got.evs[3], got.stds[3]), (2.0, 0.0));
        }
    }

    #[test]
    fn estimate_rejects_bad_inputs() {
        let data = [0u8; 4];
        let g = |n| Group {
            rows: Rows::new(&data, 4, 3).unwrap(),
            num_rand: n,
            flips: None,
            terms: vec![Term {
                z: vec![0],
                proj: vec![],
            }],
        };
        let part = |group, cell, t| Part {
            group,
            cell,
            entries: vec![(t, 1.0)],
        };
        assert!(estimate(&[g(1), g(2)], &[], 1, &[0.0]).is_err());
        assert!(estimate(&[g(3)], &[], 1, &[0.0]).is_err());
        assert!(matches!(
            estimate(&[g(1)], &[part(1, 0, 0)], 1, &[0.0]),
            Err(Error::Index(_))
        ));
        assert!(matches!(
            estimate(&[g(1)], &[part(0, 1, 0)], 1, &[0.0]),
            Err(Error::Index(_))
        ));
        assert!(matches!(
            estimate(&[g(1)], &[part(0, 0, 1)], 1, &[0.0]),
            Err(Error::Index(_))
        ));
        let empty = Group {
            rows: Rows::new(&[], 0, 3).unwrap(),
            num_rand: 1,
            flips: None,
            terms: vec![],
        };
        assert!(estimate(&[empty], &[], 1, &[0.0]).is_err());
        let flips = [0u8; 3];
        let bad = Group {
            flips: Some(&flips),
            ..g(2)
        };
        assert!(estimate(&[bad], &[], 1, &[0.0]).is_err());
    }
}

//! Readout-error mitigation on observed outcomes, matrix-free (the M3 method).
//!
//! With per-bit readout errors `P(1|0)` and `P(0|1)`, the probability of observing bitstring
//! `s` when `t` was prepared is `A[s][t] = prod_k P(s_k | t_k)`. Mitigation solves
//! `A x = p` for the quasi-probabilities `x`, with `p` the observed distribution; the full
//! `2^n x 2^n` system is out of reach, so the matrix is restricted to the `m` observed
//! outcomes (optionally to pairs within a Hamming distance), each column renormalised to sum
//! to 1 over that subspace, and the `m x m` system is solved by preconditioned GMRES.
//!
//! No matrix is stored: every product recomputes the elements from per-chunk tables. The bits
//! are cut into chunks of at most 10; the table of a chunk holds `prod P(o_k | t_k)` over its
//! bits for every pair of chunk values `(o, t)`, so an element is one lookup per chunk (two for
//! 20 bits), and a row's lookups stay within one slice of at most 1024 values per chunk
//! (8 KiB each), which sit in L1 while the row is summed.

mod solver;
#[cfg(test)]
mod tests;

use rayon::prelude::*;

use crate::{Error, Result};

pub use solver::SolveStats;

/// Readout errors of the measured bits, bit `k` being bit `k` of the packed layout.
#[derive(Debug, Clone)]
pub struct ReadoutErrors<'a> {
    /// `P(1|0)` per bit.
    pub p01: &'a [f64],
    /// `P(0|1)` per bit.
    pub p10: &'a [f64],
}

/// Largest chunk of bits per table (a table has `4^width` entries).
const MAX_CHUNK_BITS: usize = 10;

/// The reduced assignment matrix over the observed outcomes, column-normalised.
pub struct Reduced {
    m: usize,
    distance: Option<usize>,
    /// Chunk widths in bits (chunk `c` covers the bits after those of chunks `0..c`).
    widths: Vec<usize>,
    /// `index[c][j]`: the value of chunk `c` of outcome `j`.
    index: Vec<Vec<u16>>,
    /// Outcome `j`'s bits as little-endian 64-bit words (for Hamming distances).
    words: Vec<u64>,
    num_words: usize,
    /// `tables[c][o << w | t]`: product of `P(o_k | t_k)` over the bits of chunk `c`.
    tables: Vec<Vec<f64>>,
    /// `tables_t[c][t << w | o]`: the same, transposed (for products with the transpose).
    tables_t: Vec<Vec<f64>>,
    /// Column sums over the subspace.
    col_norms: Vec<f64>,
    /// For two chunks: the factorised product (see [`Reduced::products_two_chunks`]).
    two: Option<TwoChunks>,
}

/// Outcomes grouped by chunk values, for the factorised product of two-chunk outcomes.
struct TwoChunks {
    /// Distinct values of chunk 0.
    first_values: Vec<u16>,
    /// Position of each outcome's chunk-0 value in `first_values`.
    first_pos: Vec<u32>,
    /// Outcomes grouped by their chunk-1 value: `(value, outcomes)`.
    by_second: Vec<(u16, Vec<u32>)>,
}

impl TwoChunks {
    fn new(index: &[Vec<u16>]) -> Self {
        let mut first_values = index[0].clone();
        first_values.sort_unstable();
        first_values.dedup();
        let mut lookup = vec![0u32; 1 << 16];
        for (p, &v) in first_values.iter().enumerate() {
            lookup[usize::from(v)] = p as u32;
        }
        let first_pos = index[0].iter().map(|&v| lookup[usize::from(v)]).collect();
        let mut groups: Vec<Vec<u32>> = vec![Vec::new(); 1 << 16];
        for (i, &v) in index[1].iter().enumerate() {
            groups[usize::from(v)].push(i as u32);
        }
        let by_second = groups
            .into_iter()
            .enumerate()
            .filter(|(_, g)| !g.is_empty())
            .map(|(v, g)| (v as u16, g))
            .collect();
        Self {
            first_values,
            first_pos,
            by_second,
        }
    }
}

impl Reduced {
    /// Builds the tables and column norms for `m` packed rows of `num_bits` bits.
    ///
    /// # Errors
    /// Shapes that disagree, or an error probability outside `[0, 1]` (or a bit whose two
    /// error probabilities sum to 1 or more, which makes its assignment matrix singular).
    pub fn new(
        rows: &[u8],
        num_bits: usize,
        errors: &ReadoutErrors<'_>,
        distance: Option<usize>,
    ) -> Result<Self> {
        let nbytes = crate::layout::num_bytes(num_bits);
        if errors.p01.len() != num_bits || errors.p10.len() != num_bits {
            return Err(Error::Value(format!(
                "expected {num_bits} readout errors per kind, got {} P(1|0) and {} P(0|1)",
                errors.p01.len(),
                errors.p10.len()
            )));
        }
        if nbytes == 0 || !rows.len().is_multiple_of(nbytes) {
            return Err(Error::Value(format!(
                "{} bytes of rows are not whole rows of {nbytes} bytes",
                rows.len()
            )));
        }
        for k in 0..num_bits {
            let (a, b) = (errors.p01[k], errors.p10[k]);
            if !(0.0..=1.0).contains(&a) || !(0.0..=1.0).contains(&b) || a + b >= 1.0 {
                return Err(Error::Value(format!(
                    "bit {k}: readout errors P(1|0) = {a} and P(0|1) = {b} must be in [0, 1] \
                     with a sum below 1"
                )));
            }
        }
        let m = rows.len() / nbytes;
        let num_chunks = num_bits.div_ceil(MAX_CHUNK_BITS);
        let widths: Vec<usize> = (0..num_chunks)
            .map(|c| (num_bits * (c + 1)) / num_chunks - (num_bits * c) / num_chunks)
            .collect();
        let num_words = num_bits.div_ceil(64);
        // Bit k of a row is bit k % 8 of byte nbytes - 1 - k / 8 (the packed layout).
        let bit = |row: &[u8], k: usize| (row[nbytes - 1 - k / 8] >> (k % 8)) & 1;
        let mut index = vec![vec![0u16; m]; num_chunks];
        let mut words = vec![0u64; m * num_words];
        for (j, row) in rows.chunks_exact(nbytes).enumerate() {
            let mut first = 0;
            for (c, &w) in widths.iter().enumerate() {
                let mut v = 0u16;
                for b in 0..w {
                    v |= u16::from(bit(row, first + b)) << b;
                }
                index[c][j] = v;
                first += w;
            }
            for k in 0..num_bits {
                words[j * num_words + k / 64] |= u64::from(bit(row, k)) << (k % 64);
            }
        }
        let mut tables = Vec::with_capacity(num_chunks);
        let mut tables_t = Vec::with_capacity(num_chunks);
        let mut first = 0;
        for &w in &widths {
            let (t, tt) = chunk_tables(errors, first, w);
            tables.push(t);
            tables_t.push(tt);
            first += w;
        }
        let mut out = Self {
            m,
            distance: distance.filter(|&d| d < num_bits),
            widths,
            index,
            words,
            num_words,
            tables,
            tables_t,
            col_norms: vec![1.0; m],
            two: None,
        };
        if out.widths.len() == 2 && out.distance.is_none() {
            out.two = Some(TwoChunks::new(&out.index));
        }
        let ones = vec![1.0; m];
        let mut norms = vec![0.0; m];
        out.products(&ones, &mut norms, true);
        if let Some(j) = norms.iter().position(|&c| c <= 0.0 || !c.is_finite()) {
            return Err(Error::Value(format!(
                "outcome {j} has no probability under the readout errors (a bit with a zero \
                 P(b|b))"
            )));
        }
        out.col_norms = norms;
        Ok(out)
    }

    /// Number of outcomes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.m
    }

    /// Whether there are no outcomes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.m == 0
    }

    fn within(&self, i: usize, j: usize, d: usize) -> bool {
        let nw = self.num_words;
        let (a, b) = (
            &self.words[i * nw..(i + 1) * nw],
            &self.words[j * nw..(j + 1) * nw],
        );
        let dist: u32 = a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum();
        dist as usize <= d
    }

    /// The product for two chunks and no distance limit, factorised: with `T(i, j) =
    /// T0[a_i][a_j] T1[b_i][b_j]`, rows sharing `b_i = b` need `W_b[a] = sum_{j: a_j = a}
    /// T1[b][b_j] x[j]` once (cost `m`), then each such row is `sum_a T0[a_i][a] W_b[a]`
    /// (cost: the distinct chunk-0 values). `m * (distinct b + distinct a)` instead of `m^2`.
    fn products_two_chunks(&self, two: &TwoChunks, x: &[f64], out: &mut [f64], transpose: bool) {
        let tables = if transpose {
            &self.tables_t
        } else {
            &self.tables
        };
        let (w0, w1) = (self.widths[0], self.widths[1]);
        let (t0, t1) = (&tables[0], &tables[1]);
        let second = &self.index[1];
        let rows: Vec<Vec<(u32, f64)>> = two
            .by_second
            .par_iter()
            .map(|(b, members)| {
                let s1 = &t1[usize::from(*b) << w1..][..1 << w1];
                let mut w = vec![0.0f64; two.first_values.len()];
                for ((&p, &bj), &v) in two.first_pos.iter().zip(second).zip(x) {
                    w[p as usize] += s1[usize::from(bj)] * v;
                }
                members
                    .iter()
                    .map(|&i| {
                        let a = usize::from(self.index[0][i as usize]);
                        let s0 = &t0[a << w0..][..1 << w0];
                        let fv = &two.first_values;
                        let value = lanes(fv.len(), |k| s0[usize::from(fv[k])] * w[k]);
                        (i, value)
                    })
                    .collect()
            })
            .collect();
        for group in rows {
            for (i, v) in group {
                out[i as usize] = v;
            }
        }
    }

    /// `out[i] = sum_j T(i, j) x[j]` (or with the transpose), over pairs within the distance.
    fn products(&self, x: &[f64], out: &mut [f64], transpose: bool) {
        if let Some(two) = &self.two {
            self.products_two_chunks(two, x, out, transpose);
            return;
        }
        let tables = if transpose {
            &self.tables_t
        } else {
            &self.tables
        };
        out.par_iter_mut()
            .with_min_len(16)
            .enumerate()
            .for_each(|(i, o)| {
                // This row's slice of each chunk's table.
                let slices: Vec<&[f64]> = tables
                    .iter()
                    .zip(&self.widths)
                    .zip(&self.index)
                    .map(|((t, &w), idx)| &t[usize::from(idx[i]) << w..][..1 << w])
                    .collect();
                *o = match (self.distance, slices.as_slice()) {
                    (None, [s0]) => lanes(self.m, |j| x[j] * s0[usize::from(self.index[0][j])]),
                    (None, [s0, s1]) => {
                        let (i0, i1) = (&self.index[0], &self.index[1]);
                        lanes(self.m, |j| {
                            x[j] * s0[usize::from(i0[j])] * s1[usize::from(i1[j])]
                        })
                    }
                    (None, [s0, s1, s2]) => {
                        let (i0, i1, i2) = (&self.index[0], &self.index[1], &self.index[2]);
                        lanes(self.m, |j| {
                            x[j] * s0[usize::from(i0[j])]
                                * s1[usize::from(i1[j])]
                                * s2[usize::from(i2[j])]
                        })
                    }
                    _ => (0..self.m)
                        .filter(|&j| self.distance.is_none_or(|d| self.within(i, j, d)))
                        .map(|j| {
                            slices
                                .iter()
                                .zip(&self.index)
                                .fold(x[j], |e, (s, idx)| e * s[usize::from(idx[j])])
                        })
                        .sum(),
                };
            });
    }

    /// `y = A_norm x`.
    pub fn matvec(&self, x: &[f64], y: &mut [f64]) {
        let scaled: Vec<f64> = x.iter().zip(&self.col_norms).map(|(a, c)| a / c).collect();
        self.products(&scaled, y, false);
    }

    /// `y = A_norm^T x`.
    pub fn rmatvec(&self, x: &[f64], y: &mut [f64]) {
        self.products(x, y, true);
        for (v, c) in y.iter_mut().zip(&self.col_norms) {
            *v /= c;
        }
    }

    /// The diagonal of `A_norm`.
    #[must_use]
    pub fn diagonal(&self) -> Vec<f64> {
        (0..self.m)
            .map(|i| {
                let mut e = 1.0;
                for ((t, &w), idx) in self.tables.iter().zip(&self.widths).zip(&self.index) {
                    let v = usize::from(idx[i]);
                    e *= t[(v << w) | v];
                }
                e / self.col_norms[i]
            })
            .collect()
    }
}

/// `sum(f(j) for j in 0..m)` with four independent accumulators: a single running sum waits
/// for each addition to finish (its latency), four keep the adder busy.
#[inline]
fn lanes(m: usize, f: impl Fn(usize) -> f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let full = m - m % 4;
    let mut j = 0;
    while j < full {
        acc[0] += f(j);
        acc[1] += f(j + 1);
        acc[2] += f(j + 2);
        acc[3] += f(j + 3);
        j += 4;
    }
    for k in full..m {
        acc[k % 4] += f(k);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// The table of the chunk of `w` bits from bit `first`, and its transpose.
fn chunk_tables(errors: &ReadoutErrors<'_>, first: usize, w: usize) -> (Vec<f64>, Vec<f64>) {
    let size = 1usize << w;
    // Built bit by bit: the table of the first b bits, extended by one bit at a time.
    let mut t = vec![1.0f64];
    for b in 0..w {
        let k = first + b;
        let factor = [
            [1.0 - errors.p01[k], errors.p10[k]],
            [errors.p01[k], 1.0 - errors.p10[k]],
        ];
        let half = 1usize << b;
        let mut next = vec![0.0; 4 * half * half];
        for o in 0..2 * half {
            for tr in 0..2 * half {
                let low = t[(o & (half - 1)) * half + (tr & (half - 1))];
                next[o * 2 * half + tr] = low * factor[o >> b][tr >> b];
            }
        }
        t = next;
    }
    let mut tt = vec![0.0f64; size * size];
    for o in 0..size {
        for tr in 0..size {
            tt[tr * size + o] = t[o * size + tr];
        }
    }
    (t, tt)
}

/// Quasi-probabilities of the observed outcomes: the solution of `A_norm x = probs`.
///
/// # Errors
/// Bad shapes or errors (see [`Reduced::new`]), or GMRES not converging within `max_iter`.
pub fn mitigate(
    reduced: &Reduced,
    probs: &[f64],
    tol: f64,
    max_iter: usize,
) -> Result<(Vec<f64>, SolveStats)> {
    if probs.len() != reduced.len() {
        return Err(Error::Value(format!(
            "{} probabilities for {} outcomes",
            probs.len(),
            reduced.len()
        )));
    }
    let diag = reduced.diagonal();
    solver::gmres(|x, y| reduced.matvec(x, y), &diag, probs, tol, max_iter)
}

/// Estimate of `||A_norm^{-1}||_1` (Hager and Higham's method, a few solves with the matrix
/// and its transpose); its square is the mitigation overhead in shots.
///
/// # Errors
/// A solve that does not converge.
pub fn inverse_one_norm(reduced: &Reduced, tol: f64, max_iter: usize) -> Result<f64> {
    let m = reduced.len();
    if m <= 1 {
        return Ok(1.0);
    }
    let diag = reduced.diagonal();
    let solve = |b: &[f64]| solver::gmres(|x, y| reduced.matvec(x, y), &diag, b, tol, max_iter);
    let solve_t = |b: &[f64]| solver::gmres(|x, y| reduced.rmatvec(x, y), &diag, b, tol, max_iter);
    let start = vec![1.0 / m as f64; m];
    let (mut v, _) = solve(&start)?;
    let mut gamma: f64 = v.iter().map(|a| a.abs()).sum();
    let mut eta: Vec<f64> = v
        .iter()
        .map(|a| if *a < 0.0 { -1.0 } else { 1.0 })
        .collect();
    for _ in 0..4 {
        let (x, _) = solve_t(&eta)?;
        let (idx, _) = x.iter().enumerate().fold((0, -1.0), |best, (i, a)| {
            if a.abs() > best.1 {
                (i, a.abs())
            } else {
                best
            }
        });
        let mut e = vec![0.0; m];
        e[idx] = 1.0;
        (v, _) = solve(&e)?;
        let previous = gamma;
        gamma = v.iter().map(|a| a.abs()).sum();
        let signs: Vec<f64> = v
            .iter()
            .map(|a| if *a < 0.0 { -1.0 } else { 1.0 })
            .collect();
        if gamma <= previous || signs == eta {
            gamma = gamma.max(previous);
            break;
        }
        eta = signs;
    }
    Ok(gamma)
}

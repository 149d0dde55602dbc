//! Readout-error mitigation on observed outcomes, matrix-free (the M3 method).
//!
//! With per-bit readout errors `P(1|0)` and `P(0|1)`, the probability of observing bitstring
//! `s` when `t` was prepared is `A[s][t] = prod_k P(s_k | t_k)`. Mitigation solves
//! `A x = p` for the quasi-probabilities `x`, with `p` the observed distribution; the full
//! `2^n x 2^n` system is out of reach, so the matrix is restricted to the `m` observed
//! outcomes (optionally to pairs within a Hamming distance), each column renormalised to sum
//! to 1 over that subspace, and the `m x m` system is solved by preconditioned GMRES.
//!
//! No matrix is stored: every product recomputes the elements from per-byte tables. The
//! table of byte `b` holds `prod P(o_k | t_k)` over the byte's 8 bits for every pair of byte
//! values `(o, t)`, so an element is one lookup per byte, and a row's lookups stay within
//! `nbytes` slices of 256 values (2 KiB each), which sit in L1.

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

/// The reduced assignment matrix over the observed outcomes, column-normalised.
pub struct Reduced<'a> {
    rows: &'a [u8],
    nbytes: usize,
    m: usize,
    distance: Option<usize>,
    /// `tables[b][o * 256 + t]`: product of `P(o_k | t_k)` over the bits of byte `b`.
    tables: Vec<Vec<f64>>,
    /// `tables_t[b][t * 256 + o]`: the same, transposed (for products with the transpose).
    tables_t: Vec<Vec<f64>>,
    /// Column sums over the subspace.
    col_norms: Vec<f64>,
}

impl<'a> Reduced<'a> {
    /// Builds the tables and column norms for `m` packed rows of `num_bits` bits.
    ///
    /// # Errors
    /// Shapes that disagree, or an error probability outside `[0, 1]` (or a bit whose two
    /// error probabilities sum to 1 or more, which makes its assignment matrix singular).
    pub fn new(
        rows: &'a [u8],
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
        if nbytes == 0 || rows.len() % nbytes != 0 {
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
        let mut tables = Vec::with_capacity(nbytes);
        let mut tables_t = Vec::with_capacity(nbytes);
        for byte in 0..nbytes {
            // Byte `byte` holds bits 8 * (nbytes - 1 - byte) .. + 8 (the layout is big-endian).
            let first = 8 * (nbytes - 1 - byte);
            let mut t = vec![0.0f64; 256 * 256];
            for o in 0..256usize {
                for tr in 0..256usize {
                    let mut v = 1.0;
                    for j in 0..8 {
                        let (ob, tb) = ((o >> j) & 1, (tr >> j) & 1);
                        let k = first + j;
                        v *= if k >= num_bits {
                            if ob == tb {
                                1.0
                            } else {
                                0.0
                            }
                        } else {
                            match (ob, tb) {
                                (0, 0) => 1.0 - errors.p01[k],
                                (1, 0) => errors.p01[k],
                                (0, _) => errors.p10[k],
                                _ => 1.0 - errors.p10[k],
                            }
                        };
                    }
                    t[o * 256 + tr] = v;
                }
            }
            let mut tt = vec![0.0f64; 256 * 256];
            for o in 0..256 {
                for tr in 0..256 {
                    tt[tr * 256 + o] = t[o * 256 + tr];
                }
            }
            tables.push(t);
            tables_t.push(tt);
        }
        let mut out = Self {
            rows,
            nbytes,
            m,
            distance: distance.filter(|&d| d < num_bits),
            tables,
            tables_t,
            col_norms: vec![1.0; m],
        };
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

    fn row(&self, i: usize) -> &[u8] {
        &self.rows[i * self.nbytes..(i + 1) * self.nbytes]
    }

    /// `out[i] = sum_j T(i, j) x[j]` (or with the transpose), over pairs within the distance.
    fn products(&self, x: &[f64], out: &mut [f64], transpose: bool) {
        let tables = if transpose {
            &self.tables_t
        } else {
            &self.tables
        };
        let nb = self.nbytes;
        let distance = self.distance;
        out.par_iter_mut()
            .with_min_len(64)
            .enumerate()
            .for_each(|(i, o)| {
                let ri = self.row(i);
                // This row's 256-value slice of each byte's table.
                let slices: Vec<&[f64]> = (0..nb)
                    .map(|b| &tables[b][usize::from(ri[b]) * 256..][..256])
                    .collect();
                let mut acc = 0.0;
                for (j, rj) in self.rows.chunks_exact(nb).enumerate() {
                    if let Some(d) = distance {
                        let dist: u32 = ri.iter().zip(rj).map(|(a, b)| (a ^ b).count_ones()).sum();
                        if dist as usize > d {
                            continue;
                        }
                    }
                    let mut e = x[j];
                    for (s, &v) in slices.iter().zip(rj) {
                        e *= s[usize::from(v)];
                    }
                    acc += e;
                }
                *o = acc;
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
                let r = self.row(i);
                let mut e = 1.0;
                for (b, &v) in r.iter().enumerate() {
                    e *= self.tables[b][usize::from(v) * 257];
                }
                e / self.col_norms[i]
            })
            .collect()
    }
}

/// Quasi-probabilities of the observed outcomes: the solution of `A_norm x = probs`.
///
/// # Errors
/// Bad shapes or errors (see [`Reduced::new`]), or GMRES not converging within `max_iter`.
pub fn mitigate(
    reduced: &Reduced<'_>,
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
pub fn inverse_one_norm(reduced: &Reduced<'_>, tol: f64, max_iter: usize) -> Result<f64> {
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

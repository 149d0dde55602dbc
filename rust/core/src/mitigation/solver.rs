//! Restarted GMRES with a diagonal (Jacobi) right preconditioner, for the reduced systems.

use crate::{Error, Result};

/// How a solve went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolveStats {
    /// Matrix-vector products taken.
    pub iterations: usize,
    /// Final residual norm relative to the right-hand side's.
    pub relative_residual: f64,
}

const RESTART: usize = 40;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// Solves `A x = b` for the operator `apply` (`apply(x, y)` sets `y = A x`), preconditioned by
/// `diag` (the diagonal of `A`), to `||b - A x|| <= tol ||b||`.
///
/// # Errors
/// No convergence within `max_iter` products, or a zero on the diagonal.
pub fn gmres(
    apply: impl Fn(&[f64], &mut [f64]),
    diag: &[f64],
    b: &[f64],
    tol: f64,
    max_iter: usize,
) -> Result<(Vec<f64>, SolveStats)> {
    let n = b.len();
    if diag.iter().any(|d| *d == 0.0 || !d.is_finite()) {
        return Err(Error::Value(
            "the assignment matrix has a zero on its diagonal".into(),
        ));
    }
    let mut x = vec![0.0; n];
    let bnorm = norm(b);
    if bnorm == 0.0 || n == 0 {
        return Ok((
            x,
            SolveStats {
                iterations: 0,
                relative_residual: 0.0,
            },
        ));
    }
    let mut iterations = 0;
    let mut ax = vec![0.0; n];
    let mut w = vec![0.0; n];
    let mut z = vec![0.0; n];
    loop {
        apply(&x, &mut ax);
        let r: Vec<f64> = b.iter().zip(&ax).map(|(p, q)| p - q).collect();
        let beta = norm(&r);
        if beta <= tol * bnorm {
            return Ok((
                x,
                SolveStats {
                    iterations,
                    relative_residual: beta / bnorm,
                },
            ));
        }
        if iterations >= max_iter {
            return Err(Error::Value(format!(
                "GMRES did not converge in {max_iter} iterations (relative residual {:.3e}, \
                 tolerance {tol:.1e})",
                beta / bnorm
            )));
        }
        let mut basis: Vec<Vec<f64>> = vec![r.iter().map(|v| v / beta).collect()];
        // Hessenberg columns, Givens rotations and the rotated residual vector.
        let mut h: Vec<Vec<f64>> = Vec::new();
        let mut cs: Vec<(f64, f64)> = Vec::new();
        let mut g = vec![beta];
        let mut k = 0;
        while k < RESTART && iterations < max_iter {
            for ((zi, vi), d) in z.iter_mut().zip(&basis[k]).zip(diag) {
                *zi = vi / d;
            }
            apply(&z, &mut w);
            iterations += 1;
            let mut col = vec![0.0; k + 2];
            for (i, v) in basis.iter().enumerate() {
                let c = dot(&w, v);
                col[i] = c;
                for (wj, vj) in w.iter_mut().zip(v) {
                    *wj -= c * vj;
                }
            }
            let hn = norm(&w);
            col[k + 1] = hn;
            for (i, &(c, s)) in cs.iter().enumerate() {
                let (a, bb) = (col[i], col[i + 1]);
                col[i] = c * a + s * bb;
                col[i + 1] = -s * a + c * bb;
            }
            let denom = col[k].hypot(col[k + 1]);
            let (c, s) = if denom == 0.0 {
                (1.0, 0.0)
            } else {
                (col[k] / denom, col[k + 1] / denom)
            };
            col[k] = denom;
            col[k + 1] = 0.0;
            cs.push((c, s));
            let gk = g[k];
            g[k] = c * gk;
            g.push(-s * gk);
            h.push(col);
            k += 1;
            if g[k].abs() <= tol * bnorm || hn == 0.0 {
                break;
            }
            basis.push(w.iter().map(|v| v / hn).collect());
        }
        // Back substitution for the k coefficients, then x += D^-1 V y.
        let mut y = vec![0.0; k];
        for i in (0..k).rev() {
            let mut acc = g[i];
            for (j, yj) in y.iter().enumerate().skip(i + 1) {
                acc -= h[j][i] * yj;
            }
            y[i] = acc / h[i][i];
        }
        for (i, yi) in y.iter().enumerate() {
            for ((xj, vj), d) in x.iter_mut().zip(&basis[i]).zip(diag) {
                *xj += yi * vj / d;
            }
        }
    }
}

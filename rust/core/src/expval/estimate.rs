//! Estimator moments: per-part means and variances over randomizations and shots.

use rayon::prelude::*;

use super::{
    chunks, flipped_bits, for_each_block, layout, narrow_terms, narrow_words, use_pool, Error,
    NarrowTerm, Result, Rows, Term,
};

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
    #[must_use]
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
    #[must_use]
    pub fn variance(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            (self.m2 / self.n as f64).max(0.0)
        }
    }
}

/// The measured data of one Estimator group: `num_rand` randomizations of `shots` rows each,
/// with an optional packed flip row per randomization (bits flipped before measuring, `XORed` out
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

/// The parts of an Estimator call as flat tables (what the binding receives): part `i` is
/// `sum(coeffs[j] * term[terms[j]])` over `ptr[i]..ptr[i + 1]`, measured in group `group[i]` and
/// added to cell `cell[i]`.
#[derive(Debug, Clone, Copy)]
pub struct PartTables<'a> {
    pub group: &'a [usize],
    pub cell: &'a [usize],
    pub ptr: &'a [usize],
    pub terms: &'a [usize],
    pub coeffs: &'a [f64],
}

impl PartTables<'_> {
    /// The parts, after checking that the tables agree with each other (index ranges are
    /// checked by [`estimate`]).
    ///
    /// # Errors
    /// [`Error::Value`] when lengths or the `ptr` offsets are inconsistent.
    pub fn parts(&self) -> Result<Vec<Part>> {
        let (pg, pc, ptr, pt) = (self.group, self.cell, self.ptr, self.terms);
        if pg.len() != pc.len()
            || ptr.len() != pg.len() + 1
            || ptr.first() != Some(&0)
            || ptr.windows(2).any(|w| w[0] > w[1])
            || ptr.last() != Some(&pt.len())
            || pt.len() != self.coeffs.len()
        {
            return Err(Error::Value("inconsistent part tables".into()));
        }
        Ok((0..pg.len())
            .map(|i| Part {
                group: pg[i],
                cell: pc[i],
                entries: (ptr[i]..ptr[i + 1])
                    .map(|j| (pt[j], self.coeffs[j]))
                    .collect(),
            })
            .collect())
    }
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
    // Rows of at most 64 bits (the common case) read their planes from a fixed array with
    // 6-bit indices, as `term_sums` does, so the lookups need no bounds checks; a pure-Z term's
    // non-zero lanes are the valid ones, which saves a popcount. Without this the same
    // single-term observables cost about 1.7x the `expectation_values` kernel.
    let narrow: Option<Vec<NarrowTerm>> =
        (rows.num_bits <= 64).then(|| narrow_terms(group.terms.iter()));
    let mut fixed = [0u64; 64];
    for_each_block(&rows, &flips, |planes, count, valid| {
        n += count as u64;
        if let Some(narrow) = &narrow {
            fixed[..planes.len()].copy_from_slice(planes);
            for (t, term) in narrow.iter().enumerate() {
                let (sign, nonzero) = narrow_words(&fixed, term, valid);
                words[t] = (sign, nonzero);
                let all = if term.1.is_empty() {
                    count as i64
                } else {
                    i64::from(nonzero.count_ones())
                };
                lin[t] += all - 2 * i64::from((nonzero & sign).count_ones());
                sq[t] += all;
            }
        } else {
            for (t, term) in group.terms.iter().enumerate() {
                let (sign, nonzero) = term.words(planes, valid);
                words[t] = (sign, nonzero);
                let all = i64::from(nonzero.count_ones());
                lin[t] += all - 2 * i64::from((nonzero & sign).count_ones());
                sq[t] += all;
            }
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
// One function on purpose: the checks, the work split and the reduction read top to bottom.
///
/// # Errors
/// [`Error::Value`], [`Error::Shape`] or [`Error::Index`] naming the group, part or cell whose
/// tables disagree.
#[allow(clippy::too_many_lines)]
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
    let partial: Vec<Vec<Moments>> = if use_pool(work) {
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

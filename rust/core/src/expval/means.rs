//! Expectation values: observables as weighted sums of terms, averaged over the shots.

use rayon::prelude::*;

use super::{chunks, term_sums, use_pool, Error, Result, Rows, Term};

/// Observables as sums of terms, in compressed rows: observable `o` is
/// `sum(coeffs[i] * term[terms[i]] for i in ptr[o]..ptr[o + 1])`.
#[derive(Debug, Clone, Copy)]
pub struct Sums<'a> {
    pub ptr: &'a [usize],
    pub terms: &'a [usize],
    pub coeffs: &'a [f64],
}

impl Sums<'_> {
    pub(super) fn len(&self) -> usize {
        self.ptr.len().saturating_sub(1)
    }

    pub(super) fn check(&self, num_terms: usize) -> Result<()> {
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

    pub(super) fn entries(&self, o: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        (self.ptr[o]..self.ptr[o + 1]).map(move |i| (self.terms[i], self.coeffs[i]))
    }
}

/// Expectation values of observables on cells of packed rows.
///
/// `data` holds `num_cells` cells of `num_shots` rows each. Output `k` is the mean over the shots
/// of cell `out_cell[k]` of observable `out_obs[k]`. Each cell evaluates only the terms its
/// outputs need, all of them in one pass over its rows.
///
/// # Errors
/// [`Error::Value`] / [`Error::Index`] when the tables disagree with each other or with the data.
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
    let partial: Vec<Vec<i64>> = if use_pool(work) {
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
pub(super) fn needed_terms(
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

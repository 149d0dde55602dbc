//! Bindings for `shotpack_core::expval` and `shotpack_core::grouping`: expectation values of
//! diagonal terms on packed rows, Estimator moments, and qubit-wise commuting grouping.
//!
//! Arguments are flat NumPy tables built by `shotpack.expectation` / `shotpack.estimator`; each
//! call extracts them with the GIL, computes with it released, and returns fresh float64 arrays.

use numpy::{
    PyArray1, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use shotpack_core::expval::{self, Group, PartTables, Rows, Sums, Term};
use shotpack_core::{grouping, Error};

use crate::arrays::elements;
use crate::errors::{guard, to_py, IntoPyResult};
use crate::threads;

/// Non-negative int64 indices as `usize`, naming the table in errors.
fn indices(a: &PyReadonlyArray1<'_, i64>, what: &str) -> PyResult<Vec<usize>> {
    elements(a)
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            usize::try_from(x)
                .map_err(|_| to_py(Error::Value(format!("{what}[{i}] is negative ({x})"))))
        })
        .collect()
}

/// Terms from three `(num_terms, words)` uint64 mask tables.
fn terms(
    z: &PyReadonlyArray2<'_, u64>,
    p: &PyReadonlyArray2<'_, u64>,
    v: &PyReadonlyArray2<'_, u64>,
    num_bits: usize,
) -> shotpack_core::Result<Vec<Term>> {
    let num_terms = z.shape()[0];
    if p.shape()[0] != num_terms || v.shape()[0] != num_terms {
        return Err(Error::Value(
            "z, p and v mask tables must have the same number of rows".into(),
        ));
    }
    expval::terms_from_masks(
        &elements(z),
        &elements(p),
        &elements(v),
        num_terms,
        num_bits,
    )
}

/// Expectation values of observables on the cells of a packed `(num_cells, num_shots, nbytes)`
/// array. Output `k` is observable `out_obs[k]` on cell `out_cell[k]`; observable `o` is
/// `sum(obs_coeffs[i] * term[obs_terms[i]] for i in obs_ptr[o]..obs_ptr[o + 1])`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn expectation_values<'py>(
    py: Python<'py>,
    data: PyReadonlyArrayDyn<'py, u8>,
    num_cells: usize,
    num_shots: usize,
    num_bits: usize,
    z: PyReadonlyArray2<'py, u64>,
    p: PyReadonlyArray2<'py, u64>,
    v: PyReadonlyArray2<'py, u64>,
    obs_ptr: PyReadonlyArray1<'py, i64>,
    obs_terms: PyReadonlyArray1<'py, i64>,
    obs_coeffs: PyReadonlyArray1<'py, f64>,
    out_cell: PyReadonlyArray1<'py, i64>,
    out_obs: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    guard("expectation_values", || {
        let data = elements(&data);
        let terms = terms(&z, &p, &v, num_bits).into_py_result()?;
        let ptr = indices(&obs_ptr, "obs_ptr")?;
        let idx = indices(&obs_terms, "obs_terms")?;
        let coeffs = elements(&obs_coeffs);
        let out_cell = indices(&out_cell, "out_cell")?;
        let out_obs = indices(&out_obs, "out_obs")?;
        threads::init_pool();
        let out = py
            .detach(|| {
                let sums = Sums {
                    ptr: &ptr,
                    terms: &idx,
                    coeffs: &coeffs,
                };
                expval::expectation_values(
                    &data, num_cells, num_shots, num_bits, &terms, sums, &out_cell, &out_obs,
                )
            })
            .into_py_result()?;
        Ok(PyArray1::from_vec(py, out))
    })
}

/// One group's inputs: packed rows `(num_rand, shots, nbytes)` (rows are all axes but the last),
/// the number of randomizations, the bit count, optional flip rows `(num_rand, nbytes)`, and
/// the z / p / v mask tables of its terms.
type GroupArgs<'py> = (
    PyReadonlyArrayDyn<'py, u8>,
    usize,
    usize,
    Option<PyReadonlyArrayDyn<'py, u8>>,
    PyReadonlyArray2<'py, u64>,
    PyReadonlyArray2<'py, u64>,
    PyReadonlyArray2<'py, u64>,
);

/// Estimator `evs`, `stds` and `ensemble_standard_error` (flat, one per output cell).
///
/// Part `i` is `sum(part_coeffs[j] * term[part_terms[j]])` over `part_ptr[i]..part_ptr[i + 1]`,
/// measured in group `part_group[i]` and added to cell `part_cell[i]`; `offsets[k]` is cell `k`'s
/// constant (identity) part.
#[pyfunction]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn estimator_moments<'py>(
    py: Python<'py>,
    groups: Vec<GroupArgs<'py>>,
    part_group: PyReadonlyArray1<'py, i64>,
    part_cell: PyReadonlyArray1<'py, i64>,
    part_ptr: PyReadonlyArray1<'py, i64>,
    part_terms: PyReadonlyArray1<'py, i64>,
    part_coeffs: PyReadonlyArray1<'py, f64>,
    offsets: PyReadonlyArray1<'py, f64>,
) -> PyResult<(
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
)> {
    guard("estimator_moments", || {
        let mut datas = Vec::with_capacity(groups.len());
        let mut flips = Vec::with_capacity(groups.len());
        let mut group_terms = Vec::with_capacity(groups.len());
        let mut shapes = Vec::with_capacity(groups.len());
        for (i, (data, num_rand, num_bits, flip, z, p, v)) in groups.iter().enumerate() {
            // Rows: every axis but the last (bytes) of the data array.
            let shape = data.shape();
            let num_rows: usize = shape[..shape.len().saturating_sub(1)].iter().product();
            datas.push((elements(data), num_rows));
            flips.push(flip.as_ref().map(elements));
            group_terms.push(
                terms(z, p, v, *num_bits)
                    .map_err(|e| e.within(format_args!("group {i}")))
                    .into_py_result()?,
            );
            shapes.push((*num_rand, *num_bits));
        }
        let pg = indices(&part_group, "part_group")?;
        let pc = indices(&part_cell, "part_cell")?;
        let ptr = indices(&part_ptr, "part_ptr")?;
        let pt = indices(&part_terms, "part_terms")?;
        let coeffs = elements(&part_coeffs);
        let offsets = elements(&offsets);
        let parts = PartTables {
            group: &pg,
            cell: &pc,
            ptr: &ptr,
            terms: &pt,
            coeffs: &coeffs,
        }
        .parts()
        .into_py_result()?;
        let mut core_groups = Vec::with_capacity(groups.len());
        for (i, ((((data, num_rows), flip), terms), (num_rand, num_bits))) in datas
            .iter()
            .zip(&flips)
            .zip(group_terms)
            .zip(shapes)
            .enumerate()
        {
            let rows = Rows::new(data, *num_rows, num_bits)
                .map_err(|e| e.within(format_args!("group {i}")))
                .into_py_result()?;
            core_groups.push(Group {
                rows,
                num_rand,
                flips: flip.as_deref(),
                terms,
            });
        }
        threads::init_pool();
        let est = py
            .detach(|| expval::estimate(&core_groups, &parts, offsets.len(), &offsets))
            .into_py_result()?;
        Ok((
            PyArray1::from_vec(py, est.evs),
            PyArray1::from_vec(py, est.stds),
            PyArray1::from_vec(py, est.ensemble_standard_error),
        ))
    })
}

/// Greedy largest-first qubit-wise commuting groups, separately within each segment
/// `ptr[i]..ptr[i + 1]` of the terms: one group index per term (restarting at 0 per segment),
/// from `(num_terms, words)` x and z masks over qubits.
#[pyfunction]
fn group_qubitwise<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, u64>,
    z: PyReadonlyArray2<'py, u64>,
    ptr: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    guard("group_qubitwise", || {
        if z.shape() != x.shape() {
            return Err(to_py(Error::Value(
                "x and z masks must have the same shape".into(),
            )));
        }
        let words = x.shape()[1];
        let (xs, zs) = (elements(&x), elements(&z));
        let ptr = indices(&ptr, "ptr")?;
        let groups = py
            .detach(|| grouping::group_segments(&xs, &zs, words, &ptr))
            .into_py_result()?;
        // Group indices are below the number of terms, which fits in i64.
        Ok(PyArray1::from_vec(
            py,
            groups.into_iter().map(|g| g as i64).collect(),
        ))
    })
}

/// Makes this thread's expectation-value and Estimator kernels run on the calling thread only
/// (`True`) or in rayon's pool when large enough (`False`, the default); returns the previous
/// setting. Used by `shotpack.stats.kernels_on_calling_thread` around per-chunk work.
#[pyfunction]
fn set_kernels_on_calling_thread(on: bool) -> bool {
    expval::set_on_calling_thread(on)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(set_kernels_on_calling_thread, m)?)?;
    m.add_function(wrap_pyfunction!(expectation_values, m)?)?;
    m.add_function(wrap_pyfunction!(estimator_moments, m)?)?;
    m.add_function(wrap_pyfunction!(group_qubitwise, m)?)?;
    Ok(())
}

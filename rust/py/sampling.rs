//! Bindings for `shotpack_core::sampling`: the local simulator's independent outcome draws.

use numpy::{
    PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use shotpack_core::{sampling, Error};

use crate::arrays::{elements, with_slice_mut};
use crate::errors::{guard, to_py, IntoPyResult};
use crate::threads;

/// Fills `out`, a C-contiguous `uint8` table `(shots, len(shifts))`, with independent outcomes
/// drawn from `probs` (`2^m` weights, `m <= 32`): column `c` is bit `shifts[c]`. `seed` keys
/// the random stream (equal arguments give equal tables).
#[pyfunction]
fn sample_outcome_bits<'py>(
    py: Python<'py>,
    probs: PyReadonlyArray1<'py, f64>,
    seed: u64,
    shifts: Vec<u32>,
    out: Bound<'py, PyArrayDyn<u8>>,
) -> PyResult<()> {
    guard("sample_outcome_bits", || {
        let probs = elements(&probs);
        let shape = out.shape().to_vec();
        check_table(&shape, shifts.len())?;
        // Scratch space from NumPy's allocator, which asks for huge pages (fresh 4 KiB pages
        // of a Rust buffer this size cost as much as the sampling); every element is written
        // before it is read.
        // SAFETY: a fresh array that nothing else references; u16 has no invalid values.
        let scratch = unsafe { PyArray1::<u16>::new(py, shape[0], false) };
        let mut scratch = scratch.readwrite();
        let scratch = scratch
            .as_slice_mut()
            .map_err(|e| to_py(Error::Value(e.to_string())))?;
        threads::init_pool();
        with_slice_mut(&out, |buf| {
            py.detach(|| sampling::sample_outcome_bits(&probs, seed, &shifts, buf, scratch))
                .into_py_result()
        })
    })
}

/// Shots of several branches: `counts[b]` shots take branch `b`, in a uniformly random order
/// (drawn from `seed`'s stream), and each shot's outcome is an independent draw from its
/// branch's row of `probs` (`(branches, 2^m)` weights, `m <= 32`), written into `out` as by
/// `sample_outcome_bits`. Returns the branch of every shot (`uint32`, one per row of `out`).
#[pyfunction]
fn sample_branch_outcome_bits<'py>(
    py: Python<'py>,
    probs: PyReadonlyArray2<'py, f64>,
    counts: PyReadonlyArray1<'py, u64>,
    seed: u64,
    shifts: Vec<u32>,
    out: Bound<'py, PyArrayDyn<u8>>,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    guard("sample_branch_outcome_bits", || {
        let branches = probs.shape()[0];
        let probs = elements(&probs);
        let counts = elements(&counts);
        let shape = out.shape().to_vec();
        check_table(&shape, shifts.len())?;
        let shots = shape[0];
        // Fresh arrays from NumPy's allocator (see `sample_outcome_bits`); every element is
        // written before it is read (arrange_branches fails before writing on a count mismatch).
        // SAFETY: fresh arrays that nothing else references; u16 and u32 have no invalid values.
        let labels_arr = unsafe { PyArray1::<u32>::new(py, shots, false) };
        let scratch = unsafe { PyArray1::<u16>::new(py, shots, false) };
        {
            let mut labels = labels_arr.readwrite();
            let labels = labels
                .as_slice_mut()
                .map_err(|e| to_py(Error::Value(e.to_string())))?;
            let mut scratch = scratch.readwrite();
            let scratch = scratch
                .as_slice_mut()
                .map_err(|e| to_py(Error::Value(e.to_string())))?;
            threads::init_pool();
            with_slice_mut(&out, |buf| {
                py.detach(|| {
                    sampling::arrange_branches(&counts, seed, labels)?;
                    sampling::sample_branch_outcome_bits(
                        &probs, branches, labels, seed, &shifts, buf, scratch,
                    )
                })
                .into_py_result()
            })?;
        }
        Ok(labels_arr)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sample_outcome_bits, m)?)?;
    m.add_function(wrap_pyfunction!(sample_branch_outcome_bits, m)?)?;
    Ok(())
}

/// The output table must be `(shots, columns)`.
fn check_table(shape: &[usize], columns: usize) -> PyResult<()> {
    if shape.len() == 2 && shape[1] == columns {
        return Ok(());
    }
    Err(to_py(Error::Value(format!(
        "the output has shape {shape:?}, expected (shots, {columns})"
    ))))
}

//! Bindings for `shotpack_core::sampling`: the local simulator's independent outcome draws.

use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
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
        if shape.len() != 2 || shape[1] != shifts.len() {
            return Err(to_py(Error::Value(format!(
                "the output has shape {shape:?}, expected (shots, {})",
                shifts.len()
            ))));
        }
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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sample_outcome_bits, m)?)?;
    Ok(())
}

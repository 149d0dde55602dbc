//! Bindings for `shotpack_core::pack::samples`: bitstrings, hex strings, integers and counts
//! mappings to packed rows (`BitArray.from_samples` / `from_counts`).

use numpy::PyArrayDyn;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use shotpack_core::alloc;
use shotpack_core::layout::num_bytes;
use shotpack_core::pack::{self, CountsPlan};

use crate::arrays::{numpy_new, with_slice_mut};
use crate::conversion::samples::{mode_of, parse_sample};
use crate::errors::{guard, BindError};

/// Packs bitstrings, hex strings (the first starts with "0x") or integers into a
/// `(len(samples), ceil(num_bits / 8))` array. `num_bits=None` takes the widest sample,
/// counting every digit of a binary string.
#[pyfunction]
#[pyo3(signature = (samples, num_bits = None))]
fn pack_samples<'py>(
    py: Python<'py>,
    samples: &Bound<'py, PyAny>,
    num_bits: Option<usize>,
) -> PyResult<(Bound<'py, PyArrayDyn<u8>>, usize)> {
    guard("pack_samples", || {
        let items: Vec<Bound<'py, PyAny>> = if let Ok(l) = samples.cast_exact::<PyList>() {
            l.iter().collect()
        } else if let Ok(t) = samples.cast_exact::<PyTuple>() {
            t.iter().collect()
        } else {
            let mut v = Vec::new();
            for it in samples.try_iter()? {
                alloc::push(&mut v, it?).map_err(BindError::from)?;
            }
            v
        };
        let Some(first) = items.first() else {
            return Err(PyErr::from(BindError::from(CountsPlan::no_samples())));
        };
        let mode = mode_of(first)?;
        let parsed = || items.iter().map(|it| parse_sample(it, mode));
        let num_bits = pack::infer_num_bits(parsed(), num_bits)?;
        let nb = num_bytes(num_bits);
        // Zeroed: the digit writers only set ones.
        let packed = numpy_new::<u8>(py, vec![items.len(), nb], true)?;
        with_slice_mut(&packed, |out| {
            Ok(pack::write_samples(parsed(), num_bits, out)?)
        })?;
        Ok((packed, num_bits))
    })
}

/// Packs counts mappings (key -> number of shots) into one `(total, nbytes)` array: mapping by
/// mapping, key by key in iteration order, each key's shots contiguous. Keys with a count of
/// zero or less add nothing. Returns `(packed, num_bits, shots_per_mapping)`.
#[pyfunction]
#[pyo3(signature = (mappings, num_bits = None))]
fn pack_counts<'py>(
    py: Python<'py>,
    mappings: Vec<Bound<'py, PyAny>>,
    num_bits: Option<usize>,
) -> PyResult<(Bound<'py, PyArrayDyn<u8>>, usize, Vec<usize>)> {
    guard("pack_counts", || {
        let mut keys: Vec<Bound<'py, PyAny>> = Vec::new();
        let mut plan = CountsPlan::default();
        for m in &mappings {
            plan.begin_mapping();
            // Through the mapping's own `items()` iterator: a dict that changes size while a
            // count's `__index__` runs raises Python's RuntimeError, as in Qiskit.
            for kv in m.call_method0("items")?.try_iter()? {
                let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = kv?.extract()?;
                // Same rules as itertools.repeat: an integer (via __index__).
                let n: i64 = v.extract()?;
                if plan.add(n).map_err(BindError::from)? {
                    alloc::push(&mut keys, k).map_err(BindError::from)?;
                }
            }
        }
        let Some(first) = keys.first() else {
            return Err(PyErr::from(BindError::from(CountsPlan::no_samples())));
        };
        let mode = mode_of(first)?;
        let parsed = || keys.iter().map(|k| parse_sample(k, mode));
        let num_bits = pack::infer_num_bits(parsed(), num_bits)?;
        // Checks that the size fits before NumPy is asked for it.
        plan.output_bytes(num_bits).map_err(BindError::from)?;
        let total = plan.total().map_err(BindError::from)?;
        // Zeroed: the digit writers only set ones.
        let packed = numpy_new::<u8>(py, vec![total, num_bytes(num_bits)], true)?;
        with_slice_mut(&packed, |out| {
            Ok(pack::write_counts(parsed(), &plan.reps, num_bits, out)?)
        })?;
        Ok((packed, num_bits, plan.per_mapping))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(pack_samples, m)?)?;
    m.add_function(wrap_pyfunction!(pack_counts, m)?)?;
    Ok(())
}

//! Bindings for `shotpack_core::memory`: Qiskit memory strings and counts from packed registers.

use std::borrow::Cow;

use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use shotpack_core::layout::num_bytes;
use shotpack_core::memory::{self, RegisterRows};
use shotpack_core::Error;

use crate::arrays::elements;
use crate::errors::{guard, to_py, IntoPyResult};
use crate::threads;

/// Borrowed (or, for non-elements input, copied) packed rows of each register, checked
/// against `shots` and the register's bit count.
fn register_bytes<'a>(
    regs: &'a [(PyReadonlyArray2<'_, u8>, usize)],
    shots: usize,
) -> PyResult<Vec<Cow<'a, [u8]>>> {
    regs.iter()
        .enumerate()
        .map(|(i, (arr, num_bits))| {
            let want = (shots, num_bytes(*num_bits));
            let shape = arr.shape();
            if (shape[0], shape[1]) != want {
                return Err(to_py(Error::Value(format!(
                    "register {i}: array shape ({}, {}) does not match {shots} shots of \
                     {num_bits} bits (expected ({}, {}))",
                    shape[0], shape[1], want.0, want.1
                ))));
            }
            Ok(elements(arr))
        })
        .collect()
}

fn rows<'a>(
    bytes: &'a [Cow<'a, [u8]>],
    regs: &[(PyReadonlyArray2<'_, u8>, usize)],
) -> Vec<RegisterRows<'a>> {
    bytes
        .iter()
        .zip(regs)
        .map(|(b, (_, n))| RegisterRows {
            data: b,
            num_bits: *n,
        })
        .collect()
}

/// One formatted line as text. The core writes only '0', '1' and ' ', so this cannot fail
/// unless the core has a bug, which is then reported rather than hidden.
fn line_str(line: &[u8]) -> PyResult<&str> {
    std::str::from_utf8(line).map_err(|e| to_py(Error::Value(format!("internal: {e}"))))
}

/// Qiskit memory strings of every shot.
///
/// `registers` are `(uint8 array [shots, bytes], num_bits)` pairs in ascending register index;
/// each string lists the registers highest index first, separated by spaces, each register
/// highest clbit first. No registers give an empty list.
#[pyfunction]
#[pyo3(signature = (registers, shots))]
fn qiskit_memory<'py>(
    py: Python<'py>,
    registers: Vec<(PyReadonlyArray2<'py, u8>, usize)>,
    shots: usize,
) -> PyResult<Bound<'py, PyList>> {
    guard("qiskit_memory", || {
        if registers.is_empty() {
            return Ok(PyList::empty(py));
        }
        threads::init_pool();
        let bytes = register_bytes(&registers, shots)?;
        let regs = rows(&bytes, &registers);
        let width = memory::line_width(&regs);
        let buf = py
            .detach(|| memory::format_memory(&regs, shots))
            .into_py_result()?;
        if width == 0 {
            let empty = PyString::new(py, "");
            return PyList::new(py, std::iter::repeat_n(empty, shots));
        }
        let strings = buf
            .chunks(width)
            .map(|line| line_str(line).map(|s| PyString::new(py, s)))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, strings)
    })
}

/// Qiskit counts: distinct memory strings (see `qiskit_memory`) in first-occurrence order, with
/// the number of shots of each. No registers give an empty dict.
#[pyfunction]
#[pyo3(signature = (registers, shots))]
fn qiskit_counts<'py>(
    py: Python<'py>,
    registers: Vec<(PyReadonlyArray2<'py, u8>, usize)>,
    shots: usize,
) -> PyResult<Bound<'py, PyDict>> {
    guard("qiskit_counts", || {
        let out = PyDict::new(py);
        if registers.is_empty() {
            return Ok(out);
        }
        let bytes = register_bytes(&registers, shots)?;
        let regs = rows(&bytes, &registers);
        let mc = py
            .detach(|| memory::format_counts(&regs, shots))
            .into_py_result()?;
        if mc.width == 0 {
            if let Some(&c) = mc.counts.first() {
                out.set_item("", c)?;
            }
            return Ok(out);
        }
        for (line, &c) in mc.strings.chunks(mc.width).zip(&mc.counts) {
            out.set_item(line_str(line)?, c)?;
        }
        Ok(out)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(qiskit_memory, m)?)?;
    m.add_function(wrap_pyfunction!(qiskit_counts, m)?)?;
    Ok(())
}

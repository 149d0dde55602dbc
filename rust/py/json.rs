//! Bindings for `shotpack_core::json` (measurements JSON -> packed arrays) and
//! `shotpack_core::registers` (single-bit keys -> one array per classical register).

use std::borrow::Cow;

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use shotpack_core::json::{self, NamedBits};
use shotpack_core::layout;
use shotpack_core::registers::{self, KeyInfo};
use shotpack_core::Error;

use crate::errors::{to_py, IntoPyResult};
use crate::threads;

/// `(name, uint8 array [shots, bytes], num_bits)`: what the Python layer wraps in a `BitArray`.
type Field<'py> = (String, Bound<'py, PyArray2<u8>>, usize);

/// Hands a packed buffer to NumPy without copying it.
fn to_field(py: Python<'_>, nb: NamedBits) -> PyResult<Field<'_>> {
    let shape = (nb.num_shots, layout::num_bytes(nb.num_bits));
    let array = Array2::from_shape_vec(shape, nb.data)
        .map_err(|e| to_py(Error::Value(format!("internal shape error: {e}"))))?;
    Ok((nb.name, array.into_pyarray(py), nb.num_bits))
}

/// Parses the body of `GET jobs/{id}/artifacts/measurements`.
///
/// Returns one list per circuit of `(name, uint8 array [shots, bytes], num_bits)`: one entry per
/// measurement key in body order, or with `registers=True` one per Qiskit-on-IQM classical
/// register in register order. `bytes` and `str` bodies are read in place; other buffers
/// (`bytearray`, `memoryview`) are copied once, since they could change while the GIL is released.
#[pyfunction]
#[pyo3(signature = (body, *, registers = false))]
fn parse_measurements_json<'py>(
    py: Python<'py>,
    body: &Bound<'py, PyAny>,
    registers: bool,
) -> PyResult<Vec<Vec<Field<'py>>>> {
    threads::init_pool();
    let parsed = if let Ok(b) = body.cast::<PyBytes>() {
        let bytes = b.as_bytes();
        py.detach(|| json::parse(bytes, registers))
    } else if let Ok(s) = body.cast::<PyString>() {
        let text = s.to_str()?;
        py.detach(|| json::parse(text.as_bytes(), registers))
    } else if let Ok(b) = body.cast::<PyByteArray>() {
        let owned = b.to_vec();
        py.detach(|| json::parse(&owned, registers))
    } else if let Ok(buffer) = PyBuffer::<u8>::get(body) {
        let owned = buffer.to_vec(py)?;
        py.detach(|| json::parse(&owned, registers))
    } else {
        return Err(to_py(Error::wrong_type(format!(
            "the measurements body must be bytes, bytearray, memoryview or str, not {}",
            body.get_type().name()?
        ))));
    }
    .into_py_result()?;
    parsed
        .into_iter()
        .map(|circuit| circuit.into_iter().map(|nb| to_field(py, nb)).collect())
        .collect()
}

/// Groups packed Qiskit-on-IQM single-bit keys into one packed array per classical register.
///
/// `names[i]`, `arrays[i]` (uint8 `[shots, bytes]`) and `num_bits[i]` describe key `i`. Returns
/// `(register name, uint8 array [shots, bytes], register width)` in register order.
#[pyfunction]
fn assemble_registers<'py>(
    py: Python<'py>,
    names: Vec<String>,
    arrays: Vec<PyReadonlyArray2<'py, u8>>,
    num_bits: Vec<usize>,
) -> PyResult<Vec<Field<'py>>> {
    if names.len() != arrays.len() || names.len() != num_bits.len() {
        return Err(to_py(Error::Value(format!(
            "names, arrays and num_bits differ in length ({}, {}, {})",
            names.len(),
            arrays.len(),
            num_bits.len()
        ))));
    }
    let mut infos = Vec::with_capacity(names.len());
    let mut data: Vec<Cow<'_, [u8]>> = Vec::with_capacity(names.len());
    for ((name, array), &bits) in names.iter().zip(&arrays).zip(&num_bits) {
        let shape = array.shape();
        if shape[1] != layout::num_bytes(bits) {
            return Err(to_py(Error::Shape {
                location: format!("key {name:?}"),
                message: format!(
                    "array has {} bytes per shot, expected {} for {bits} bits",
                    shape[1],
                    layout::num_bytes(bits)
                ),
            }));
        }
        infos.push(KeyInfo {
            name,
            num_shots: shape[0],
            num_bits: bits,
        });
        data.push(match array.as_slice() {
            Ok(slice) => Cow::Borrowed(slice),
            Err(_) => Cow::Owned(array.as_array().iter().copied().collect()),
        });
    }
    let built = py
        .detach(|| -> shotpack_core::Result<Vec<NamedBits>> {
            let slices: Vec<&[u8]> = data.iter().map(|d| d.as_ref()).collect();
            registers::plan(&infos)?
                .into_iter()
                .map(|plan| {
                    let bytes = registers::assemble(&plan, &slices)?;
                    Ok(NamedBits {
                        name: plan.name,
                        num_shots: plan.num_shots,
                        num_bits: plan.num_bits,
                        data: bytes,
                    })
                })
                .collect()
        })
        .into_py_result()?;
    built.into_iter().map(|nb| to_field(py, nb)).collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_measurements_json, m)?)?;
    m.add_function(wrap_pyfunction!(assemble_registers, m)?)?;
    Ok(())
}

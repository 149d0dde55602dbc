//! Bindings for `shotpack_core::json` (measurements JSON -> packed arrays) and
//! `shotpack_core::registers` (single-bit keys -> one array per classical register).

use std::borrow::Cow;

use numpy::{PyArrayDyn, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use shotpack_core::json::{self, NamedBits, PackedKey};
use shotpack_core::layout;
use shotpack_core::registers::KeyInfo;
use shotpack_core::Error;

use crate::arrays::{elements, into_array};
use crate::errors::{guard, to_py, BindError, IntoPyResult};
use crate::threads;

/// `(name, uint8 array [shots, bytes], num_bits)`: what the Python layer wraps in a `BitArray`.
type Field<'py> = (String, Bound<'py, PyArrayDyn<u8>>, usize);

/// Hands a packed buffer to NumPy without copying it.
fn to_field(py: Python<'_>, nb: NamedBits) -> PyResult<Field<'_>> {
    let shape = [nb.num_shots, layout::num_bytes(nb.num_bits)];
    Ok((nb.name, into_array(py, &shape, nb.data)?, nb.num_bits))
}

/// Parses the body of `GET jobs/{id}/artifacts/measurements`.
///
/// Returns one list per circuit of `(name, uint8 array [shots, bytes], num_bits)`: one entry per
/// measurement key in body order, or with `registers=True` one per Qiskit-on-IQM classical
/// register in register order. `bytes` and `str` bodies are read in place; other buffers
/// (`bytearray`, `memoryview`) are copied once, since they could change while the GIL is released.
///
/// `piece_bytes` (for tests and fuzzing) splits every value longer than that many bytes into
/// pieces as large bodies are split across threads, whatever the body's size; the result or
/// error is the same as without it.
#[pyfunction]
#[pyo3(signature = (body, *, registers = false, piece_bytes = None))]
fn parse_measurements_json<'py>(
    py: Python<'py>,
    body: &Bound<'py, PyAny>,
    registers: bool,
    piece_bytes: Option<usize>,
) -> PyResult<Vec<Vec<Field<'py>>>> {
    guard("parse_measurements_json", || {
        threads::init_pool();
        let parse = |bytes: &[u8]| match piece_bytes {
            Some(n) => json::parse_in_pieces(bytes, registers, n),
            None => json::parse(bytes, registers),
        };
        let parsed = if let Ok(b) = body.cast::<PyBytes>() {
            let bytes = b.as_bytes();
            py.detach(|| parse(bytes))
        } else if let Ok(s) = body.cast::<PyString>() {
            let text = s.to_str()?;
            py.detach(|| parse(text.as_bytes()))
        } else if let Ok(b) = body.cast::<PyByteArray>() {
            let owned = b.to_vec();
            py.detach(|| parse(&owned))
        } else if let Ok(buffer) = PyBuffer::<u8>::get(body) {
            let owned = buffer.to_vec(py)?;
            py.detach(|| parse(&owned))
        } else {
            return Err(BindError::wrong_type(format!(
                "the measurements body must be bytes, bytearray, memoryview or str, not {}",
                body.get_type().name()?
            ))
            .into());
        }
        .into_py_result()?;
        parsed
            .into_iter()
            .map(|circuit| circuit.into_iter().map(|nb| to_field(py, nb)).collect())
            .collect()
    })
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
    guard("assemble_registers", || {
        if names.len() != arrays.len() || names.len() != num_bits.len() {
            return Err(to_py(Error::Value(format!(
                "names, arrays and num_bits differ in length ({}, {}, {})",
                names.len(),
                arrays.len(),
                num_bits.len()
            ))));
        }
        let data: Vec<Cow<'_, [u8]>> = arrays.iter().map(elements).collect();
        let keys: Vec<PackedKey<'_>> = names
            .iter()
            .zip(&arrays)
            .zip(&num_bits)
            .zip(&data)
            .map(|(((name, array), &bits), data)| PackedKey {
                info: KeyInfo {
                    name,
                    num_shots: array.shape()[0],
                    num_bits: bits,
                },
                row_bytes: array.shape()[1],
                data,
            })
            .collect();
        let built = py
            .detach(|| json::assemble_registers(&keys))
            .into_py_result()?;
        built.into_iter().map(|nb| to_field(py, nb)).collect()
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_measurements_json, m)?)?;
    m.add_function(wrap_pyfunction!(assemble_registers, m)?)?;
    Ok(())
}

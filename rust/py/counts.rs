//! Bindings for `shotpack_core::counts`: counts dicts, int counts dicts and per-shot
//! bitstrings, built in Rust in Qiskit's first-occurrence order.
//!
//! The histogram is computed with the GIL released; only the final Python objects (one key per
//! distinct outcome) are made with it held.

use std::borrow::Cow;

use numpy::PyReadonlyArrayDyn;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use shotpack_core::counts::{count_empty_rows, count_rows, Histogram};
use shotpack_core::layout::{self, first_byte_mask, num_bytes, row_to_u64};
use shotpack_core::Error;

use crate::arrays::{c_order, lead_rows, packed_shape};
use crate::errors::{guard, to_py, IntoPyResult};

/// The row as a bitstring of `num_bits` characters in `buf` (core's one bitstring writer).
fn write_bitstring(row: &[u8], num_bits: usize, buf: &mut Vec<u8>) {
    buf.clear();
    buf.resize(num_bits, b'0');
    layout::write_bitstring(row, num_bits, buf);
}

/// A new ASCII `str` holding the row's bitstring.
///
/// Why unsafe: `PyString::new` goes through UTF-8 validation and decoding; writing the ASCII
/// digits straight into a fresh compact string skips both, which matters when a counts dict
/// has hundreds of thousands of keys.
fn bitstring<'py>(
    py: Python<'py>,
    row: &[u8],
    num_bits: usize,
    buf: &mut Vec<u8>,
) -> PyResult<Bound<'py, PyString>> {
    write_bitstring(row, num_bits, buf);
    let len = ffi::Py_ssize_t::try_from(buf.len())
        .map_err(|_| to_py(Error::Value("bitstring too long".into())))?;
    // SAFETY: the GIL is held; `PyUnicode_New(len, 127)` returns a new compact ASCII string
    // (or null with an exception set, handled by `from_owned_ptr_or_err`) whose data buffer has
    // room for exactly `len` one-byte characters, all of which are written before the object
    // is used; `buf` holds only b'0' and b'1', which are valid ASCII.
    unsafe {
        let obj = ffi::PyUnicode_New(len, 127);
        let s = Bound::from_owned_ptr_or_err(py, obj)?;
        std::ptr::copy_nonoverlapping(buf.as_ptr(), ffi::PyUnicode_1BYTE_DATA(obj), buf.len());
        Ok(s.cast_into_unchecked())
    }
}

/// The row as a Python int (padding masked; the empty row of zero bits is 0). `buf` is scratch
/// space for rows over 64 bits.
fn row_int<'py>(
    py: Python<'py>,
    row: &[u8],
    num_bits: usize,
    buf: &mut Vec<u8>,
) -> PyResult<Bound<'py, PyAny>> {
    if num_bits <= 64 {
        return Ok(row_to_u64(row, num_bits).into_pyobject(py)?.into_any());
    }
    buf.clear();
    buf.extend_from_slice(row);
    buf[0] &= first_byte_mask(num_bits);
    if num_bits <= 128 {
        let v = buf.iter().fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
        return Ok(v.into_pyobject(py)?.into_any());
    }
    int_from_be_bytes(py, buf)
}

/// A non-negative Python int from big-endian bytes: straight through CPython's byte-array
/// constructor (no `bytes` object, no method call), or `int.from_bytes` where the C API does
/// not offer one.
fn int_from_be_bytes<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    #[cfg(not(any(Py_LIMITED_API, PyPy, GraalPy)))]
    {
        // SAFETY (both): the GIL is held (`py`); the call reads exactly `bytes.len()` bytes of
        // a live slice and returns a new reference to an int, or null with an exception set
        // (turned into `Err` by `from_owned_ptr_or_err`).
        #[cfg(not(Py_3_13))]
        let ptr = unsafe { ffi::_PyLong_FromByteArray(bytes.as_ptr(), bytes.len(), 0, 0) };
        #[cfg(Py_3_13)]
        let ptr = unsafe {
            ffi::PyLong_FromUnsignedNativeBytes(
                bytes.as_ptr().cast(),
                bytes.len(),
                ffi::Py_ASNATIVEBYTES_BIG_ENDIAN,
            )
        };
        // SAFETY: as above; `ptr` is an owned reference or null.
        unsafe { Bound::from_owned_ptr_or_err(py, ptr) }
    }
    #[cfg(any(Py_LIMITED_API, PyPy, GraalPy))]
    {
        py.get_type::<pyo3::types::PyInt>().call_method1(
            pyo3::intern!(py, "from_bytes"),
            (
                pyo3::types::PyBytes::new(py, bytes),
                pyo3::intern!(py, "big"),
            ),
        )
    }
}

// CPython exports this from 3.10 through 3.14 (`Include/cpython/dictobject.h`, outside the
// limited API); pyo3-ffi leaves it out as a private name.
#[cfg(not(any(Py_LIMITED_API, PyPy, GraalPy)))]
extern "C" {
    fn _PyDict_NewPresized(minused: ffi::Py_ssize_t) -> *mut ffi::PyObject;
}

/// An empty dict sized for `n` items, so that filling it skips the early resizes (each one
/// rehashes every key inserted so far). CPython caps the presize at 2^17 slots; larger dicts
/// still grow once or twice past that.
fn dict_with_capacity(py: Python<'_>, n: usize) -> PyResult<Bound<'_, PyDict>> {
    #[cfg(not(any(Py_LIMITED_API, PyPy, GraalPy)))]
    {
        let n = ffi::Py_ssize_t::try_from(n).unwrap_or(ffi::Py_ssize_t::MAX);
        // SAFETY: the GIL is held (`py`); `_PyDict_NewPresized` returns a new reference to an
        // empty exact dict, or null with an exception set (turned into `Err` here), so the
        // owned pointer is a `dict` whenever it is not null.
        unsafe {
            Ok(Bound::from_owned_ptr_or_err(py, _PyDict_NewPresized(n))?.cast_into_unchecked())
        }
    }
    #[cfg(any(Py_LIMITED_API, PyPy, GraalPy))]
    {
        let _ = n;
        Ok(PyDict::new(py))
    }
}

/// Histogram of every row of a packed array, plus its bytes in C order.
fn histogram<'a>(
    py: Python<'_>,
    view: &numpy::ndarray::ArrayViewD<'a, u8>,
    rows: usize,
    num_bits: usize,
    want_ids: bool,
) -> PyResult<(Cow<'a, [u8]>, Histogram)> {
    if num_bytes(num_bits) == 0 {
        return Ok((
            Cow::Borrowed(&[]),
            count_empty_rows(rows, want_ids).into_py_result()?,
        ));
    }
    let (data, h) = py.detach(|| {
        let data = c_order(view);
        let h = count_rows(&data, num_bits, want_ids);
        (data, h)
    });
    Ok((data, h.into_py_result()?))
}

/// `{key(row): count}` over all rows of a packed `(..., shots, nbytes)` array, in order of first
/// occurrence (C order over positions, then shots). `key` gets each distinct row's bytes.
fn counts_dict<'py, K: IntoPyObject<'py>>(
    py: Python<'py>,
    packed: &PyReadonlyArrayDyn<'py, u8>,
    num_bits: usize,
    mut key: impl FnMut(&[u8]) -> PyResult<K>,
) -> PyResult<Bound<'py, PyDict>> {
    let shape = packed_shape(packed, num_bits)?;
    let view = packed.as_array();
    let (data, h) = histogram(py, &view, lead_rows(&shape), num_bits, false)?;
    let nb = num_bytes(num_bits);
    let dict = dict_with_capacity(py, h.first_rows.len())?;
    for (&r, &c) in h.first_rows.iter().zip(&h.counts) {
        dict.set_item(key(&data[r * nb..(r + 1) * nb])?, c)?;
    }
    Ok(dict)
}

/// `{bitstring: count}` over all rows, in order of first occurrence.
#[pyfunction]
fn get_counts<'py>(
    py: Python<'py>,
    packed: PyReadonlyArrayDyn<'py, u8>,
    num_bits: usize,
) -> PyResult<Bound<'py, PyDict>> {
    guard("get_counts", || {
        let mut buf = Vec::with_capacity(num_bits);
        counts_dict(py, &packed, num_bits, |row| {
            bitstring(py, row, num_bits, &mut buf)
        })
    })
}

/// `{int: count}` over all rows, in order of first occurrence.
#[pyfunction]
fn get_int_counts<'py>(
    py: Python<'py>,
    packed: PyReadonlyArrayDyn<'py, u8>,
    num_bits: usize,
) -> PyResult<Bound<'py, PyDict>> {
    guard("get_int_counts", || {
        let mut buf = Vec::with_capacity(num_bytes(num_bits));
        counts_dict(py, &packed, num_bits, |row| {
            row_int(py, row, num_bits, &mut buf)
        })
    })
}

/// One bitstring per row, in C order. Equal outcomes share one (immutable) str object.
#[pyfunction]
fn get_bitstrings<'py>(
    py: Python<'py>,
    packed: PyReadonlyArrayDyn<'py, u8>,
    num_bits: usize,
) -> PyResult<Bound<'py, PyList>> {
    guard("get_bitstrings", || {
        let shape = packed_shape(&packed, num_bits)?;
        let view = packed.as_array();
        let (data, h) = histogram(py, &view, lead_rows(&shape), num_bits, true)?;
        let nb = num_bytes(num_bits);
        let mut buf = Vec::with_capacity(num_bits);
        let strings = h
            .first_rows
            .iter()
            .map(|&r| bitstring(py, &data[r * nb..(r + 1) * nb], num_bits, &mut buf))
            .collect::<PyResult<Vec<_>>>()?;
        let ids = h.ids.unwrap_or_default();
        PyList::new(py, ids.iter().map(|&i| &strings[i as usize]))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(get_counts, m)?)?;
    m.add_function(wrap_pyfunction!(get_int_counts, m)?)?;
    m.add_function(wrap_pyfunction!(get_bitstrings, m)?)?;
    Ok(())
}

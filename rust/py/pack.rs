//! Bindings for `shotpack_core::pack`: nested Python lists and NumPy arrays of bits to packed
//! rows, and the bit-level `BitArray` operations (unpack, bitcount, slice_bits,
//! concatenate_bits, postselect, one integer per shot).
//!
//! Walking Python objects needs the GIL (see `conversion::lists`); everything that only
//! touches NumPy buffers runs with it released. Every output is allocated once at its final size
//! and handed to NumPy as is.

use std::borrow::Cow;

use numpy::ndarray::ArrayViewD;
use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use shotpack_core::layout::num_bytes;
use shotpack_core::{pack, Error};

use crate::arrays::{
    c_order, into_array, numpy_new, numpy_output, packed_shape, with_last, with_slice_mut,
};
use crate::conversion::lists::{walk_nested, Stop};
use crate::errors::{guard, to_py, BindError, IntoPyResult};

// ---- NumPy arrays of bits -----------------------------------------------------------------

/// Packs the rows of one typed array (any layout) into `out`, GIL released.
fn pack_typed<T>(
    py: Python<'_>,
    arr: &Bound<'_, PyAny>,
    num_bits: usize,
    little: bool,
    out: &mut [u8],
) -> PyResult<()>
where
    T: Element + Copy + PartialEq + Default + Sync,
{
    let a = arr.cast::<PyArrayDyn<T>>()?.try_readonly()?;
    let view = a.as_array();
    let zero = T::default();
    py.detach(|| pack::pack_rows(&c_order(&view), num_bits, little, |v| v != zero, out))
        .into_py_result()
}

/// Packs one-byte values (uint8, or bool/int8 seen as uint8), GIL released.
fn pack_bytes(
    py: Python<'_>,
    arr: &Bound<'_, PyAny>,
    num_bits: usize,
    little: bool,
    out: &mut [u8],
) -> PyResult<()> {
    let a = arr.cast::<PyArrayDyn<u8>>()?.try_readonly()?;
    let view = a.as_array();
    py.detach(|| pack::pack_rows_u8(&c_order(&view), num_bits, little, out))
        .into_py_result()
}

/// Packs any array-like of bits whose last axis is the bits (NumPy truthiness: nonzero is one).
/// Returns `(packed, num_bits)`.
///
/// bool and integer dtypes (and float32/64) are read in place; anything else, or a non-array,
/// first goes through `numpy.asarray(obj, dtype=bool)`.
#[pyfunction]
fn pack_bool_array<'py>(
    py: Python<'py>,
    array: &Bound<'py, PyAny>,
    little_endian: bool,
) -> PyResult<(Bound<'py, PyArrayDyn<u8>>, usize)> {
    guard("pack_bool_array", || pack_any(py, array, little_endian))
}

/// [`pack_bool_array`]'s body (also the fallback of [`pack_nested_lists`]).
fn pack_any<'py>(
    py: Python<'py>,
    array: &Bound<'py, PyAny>,
    little_endian: bool,
) -> PyResult<(Bound<'py, PyArrayDyn<u8>>, usize)> {
    let mut obj = array.clone();
    let np = py.import("numpy")?;
    let supported = |o: &Bound<'py, PyAny>| -> bool {
        o.cast::<PyUntypedArray>().is_ok_and(|a| {
            let d = a.dtype();
            [
                numpy::dtype::<bool>(py),
                numpy::dtype::<u8>(py),
                numpy::dtype::<i8>(py),
                numpy::dtype::<u16>(py),
                numpy::dtype::<i16>(py),
                numpy::dtype::<u32>(py),
                numpy::dtype::<i32>(py),
                numpy::dtype::<u64>(py),
                numpy::dtype::<i64>(py),
                numpy::dtype::<f32>(py),
                numpy::dtype::<f64>(py),
            ]
            .iter()
            .any(|t| d.is_equiv_to(t))
        })
    };
    if !supported(&obj) {
        let kwargs = PyDict::new(py);
        kwargs.set_item("dtype", np.getattr("bool_")?)?;
        obj = np.call_method("asarray", (obj,), Some(&kwargs))?;
    }
    let arr = obj.cast::<PyUntypedArray>()?.clone();
    let shape = arr.shape().to_vec();
    if shape.len() < 2 {
        return Err(to_py(Error::Value(
            "Expecting at least two dimensions.".into(),
        )));
    }
    let num_bits = shape[shape.len() - 1];
    let nb = num_bytes(num_bits);
    let packed = numpy_new::<u8>(py, with_last(&shape, nb), false)?;
    with_slice_mut(&packed, |out| {
        pack_any_dtype(py, &arr, num_bits, little_endian, out)
    })?;
    Ok((packed, num_bits))
}

/// Packs an array of one of the supported dtypes into `out` (every byte written).
fn pack_any_dtype<'py>(
    py: Python<'py>,
    arr: &Bound<'py, PyUntypedArray>,
    num_bits: usize,
    little_endian: bool,
    out: &mut [u8],
) -> PyResult<()> {
    let d = arr.dtype();
    let is = |t: Bound<'py, numpy::PyArrayDescr>| d.is_equiv_to(&t);
    if is(numpy::dtype::<bool>(py)) || is(numpy::dtype::<i8>(py)) {
        // Same bytes, same truthiness; reading bool memory as u8 also tolerates bytes other
        // than 0 and 1 (possible through views), which a Rust `bool` must never hold.
        let as_u8 = arr.call_method1("view", (numpy::dtype::<u8>(py),))?;
        pack_bytes(py, &as_u8, num_bits, little_endian, out)?;
    } else if is(numpy::dtype::<u8>(py)) {
        pack_bytes(py, arr.as_any(), num_bits, little_endian, out)?;
    } else if is(numpy::dtype::<u16>(py)) {
        pack_typed::<u16>(py, arr.as_any(), num_bits, little_endian, out)?;
    } else if is(numpy::dtype::<i16>(py)) {
        pack_typed::<i16>(py, arr.as_any(), num_bits, little_endian, out)?;
    } else if is(numpy::dtype::<u32>(py)) {
        pack_typed::<u32>(py, arr.as_any(), num_bits, little_endian, out)?;
    } else if is(numpy::dtype::<i32>(py)) {
        pack_typed::<i32>(py, arr.as_any(), num_bits, little_endian, out)?;
    } else if is(numpy::dtype::<u64>(py)) {
        pack_typed::<u64>(py, arr.as_any(), num_bits, little_endian, out)?;
    } else if is(numpy::dtype::<i64>(py)) {
        pack_typed::<i64>(py, arr.as_any(), num_bits, little_endian, out)?;
    } else if is(numpy::dtype::<f32>(py)) {
        pack_typed::<f32>(py, arr.as_any(), num_bits, little_endian, out)?;
    } else if is(numpy::dtype::<f64>(py)) {
        pack_typed::<f64>(py, arr.as_any(), num_bits, little_endian, out)?;
    } else {
        return Err(
            BindError::wrong_type(format!("cannot read bits from an array of dtype {d}")).into(),
        );
    }
    Ok(())
}
/// Walks nested lists/tuples (any depth >= 2; the last axis is bits) straight into packed rows.
///
/// Returns `(packed, num_bits)` with `packed.shape == (*outer_shape, ceil(num_bits / 8))`.
/// `strict=True` accepts only ints equal to 0 or 1 (bools and NumPy integers included) and
/// raises ValueError / TypeError naming "shot S, qubit Q" (and the outer position for N-d
/// input); ragged rows raise ValueError. `strict=False` follows `numpy.asarray(obj,
/// dtype=bool)` exactly: exact lists, tuples, ints, bools and floats are read natively, anything
/// else (subclasses included) goes through NumPy's own conversion.
#[pyfunction]
#[pyo3(signature = (obj, little_endian, strict = false))]
fn pack_nested_lists<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    little_endian: bool,
    strict: bool,
) -> PyResult<(Bound<'py, PyArrayDyn<u8>>, usize)> {
    guard("pack_nested_lists", || {
        match walk_nested(py, obj, little_endian, strict) {
            Ok(done) => Ok(done),
            Err(Stop::Raise(e)) => Err(e.into()),
            Err(Stop::Fallback) => pack_any(py, obj, little_endian),
        }
    })
}

// ---- packed arrays: unpack, bitcount, gather, concat, postselect, ints ---------------------

/// `(*shape, shots, num_bits)` bool array from packed rows (padding dropped).
#[pyfunction]
fn unpack_to_bool<'py>(
    py: Python<'py>,
    packed: PyReadonlyArrayDyn<'py, u8>,
    num_bits: usize,
    little_endian: bool,
) -> PyResult<Bound<'py, PyArrayDyn<bool>>> {
    guard("unpack_to_bool", || {
        let shape = packed_shape(&packed, num_bits)?;
        let view = packed.as_array();
        numpy_output(py, with_last(&shape, num_bits), false, |out| {
            pack::unpack_rows(&c_order(&view), num_bits, little_endian, out).into_py_result()
        })
    })
}

/// Ones per shot (padding excluded), uint64 of shape `(*shape, shots)`.
#[pyfunction]
fn bitcount<'py>(
    py: Python<'py>,
    packed: PyReadonlyArrayDyn<'py, u8>,
    num_bits: usize,
) -> PyResult<Bound<'py, PyArrayDyn<u64>>> {
    guard("bitcount", || {
        let shape = packed_shape(&packed, num_bits)?;
        let view = packed.as_array();
        numpy_output(py, shape[..shape.len() - 1].to_vec(), false, |out| {
            pack::bitcount_rows(&c_order(&view), num_bits, out).into_py_result()
        })
    })
}

/// One integer per shot, uint64 of shape `(*shape, shots)`; needs `num_bits <= 64`.
#[pyfunction]
fn get_int_array<'py>(
    py: Python<'py>,
    packed: PyReadonlyArrayDyn<'py, u8>,
    num_bits: usize,
) -> PyResult<Bound<'py, PyArrayDyn<u64>>> {
    guard("get_int_array", || {
        let shape = packed_shape(&packed, num_bits)?;
        let view = packed.as_array();
        if num_bits > 64 {
            return Err(to_py(Error::Value(format!(
                "one integer per shot needs num_bits <= 64, got {num_bits}"
            ))));
        }
        numpy_output(py, shape[..shape.len() - 1].to_vec(), false, |out| {
            pack::rows_to_u64(&c_order(&view), num_bits, out).into_py_result()
        })
    })
}

/// New bit `j` is old bit `indices[j]`; output `(*shape, shots, ceil(len(indices) / 8))`.
#[pyfunction]
fn slice_bits<'py>(
    py: Python<'py>,
    packed: PyReadonlyArrayDyn<'py, u8>,
    num_bits: usize,
    indices: Vec<usize>,
) -> PyResult<Bound<'py, PyArrayDyn<u8>>> {
    guard("slice_bits", || {
        let shape = packed_shape(&packed, num_bits)?;
        let view = packed.as_array();
        let onb = num_bytes(indices.len());
        numpy_output(py, with_last(&shape, onb), false, |out| {
            pack::gather_bits(&c_order(&view), num_bits, &indices, out).into_py_result()
        })
    })
}

/// Bit-wise concatenation of packed arrays with equal leading shapes; `arrays[0]` lands in
/// the lowest bits.
#[pyfunction]
fn concatenate_bits<'py>(
    py: Python<'py>,
    arrays: Vec<PyReadonlyArrayDyn<'py, u8>>,
    num_bits: Vec<usize>,
) -> PyResult<Bound<'py, PyArrayDyn<u8>>> {
    guard("concatenate_bits", || {
        if arrays.is_empty() || arrays.len() != num_bits.len() {
            return Err(to_py(Error::Value(
                "need one num_bits per array and at least one array".into(),
            )));
        }
        let mut shapes = Vec::with_capacity(arrays.len());
        for (a, &n) in arrays.iter().zip(&num_bits) {
            shapes.push(packed_shape(a, n)?);
        }
        let lead = &shapes[0][..shapes[0].len() - 1];
        if let Some(i) = shapes.iter().position(|s| &s[..s.len() - 1] != lead) {
            return Err(to_py(Error::Value(format!(
                "array {i} has leading shape {:?}, array 0 has {lead:?}",
                &shapes[i][..shapes[i].len() - 1]
            ))));
        }
        let total: usize = num_bits.iter().sum();
        let onb = num_bytes(total);
        let views: Vec<ArrayViewD<'_, u8>> =
            arrays.iter().map(PyReadonlyArrayDyn::as_array).collect();
        numpy_output(py, with_last(&shapes[0], onb), false, |out| {
            let data: Vec<Cow<'_, [u8]>> = views.iter().map(c_order).collect();
            let parts: Vec<(&[u8], usize)> = data
                .iter()
                .zip(&num_bits)
                .map(|(d, &n)| (d.as_ref(), n))
                .collect();
            pack::concat_bits(&parts, out).into_py_result()
        })
    })
}

/// Rows (over all positions, flattened) whose bits `indices` equal `selection`, as a
/// `(kept, nbytes)` array; contradictory conditions give zero rows.
#[pyfunction]
fn postselect<'py>(
    py: Python<'py>,
    packed: PyReadonlyArrayDyn<'py, u8>,
    num_bits: usize,
    indices: Vec<usize>,
    selection: Vec<bool>,
) -> PyResult<Bound<'py, PyArrayDyn<u8>>> {
    guard("postselect", || {
        packed_shape(&packed, num_bits)?;
        let view = packed.as_array();
        let nb = num_bytes(num_bits);
        let kept = match pack::postselect_mask(num_bits, &indices, &selection).into_py_result()? {
            None => Vec::new(),
            Some((mask, want)) => py
                .detach(|| pack::postselect_rows(&c_order(&view), &mask, &want))
                .into_py_result()?,
        };
        let rows = kept.len().checked_div(nb).unwrap_or(0);
        into_array(py, &[rows, nb], kept)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(pack_bool_array, m)?)?;
    m.add_function(wrap_pyfunction!(pack_nested_lists, m)?)?;
    m.add_function(wrap_pyfunction!(unpack_to_bool, m)?)?;
    m.add_function(wrap_pyfunction!(bitcount, m)?)?;
    m.add_function(wrap_pyfunction!(get_int_array, m)?)?;
    m.add_function(wrap_pyfunction!(slice_bits, m)?)?;
    m.add_function(wrap_pyfunction!(concatenate_bits, m)?)?;
    m.add_function(wrap_pyfunction!(postselect, m)?)?;
    Ok(())
}

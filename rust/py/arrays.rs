//! NumPy arrays in and out: the one "borrowed view or C-order copy" helper, packed-shape checks,
//! and output arrays that NumPy allocates (or takes over from a Rust buffer) without copying.

use std::borrow::Cow;

use numpy::ndarray::{ArrayD, ArrayView, Dimension, IxDyn};
use numpy::{
    Element, IntoPyArray, PyArrayDyn, PyArrayMethods, PyReadonlyArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use shotpack_core::layout::num_bytes;
use shotpack_core::Error;

use crate::errors::to_py;

/// The view's elements in C order: borrowed when C-contiguous, copied otherwise. Views can be
/// sent to threads, so this also runs with the GIL released (where a copy is cheapest).
pub fn c_order<'a, T: Copy, D: Dimension>(view: &ArrayView<'a, T, D>) -> Cow<'a, [T]> {
    match view.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(view.iter().copied().collect()),
    }
}

/// [`c_order`] of a NumPy array read with the GIL held.
pub fn elements<'a, T: Element + Copy, D: Dimension>(
    a: &'a PyReadonlyArray<'_, T, D>,
) -> Cow<'a, [T]> {
    c_order(&a.as_array())
}

/// Product of all axes but the last (the number of rows of a packed array).
pub fn lead_rows(shape: &[usize]) -> usize {
    shape[..shape.len().saturating_sub(1)].iter().product()
}

/// `shape[..-1] + [last]`.
pub fn with_last(shape: &[usize], last: usize) -> Vec<usize> {
    let mut s = shape[..shape.len().saturating_sub(1)].to_vec();
    s.push(last);
    s
}

/// Checks a packed array's last axis against `num_bits` and returns its shape.
pub fn packed_shape<D: Dimension>(
    a: &PyReadonlyArray<'_, u8, D>,
    num_bits: usize,
) -> PyResult<Vec<usize>> {
    let shape = a.shape().to_vec();
    let nb = num_bytes(num_bits);
    if shape.len() < 2 || shape[shape.len() - 1] != nb {
        return Err(to_py(Error::Value(format!(
            "expected a packed array of shape (..., shots, {nb}) for {num_bits} bits, got {shape:?}"
        ))));
    }
    Ok(shape)
}

/// A fresh C-contiguous NumPy array of the final output shape, filled by `fill` with the GIL
/// released. NumPy allocates it (so large outputs get its huge-page advice, which halves the
/// cost of first touching the memory, and an impossible size is its `MemoryError`); `zeroed`
/// asks for zeros, otherwise `fill` must write every element.
pub fn numpy_output<'py, T: Element + Send>(
    py: Python<'py>,
    shape: Vec<usize>,
    zeroed: bool,
    fill: impl FnOnce(&mut [T]) -> PyResult<()> + Send,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let arr = numpy_new::<T>(py, shape, zeroed)?;
    with_slice_mut(&arr, |out| py.detach(|| fill(out)))?;
    Ok(arr)
}

/// A fresh C-contiguous NumPy array (zeros, or uninitialised for callers that write it all).
pub fn numpy_new<'py, T: Element>(
    py: Python<'py>,
    shape: Vec<usize>,
    zeroed: bool,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let ctor = if zeroed { "zeros" } else { "empty" };
    Ok(py
        .import("numpy")?
        .call_method1(ctor, (shape, numpy::dtype::<T>(py)))?
        .cast_into::<PyArrayDyn<T>>()?)
}

/// Runs `f` on the elements of a fresh (C-contiguous) array.
pub fn with_slice_mut<T: Element, R>(
    arr: &Bound<'_, PyArrayDyn<T>>,
    f: impl FnOnce(&mut [T]) -> PyResult<R>,
) -> PyResult<R> {
    let mut rw = arr.try_readwrite()?;
    let out = rw
        .as_slice_mut()
        .map_err(|e| to_py(Error::Value(e.to_string())))?;
    f(out)
}

/// Wraps a Rust buffer as an ndarray of the given shape without copying.
pub fn into_array<'py, T: Element>(
    py: Python<'py>,
    shape: &[usize],
    data: Vec<T>,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let arr = ArrayD::from_shape_vec(IxDyn(shape), data)
        .map_err(|e| to_py(Error::Value(format!("internal shape error: {e}"))))?;
    Ok(arr.into_pyarray(py))
}

//! Bindings for `shotpack_core::pack`: nested Python lists, NumPy arrays, samples and counts
//! to packed rows, and the bit-level `BitArray` operations (unpack, bitcount, slice_bits,
//! concatenate_bits, postselect, one integer per shot).
//!
//! Walking Python objects needs the GIL; everything that only touches NumPy buffers runs with
//! it released. Every output is allocated once at its final size and handed to NumPy as is.

use std::borrow::Cow;
use std::convert::Infallible;

use numpy::ndarray::{ArrayD, ArrayViewD, IxDyn};
use numpy::{
    Element, IntoPyArray, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use shotpack_core::layout::num_bytes;
use shotpack_core::{pack, Error};

use crate::errors::{to_py, IntoPyResult};

/// NumPy supports at most 64 dimensions; deeper nesting is rejected (it also stops
/// self-referential lists from looping forever).
const MAX_DEPTH: usize = 64;

// ---- shared helpers (also used by `counts.rs`) ---------------------------------------------

/// The array's elements in C order: borrowed when C-contiguous, copied otherwise.
pub(crate) fn c_order<'a, T: Element + Copy>(view: &'a ArrayViewD<'_, T>) -> Cow<'a, [T]> {
    match view.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(view.iter().copied().collect()),
    }
}

/// Product of all axes but the last (the number of rows of a packed array).
pub(crate) fn lead_rows(shape: &[usize]) -> usize {
    shape[..shape.len().saturating_sub(1)].iter().product()
}

/// Checks a packed array's last axis against `num_bits` and returns its shape.
pub(crate) fn packed_shape(
    a: &PyReadonlyArrayDyn<'_, u8>,
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
/// cost of first touching the memory); `zeroed` asks for zeros, otherwise `fill` must write
/// every element.
pub(crate) fn numpy_output<'py, T: Element + Send>(
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
pub(crate) fn numpy_new<'py, T: Element>(
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
pub(crate) fn with_slice_mut<T: Element, R>(
    arr: &Bound<'_, PyArrayDyn<T>>,
    f: impl FnOnce(&mut [T]) -> PyResult<R>,
) -> PyResult<R> {
    let mut rw = arr.try_readwrite()?;
    let out = rw
        .as_slice_mut()
        .map_err(|e| to_py(Error::Value(e.to_string())))?;
    f(out)
}

/// Wraps a buffer as an ndarray of the given shape without copying.
pub(crate) fn into_array<'py, T: Element>(
    py: Python<'py>,
    shape: Vec<usize>,
    data: Vec<T>,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let arr = ArrayD::from_shape_vec(IxDyn(&shape), data)
        .map_err(|e| to_py(Error::Value(format!("internal shape error: {e}"))))?;
    Ok(arr.into_pyarray(py))
}

/// `shape[..-1] + [last]`.
fn with_last(shape: &[usize], last: usize) -> Vec<usize> {
    let mut s = shape[..shape.len() - 1].to_vec();
    s.push(last);
    s
}

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
        return Err(to_py(Error::wrong_type(format!(
            "cannot read bits from an array of dtype {d}"
        ))));
    }
    Ok(())
}

// ---- nested lists of bits -----------------------------------------------------------------

/// Why a walk over nested lists stopped.
enum Stop {
    /// A real error, raised as is.
    Raise(PyErr),
    /// Non-strict mode met something only NumPy's conversion rules can settle.
    Fallback,
}

impl From<PyErr> for Stop {
    fn from(e: PyErr) -> Self {
        Stop::Raise(e)
    }
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Raise(to_py(e))
    }
}

/// A list or a tuple, the two sequence types walked natively.
enum Seq<'py> {
    List(Bound<'py, PyList>),
    Tuple(Bound<'py, PyTuple>),
}

impl<'py> Seq<'py> {
    fn of(obj: &Bound<'py, PyAny>) -> Option<Self> {
        if let Ok(l) = obj.cast::<PyList>() {
            Some(Seq::List(l.clone()))
        } else if let Ok(t) = obj.cast::<PyTuple>() {
            Some(Seq::Tuple(t.clone()))
        } else {
            None
        }
    }

    /// Like [`Seq::of`], taking ownership (no extra reference count traffic).
    fn of_owned(obj: Bound<'py, PyAny>) -> Result<Self, Bound<'py, PyAny>> {
        match obj.cast_into::<PyList>() {
            Ok(l) => Ok(Seq::List(l)),
            Err(e) => {
                let obj = e.into_inner();
                obj.cast_into::<PyTuple>()
                    .map(Seq::Tuple)
                    .map_err(|e| e.into_inner())
            }
        }
    }

    /// The items, owned, in order.
    fn for_each_item(
        &self,
        mut f: impl FnMut(usize, Bound<'py, PyAny>) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        match self {
            Seq::List(l) => l.iter().enumerate().try_for_each(|(i, x)| f(i, x)),
            Seq::Tuple(t) => t.iter().enumerate().try_for_each(|(i, x)| f(i, x)),
        }
    }

    fn as_ptr(&self) -> *mut ffi::PyObject {
        match self {
            Seq::List(l) => l.as_ptr(),
            Seq::Tuple(t) => t.as_ptr(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Seq::List(l) => l.len(),
            Seq::Tuple(t) => t.len(),
        }
    }

    fn get(&self, i: usize) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Seq::List(l) => l.get_item(i),
            Seq::Tuple(t) => t.get_item(i),
        }
    }
}

/// Runs `f` on the item addresses of a list or tuple, for identity tests only: no pointer is
/// dereferenced and no reference is taken, and `f` must not run Python code.
///
/// Why unsafe: going through `Bound` costs an incref/decref pair per item, and in CPython
/// < 3.12 the ints 0 and 1 are ordinary shared objects, so those writes serialise on one
/// cache line; reading the item array directly is what makes walking lists fast. (This is
/// also why the wheels are per-version, not abi3: the limited API only offers one
/// `PyList_GetItem` call per item, measured 2.4x slower; see Cargo.toml.)
#[inline(always)]
fn with_item_addrs<R>(seq: &Seq<'_>, f: impl FnOnce(&[*mut ffi::PyObject]) -> R) -> R {
    let p = seq.as_ptr();
    // SAFETY: the GIL is held (`seq` holds a `Bound`) and `p` is a live list or tuple, which
    // are exactly the types `PySequence_Fast_*` accept. The slice covers the current items;
    // it cannot be invalidated while `f` runs because `f` runs no Python code.
    let items = unsafe {
        let n = usize::try_from(ffi::PySequence_Fast_GET_SIZE(p)).unwrap_or(0);
        if n == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(ffi::PySequence_Fast_ITEMS(p), n)
        }
    };
    f(items)
}

/// Where a row or a value sits, for error messages: "shot S, qubit Q", preceded by the
/// position along the outer axes for N-d input ("position (i, j), shot S, qubit Q").
fn location(outer: &[usize], row: usize, qubit: Option<usize>) -> String {
    let mut idx = Vec::with_capacity(outer.len());
    let mut r = row;
    for &n in outer.iter().rev() {
        idx.push(r % n.max(1));
        r /= n.max(1);
    }
    idx.reverse();
    let shot = idx.pop().unwrap_or(0);
    let mut s = String::new();
    if !idx.is_empty() {
        let parts: Vec<String> = idx.iter().map(ToString::to_string).collect();
        let tuple = if parts.len() == 1 {
            format!("({},)", parts[0])
        } else {
            format!("({})", parts.join(", "))
        };
        s.push_str(&format!("position {tuple}, "));
    }
    s.push_str(&format!("shot {shot}"));
    if let Some(q) = qubit {
        s.push_str(&format!(", qubit {q}"));
    }
    s
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Reads one bit value. The common values (the cached ints 0 and 1, True, False) are
/// recognised by address, which keeps the walk at a few nanoseconds per value.
struct Leaf<'py> {
    zero: Bound<'py, PyAny>,
    one: Bound<'py, PyAny>,
    fals: Bound<'py, PyAny>,
    tru: Bound<'py, PyAny>,
    strict: bool,
}

impl<'py> Leaf<'py> {
    fn new(py: Python<'py>, strict: bool) -> PyResult<Self> {
        Ok(Leaf {
            zero: 0i64.into_pyobject(py)?.into_any(),
            one: 1i64.into_pyobject(py)?.into_any(),
            fals: false.into_pyobject(py)?.to_owned().into_any(),
            tru: true.into_pyobject(py)?.to_owned().into_any(),
            strict,
        })
    }

    /// The bit for an item recognised by address, or `None` when the slow path must decide.
    #[inline(always)]
    fn by_addr(&self, p: *mut ffi::PyObject) -> Option<bool> {
        if p == self.one.as_ptr() || p == self.tru.as_ptr() {
            Some(true)
        } else if p == self.zero.as_ptr() || p == self.fals.as_ptr() {
            Some(false)
        } else {
            None
        }
    }

    #[cold]
    fn slow(&self, item: &Bound<'py, PyAny>, loc: impl Fn() -> String) -> Result<bool, Stop> {
        if !self.strict {
            // NumPy's bool conversion: nonzero numbers are True. Anything else (strings,
            // None, NumPy scalars, huge ints) is left to NumPy itself.
            if let Ok(i) = item.cast::<PyInt>() {
                return i
                    .extract::<i64>()
                    .map(|v| v != 0)
                    .map_err(|_| Stop::Fallback);
            }
            if let Ok(f) = item.cast::<PyFloat>() {
                return Ok(f.value() != 0.0);
            }
            return Err(Stop::Fallback);
        }
        // Strict: ints (and objects with __index__, such as NumPy integers) equal to 0 or 1.
        match item.extract::<i64>() {
            Ok(0) => Ok(false),
            Ok(1) => Ok(true),
            Ok(_) => Err(not_a_bit(item, loc()).into()),
            Err(_) if item.is_instance_of::<PyInt>() => Err(not_a_bit(item, loc()).into()),
            Err(_) => Err(Error::Type {
                location: loc(),
                message: format!("expected an int 0 or 1, got {}", type_name(item)),
            }
            .into()),
        }
    }
}

fn not_a_bit(item: &Bound<'_, PyAny>, location: String) -> Error {
    let mut value = item
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "?".into());
    if value.len() > 40 {
        let cut = (0..=40)
            .rev()
            .find(|&i| value.is_char_boundary(i))
            .unwrap_or(0);
        value.truncate(cut);
        value.push_str("...");
    }
    Error::NotABit { location, value }
}

/// Shape of nested sequences, read along the first elements, and the first value (if any).
fn discover_shape<'py>(
    obj: &Bound<'py, PyAny>,
) -> Result<(Vec<usize>, Option<Bound<'py, PyAny>>), Stop> {
    let mut shape = Vec::new();
    let mut cur = obj.clone();
    while let Some(seq) = Seq::of(&cur) {
        if shape.len() == MAX_DEPTH {
            return Err(
                Error::Value(format!("lists nested deeper than {MAX_DEPTH} levels")).into(),
            );
        }
        let n = seq.len();
        shape.push(n);
        if n == 0 {
            return Ok((shape, None));
        }
        cur = seq.get(0)?;
    }
    Ok((shape, Some(cur)))
}

/// Visits every row (the sequences one level above the bits) in C order, after checking that
/// each sequence on the way has the discovered length and each row has `num_bits` items.
fn for_each_row<'py>(
    seq: Seq<'py>,
    level: usize,
    shape: &[usize],
    next_row: &mut usize,
    strict: bool,
    on_row: &mut impl FnMut(usize, Seq<'py>) -> Result<(), Stop>,
) -> Result<(), Stop> {
    let nd = shape.len();
    if level == nd - 2 {
        seq.for_each_item(|_, item| {
            let r = *next_row;
            let row = match Seq::of_owned(item) {
                Ok(s) => s,
                Err(item) if strict => {
                    return Err(Error::Type {
                        location: location(&shape[..nd - 1], r, None),
                        message: format!(
                            "expected a list of qubit values, got {}",
                            type_name(&item)
                        ),
                    }
                    .into())
                }
                Err(_) => return Err(Stop::Fallback),
            };
            if row.len() != shape[nd - 1] {
                if !strict {
                    return Err(Stop::Fallback);
                }
                return Err(Error::Shape {
                    location: location(&shape[..nd - 1], r, None),
                    message: format!(
                        "expected {} qubit values like shot 0, got {}",
                        shape[nd - 1],
                        row.len()
                    ),
                }
                .into());
            }
            *next_row += 1;
            on_row(r, row)
        })?;
        return Ok(());
    }
    for i in 0..seq.len() {
        let item = seq.get(i)?;
        let child = Seq::of(&item).filter(|c| c.len() == shape[level + 1]);
        match child {
            Some(c) => for_each_row(c, level + 1, shape, next_row, strict, on_row)?,
            None if strict => {
                return Err(Error::Shape {
                    location: format!("index {i} at depth {level}"),
                    message: format!(
                        "expected a list of length {} like index 0, got {}",
                        shape[level + 1],
                        Seq::of(&item)
                            .map_or_else(|| type_name(&item), |c| format!("length {}", c.len()))
                    ),
                }
                .into())
            }
            None => return Err(Stop::Fallback),
        }
    }
    Ok(())
}

/// Packs one row of Python values into its packed bytes.
struct RowPacker<'a, 'py> {
    outer: &'a [usize],
    num_bits: usize,
    little: bool,
    leaf: Leaf<'py>,
    /// Addresses of the objects expected everywhere: the ints 1 and 0, or True and False
    /// when the first value is a bool. Rows with anything else take the slow path.
    one: *mut ffi::PyObject,
    zero: *mut ffi::PyObject,
}

impl<'a, 'py> RowPacker<'a, 'py> {
    fn new(
        leaf: Leaf<'py>,
        first: Option<&Bound<'py, PyAny>>,
        outer: &'a [usize],
        num_bits: usize,
        little: bool,
    ) -> Self {
        let bools = first.is_some_and(|v| v.is(&leaf.tru) || v.is(&leaf.fals));
        let (one, zero) = if bools {
            (leaf.tru.as_ptr(), leaf.fals.as_ptr())
        } else {
            (leaf.one.as_ptr(), leaf.zero.as_ptr())
        };
        RowPacker {
            outer,
            num_bits,
            little,
            leaf,
            one,
            zero,
        }
    }

    fn changed(&self, r: usize) -> Stop {
        Error::Value(format!(
            "{}: list changed size while being read",
            location(self.outer, r, None)
        ))
        .into()
    }

    fn pack(&self, r: usize, row: &Seq<'py>, dst: &mut [u8]) -> Result<(), Stop> {
        let (num_bits, little, one, zero) = (self.num_bits, self.little, self.one, self.zero);
        // Fast pass: addresses only and branch-free (random bits would make a branch per
        // value mispredict half the time); no Python code runs, so the row cannot change.
        let all_known = with_item_addrs(row, |items| {
            if items.len() != num_bits {
                return false;
            }
            let mut known = true;
            let ok: Result<(), Infallible> = pack::pack_row(dst, num_bits, little, |c| {
                let p = items[c];
                let is_one = p == one;
                known &= is_one | (p == zero);
                Ok(is_one)
            });
            let Ok(()) = ok;
            known
        });
        if !all_known {
            // Something else than the expected pair (or the row changed): redo the row with
            // owned items and the full rules.
            let leaf = &self.leaf;
            pack::pack_row(dst, num_bits, little, |c| {
                let item = row.get(c).map_err(|_| self.changed(r))?;
                match leaf.by_addr(item.as_ptr()) {
                    Some(b) => Ok(b),
                    None => leaf.slow(&item, || location(self.outer, r, Some(c))),
                }
            })?;
        }
        if row.len() != num_bits {
            return Err(self.changed(r));
        }
        Ok(())
    }
}

/// Outputs up to this size are allocated before the input is fully validated, so that lists
/// are walked once; larger ones are validated first (a ragged input could otherwise claim a
/// huge output from the length of its first row).
const SINGLE_PASS_BYTES: usize = 64 << 20;

/// Walks nested lists/tuples (any depth >= 2; the last axis is bits) straight into packed rows.
///
/// Returns `(packed, num_bits)` with `packed.shape == (*outer_shape, ceil(num_bits / 8))`.
/// `strict=True` accepts only ints equal to 0 or 1 (bools and NumPy integers included) and
/// raises ValueError / TypeError naming "shot S, qubit Q" (and the outer position for N-d
/// input); ragged rows raise ValueError. `strict=False` follows `numpy.asarray(obj,
/// dtype=bool)` exactly, delegating to NumPy whenever a value is not a plain int or float.
#[pyfunction]
#[pyo3(signature = (obj, little_endian, strict = false))]
fn pack_nested_lists<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    little_endian: bool,
    strict: bool,
) -> PyResult<(Bound<'py, PyArrayDyn<u8>>, usize)> {
    match walk_nested(py, obj, little_endian, strict) {
        Ok(done) => Ok(done),
        Err(Stop::Raise(e)) => Err(e),
        Err(Stop::Fallback) => pack_bool_array(py, obj, little_endian),
    }
}

fn walk_nested<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    little: bool,
    strict: bool,
) -> Result<(Bound<'py, PyArrayDyn<u8>>, usize), Stop> {
    let Some(top) = Seq::of(obj) else {
        if strict {
            return Err(Error::wrong_type(format!(
                "expected a list of shots, got {}",
                type_name(obj)
            ))
            .into());
        }
        return Err(Stop::Fallback);
    };
    let (shape, first) = discover_shape(obj)?;
    if shape.len() < 2 {
        if strict {
            return Err(Error::Value("Expecting at least two dimensions.".into()).into());
        }
        return Err(Stop::Fallback);
    }
    let nd = shape.len();
    let num_bits = shape[nd - 1];
    let nb = num_bytes(num_bits);
    let outer = &shape[..nd - 1];
    let claimed = outer.iter().try_fold(nb, |acc, &n| acc.checked_mul(n));
    let packer = RowPacker::new(
        Leaf::new(py, strict)?,
        first.as_ref(),
        outer,
        num_bits,
        little,
    );
    let mut next_row = 0usize;
    let out_shape = with_last(&shape, nb);
    let packed = match claimed {
        Some(bytes) if bytes <= SINGLE_PASS_BYTES => {
            let packed = numpy_new::<u8>(py, out_shape, false)?;
            with_slice_mut(&packed, |out| {
                let res = for_each_row(top, 0, &shape, &mut next_row, strict, &mut |r, row| {
                    if nb == 0 {
                        return Ok(());
                    }
                    match out.get_mut(r * nb..(r + 1) * nb) {
                        Some(dst) => packer.pack(r, &row, dst),
                        None => Err(packer.changed(r)),
                    }
                });
                Ok(res)
            })??;
            packed
        }
        _ => {
            let mut rows = Vec::new();
            for_each_row(top, 0, &shape, &mut next_row, strict, &mut |_, row| {
                rows.push(row);
                Ok(())
            })?;
            let packed = numpy_new::<u8>(py, out_shape, false)?;
            with_slice_mut(&packed, |out| {
                if nb > 0 {
                    for (r, (row, dst)) in rows.iter().zip(out.chunks_exact_mut(nb)).enumerate() {
                        if let Err(e) = packer.pack(r, row, dst) {
                            return Ok(Err(e));
                        }
                    }
                }
                Ok(Ok(()))
            })??;
            packed
        }
    };
    if nb > 0 && next_row * nb != packed.len() {
        return Err(packer.changed(next_row));
    }
    Ok((packed, num_bits))
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
    let shape = packed_shape(&packed, num_bits)?;
    let view = packed.as_array();
    numpy_output(py, with_last(&shape, num_bits), false, |out| {
        pack::unpack_rows(&c_order(&view), num_bits, little_endian, out).into_py_result()
    })
}

/// Ones per shot (padding excluded), uint64 of shape `(*shape, shots)`.
#[pyfunction]
fn bitcount<'py>(
    py: Python<'py>,
    packed: PyReadonlyArrayDyn<'py, u8>,
    num_bits: usize,
) -> PyResult<Bound<'py, PyArrayDyn<u64>>> {
    let shape = packed_shape(&packed, num_bits)?;
    let view = packed.as_array();
    numpy_output(py, shape[..shape.len() - 1].to_vec(), false, |out| {
        pack::bitcount_rows(&c_order(&view), num_bits, out).into_py_result()
    })
}

/// One integer per shot, uint64 of shape `(*shape, shots)`; needs `num_bits <= 64`.
#[pyfunction]
fn get_int_array<'py>(
    py: Python<'py>,
    packed: PyReadonlyArrayDyn<'py, u8>,
    num_bits: usize,
) -> PyResult<Bound<'py, PyArrayDyn<u64>>> {
    let shape = packed_shape(&packed, num_bits)?;
    if num_bits > 64 {
        return Err(to_py(Error::Value(format!(
            "one integer per shot needs num_bits <= 64, got {num_bits}"
        ))));
    }
    let view = packed.as_array();
    numpy_output(py, shape[..shape.len() - 1].to_vec(), false, |out| {
        pack::rows_to_u64(&c_order(&view), num_bits, out).into_py_result()
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
    let shape = packed_shape(&packed, num_bits)?;
    let onb = num_bytes(indices.len());
    let view = packed.as_array();
    numpy_output(py, with_last(&shape, onb), false, |out| {
        pack::gather_bits(&c_order(&view), num_bits, &indices, out).into_py_result()
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
    let views: Vec<ArrayViewD<'_, u8>> = arrays.iter().map(|a| a.as_array()).collect();
    numpy_output(py, with_last(&shapes[0], onb), false, |out| {
        let data: Vec<Cow<'_, [u8]>> = views.iter().map(c_order).collect();
        let parts: Vec<(&[u8], usize)> = data
            .iter()
            .zip(&num_bits)
            .map(|(d, &n)| (d.as_ref(), n))
            .collect();
        pack::concat_bits(&parts, out).into_py_result()
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
    packed_shape(&packed, num_bits)?;
    let nb = num_bytes(num_bits);
    let view = packed.as_array();
    let kept = match pack::postselect_mask(num_bits, &indices, &selection).into_py_result()? {
        None => Vec::new(),
        Some((mask, want)) => py
            .detach(|| pack::postselect_rows(&c_order(&view), &mask, &want))
            .into_py_result()?,
    };
    let rows = kept.len().checked_div(nb).unwrap_or(0);
    into_array(py, vec![rows, nb], kept)
}

// ---- samples and counts ---------------------------------------------------------------------

/// How the elements of a sample stream are read (decided by the first element, as Qiskit does).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Int,
    Binary,
    Hex,
}

/// One sample, parsed.
enum Sample<'a, 'py> {
    /// A non-negative integer below 2^128.
    Small(u128),
    /// Plain binary digits (the width of the string counts for `num_bits=None`).
    Binary(&'a [u8]),
    /// Plain hex digits.
    Hex(&'a [u8]),
    /// A non-negative integer of 128 bits or more.
    Big(Bound<'py, PyInt>),
    /// A negative integer (rejected when written).
    Negative,
}

impl Sample<'_, '_> {
    /// Bits needed to hold the value.
    fn bit_length(&self) -> PyResult<usize> {
        Ok(match self {
            Sample::Small(v) => pack::bit_length_u128(*v),
            Sample::Binary(d) => pack::binary_bit_length(d),
            Sample::Hex(d) => pack::hex_bit_length(d),
            Sample::Big(i) => i.call_method0("bit_length")?.extract()?,
            Sample::Negative => 0,
        })
    }

    /// Width it asks for when `num_bits` is inferred: binary strings count all their digits
    /// (leading zeros included; Qiskit issue 12765), everything else its value's bit length.
    fn width(&self) -> PyResult<usize> {
        match self {
            Sample::Binary(d) => Ok(d.len()),
            _ => self.bit_length(),
        }
    }

    /// Writes into a zeroed row of `num_bytes(num_bits)` bytes.
    fn write(&self, row: &mut [u8], num_bits: usize) -> PyResult<()> {
        let fits = !matches!(self, Sample::Negative) && self.bit_length()? <= num_bits;
        if !fits {
            return Err(to_py(Error::Value(format!(
                "All samples must be non-negative integers that fit in num_bits={num_bits} bits."
            ))));
        }
        match self {
            Sample::Small(v) => pack::write_u128_row(*v, row),
            Sample::Binary(d) => pack::write_binary_row(d, row),
            Sample::Hex(d) => pack::write_hex_row(d, row),
            Sample::Big(i) => {
                let bytes: Vec<u8> = i.call_method1("to_bytes", (row.len(), "big"))?.extract()?;
                pack::write_be_bytes_row(&bytes, row);
            }
            Sample::Negative => {}
        }
        Ok(())
    }
}

fn mode_of(first: &Bound<'_, PyAny>) -> PyResult<Mode> {
    Ok(match first.cast::<PyString>() {
        Ok(s) if s.to_cow()?.starts_with("0x") => Mode::Hex,
        Ok(_) => Mode::Binary,
        Err(_) => Mode::Int,
    })
}

/// An integer-like object as a sample.
fn int_sample<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Sample<'static, 'py>> {
    if let Ok(v) = obj.extract::<u128>() {
        return Ok(Sample::Small(v));
    }
    // Not a u128: negative, huge, or not an integer at all (TypeError from operator.index).
    let py = obj.py();
    let i = py
        .import("operator")?
        .call_method1("index", (obj,))?
        .cast_into::<PyInt>()?;
    if i.lt(0)? {
        Ok(Sample::Negative)
    } else {
        Ok(Sample::Big(i))
    }
}

/// Parses one element of a sample stream (or one counts key).
fn parse_sample<'a, 'py>(obj: &'a Bound<'py, PyAny>, mode: Mode) -> PyResult<Sample<'a, 'py>> {
    if mode == Mode::Int {
        return int_sample(obj);
    }
    let Ok(s) = obj.cast::<PyString>() else {
        return Err(to_py(Error::wrong_type(format!(
            "int() can't convert non-string with explicit base (got {})",
            type_name(obj)
        ))));
    };
    if let Ok(text) = s.to_str() {
        let t = text
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .as_bytes();
        match mode {
            Mode::Binary => {
                if let Some(d) = pack::plain_binary(t) {
                    return Ok(Sample::Binary(d));
                }
            }
            _ => {
                if let Some(d) = pack::plain_hex(t) {
                    return Ok(Sample::Hex(d));
                }
            }
        }
    }
    // Underscores, prefixes, Unicode digits...: Python's int() has the last word.
    let base = if mode == Mode::Hex { 16 } else { 2 };
    let v = obj.py().get_type::<PyInt>().call1((obj, base))?;
    match int_sample(&v)? {
        Sample::Small(x) => Ok(Sample::Small(x)),
        Sample::Big(b) => Ok(Sample::Big(b)),
        _ => Ok(Sample::Negative),
    }
}

/// `num_bits` for a stream: the given one, or the widest sample (at least 1).
fn infer_bits<'py>(
    items: &[Bound<'py, PyAny>],
    mode: Mode,
    given: Option<usize>,
) -> PyResult<usize> {
    if let Some(n) = given {
        return Ok(n);
    }
    let mut w = 1;
    for it in items {
        w = w.max(parse_sample(it, mode)?.width()?);
    }
    Ok(w)
}

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
    let items: Vec<Bound<'py, PyAny>> = match Seq::of(samples) {
        Some(Seq::List(l)) => l.iter().collect(),
        Some(Seq::Tuple(t)) => t.iter().collect(),
        None => samples.try_iter()?.collect::<PyResult<_>>()?,
    };
    let Some(first) = items.first() else {
        return Err(to_py(Error::Value(
            "At least one sample is required.".into(),
        )));
    };
    let mode = mode_of(first)?;
    let num_bits = infer_bits(&items, mode, num_bits)?;
    let nb = num_bytes(num_bits);
    // Zeroed: the digit writers only set ones.
    let packed = numpy_new::<u8>(py, vec![items.len(), nb], true)?;
    with_slice_mut(&packed, |out| {
        if nb > 0 {
            for (it, row) in items.iter().zip(out.chunks_exact_mut(nb)) {
                parse_sample(it, mode)?.write(row, num_bits)?;
            }
        } else {
            for it in &items {
                parse_sample(it, mode)?.write(&mut [], 0)?;
            }
        }
        Ok(())
    })?;
    Ok((packed, num_bits))
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
    let mut keys: Vec<Bound<'py, PyAny>> = Vec::new();
    let mut reps: Vec<usize> = Vec::new();
    let mut per_mapping = Vec::with_capacity(mappings.len());
    for m in &mappings {
        let mut shots = 0usize;
        let mut add = |k: Bound<'py, PyAny>, v: Bound<'py, PyAny>| -> PyResult<()> {
            // Same rules as itertools.repeat: an integer (via __index__), <= 0 means none.
            let n: i64 = v.extract()?;
            if n > 0 {
                let n = usize::try_from(n)
                    .map_err(|_| to_py(Error::Alloc("count too large".into())))?;
                shots = shots
                    .checked_add(n)
                    .ok_or_else(|| to_py(Error::Alloc("total count too large".into())))?;
                keys.push(k);
                reps.push(n);
            }
            Ok(())
        };
        if let Ok(d) = m.cast::<PyDict>() {
            for (k, v) in d.iter() {
                add(k, v)?;
            }
        } else {
            for kv in m.call_method0("items")?.try_iter()? {
                let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = kv?.extract()?;
                add(k, v)?;
            }
        }
        per_mapping.push(shots);
    }
    let Some(first) = keys.first() else {
        return Err(to_py(Error::Value(
            "At least one sample is required.".into(),
        )));
    };
    let mode = mode_of(first)?;
    let num_bits = infer_bits(&keys, mode, num_bits)?;
    let nb = num_bytes(num_bits);
    let total: usize = per_mapping.iter().sum();
    let bytes = total
        .checked_mul(nb)
        .ok_or_else(|| to_py(Error::Alloc("too many shots".into())))?;
    // Zeroed: the digit writers only set ones.
    let packed = numpy_new::<u8>(py, vec![total, nb], true)?;
    debug_assert_eq!(packed.len(), bytes);
    with_slice_mut(&packed, |out| {
        let mut at = 0usize;
        for (k, &n) in keys.iter().zip(&reps) {
            let sample = parse_sample(k, mode)?;
            if nb == 0 {
                sample.write(&mut [], 0)?;
                continue;
            }
            let block = &mut out[at * nb..(at + n) * nb];
            let (head, rest) = block.split_at_mut(nb);
            sample.write(head, num_bits)?;
            for dst in rest.chunks_exact_mut(nb) {
                dst.copy_from_slice(head);
            }
            at += n;
        }
        Ok(())
    })?;
    Ok((packed, num_bits, per_mapping))
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
    m.add_function(wrap_pyfunction!(pack_samples, m)?)?;
    m.add_function(wrap_pyfunction!(pack_counts, m)?)?;
    Ok(())
}

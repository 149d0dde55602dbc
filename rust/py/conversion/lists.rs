//! Nested Python lists and tuples of bits straight into packed rows, without an intermediate
//! array. This is the binding's only walk over Python objects per value, so it is the one place
//! with `unsafe` code (reading a list's item array; see [`with_item_addrs`]).
//!
//! Only exact `list`, `tuple`, `int`, `bool` and `float` objects are read natively: a subclass
//! may override `__len__`, `__iter__`, `__getitem__` or `__bool__`, so in non-strict mode (NumPy's
//! truthiness) anything else sends the whole input to NumPy's own conversion, and in strict mode a
//! sequence subclass is first read through Python's iteration protocol (`list(obj)`).

use std::convert::Infallible;

use numpy::{PyArrayDyn, PyUntypedArrayMethods};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyTuple};
use shotpack_core::layout::num_bytes;
use shotpack_core::{pack, Error, Location};

use crate::arrays::{numpy_new, with_last, with_slice_mut};
use crate::errors::BindError;

/// NumPy supports at most 64 dimensions; deeper nesting is rejected (it also stops
/// self-referential lists from looping forever).
const MAX_DEPTH: usize = 64;

/// Why a walk over nested lists stopped.
pub enum Stop {
    /// A real error, raised as is.
    Raise(BindError),
    /// Non-strict mode met something only NumPy's conversion rules can settle.
    Fallback,
}

impl<E: Into<BindError>> From<E> for Stop {
    fn from(e: E) -> Self {
        Stop::Raise(e.into())
    }
}

/// A list or a tuple, the two sequence types walked natively.
#[derive(Clone)]
enum Seq<'py> {
    List(Bound<'py, PyList>),
    Tuple(Bound<'py, PyTuple>),
}

impl<'py> Seq<'py> {
    /// An exact list or tuple as is. With `strict`, a subclass of either is read through
    /// Python's iteration protocol into a new list (its own `__iter__` decides the items);
    /// otherwise it is not walked natively.
    fn of(obj: &Bound<'py, PyAny>, strict: bool) -> PyResult<Option<Self>> {
        Self::of_owned(obj.clone(), strict).map(Result::ok)
    }

    /// Like [`Seq::of`], taking ownership (no extra reference count traffic); gives the object
    /// back when it is not a sequence walked natively.
    fn of_owned(obj: Bound<'py, PyAny>, strict: bool) -> PyResult<Result<Self, Bound<'py, PyAny>>> {
        let obj = match obj.cast_into_exact::<PyList>() {
            Ok(l) => return Ok(Ok(Seq::List(l))),
            Err(e) => e.into_inner(),
        };
        let obj = match obj.cast_into_exact::<PyTuple>() {
            Ok(t) => return Ok(Ok(Seq::Tuple(t))),
            Err(e) => e.into_inner(),
        };
        if strict && (obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>()) {
            let items = obj.try_iter()?.collect::<PyResult<Vec<_>>>()?;
            return Ok(Ok(Seq::List(PyList::new(obj.py(), items)?)));
        }
        Ok(Err(obj))
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
/// position along the outer axes for N-d input.
fn location(outer: &[usize], row: usize, qubit: Option<usize>) -> String {
    Location::of_row(outer, row, qubit).to_string()
}

pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
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
            // Exact types only: a subclass may override `__bool__`, which NumPy honours.
            if let Ok(i) = item.cast_exact::<PyInt>() {
                return i
                    .extract::<i64>()
                    .map(|v| v != 0)
                    .map_err(|_| Stop::Fallback);
            }
            if let Ok(b) = item.cast_exact::<PyBool>() {
                return Ok(b.is_true());
            }
            if let Ok(f) = item.cast_exact::<PyFloat>() {
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
            Err(_) => Err(BindError::Type {
                location: loc(),
                message: format!("expected an int 0 or 1, got {}", type_name(item)),
            }
            .into()),
        }
    }
}

fn not_a_bit(item: &Bound<'_, PyAny>, location: String) -> BindError {
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
    BindError::NotABit { location, value }
}

/// Shape of nested sequences, read along the first elements, and the first value (if any).
fn discover_shape<'py>(
    obj: &Bound<'py, PyAny>,
    strict: bool,
) -> Result<(Vec<usize>, Option<Bound<'py, PyAny>>), Stop> {
    let mut shape = Vec::new();
    let mut cur = obj.clone();
    while let Some(seq) = Seq::of(&cur, strict)? {
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
///
/// With `seen` (one slot per level; only for walks whose `on_row` does nothing), a sequence
/// that is the very object visited just before it at the same level is not walked again: a list
/// repeated by reference (`[x] * 1000`) is checked once. The slots hold references, so an
/// address cannot be reused by another object while the walk runs.
fn for_each_row<'py>(
    seq: Seq<'py>,
    level: usize,
    shape: &[usize],
    next_row: &mut usize,
    strict: bool,
    on_row: &mut impl FnMut(usize, Seq<'py>) -> Result<(), Stop>,
    mut seen: Option<&mut Vec<Option<Seq<'py>>>>,
) -> Result<(), Stop> {
    let nd = shape.len();
    if level == nd - 2 {
        seq.for_each_item(|_, item| {
            let r = *next_row;
            let row = match Seq::of_owned(item, strict)? {
                Ok(s) => s,
                Err(item) if strict => {
                    return Err(BindError::Type {
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
        let child = Seq::of(&item, strict)?.filter(|c| c.len() == shape[level + 1]);
        match child {
            Some(c) => {
                if let Some(seen) = seen.as_deref_mut() {
                    if seen[level + 1]
                        .as_ref()
                        .is_some_and(|s| s.as_ptr() == c.as_ptr())
                    {
                        *next_row += shape[level + 1..nd - 1].iter().product::<usize>();
                        continue;
                    }
                }
                let keep = seen.is_some().then(|| c.clone());
                for_each_row(
                    c,
                    level + 1,
                    shape,
                    next_row,
                    strict,
                    on_row,
                    seen.as_deref_mut(),
                )?;
                if let Some(seen) = seen.as_deref_mut() {
                    seen[level + 1] = keep;
                }
            }
            None if strict => {
                return Err(Error::Shape {
                    location: format!("index {i} at depth {level}"),
                    message: format!(
                        "expected a list of length {} like index 0, got {}",
                        shape[level + 1],
                        Seq::of(&item, strict)?
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
/// are walked once; larger ones are validated by a first walk (a ragged input could otherwise
/// claim a huge output from the length of its first row).
const SINGLE_PASS_BYTES: usize = 64 << 20;

/// Walks nested lists/tuples (any depth >= 2; the last axis is bits) straight into packed rows.
///
/// Returns `(packed, num_bits)` with `packed.shape == (*outer_shape, ceil(num_bits / 8))`, or
/// [`Stop::Fallback`] when only NumPy's conversion can settle a non-strict input. See
/// `pack_nested_lists` for the rules.
pub fn walk_nested<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    little: bool,
    strict: bool,
) -> Result<(Bound<'py, PyArrayDyn<u8>>, usize), Stop> {
    let Some(top) = Seq::of(obj, strict)? else {
        if strict {
            return Err(BindError::wrong_type(format!(
                "expected a list of shots, got {}",
                type_name(obj)
            ))
            .into());
        }
        return Err(Stop::Fallback);
    };
    let (shape, first) = discover_shape(obj, strict)?;
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
    // An overflowing size is a MemoryError, as NumPy reports it.
    let claimed = outer
        .iter()
        .try_fold(nb, |acc, &n| acc.checked_mul(n))
        .ok_or_else(|| {
            Error::Alloc(format!(
                "cannot allocate a packed array of shape {:?}",
                with_last(&shape, nb)
            ))
        })?;
    let packer = RowPacker::new(
        Leaf::new(py, strict)?,
        first.as_ref(),
        outer,
        num_bits,
        little,
    );
    if claimed > SINGLE_PASS_BYTES {
        // Validate every row first, storing nothing: a ragged input (or one list repeated by
        // reference) must not claim memory it does not describe.
        let mut rows = 0usize;
        let mut seen = vec![None; nd];
        let mut skip = |_: usize, _: Seq<'py>| Ok(());
        for_each_row(
            top.clone(),
            0,
            &shape,
            &mut rows,
            strict,
            &mut skip,
            Some(&mut seen),
        )?;
    }
    // NumPy allocates the output; an impossible size is its MemoryError.
    let packed = numpy_new::<u8>(py, with_last(&shape, nb), false)?;
    let mut next_row = 0usize;
    with_slice_mut(&packed, |out| {
        let mut on_row = |r: usize, row: Seq<'py>| {
            if nb == 0 {
                return Ok(());
            }
            match out.get_mut(r * nb..(r + 1) * nb) {
                Some(dst) => packer.pack(r, &row, dst),
                None => Err(packer.changed(r)),
            }
        };
        let res = for_each_row(top, 0, &shape, &mut next_row, strict, &mut on_row, None);
        Ok(res)
    })??;
    if nb > 0 && next_row * nb != packed.len() {
        return Err(packer.changed(next_row));
    }
    Ok((packed, num_bits))
}

//! Python samples (bitstrings, hex strings, integers) and counts keys to core [`Sample`]s. Only
//! what needs Python happens here: reading the object and, for anything but plain digits,
//! Python's own `int()`; the rules that follow are [`shotpack_core::pack::samples`]'.

use pyo3::prelude::*;
use pyo3::types::{PyInt, PyString};
use shotpack_core::pack::{plain_digits, Mode, Sample};

use super::lists::type_name;
use crate::errors::BindError;

/// The mode of a stream whose first element is `first` (core decides from its text).
pub fn mode_of(first: &Bound<'_, PyAny>) -> Result<Mode, BindError> {
    Ok(match first.cast::<PyString>() {
        Ok(s) => Mode::of_first(Some(&s.to_cow()?)),
        Err(_) => Mode::of_first(None),
    })
}

/// An integer-like object (anything with `__index__`) as a sample.
fn int_sample(obj: &Bound<'_, PyAny>) -> Result<Sample<'static>, BindError> {
    if let Ok(v) = obj.extract::<u128>() {
        return Ok(Sample::Small(v));
    }
    // Not a u128: negative, huge, or not an integer at all (TypeError from operator.index).
    let py = obj.py();
    let i = py
        .import("operator")?
        .call_method1("index", (obj,))?
        .cast_into::<PyInt>()
        .map_err(PyErr::from)?;
    if i.lt(0)? {
        return Ok(Sample::Negative);
    }
    let bits: usize = i.call_method0("bit_length")?.extract()?;
    let bytes: Vec<u8> = i
        .call_method1("to_bytes", (bits.div_ceil(8), "big"))?
        .extract()?;
    Ok(Sample::Big(bytes))
}

/// Parses one element of a sample stream (or one counts key) in `mode`.
pub fn parse_sample<'a>(obj: &'a Bound<'_, PyAny>, mode: Mode) -> Result<Sample<'a>, BindError> {
    if mode == Mode::Int {
        return int_sample(obj);
    }
    let Ok(s) = obj.cast::<PyString>() else {
        return Err(BindError::wrong_type(format!(
            "int() can't convert non-string with explicit base (got {})",
            type_name(obj)
        )));
    };
    if let Ok(text) = s.to_str() {
        if let Some(sample) = plain_digits(text, mode) {
            return Ok(sample);
        }
    }
    // Underscores, prefixes, Unicode digits...: Python's int() has the last word.
    let v = obj.py().get_type::<PyInt>().call1((obj, mode.base()))?;
    int_sample(&v)
}

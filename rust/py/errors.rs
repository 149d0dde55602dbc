//! The binding's errors, and the one place where any error becomes a Python exception.
//!
//! Core errors ([`shotpack_core::Error`]) carry no Python concepts; what only the binding can
//! detect (a Python object of the wrong type, a Python value that is not a bit) lives in
//! [`BindError`] beside them. Errors raised by Python code that the extension calls pass through
//! unchanged.

use pyo3::exceptions::{PyIndexError, PyMemoryError, PyTypeError, PyValueError};
use pyo3::PyErr;
use shotpack_core::Error;

/// Everything a binding function can fail with.
#[derive(Debug)]
pub enum BindError {
    /// A core error.
    Core(Error),
    /// A Python object of the wrong type (`TypeError`); an empty `location` means the message
    /// stands alone.
    Type { location: String, message: String },
    /// A Python value that should be a bit (0 or 1) was something else (`ValueError`).
    NotABit { location: String, value: String },
    /// An exception raised by Python code the binding called.
    Py(PyErr),
}

impl BindError {
    /// A [`BindError::Type`] whose message already says everything.
    pub fn wrong_type(message: impl Into<String>) -> Self {
        BindError::Type {
            location: String::new(),
            message: message.into(),
        }
    }
}

impl From<Error> for BindError {
    fn from(e: Error) -> Self {
        BindError::Core(e)
    }
}

impl From<PyErr> for BindError {
    fn from(e: PyErr) -> Self {
        BindError::Py(e)
    }
}

/// "location: message", or the message alone when there is no location.
fn located(location: &str, message: &str) -> String {
    if location.is_empty() {
        message.to_owned()
    } else {
        format!("{location}: {message}")
    }
}

impl From<BindError> for PyErr {
    fn from(e: BindError) -> Self {
        match e {
            BindError::Core(e) => to_py(e),
            BindError::Type { location, message } => {
                PyTypeError::new_err(located(&location, &message))
            }
            BindError::NotABit { location, value } => {
                PyValueError::new_err(format!("{location}: expected 0 or 1, got {value}"))
            }
            BindError::Py(e) => e,
        }
    }
}

/// Converts a core error into the Python exception type Qiskit would raise for it.
pub fn to_py(err: Error) -> PyErr {
    let msg = err.to_string();
    match err {
        Error::Index(_) => PyIndexError::new_err(msg),
        Error::Alloc(_) => PyMemoryError::new_err(msg),
        Error::Shape { .. } | Error::Json { .. } | Error::Value(_) | Error::TooLarge { .. } => {
            PyValueError::new_err(msg)
        }
    }
}

/// `Result<T, core::Error>` -> `PyResult<T>`.
pub trait IntoPyResult<T> {
    fn into_py_result(self) -> pyo3::PyResult<T>;
}

impl<T> IntoPyResult<T> for shotpack_core::Result<T> {
    fn into_py_result(self) -> pyo3::PyResult<T> {
        self.map_err(to_py)
    }
}

/// Runs a binding function's body so that no Rust panic reaches Python: a panic (always a bug)
/// becomes `SystemError` naming the function, instead of pyo3's `PanicException`, which is a
/// `BaseException` that `except Exception` would miss.
pub fn guard<T>(name: &str, body: impl FnOnce() -> pyo3::PyResult<T>) -> pyo3::PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(pyo3::exceptions::PySystemError::new_err(format!(
                "internal error in shotpack._native.{name}: {what}"
            )))
        }
    }
}

//! The one place where `shotpack_core::Error` becomes a Python exception.
//!
//! Binding code reports its own checks of Python arguments through the same enum, so this
//! table decides every exception type raised by the extension (errors raised by Python code
//! that the extension calls pass through unchanged).

use pyo3::exceptions::{PyIndexError, PyMemoryError, PyTypeError, PyValueError};
use pyo3::PyErr;
use shotpack_core::Error;

/// Converts a core error into the Python exception type Qiskit would raise for it.
pub fn to_py(err: Error) -> PyErr {
    let msg = err.to_string();
    match err {
        Error::Type { .. } => PyTypeError::new_err(msg),
        Error::Index(_) => PyIndexError::new_err(msg),
        Error::Alloc(_) => PyMemoryError::new_err(msg),
        Error::NotABit { .. } | Error::Shape { .. } | Error::Json { .. } | Error::Value(_) => {
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

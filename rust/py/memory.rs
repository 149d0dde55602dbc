//! Bindings for `shotpack_core::memory` (being written; see docs/DEVPLAN.md).

use pyo3::prelude::*;

pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}

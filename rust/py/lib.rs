//! `shotpack._native`: the thin PyO3 layer over `shotpack-core`.
//!
//! Each submodule mirrors one core file: it extracts and validates arguments while holding the
//! GIL, runs the core computation with the GIL released, and hands the output buffer to NumPy
//! without copying. Errors are mapped to Python exceptions in `errors.rs` only.

use pyo3::prelude::*;

mod counts;
mod errors;
mod expval;
mod json;
mod memory;
mod pack;
mod threads;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    pack::register(m)?;
    counts::register(m)?;
    json::register(m)?;
    expval::register(m)?;
    memory::register(m)?;
    Ok(())
}

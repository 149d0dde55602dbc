//! `shotpack._native`: the thin PyO3 layer over `shotpack-core`.
//!
//! One file of `#[pyfunction]`s per core concept (`pack`, `samples`, `counts`, `json`, `expval`,
//! `memory`): each extracts its arguments while holding the GIL, converts them (`arrays` for
//! NumPy, `conversion` for Python objects), calls the core with the GIL released, and wraps the
//! output buffer for NumPy without copying. It decides nothing itself. Errors become Python
//! exceptions in `errors.rs` only, which also keeps any Rust panic from reaching Python.

use pyo3::prelude::*;

mod arrays;
mod conversion;
mod counts;
mod errors;
mod expval;
mod json;
mod memory;
mod mitigation;
mod pack;
mod samples;
mod sampling;
mod threads;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    pack::register(m)?;
    samples::register(m)?;
    counts::register(m)?;
    json::register(m)?;
    expval::register(m)?;
    memory::register(m)?;
    mitigation::register(m)?;
    sampling::register(m)?;
    Ok(())
}

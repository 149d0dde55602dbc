//! Build script of the extension: exposes PyO3's interpreter cfgs (`Py_3_13`, `Py_LIMITED_API`,
//! `PyPy`, ...) to this crate, so that the few calls into CPython's non-limited C API
//! (`rust/py/counts.rs`) compile only for the interpreters that export them.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}

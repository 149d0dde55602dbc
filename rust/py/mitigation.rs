//! Bindings for `shotpack_core::mitigation`: matrix-free readout mitigation of observed
//! outcomes (quasi-probabilities and the inverse's one-norm).

use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use shotpack_core::mitigation::{self, ReadoutErrors, Reduced};

use crate::arrays::elements;
use crate::errors::{guard, IntoPyResult};
use crate::threads;

/// Quasi-probabilities of the packed outcome rows `(m, nbytes)` whose observed probabilities
/// are `probs`, under per-bit readout errors `p01` (`P(1|0)`) and `p10` (`P(0|1)`), the
/// assignment matrix restricted to pairs within `distance` (`None`: all). Returns the
/// quasi-probabilities, the GMRES iterations and the final relative residual.
#[pyfunction]
#[pyo3(signature = (rows, num_bits, probs, p01, p10, distance, tol, max_iter))]
#[allow(clippy::too_many_arguments)]
fn readout_mitigate<'py>(
    py: Python<'py>,
    rows: PyReadonlyArray2<'py, u8>,
    num_bits: usize,
    probs: PyReadonlyArray1<'py, f64>,
    p01: PyReadonlyArray1<'py, f64>,
    p10: PyReadonlyArray1<'py, f64>,
    distance: Option<usize>,
    tol: f64,
    max_iter: usize,
) -> PyResult<(Bound<'py, PyArray1<f64>>, usize, f64)> {
    guard("readout_mitigate", || {
        let rows = elements(&rows);
        let probs = elements(&probs);
        let p01 = elements(&p01);
        let p10 = elements(&p10);
        threads::init_pool();
        let (quasi, stats) = py
            .detach(|| {
                let errors = ReadoutErrors {
                    p01: &p01,
                    p10: &p10,
                };
                let reduced = Reduced::new(&rows, num_bits, &errors, distance)?;
                mitigation::mitigate(&reduced, &probs, tol, max_iter)
            })
            .into_py_result()?;
        Ok((
            PyArray1::from_vec(py, quasi),
            stats.iterations,
            stats.relative_residual,
        ))
    })
}

/// Estimate of the one-norm of the inverse of the reduced assignment matrix of `rows`.
#[pyfunction]
#[pyo3(signature = (rows, num_bits, p01, p10, distance, tol, max_iter))]
#[allow(clippy::too_many_arguments)]
fn readout_inverse_norm(
    py: Python<'_>,
    rows: PyReadonlyArray2<'_, u8>,
    num_bits: usize,
    p01: PyReadonlyArray1<'_, f64>,
    p10: PyReadonlyArray1<'_, f64>,
    distance: Option<usize>,
    tol: f64,
    max_iter: usize,
) -> PyResult<f64> {
    guard("readout_inverse_norm", || {
        let rows = elements(&rows);
        let p01 = elements(&p01);
        let p10 = elements(&p10);
        threads::init_pool();
        py.detach(|| {
            let errors = ReadoutErrors {
                p01: &p01,
                p10: &p10,
            };
            let reduced = Reduced::new(&rows, num_bits, &errors, distance)?;
            mitigation::inverse_one_norm(&reduced, tol, max_iter)
        })
        .into_py_result()
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(readout_mitigate, m)?)?;
    m.add_function(wrap_pyfunction!(readout_inverse_norm, m)?)?;
    Ok(())
}

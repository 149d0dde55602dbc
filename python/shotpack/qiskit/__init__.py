"""Qiskit interoperability (needs the optional ``qiskit`` extra).

* :mod:`~shotpack.qiskit.conversion`: Qiskit circuits transpiled to IQM's native gates into
  shotpack IQM circuits (:func:`to_iqm_circuit`);
* :mod:`~shotpack.qiskit.backend`: :class:`IQMBackend`, a Qiskit ``BackendV2`` with a
  ``Target`` built from the server's calibration set;
* :mod:`~shotpack.qiskit.primitives`: :class:`SamplerV2` and :class:`EstimatorV2`, Qiskit's V2
  primitive interfaces on shotpack's fast path.

Every name loads on first use, so ``import shotpack.qiskit`` works without Qiskit; the backend
and primitives import Qiskit when first used.
"""

from shotpack._lazy import lazy_exports

_EXPORTS = {
    "QISKIT_QUBITS_KEY": "shotpack.qiskit.conversion",
    "QISKIT_REGISTERS_KEY": "shotpack.qiskit.conversion",
    "coerce_circuit": "shotpack.qiskit.conversion",
    "default_qubit_names": "shotpack.qiskit.conversion",
    "to_iqm_circuit": "shotpack.qiskit.conversion",
    "IQMBackend": "shotpack.qiskit.backend",
    "IQMQiskitJob": "shotpack.qiskit.backend",
    "IQMTarget": "shotpack.qiskit.backend",
    "EstimatorV2": "shotpack.qiskit.primitives",
    "QiskitPrimitiveJob": "shotpack.qiskit.primitives",
    "SamplerV2": "shotpack.qiskit.primitives",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports("shotpack.qiskit", _EXPORTS, globals())

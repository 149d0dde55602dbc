"""Qiskit interoperability (needs the optional ``qiskit`` extra for the conversions).

:mod:`~shotpack.qiskit.conversion` turns Qiskit circuits transpiled to IQM's native gates into
shotpack IQM circuits (:func:`to_iqm_circuit`). Qiskit is imported lazily: ``import
shotpack.qiskit`` works without it.
"""

from shotpack.qiskit.conversion import (
    QISKIT_QUBITS_KEY,
    QISKIT_REGISTERS_KEY,
    coerce_circuit,
    default_qubit_names,
    to_iqm_circuit,
)

__all__ = [
    "QISKIT_QUBITS_KEY",
    "QISKIT_REGISTERS_KEY",
    "coerce_circuit",
    "default_qubit_names",
    "to_iqm_circuit",
]

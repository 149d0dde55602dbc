"""Qiskit's parameter order: one bare value array binds the same parameters in shotpack as in
Qiskit (ParameterVector elements by index, not as strings)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import QuantumCircuit
from qiskit.circuit import Parameter as QiskitParameter
from qiskit.circuit import ParameterVector as QiskitVector
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp

from shotpack.circuit.parameters import (
    Parameter,
    ParameterVector,
    ParameterVectorElement,
    sorted_parameters,
)
from shotpack.iqm.backend import IQMBackend
from shotpack.iqm.client import IQMClient
from shotpack.primitives.estimator import Estimator
from shotpack.qiskit import to_iqm_circuit
from shotpack.server import LocalServer


def _ansatz(num_qubits: int, theta: QiskitVector) -> QuantumCircuit:
    # Already in IQM's gate set (r, cz), so no transpilation reorders anything.
    qc = QuantumCircuit(num_qubits)
    for k, p in enumerate(theta):
        qc.r(p, 0.3 * k, k % num_qubits)
        if k % num_qubits == num_qubits - 1:
            for q in range(1, num_qubits):
                qc.cz(0, q)  # QB1-QB2 and QB1-QB3 are couplers of the local 2x2 lattice
    return qc


def test_vector_of_12_sorts_by_index_after_conversion() -> None:
    theta = QiskitVector("θ", 12)
    qc = _ansatz(3, theta)
    circuit = to_iqm_circuit(qc)
    assert [p.name for p in circuit.parameters] == [p.name for p in qc.parameters]
    assert [p.name for p in circuit.parameters][:4] == ["θ[0]", "θ[1]", "θ[2]", "θ[3]"]
    assert all(isinstance(p, ParameterVectorElement) for p in circuit.parameters)


def test_mixed_names_sort_as_qiskit_sorts() -> None:
    v, w = QiskitVector("θ", 12), QiskitVector("a", 11)
    qc = QuantumCircuit(1)
    extra = ["θ", "θ0", "θ[12]x", "b", "a10", "a[1]x", "Z", "_", "ä"]
    for p in [*v, *w, *(QiskitParameter(n) for n in extra)]:
        qc.rx(p, 0)
    expected = [p.name for p in qc.parameters]
    assert [p.name for p in to_iqm_circuit(qc).parameters] == expected
    # shotpack's own vectors sort the same way.
    mine = [*ParameterVector("θ", 12), *ParameterVector("a", 11), *(Parameter(n) for n in extra)]
    assert [p.name for p in sorted_parameters(reversed(mine))] == expected


def test_bare_values_bind_as_in_qiskit_statevector_estimator() -> None:
    theta = QiskitVector("θ", 12)
    qc = _ansatz(3, theta)
    observables = [SparsePauliOp(label) for label in ("ZII", "IZI", "IIZ", "XXI", "IYZ")]
    rng = np.random.default_rng(11)
    values = rng.uniform(-np.pi, np.pi, size=(4, 12))
    exact = (
        StatevectorEstimator().run([(qc, [[o] for o in observables], values)]).result()[0].data.evs
    )
    with LocalServer(qubits=4, seed=5) as srv:
        backend = IQMBackend(IQMClient(srv.url))
        # Both the Qiskit circuit and its conversion must bind the array the same way.
        for circuit in (qc, to_iqm_circuit(qc)):
            pub = (circuit, [[o] for o in observables], values)
            res = Estimator(backend).run([pub], precision=0.01).result()[0].data
            assert res.evs.shape == exact.shape == (5, 4)
            assert np.all(np.abs(res.evs - exact) <= 5 * res.stds + 1e-9), (res.evs, exact)

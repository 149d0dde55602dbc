"""The primitives on Qiskit circuits transpiled to IQM's gate set, with Qiskit observables."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Parameter as QiskitParameter
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit.transpiler import CouplingMap

from shotpack import Estimator, Sampler
from shotpack.iqm.backend import IQMBackend
from shotpack.iqm.client import IQMClient
from shotpack.server import LocalServer
from tests._primitives_helpers import qiskit_seed_circuit

# The 4-qubit local server is a 2x2 square: QB1-QB2, QB1-QB3, QB2-QB4, QB3-QB4.
COUPLING = CouplingMap([[0, 1], [1, 0], [0, 2], [2, 0], [1, 3], [3, 1], [2, 3], [3, 2]])


@pytest.fixture(scope="module")
def backend() -> Iterator[IQMBackend]:
    with LocalServer(qubits=4, seed=99) as srv:
        yield IQMBackend(IQMClient(srv.url))


def _transpile(qc: QuantumCircuit) -> QuantumCircuit:
    return transpile(
        qc,
        basis_gates=["r", "cz"],
        coupling_map=COUPLING,
        initial_layout=[2, 3],  # not the trivial layout: the observables must follow it
        optimization_level=1,
        seed_transpiler=3,
    )


def test_estimator_on_transpiled_seed_circuit(backend: IQMBackend) -> None:
    qc = qiskit_seed_circuit()
    tqc = _transpile(qc)
    assert tqc.num_qubits == 4
    params = np.vstack([np.linspace(-np.pi, np.pi, 20), np.linspace(-4 * np.pi, 4 * np.pi, 20)]).T
    observables = [
        [SparsePauliOp(["XX", "IY"], [0.5, 0.5])],
        [SparsePauliOp("XX")],
        [SparsePauliOp("IY")],
    ]
    laid_out = [[o.apply_layout(tqc.layout) for o in row] for row in observables]
    res = Estimator(backend).run([(tqc, laid_out, params)]).result()
    data = res[0].data
    assert data.evs.shape == (3, 20)
    exact = StatevectorEstimator().run([(qc, observables, params)]).result()[0].data.evs
    assert np.all(np.abs(data.evs - exact) <= 5 * data.stds + 20 / 4096)
    # The payload's circuits act on the layout's physical qubits QB3 and QB4.
    assert res[0].metadata["circuit_metadata"] == {}


def test_sampler_registers_like_qiskit(backend: IQMBackend) -> None:
    qr = QuantumRegister(2, "q")
    alpha, beta = ClassicalRegister(2, "alpha"), ClassicalRegister(3, "beta")
    qc = QuantumCircuit(qr, alpha, beta, metadata={"run": "registers"})
    theta = QiskitParameter("theta")
    qc.ry(theta, 0)
    qc.cx(0, 1)
    qc.x(1)
    qc.measure(0, alpha[1])
    qc.measure(1, alpha[0])
    tqc = _transpile(qc)
    thetas = np.array([[0.4], [1.9], [2.8]])
    shots = 3000
    res = Sampler(backend).run([(tqc, thetas)], shots=shots).result()
    pub = res[0]
    assert list(pub.data.keys()) == ["alpha", "beta"]
    assert pub.data.alpha.shape == (3,) and pub.data.alpha.num_bits == 2
    # beta is never measured: all zeros, as Qiskit's samplers report it.
    assert pub.data.beta.num_bits == 3 and not pub.data.beta.array.any()
    assert pub.metadata == {"shots": shots, "circuit_metadata": {"run": "registers"}}
    for k, (t,) in enumerate(thetas):
        sv = Statevector(qc.remove_final_measurements(inplace=False).assign_parameters([t]))
        probs = sv.probabilities_dict()  # keys "q1 q0"
        # alpha bit 1 is q0 and alpha bit 0 is q1: alpha's value is 2 * q0 + q1.
        want = np.zeros(4)
        for key, p in probs.items():
            q1, q0 = int(key[0]), int(key[1])
            want[2 * q0 + q1] += p
        got = np.bincount(pub.data.alpha.array[k, :, 0] & 3, minlength=4)
        sigma = np.sqrt(shots * want * (1 - want))
        assert np.all(np.abs(got - shots * want) <= 5 * sigma + 1), (got, shots * want)

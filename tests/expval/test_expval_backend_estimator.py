"""shotpack's Estimator math against Qiskit's BackendEstimatorV2 on the very same counts.

The backend records the counts it returns to BackendEstimatorV2; shotpack evaluates the same
counts through its own plan. evs agree to rounding; stds differ by design (Qiskit sums per-term
standard deviations linearly, shotpack keeps covariances; see docs/compatibility.md), except for
single-term observables, where both are ``sqrt((1 - ev**2) / shots)``.
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.primitives import BackendEstimatorV2
from qiskit.primitives import BitArray as QBitArray
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.quantum_info import SparsePauliOp

from shotpack.containers.bit_array import BitArray
from shotpack.expval.evaluate import evaluate_estimator
from shotpack.expval.plan import plan_measurements

# Terms whose qubit-wise compatibility graph is a union of cliques, so any greedy grouping
# (Qiskit's or shotpack's) gives the same three circuits: ZZZ, XXX and YIY.
OBSERVABLES = [
    SparsePauliOp(["ZZI", "ZIZ", "XXI"], [0.5, -0.3, 0.8]),
    SparsePauliOp(["IZZ", "XIX", "YIY"], [1.0, 0.4, -0.6]),
    SparsePauliOp(["YIY"], [1.0]),
    SparsePauliOp(["ZZI"], [1.0]),
]


def circuit() -> QuantumCircuit:
    qc = QuantumCircuit(3)
    qc.ry(0.7, 0)
    qc.rx(1.1, 1)
    qc.h(2)
    qc.cx(0, 1)
    qc.ry(-0.4, 2)
    qc.cx(1, 2)
    qc.rz(0.3, 0)
    return qc


def test_same_counts_same_evs():
    backend = BasicSimulator()
    recorded: list = []
    inner_run = backend.run

    def recording_run(circuits, **kwargs):
        job = inner_run(circuits, **kwargs)
        result = job.result()
        circs = circuits if isinstance(circuits, list) else [circuits]
        for i, c in enumerate(circs):
            recorded.append((c.cregs[-1].name, result.get_counts(i)))
        return job

    backend.run = recording_run  # type: ignore[method-assign]
    estimator = BackendEstimatorV2(backend=backend, options={"seed_simulator": 7})
    pub_result = estimator.run([(circuit(), OBSERVABLES)], precision=1 / 40).result()[0]
    shots = pub_result.metadata["shots"]

    # Qiskit's register is "__c_<basis>", clbit k = k-th measured qubit: shotpack's bit order.
    counts_by_basis = {name.removeprefix("__c_"): counts for name, counts in recorded}
    plan = plan_measurements([{lab: float(c.real) for lab, c in o.to_list()} for o in OBSERVABLES])
    assert sorted(g.basis for g in plan.groups) == sorted(counts_by_basis)
    data = []
    for g in plan.groups:
        q = QBitArray.from_counts(counts_by_basis[g.basis], num_bits=g.num_bits)
        data.append(BitArray(q.array.copy(), g.num_bits))
    ours = evaluate_estimator(plan, data)

    np.testing.assert_allclose(ours.evs, pub_result.data.evs, rtol=0, atol=1e-12)
    assert all(ba.num_shots == shots for ba in data)
    # Single-term observables: the same standard error formula.
    np.testing.assert_allclose(ours.stds[2:], pub_result.data.stds[2:], rtol=1e-12)
    # Multi-term observables: Qiskit's linear sum of per-term standard deviations is an upper
    # bound of the covariance-aware value (triangle inequality), and strictly above it here.
    assert np.all(ours.stds[:2] < pub_result.data.stds[:2])

"""Shared helpers of the primitives tests: circuits and an independent exact simulation.

The exact values come from a small dense statevector written here from the gate definitions
(``prx(t, p) = exp(-i t/2 (cos p X + sin p Y))``, ``cz``), independent of the server's simulator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import reduce
from typing import Any

import numpy as np

from shotpack.circuit.parameters import Parameter, ParameterExpression
from shotpack.iqm.models import Circuit, Instruction

PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}


def prx_matrix(angle: float, phase: float) -> np.ndarray:
    c, s = math.cos(angle / 2), math.sin(angle / 2)
    return np.array(
        [[c, -1j * s * np.exp(-1j * phase)], [-1j * s * np.exp(1j * phase), c]], dtype=complex
    )


def state(circuit: Circuit, values: Mapping[str, float]) -> np.ndarray:
    """Final statevector, index bit ``k`` = ``circuit.qubits[k]`` (Qiskit little-endian)."""
    names = list(circuit.qubits)
    n = len(names)
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = 1.0
    psi = psi.reshape((2,) * n)  # axis n-1-k is qubit k
    for inst in circuit.instructions:
        if inst.name == "prx":
            args = {
                k: float(v.evaluate(values)) if isinstance(v, ParameterExpression) else float(v)
                for k, v in inst.args.items()
            }
            axis = n - 1 - names.index(inst.locus[0])
            psi = np.moveaxis(
                np.tensordot(prx_matrix(args["angle"], args["phase"]), psi, axes=([1], [axis])),
                0,
                axis,
            )
        elif inst.name == "cz":
            a1, a2 = (n - 1 - names.index(q) for q in inst.locus)
            idx: list[Any] = [slice(None)] * n
            idx[a1] = 1
            idx[a2] = 1
            psi = psi.copy()
            psi[tuple(idx)] *= -1
        else:
            assert inst.name in ("measure", "barrier")
    return psi.reshape(-1)


def pauli_matrix(label: str) -> np.ndarray:
    # kron(P_{n-1}, ..., P_0) matches the little-endian index.
    return reduce(np.kron, [PAULI[c] for c in label])


def exact_ev(
    circuit: Circuit, observable: Mapping[str, float], values: Mapping[str, float]
) -> float:
    psi = state(circuit, values)
    op = sum(c * pauli_matrix(label) for label, c in observable.items())
    return float(np.real(np.vdot(psi, op @ psi)))


def exact_grid(
    circuit: Circuit,
    observables: np.ndarray,
    names: Sequence[str],
    params: np.ndarray,
) -> np.ndarray:
    """Exact values broadcast like an Estimator PUB: ``observables`` is an object array of
    ``{label: coeff}`` dicts, ``params`` has shape ``(*pshape, len(names))``."""
    pshape = params.shape[:-1]
    shape = np.broadcast_shapes(observables.shape, pshape)
    obs_b = np.broadcast_to(observables, shape)
    idx_b = np.broadcast_to(np.arange(int(np.prod(pshape))).reshape(pshape), shape)
    flat = params.reshape(-1, len(names))
    out = np.empty(shape)
    for pos in np.ndindex(shape):
        values = dict(zip(names, flat[idx_b[pos]].tolist(), strict=True))
        out[pos] = exact_ev(circuit, obs_b[pos], values)
    return out


def obj_array(nested: Any) -> np.ndarray:
    """Nested lists of dicts/labels to an object array of ``{label: coeff}`` dicts."""

    def conv(x: Any) -> Any:
        if isinstance(x, list):
            return [conv(i) for i in x]
        return {x: 1.0} if isinstance(x, str) else dict(x)

    converted = conv(nested)
    # np.array would try to descend into the dicts; fill by index instead.
    shape: list[int] = []
    level = converted
    while isinstance(level, list):
        shape.append(len(level))
        level = level[0]
    arr = np.empty(tuple(shape), dtype=object)
    for pos in np.ndindex(arr.shape):
        item = converted
        for i in pos:
            item = item[i]
        arr[pos] = item
    return arr


def three_qubit_circuit(measure: bool = False) -> tuple[Circuit, list[str]]:
    """An entangling 3-qubit circuit with parameters t0, t1, t2 (sorted names)."""
    t = [Parameter(f"t{i}") for i in range(3)]
    q = ["QB1", "QB2", "QB3"]
    ins = [
        Instruction(name="prx", locus=(q[0],), args={"angle": t[0], "phase": 0.3}),
        Instruction(name="prx", locus=(q[1],), args={"angle": 2 * t[1] + 0.1, "phase": 1.0}),
        Instruction(name="prx", locus=(q[2],), args={"angle": t[2], "phase": -0.7}),
        Instruction(name="cz", locus=(q[0], q[1])),
        Instruction(name="prx", locus=(q[1],), args={"angle": t[0] - t[2], "phase": 0.5}),
        Instruction(name="cz", locus=(q[0], q[2])),
        Instruction(name="prx", locus=(q[2],), args={"angle": math.pi / 3, "phase": 0.0}),
    ]
    if measure:
        ins.append(Instruction(name="measure", locus=tuple(q), args={"key": "m"}))
    return Circuit(name="three", instructions=ins), ["t0", "t1", "t2"]


def qiskit_seed_circuit() -> Any:
    """The seed's 2-qubit example in standard Qiskit gates (parameters ``a`` and ``b``).

    Qiskit is imported here, not at module level, so tests without Qiskit can use this module.
    """
    from qiskit.circuit import Parameter as QiskitParameter

    from qiskit import QuantumCircuit

    a, b = QiskitParameter("a"), QiskitParameter("b")
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(a, 0)
    qc.rz(b, 0)
    qc.cx(0, 1)
    qc.h(0)
    return qc

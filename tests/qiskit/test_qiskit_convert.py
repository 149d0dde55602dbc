"""shotpack.qiskit.to_iqm_circuit: gate mapping, keys, parameters, and unitary equivalence."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Parameter as QiskitParameter
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Operator
from qiskit.transpiler import CouplingMap

from shotpack.circuit.parameters import Parameter, ParameterExpression
from shotpack.qiskit import (
    QISKIT_QUBITS_KEY,
    QISKIT_REGISTERS_KEY,
    default_qubit_names,
    to_iqm_circuit,
)
from tests._primitives_helpers import qiskit_seed_circuit

IQM_BASIS = ["r", "cz"]


def _prx(angle: float, phase: float) -> np.ndarray:
    # Written out independently of the simulator: exp(-i angle/2 (cos(phase) X + sin(phase) Y)).
    c, s = math.cos(angle / 2), math.sin(angle / 2)
    return np.array(
        [[c, -1j * s * np.exp(-1j * phase)], [-1j * s * np.exp(1j * phase), c]], dtype=complex
    )


def _unitary(circuit, names: list[str], values: dict[str, float]) -> np.ndarray:
    """Unitary of an IQM circuit in Qiskit's little-endian order (qubit 0 least significant)."""
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    u = np.eye(2**n, dtype=complex)
    for inst in circuit.instructions:
        if inst.name == "prx":
            args = {
                k: float(v.evaluate(values)) if isinstance(v, ParameterExpression) else v
                for k, v in inst.args.items()
            }
            q = index[inst.locus[0]]
            full = np.array([[1.0]], dtype=complex)
            for k in reversed(range(n)):
                full = np.kron(full, _prx(args["angle"], args["phase"]) if k == q else np.eye(2))
            u = full @ u
        elif inst.name == "cz":
            q1, q2 = (index[c] for c in inst.locus)
            diag = np.array([-1.0 if (b >> q1) & 1 and (b >> q2) & 1 else 1.0 for b in range(2**n)])
            u = diag[:, None] * u
        else:
            assert inst.name in ("barrier", "measure", "delay")
    return u


def _equal_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    k = np.argmax(np.abs(b).ravel())
    phase = a.ravel()[k] / b.ravel()[k]
    return abs(abs(phase) - 1) < 1e-9 and np.allclose(a, phase * b, atol=1e-9)


@pytest.mark.parametrize("opt", [0, 1, 2])
def test_transpiled_seed_circuit_has_the_same_unitary(opt: int) -> None:
    qc = qiskit_seed_circuit()
    tqc = transpile(
        qc,
        basis_gates=IQM_BASIS,
        coupling_map=CouplingMap.from_line(3),
        optimization_level=opt,
        seed_transpiler=7,
    )
    circ = to_iqm_circuit(tqc)
    assert {i.name for i in circ.instructions} <= {"prx", "cz", "barrier"}
    names = default_qubit_names(tqc.num_qubits)
    assert circ.metadata is not None and circ.metadata[QISKIT_QUBITS_KEY] == names
    rng = np.random.default_rng(opt)
    for _ in range(3):
        va, vb = rng.uniform(-np.pi, np.pi, 2)
        want = Operator(tqc.assign_parameters({"a": va, "b": vb}).remove_final_measurements(False))
        got = _unitary(circ, names, {"a": va, "b": vb})
        assert _equal_up_to_phase(got, want.data)


def test_gate_mapping_and_measurement_keys() -> None:
    qr = QuantumRegister(3, "q")
    alpha, beta = ClassicalRegister(2, "alpha"), ClassicalRegister(1, "my_reg")
    qc = QuantumCircuit(qr, alpha, beta, name="mapped", metadata={"tag": 1})
    theta = QiskitParameter("theta")
    qc.r(theta, 0.25, 0)
    qc.x(1)
    qc.rx(0.5, 2)
    qc.y(0)
    qc.ry(2 * theta + 0.1, 1)
    qc.id(2)
    qc.cz(0, 2)
    qc.barrier()
    qc.delay(100, 1, unit="ns")
    qc.reset(2)
    qc.measure(0, beta[0])
    qc.measure(2, alpha[1])
    circ = to_iqm_circuit(qc, qubit_names=["QB3", "QB1", "QB7"])
    got = [(i.name, i.locus) for i in circ.instructions]
    assert got == [
        ("prx", ("QB3",)),
        ("prx", ("QB1",)),
        ("prx", ("QB7",)),
        ("prx", ("QB3",)),
        ("prx", ("QB1",)),
        ("cz", ("QB3", "QB7")),
        ("barrier", ("QB3", "QB1", "QB7")),
        ("delay", ("QB1",)),
        ("reset", ("QB7",)),
        ("measure", ("QB3",)),
        ("measure", ("QB7",)),
    ]
    args = [i.args for i in circ.instructions]
    assert isinstance(args[0]["angle"], Parameter) and args[0]["angle"].name == "theta"
    assert args[0]["phase"] == 0.25
    assert args[1] == {"angle": math.pi, "phase": 0.0}
    assert args[2] == {"angle": 0.5, "phase": 0.0}
    assert args[3] == {"angle": math.pi, "phase": math.pi / 2}
    expr = args[4]["angle"]
    assert isinstance(expr, ParameterExpression) and expr.is_affine
    # The same Qiskit parameter becomes the same shotpack parameter.
    assert expr == 2 * args[0]["angle"] + 0.1
    assert args[7]["duration"] == pytest.approx(100e-9)
    assert isinstance(args[7]["duration"], float)
    assert args[9] == {"key": "my_reg_1_1_0"} and args[10] == {"key": "alpha_2_0_1"}
    assert circ.name == "mapped"
    assert circ.metadata == {
        "tag": 1,
        QISKIT_REGISTERS_KEY: [["alpha", 2], ["my_reg", 1]],
        QISKIT_QUBITS_KEY: ["QB3", "QB1", "QB7"],
    }


def test_general_expressions_and_vectors() -> None:
    v = ParameterVector("v", 2)
    qc = QuantumCircuit(1)
    qc.r(v[0] * v[1] + 1, (v[0] / 2).sin(), 0)
    circ = to_iqm_circuit(qc)
    angle, phase = circ.instructions[0].args["angle"], circ.instructions[0].args["phase"]
    vals = {"v[0]": np.array([0.3, 1.2]), "v[1]": np.array([2.0, -1.0])}
    np.testing.assert_allclose(angle.evaluate(vals), vals["v[0]"] * vals["v[1]"] + 1)
    np.testing.assert_allclose(phase.evaluate(vals), np.sin(vals["v[0]"] / 2))


def test_integer_angles_become_floats() -> None:
    qc = QuantumCircuit(1)
    qc.r(1, 0, 0)
    (inst,) = to_iqm_circuit(qc).instructions
    assert all(type(x) is float for x in inst.args.values())


def test_errors() -> None:
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    with pytest.raises(ValueError, match=r"instruction 0 \(h\).*transpile"):
        to_iqm_circuit(qc)
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    qc.measure(0, 0)
    with pytest.raises(ValueError, match="measured twice"):
        to_iqm_circuit(qc)
    with pytest.raises(ValueError, match="qubit_names has 1 names"):
        to_iqm_circuit(QuantumCircuit(2), qubit_names=["QB1"])
    with pytest.raises(ValueError, match="repeats"):
        to_iqm_circuit(QuantumCircuit(2), qubit_names=["QB1", "QB1"])
    with pytest.raises(TypeError, match="QuantumCircuit"):
        to_iqm_circuit("not a circuit")  # type: ignore[arg-type]
    qc = QuantumCircuit(1, 1)
    qc.delay(3, 0, unit="s")
    assert to_iqm_circuit(qc).instructions[0].args["duration"] == 3.0
    qc = QuantumCircuit(1, 1)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(0)
    with pytest.raises(ValueError, match="control flow"):
        to_iqm_circuit(qc)

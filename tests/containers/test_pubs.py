"""EstimatorPub and SamplerPub coercion, shapes and validation (duck-typed circuits)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter as QParameter
from qiskit.primitives.containers import EstimatorPub as QEstimatorPub

from shotpack.containers.bindings_array import BindingsArray
from shotpack.containers.estimator_pub import EstimatorPub
from shotpack.containers.sampler_pub import SamplerPub


@dataclass
class Circ:
    num_qubits: int
    parameters: tuple[str, ...] = ()


def qcircuit(num_params: int) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    for i in range(num_params):
        qc.rx(QParameter(f"p{i}"), i % 2)
    return qc


@pytest.mark.parametrize(
    ("obs", "values"),
    [
        ([["XX"], ["IY"], ["ZZ"]], np.zeros((100, 2))),
        ("ZZ", np.zeros((5, 2))),
        ([[["XI"], ["IX"], ["ZZ"]], [["ZI"], ["IZ"], ["YY"]]], np.zeros((3, 6, 2))),
        (["XX", "YY"], np.zeros((2, 2))),
        ("ZZ", [0.1, 0.2]),
    ],
)
def test_shapes_match_qiskit(obs, values):
    qc = qcircuit(2)
    ours = EstimatorPub.coerce((qc, obs, values))
    theirs = QEstimatorPub.coerce((qc, obs, values))
    assert ours.shape == theirs.shape
    assert ours.parameter_values.shape == theirs.parameter_values.shape
    # Duck-typed circuit with the same protocol gives the same result.
    assert EstimatorPub.coerce((Circ(2, ("p0", "p1")), obs, values)).shape == ours.shape


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(
        ValueError, match=r"observables shape \(3,\).*parameter values shape \(5,\)"
    ):
        EstimatorPub.coerce((Circ(1, ("a",)), ["Z", "X", "Y"], np.zeros((5, 1))))


def test_estimator_pub_validation():
    c = Circ(2, ("a",))
    with pytest.raises(ValueError, match="bare circuit"):
        EstimatorPub.coerce(c)
    with pytest.raises(ValueError, match="length of pub"):
        EstimatorPub.coerce((c,))
    with pytest.raises(ValueError, match=r"circuit \(2\).*\(0\)-th observable \(1\)"):
        EstimatorPub.coerce((c, "Z", [0.1]))
    with pytest.raises(ValueError, match="number of values"):
        EstimatorPub.coerce((c, "ZZ"))
    with pytest.raises(TypeError):
        EstimatorPub.coerce((c, "ZZ", [0.1]), precision="high")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EstimatorPub.coerce((c, "ZZ", [0.1]), precision=-1.0)
    with pytest.raises(TypeError):
        EstimatorPub.coerce(("not a circuit", "ZZ"))


def test_estimator_pub_precision_and_mapping_values():
    c = Circ(2, ("a", "b"))
    pub = EstimatorPub.coerce((c, "ZZ", {"b": [1.0, 2.0], "a": [3.0, 4.0]}, 0))
    assert pub.precision == 0 and pub.shape == (2,)
    assert EstimatorPub.coerce(pub, precision=0.1) is pub
    bare = EstimatorPub.coerce((c, "ZZ", {"a": 1.0, "b": 2.0}))
    assert bare.precision is None
    assert EstimatorPub.coerce(bare, precision=0.1).precision == 0.1
    assert bare.parameter_values.values_at(()) == {"a": 1.0, "b": 2.0}


def test_sampler_pub():
    c = Circ(1, ("t",))
    pub = SamplerPub.coerce((c, [[0.1], [0.2]], 100))
    assert pub.shape == (2,) and pub.shots == 100
    assert SamplerPub.coerce(Circ(1)).shape == ()
    assert SamplerPub.coerce((c, BindingsArray({"t": [1.0, 2.0, 3.0]})), shots=5).shots == 5
    for bad, exc in [(10.0, TypeError), (True, TypeError), (0, ValueError), (-3, ValueError)]:
        with pytest.raises(exc):
            SamplerPub.coerce((c, [0.1], bad))
    with pytest.raises(ValueError, match=r"circuit has 1 parameters \(t\) but no parameter"):
        SamplerPub.coerce(c)
    with pytest.raises(ValueError, match="number of values"):
        SamplerPub.coerce((c, {"t": 1.0, "u": 2.0}))
    assert SamplerPub.coerce((c, [0.1], np.int64(7))).shots == 7


def test_messages_fit_both_wrapped_and_unwrapped_runs():
    # `run([circuit])` is already wrapped: the message must not ask to wrap it again, and for
    # the unwrapped `run((circuit, ...))` it must still point at the outer list.
    c = Circ(2, ("a", "b", "c", "d", "e", "f"))
    with pytest.raises(ValueError) as ei:
        EstimatorPub.coerce(c)
    text = str(ei.value)
    assert "must be a tuple (circuit, observables" in text and "bare circuit" in text
    assert "estimator.run([(circuit, observables)])" in text and "wrap it" not in text
    with pytest.raises(ValueError) as ei:
        SamplerPub.coerce(c)
    text = str(ei.value)
    assert text.startswith("The circuit has 6 parameters (a, b, c, d, e, ...) but no parameter")
    assert "wrap it" not in text and "(circuit, parameter_values)" in text
    assert SamplerPub.coerce(Circ(2)).shape == ()  # no parameters: a bare circuit is fine

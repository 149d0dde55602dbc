"""The container behaviours Qiskit's own container tests rely on (issue 11), checked directly."""

from __future__ import annotations

import numpy as np
import pytest

from shotpack import BindingsArray, EstimatorPub, ObservablesArray, PauliSum, SamplerPub
from shotpack.circuit.parameters import Parameter
from shotpack.iqm.models import Circuit, Instruction

# -- BindingsArray keys ------------------------------------------------------------------------


def test_parameter_vector_key_is_one_parameter_per_element() -> None:
    qiskit_circuit = pytest.importorskip("qiskit.circuit")
    vec = qiskit_circuit.ParameterVector("a", 5)
    values = np.arange(5.0)
    ba = BindingsArray({vec: values})
    assert ba.shape == ()
    assert ba.num_parameters == 5
    assert ba.parameter_names == tuple(p.name for p in vec)
    np.testing.assert_array_equal(ba.as_array(), values)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(lambda: (f"p{i}" for i in range(3)), id="generator"),
        pytest.param(lambda: iter(("p0", "p1", "p2")), id="iterator"),
        pytest.param(lambda: range(0), id="empty-range"),
    ],
)
def test_iterable_keys(key: object) -> None:
    n = len(tuple(key()))  # type: ignore[operator]
    ba = BindingsArray({key(): np.zeros((4, n))}, shape=4)  # type: ignore[operator]
    assert ba.shape == (4,)
    assert ba.num_parameters == n


def test_frozenset_key_reads_every_member() -> None:
    ba = BindingsArray({frozenset({"x"}): np.ones((2, 1))})
    assert ba.parameter_names == ("x",)
    assert ba.shape == (2,)


def test_str_and_parameter_keys_stay_one_parameter() -> None:
    ba = BindingsArray({"abc": [1.0, 2.0], Parameter("t"): [3.0, 4.0]})
    assert ba.parameter_names == ("abc", "t")
    assert ba.shape == (2,)


def test_full_slice_of_empty_0d_array() -> None:
    assert BindingsArray()[:].shape == ()
    ba = BindingsArray({("a", "b"): [1.0, 2.0]})
    assert ba[...].shape == ()
    np.testing.assert_array_equal(ba[:].as_array(), [1.0, 2.0])


@pytest.mark.parametrize(
    "form",
    [
        lambda s: (s,),
        lambda s: (np.array(s),),
        lambda s: tuple(np.int64(n) for n in s),
        lambda s: (list(s),),
        lambda s: s,
    ],
)
def test_reshape_argument_forms(form: object) -> None:
    ba = BindingsArray({"a": np.arange(8.0)})
    out = ba.reshape(*form((2, 4)))  # type: ignore[operator]
    assert out.shape == (2, 4)
    np.testing.assert_array_equal(out.as_array()[1, 0], [4.0])
    obs = ObservablesArray(["Z"] * 8)
    assert obs.reshape(*form((2, 4))).shape == (2, 4)  # type: ignore[operator]


def test_reshape_size_change_message() -> None:
    with pytest.raises(ValueError, match="Reshaping cannot change the total number of elements"):
        BindingsArray({"a": np.arange(8.0)}).reshape(3)


def test_as_array_errors_name_the_problem() -> None:
    ba = BindingsArray({("a", "b"): np.zeros((5, 2))})
    with pytest.raises(ValueError, match="Expected 2 parameters but 1 received"):
        ba.as_array(["b"])
    with pytest.raises(ValueError, match="Could not find placement for parameter 'a'"):
        ba.as_array(["b", "c"])
    np.testing.assert_array_equal(
        BindingsArray({("a", "b"): [[1.0, 2.0]]}).as_array(["b", "a"]), [[2.0, 1.0]]
    )


def _shotpack_circuit() -> Circuit:
    t, u = Parameter("t"), Parameter("u")
    return Circuit(
        name="c",
        instructions=(
            Instruction(name="prx", locus=("QB1",), args={"angle": t, "phase": u}),
            Instruction(name="measure", locus=("QB1",), args={"key": "m"}),
        ),
    )


def test_bind_and_bind_all_on_a_shotpack_circuit() -> None:
    values = np.arange(12.0).reshape(3, 2, 2)
    ba = BindingsArray({("u", "t"): values})
    bound = ba.bind(_shotpack_circuit(), (2, 1))
    assert bound.instructions[0].args == {"angle": values[2, 1, 1], "phase": values[2, 1, 0]}
    every = ba.bind_all(_shotpack_circuit())
    assert every.shape == (3, 2)
    assert every[2, 1] == bound
    assert every[0, 0].instructions[0].args["angle"] == values[0, 0, 1]
    with pytest.raises(ValueError, match="index all dimensions"):
        ba.bind(_shotpack_circuit(), (0,))


def test_bind_all_on_a_qiskit_circuit() -> None:
    qiskit = pytest.importorskip("qiskit")
    vec = qiskit.circuit.ParameterVector("v", 3)
    qc = qiskit.QuantumCircuit(1)
    for p in vec:
        qc.rx(p, 0)
    values = np.linspace(0, 1, 12).reshape(2, 2, 3)
    every = BindingsArray({vec: values}).bind_all(qc)
    assert every.shape == (2, 2)
    assert every[1, 0] == qc.assign_parameters(values[1, 0])
    assert BindingsArray({vec: values}).bind(qc, (0, 1)) == qc.assign_parameters(values[0, 1])


# -- ObservablesArray ----------------------------------------------------------------------------


def test_coerce_observable_is_a_static_method() -> None:
    obs = ObservablesArray.coerce_observable({"XX": 2.0, "ZZ": 0.0, "YY": 1.0})
    assert isinstance(obs, PauliSum)
    assert dict(obs) == {"XX": 2.0, "YY": 1.0}
    with pytest.raises(ValueError, match="Empty observable"):
        ObservablesArray.coerce_observable({"Z": 0.0})
    with pytest.raises(TypeError, match="Invalid observable type"):
        ObservablesArray.coerce_observable(3)
    with pytest.raises(ValueError):
        ObservablesArray.coerce_observable("iXX")


def test_validate_false_keeps_elements_as_given() -> None:
    raw = [["X", "Y"], ["0", "1"]]
    obs = ObservablesArray(raw, num_qubits=1, validate=False)
    assert obs.shape == (2, 2)
    assert obs._array[1, 0] == "0"
    obs.validate()  # raw labels are coerced for the check only
    assert obs._array[1, 0] == "0"
    mixed = ObservablesArray(
        [ObservablesArray.coerce({"XX": 1}), ObservablesArray.coerce({"XYZ": 1})], validate=False
    )
    assert mixed.num_qubits == 2
    with pytest.raises(ValueError, match="number of qubits"):
        mixed.validate()


def test_pauli_sum_equals_the_qiskit_observable_it_came_from() -> None:
    qi = pytest.importorskip("qiskit.quantum_info")
    op = qi.SparsePauliOp(["XX", "-XX", "ZI"], [2, 1, 0])
    coerced = ObservablesArray.coerce_observable(op)
    assert dict(coerced) == {"XX": 1.0}
    assert coerced == op
    assert coerced == qi.SparseObservable.from_list([("XX", 1.0)])
    assert coerced != qi.SparseObservable.from_list([("XX", 2.0)])
    assert coerced != qi.SparseObservable.from_list([("IXX", 1.0)])
    assert PauliSum("0+") == qi.SparseObservable.from_label("0+")


def test_qiskit_backend_estimator_accepts_a_shotpack_observables_array() -> None:
    qiskit = pytest.importorskip("qiskit")
    from qiskit.primitives import BackendEstimatorV2
    from qiskit.providers.basic_provider import BasicSimulator

    circ = qiskit.QuantumCircuit(2)
    circ.x(0)
    obs = ObservablesArray([{"IZ": 1.0}, {"ZI": 2.0}, {"ZZ": 0.5, "II": 1.0}] * 2).reshape(2, 3)
    estimator = BackendEstimatorV2(backend=BasicSimulator())
    res = estimator.run([(circ, obs)]).result()
    np.testing.assert_allclose(res[0].data.evs, [[-1.0, 2.0, 0.5]] * 2)


# -- PUBs ------------------------------------------------------------------------------------------


def test_pub_circuit_type_error_says_what_a_circuit_must_be() -> None:
    with pytest.raises(TypeError, match="must be QuantumCircuit"):
        EstimatorPub.coerce((object(), "Z"))
    with pytest.raises(TypeError, match="must be QuantumCircuit"):
        SamplerPub.coerce((object(),))


def test_pub_with_generator_key_checks_the_parameter_count() -> None:
    circuit = _shotpack_circuit()
    ok = BindingsArray({(n for n in ("t", "u")): np.zeros((2, 2))}, shape=2)
    assert SamplerPub(circuit, parameter_values=ok).shape == (2,)
    short = BindingsArray({(n for n in ("t",)): np.zeros((2, 1))}, shape=2)
    with pytest.raises(ValueError):
        SamplerPub(circuit, parameter_values=short)


def test_dict_values_missing_a_name_say_which() -> None:
    circuit = _shotpack_circuit()  # parameters t and u
    with pytest.raises(ValueError, match=r"No value for parameter\(s\) \['u'\]") as info:
        EstimatorPub.coerce((circuit, "Z", {"t": [0.1, 0.2]}))
    assert "The number of values (1) does not match the number of parameters (2)" in str(info.value)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['w'\]"):
        SamplerPub.coerce((circuit, {"t": 1.0, "u": 2.0, "w": 3.0}))

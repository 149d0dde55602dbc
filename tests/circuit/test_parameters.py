"""Parameter / ParameterExpression: arithmetic, printing, vectorised evaluation, errors."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotpack.circuit.parameters import (
    Parameter,
    ParameterExpression,
    real_value,
    sorted_parameters,
)

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


def test_parameter_identity_is_by_object_like_qiskit() -> None:
    a = Parameter("a")
    assert a == a
    assert a != Parameter("a")
    assert a.name == "a"
    assert repr(a) == "Parameter(a)"
    assert str(a) == "a"
    # An affine expression equal to a parameter is interchangeable with it in sets and dicts.
    assert 1 * a == a and a + 0 == a
    assert len({a, 1 * a, a + 0.0}) == 1


def test_parameter_name_validation() -> None:
    with pytest.raises(TypeError, match="str"):
        Parameter(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        Parameter("")


def test_affine_forms_are_canonical() -> None:
    t, a = Parameter("theta"), Parameter("a")
    expr = 2 * t + 0.1
    assert expr.is_affine
    assert expr.affine_coefficients() == ({t: 2.0}, 0.1)
    assert (t - t).is_constant() and float(t - t) == 0.0
    assert (3 * (t + a) - 3 * a) == 3 * t
    assert (-t).affine_coefficients() == ({t: -1.0}, 0.0)
    assert (t / 4).affine_coefficients() == ({t: 0.25}, 0.0)
    assert (np.float64(2.0) * t) == 2 * t  # NumPy scalar on the left
    assert not (t * a).is_affine
    with pytest.raises(ValueError, match="not affine"):
        (t * a).affine_coefficients()


def test_printing() -> None:
    t, a = Parameter("theta"), Parameter("a")
    assert str(2 * t + 0.1) == "2*theta + 0.1"
    assert str(-t) == "-theta"
    assert str(t - 2 * a - 1) == "-2*a + theta - 1"
    assert str((t + 1) ** 2) == "(theta + 1)**2"
    assert str(1 - t * a) == "1 - theta * a"
    assert str(t.sin() / 3) == "sin(theta) / 3"
    assert repr(2 * t) == "ParameterExpression(2*theta)"


@given(x=finite, y=finite)
def test_evaluate_matches_plain_float_arithmetic(x: float, y: float) -> None:
    t, a = Parameter("t"), Parameter("a")
    cases = [
        (2 * t + 0.1, 2 * x + 0.1),
        (-t, -x),
        (t * a - a / 3, x * y - y / 3),
        ((t + 1) ** 2, (x + 1) ** 2),
        (np.sin(t) * np.cos(a), math.sin(x) * math.cos(y)),
        (abs(t) + (a - t).exp() / 10, abs(x) + math.exp(y - x) / 10),
        (t.arctan() + a.tan() * 0, math.atan(x)),
        (1 - t * a + 2, 1 - x * y + 2),
    ]
    for expr, want in cases:
        got = float(expr.evaluate({"t": x, "a": y}))
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12), str(expr)
        # Binding every parameter gives a constant with the same value.
        assert float(expr.bind({t: x, a: y})) == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_evaluate_is_vectorised_and_broadcasts() -> None:
    t, a = Parameter("t"), Parameter("a")
    expr = t * a + np.sin(t)
    ts = np.linspace(0, 1, 5)
    out = expr.evaluate({t: ts[:, None], "a": np.arange(3.0)})
    assert out.shape == (5, 3) and out.dtype == np.float64
    np.testing.assert_allclose(out, ts[:, None] * np.arange(3.0) + np.sin(ts)[:, None])
    # A constant evaluates to a 0-d array, ignoring extra keys.
    const = (t - t) + 2
    assert const.evaluate({"zzz": 1.0}).shape == ()


def test_evaluate_errors_name_the_parameter() -> None:
    t, a = Parameter("theta"), Parameter("a")
    with pytest.raises(ValueError, match="'a'"):
        (t * a).evaluate({"theta": 1.0})
    with pytest.raises(TypeError, match="real"):
        t.evaluate({"theta": 1j})
    with pytest.raises(TypeError, match=r"unbound parameters \(a, theta\)"):
        float(t + a)
    with pytest.raises(TypeError, match="complex"):
        t + 1j  # type: ignore[operator]
    with pytest.raises(TypeError):
        t + "x"  # type: ignore[operator]
    with pytest.raises(ZeroDivisionError):
        t / 0


def test_partial_bind_and_substitution() -> None:
    t, a, b = Parameter("t"), Parameter("a"), Parameter("b")
    expr = t * a + 1
    partial = expr.bind({"a": 2.0})
    assert partial == 2 * t + 1 and partial.is_affine
    substituted = expr.bind({t: b + 1})
    assert substituted.parameters == {a, b}
    assert float(substituted.evaluate({"a": 3.0, "b": 1.0})) == 7.0


def test_copy_pickle_keep_identity() -> None:
    t, a = Parameter("t"), Parameter("a")
    assert copy.deepcopy(t) is t
    expr = t * a + np.cos(t)
    assert copy.copy(expr) is expr
    t2 = pickle.loads(pickle.dumps(t))
    assert t2 == t and hash(t2) == hash(t)
    expr2 = pickle.loads(pickle.dumps(expr))
    assert expr2 == expr
    assert float(expr2.evaluate({"t": 0.5, "a": 2.0})) == pytest.approx(1 + math.cos(0.5))


def test_sorted_parameters_and_name_clash() -> None:
    b, a10, a2 = Parameter("b"), Parameter("a10"), Parameter("a2")
    assert [p.name for p in sorted_parameters([b, a2, a10, b])] == ["a10", "a2", "b"]
    with pytest.raises(ValueError, match="two different parameters are named 'b'"):
        sorted_parameters([b, Parameter("b")])


def test_real_value() -> None:
    t = Parameter("t")
    assert real_value(3, "x") == 3.0 and isinstance(real_value(3, "x"), float)
    assert real_value(t - t + 2, "x") == 2.0
    with pytest.raises(TypeError):
        real_value(t, "x")
    with pytest.raises(TypeError, match="x must be real"):
        real_value(1j, "x")


def test_expression_type_is_exported() -> None:
    assert isinstance(Parameter("q"), ParameterExpression)


# --------------------------------------------------------------------------------------------
# Circuits with parameters
# --------------------------------------------------------------------------------------------


def _circuit():
    from shotpack.iqm.models import Circuit, Instruction

    a, b = Parameter("b"), Parameter("a")  # deliberately created out of name order
    return Circuit(
        name="c",
        instructions=[
            Instruction(name="prx", locus=("QB10",), args={"angle": 2 * a + 0.1, "phase": b}),
            Instruction(name="cz", locus=("QB2", "QB10")),
            Instruction(name="prx", locus=("QB2",), args={"angle": a * b, "phase": 0.5}),
        ],
    ), (a, b)


def test_circuit_parameters_qubits_sorted() -> None:
    from shotpack.circuit.binding import circuit_parameters

    circ, (b, a) = _circuit()
    assert circuit_parameters(circ) == (a, b)
    assert circ.parameters == (a, b)
    assert circ.qubits == ("QB2", "QB10") and circ.num_qubits == 2  # natural order


@given(
    rows=st.lists(st.tuples(finite, finite), min_size=0, max_size=6),
    order=st.sampled_from([["a", "b"], ["b", "a"]]),
)
def test_bind_circuit_array_matches_scalar_binding(
    rows: list[tuple[float, float]], order: list[str]
) -> None:
    from shotpack.circuit.binding import bind_circuit_array

    circ, _ = _circuit()
    values = np.array(rows, dtype=float).reshape(len(rows), 2)
    bound = bind_circuit_array(circ, order, values)
    assert len(bound) == len(rows)
    for row, out in zip(values, bound, strict=True):
        named = dict(zip(order, row.tolist(), strict=True))
        for inst, orig in zip(out.instructions, circ.instructions, strict=True):
            for key, value in orig.args.items():
                want = float(value.bind(named)) if isinstance(value, ParameterExpression) else value
                assert type(inst.args[key]) is float
                assert inst.args[key] == pytest.approx(want, rel=1e-12, abs=1e-12)
        # The instruction without parameters is shared, not copied.
        assert out.instructions[1] is circ.instructions[1]


def test_bind_circuit_array_errors() -> None:
    from shotpack.circuit.binding import bind_circuit_array

    circ, _ = _circuit()
    with pytest.raises(ValueError, match=r"no value for parameter\(s\) \['b'\]"):
        bind_circuit_array(circ, ["a"], np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['x'\]"):
        bind_circuit_array(circ, ["a", "b", "x"], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="more than once"):
        bind_circuit_array(circ, ["a", "a"], np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"shape \(num_sets, 2\)"):
        bind_circuit_array(circ, ["a", "b"], np.zeros(2))
    with pytest.raises(TypeError, match="real"):
        bind_circuit_array(circ, ["a", "b"], np.zeros((1, 2), dtype=complex))
    with pytest.raises(ValueError, match="not finite for parameter set 1"):
        bind_circuit_array(circ, ["a", "b"], np.array([[0.0, 1.0], [np.nan, 1.0]]))

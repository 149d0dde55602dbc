"""BindingsArray: shape inference, validation and API, compared with Qiskit's."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit import Parameter as QParameter
from qiskit.primitives.containers import BindingsArray as QBindingsArray

from shotpack.circuit.parameters import Parameter
from shotpack.containers.bindings_array import BindingsArray

CASES = [
    {},
    {"a": 4, ("b", "c"): [5, 6]},
    {"a": np.ones((10, 1))},
    {("c", "a"): np.zeros((10, 10, 2)), "b": np.ones((10, 10))},
    {"a": np.arange(6.0).reshape(2, 3)},
    {("a", "b"): np.arange(12.0).reshape(3, 2, 2)},
]


@pytest.mark.parametrize("data", CASES)
def test_shape_and_values_match_qiskit(data):
    ours, theirs = BindingsArray(data), QBindingsArray(data)
    assert ours.shape == theirs.shape
    assert ours.num_parameters == theirs.num_parameters
    assert set(ours.data) == {tuple(k) for k in theirs.data}
    for k, v in ours.data.items():
        np.testing.assert_array_equal(v, theirs.data[k])
    np.testing.assert_array_equal(ours.as_array(), theirs.as_array())


def test_explicit_shape_and_errors_match_qiskit():
    assert BindingsArray({"a": np.ones((3, 1))}, shape=(3, 1)).shape == (3, 1)
    for data, shape in [
        ({"a": np.ones(3), "b": np.ones(4)}, None),
        ({("a", "b"): np.ones((3, 3))}, None),
        ({"a": np.ones((3, 2))}, (3,)),
    ]:
        with pytest.raises(ValueError):
            QBindingsArray(data, shape)
        with pytest.raises(ValueError):
            BindingsArray(data, shape)
    with pytest.raises(TypeError):
        BindingsArray({"a": [1j]})
    with pytest.raises(TypeError):
        BindingsArray({3: [1.0]})  # type: ignore[dict-item]


def test_parameter_keys_are_names():
    b = BindingsArray({Parameter("x"): [1.0, 2.0], (QParameter("y"), "z"): [[3, 4], [5, 6]]})
    assert set(b.data) == {("x",), ("y", "z")}
    assert b.parameter_names == ("x", "y", "z")


def test_as_array_order_values_at_and_indexing():
    b = BindingsArray({("a", "b"): np.arange(12.0).reshape(3, 2, 2), "c": np.ones((3, 2))})
    assert b.shape == (3, 2) and b.size == 6 and b.ndim == 2 and len(b) == 3
    arr = b.as_array(["c", "b", "a"])
    np.testing.assert_array_equal(arr[..., 1], b.data[("a", "b")][..., 1])
    assert b.values_at((1, 0)) == {"a": 4.0, "b": 5.0, "c": 1.0}
    with pytest.raises(ValueError):
        b.as_array(["a", "b"])
    with pytest.raises(ValueError):
        b.as_array(["a", "b", "q"])
    with pytest.raises(ValueError):
        b.values_at(1)
    assert b[1].shape == (2,) and b[:, 1].shape == (3,)
    assert b.reshape(-1).shape == (6,) and b.ravel().shape == (6,)
    assert b.reshape(2, 3).values_at((1, 0)) == b.values_at((1, 1))
    with pytest.raises(ValueError):
        b.reshape(4)


def test_coerce():
    assert BindingsArray.coerce(None).shape == ()
    b = BindingsArray({"a": [1.0]})
    assert BindingsArray.coerce(b) is b
    assert BindingsArray.coerce({"a": [1.0, 2.0]}).shape == (2,)
    with pytest.raises(TypeError, match="Unsupported type"):
        BindingsArray.coerce([1.0, 2.0])

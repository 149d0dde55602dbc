"""``shape`` / ``ndim`` / ``size`` of every shaped class (one ``ShapedMixin``) against Qiskit's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qiskit.primitives import BitArray as QBitArray
from qiskit.primitives import DataBin as QDataBin
from qiskit.primitives.containers import BindingsArray as QBindingsArray
from qiskit.primitives.containers import ObservablesArray as QObservablesArray

from shotpack import BitArray, DataBin
from shotpack.containers.bindings_array import BindingsArray
from shotpack.containers.estimator_pub import EstimatorPub
from shotpack.containers.observables_array import ObservablesArray
from shotpack.containers.sampler_pub import SamplerPub
from shotpack.containers.shape import ShapedMixin

shapes = st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple)


@dataclass
class Circ:
    num_qubits: int
    parameters: tuple[str, ...] = ()


def triple(obj: Any) -> tuple[tuple[int, ...], int, int]:
    assert type(obj.size) is int and type(obj.ndim) is int
    return obj.shape, obj.ndim, obj.size


@given(shapes)
def test_bit_array_and_data_bin_match_qiskit(shape: tuple[int, ...]) -> None:
    arr = np.zeros((*shape, 2, 1), np.uint8)
    assert triple(BitArray(arr, 3)) == triple(QBitArray(arr, 3))
    assert triple(DataBin(x=np.zeros(shape), shape=shape)) == triple(
        QDataBin(x=np.zeros(shape), shape=shape)
    )


@given(shapes)
def test_bindings_and_observables_match_qiskit(shape: tuple[int, ...]) -> None:
    values = {("a", "b"): np.zeros((*shape, 2))}
    assert triple(BindingsArray(values)) == triple(QBindingsArray(values))
    obs = np.full(shape, "XZ", dtype=object)
    assert triple(ObservablesArray(obs)) == triple(QObservablesArray(obs))


@given(shapes, shapes)
def test_pubs_follow_their_broadcast_shape(obs_shape: tuple[int, ...], p_shape: tuple[int, ...]):
    circ = Circ(1, ("t",))
    values = BindingsArray({"t": np.zeros((*p_shape, 1))})
    sampler = SamplerPub(circ, values)
    assert triple(sampler) == (p_shape, len(p_shape), int(np.prod(p_shape)))
    try:
        expected = np.broadcast_shapes(obs_shape, p_shape)
    except ValueError:
        return
    pub = EstimatorPub(circ, np.full(obs_shape, "Z", dtype=object), values)
    assert triple(pub) == (expected, len(expected), int(np.prod(expected)))


def test_scalar_shape_has_size_one() -> None:
    for obj in (
        BitArray.from_samples(["0"]),
        DataBin(),
        BindingsArray(),
        ObservablesArray("Z"),
        SamplerPub(Circ(1)),
        EstimatorPub(Circ(1), "Z"),
    ):
        assert isinstance(obj, ShapedMixin)
        assert triple(obj) == ((), 0, 1)


def test_mixin_adds_no_instance_dict() -> None:
    # The shaped classes use __slots__; the mixin must not bring a __dict__ back.
    for obj in (BitArray.from_samples(["0"]), BindingsArray(), ObservablesArray("Z")):
        with pytest.raises(AttributeError):
            obj.__dict__  # noqa: B018

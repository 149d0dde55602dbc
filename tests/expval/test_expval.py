"""BitArray expectation values: differential tests against Qiskit, shapes, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qiskit.primitives import BitArray as QBitArray
from qiskit.quantum_info import Pauli, SparseObservable, SparsePauliOp

from shotpack.containers.bit_array import BitArray
from shotpack.expval.diagonal import bitarray_expectation_values
from shotpack.quantum_info.pauli_sum import PauliSum

BIT_WIDTHS = [1, 2, 7, 8, 9, 20, 63, 64, 65]


def pair(array: np.ndarray, num_bits: int) -> tuple[BitArray, QBitArray]:
    """The same packed bytes (padding garbage included) as a shotpack and a Qiskit BitArray."""
    return BitArray(array.copy(), num_bits), QBitArray(array.copy(), num_bits)


def random_array(rng: np.random.Generator, shape, shots: int, num_bits: int) -> np.ndarray:
    nbytes = (num_bits + 7) // 8
    return rng.integers(0, 256, (*shape, shots, nbytes), dtype=np.uint8)


def random_label(rng: np.random.Generator, n: int, alphabet: str = "IZ01") -> str:
    return "".join(rng.choice(list(alphabet), n))


def random_observable(rng: np.random.Generator, n: int, kind: int) -> object:
    """One observable in one of several input forms (all diagonal)."""
    if kind == 0:
        return random_label(rng, n)
    terms = {random_label(rng, n): float(rng.normal()) for _ in range(rng.integers(1, 5))}
    if kind == 1:
        return terms
    if kind == 2:
        return PauliSum(terms)
    if kind == 3:
        return SparseObservable.from_list(list(terms.items()), num_qubits=n)
    labels = [random_label(rng, n, "IZ") for _ in range(3)]
    return SparsePauliOp(labels, rng.normal(size=3))


def nested(rng: np.random.Generator, shape: tuple[int, ...], n: int) -> object:
    if not shape:
        return random_observable(rng, n, int(rng.integers(0, 5)))
    return [nested(rng, shape[1:], n) for _ in range(shape[0])]


def check(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert isinstance(ours, np.ndarray)
    assert ours.dtype == np.float64
    assert ours.shape == np.asarray(theirs).shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


shapes = st.lists(st.integers(1, 3), max_size=2).map(tuple)


@given(
    seed=st.integers(0, 2**32 - 1),
    num_bits=st.sampled_from(BIT_WIDTHS),
    shots=st.sampled_from([1, 3, 64, 65, 200]),
    ba_shape=shapes,
    obs_shape=shapes,
)
def test_matches_qiskit_random(seed, num_bits, shots, ba_shape, obs_shape):
    rng = np.random.default_rng(seed)
    try:
        np.broadcast_shapes(ba_shape, obs_shape)
    except ValueError:
        obs_shape = ba_shape
    ours, theirs = pair(random_array(rng, ba_shape, shots, num_bits), num_bits)
    obs = nested(rng, obs_shape, num_bits)
    check(bitarray_expectation_values(ours, obs), theirs.expectation_values(obs))


@pytest.mark.parametrize(
    ("ba_shape", "obs_shape"),
    [((3, 1), (100,)), ((2, 3, 1), (3, 6)), ((), (5,)), ((5,), ()), ((2, 1), (1, 4)), ((), ())],
)
def test_broadcast_shapes_match_qiskit(ba_shape, obs_shape):
    rng = np.random.default_rng(1)
    ours, theirs = pair(random_array(rng, ba_shape, 50, 6), 6)
    obs = nested(rng, obs_shape, 6)
    out = bitarray_expectation_values(ours, obs)
    assert out.shape == np.broadcast_shapes(ba_shape, obs_shape)
    check(out, theirs.expectation_values(obs))


def test_worked_example_and_scalar_is_0d():
    ba = BitArray(np.array([[0], [1], [3], [3]], dtype=np.uint8), 2)
    out = bitarray_expectation_values(ba, ["ZZ", "IZ", "ZI", "I0", "I1", "11", "II"])
    np.testing.assert_array_equal(out, [0.5, -0.5, 0.0, 0.25, 0.75, 0.5, 1.0])
    scalar = bitarray_expectation_values(ba, "ZZ")
    assert isinstance(scalar, np.ndarray) and scalar.shape == () and scalar == 0.5
    assert bitarray_expectation_values(ba, Pauli("-IZ")) == 0.5


def test_pair_list_is_one_observable():
    ba = BitArray(np.array([[0], [1], [3], [3]], dtype=np.uint8), 2)
    out = bitarray_expectation_values(ba, [("ZZ", 2.0), ("II", 1.0)])
    assert out.shape == () and out == 2.0


def test_many_terms_parallel_path_matches_qiskit():
    rng = np.random.default_rng(5)
    ours, theirs = pair(random_array(rng, (2,), 30_000, 20), 20)
    obs = [random_label(rng, 20, "IZ") for _ in range(40)]
    obs2 = [[o] for o in obs]
    check(bitarray_expectation_values(ours, obs2), theirs.expectation_values(obs2))


def test_padding_garbage_is_ignored():
    arr = np.array([[0b1111_1101], [0b1110_0010]], dtype=np.uint8)
    ours, theirs = pair(arr, 3)
    check(
        bitarray_expectation_values(ours, ["ZZZ", "0I1"]), theirs.expectation_values(["ZZZ", "0I1"])
    )


def test_empty_observable_list_and_zero_qubits():
    ba = BitArray(np.zeros((4, 1), dtype=np.uint8), 2)
    out = bitarray_expectation_values(ba, [])
    assert out.shape == (0,)
    zero = BitArray(np.zeros((3, 0), dtype=np.uint8), 0)
    assert bitarray_expectation_values(zero, "") == 1.0


def test_non_contiguous_view():
    rng = np.random.default_rng(9)
    arr = random_array(rng, (4,), 33, 12)
    ours, theirs = BitArray(arr[::2], 12), QBitArray(arr[::2].copy(), 12)
    check(
        bitarray_expectation_values(ours, "ZIZIZZZZ0110"), theirs.expectation_values("ZIZIZZZZ0110")
    )


@pytest.mark.parametrize(
    ("obs", "exc"),
    [
        ("XZ", ValueError),  # not diagonal
        ("Z+", ValueError),
        ("ZZZ", ValueError),  # wrong qubit count
        ("zz", ValueError),  # lower case is not in the alphabet
        ("QZ", ValueError),
        (("ZZ", 1.0), TypeError),  # a bare tuple is not an observable
        (3, TypeError),
        ({1: 1.0}, TypeError),
        ({"ZZ": 1j}, ValueError),  # non-Hermitian
        ({"ZZ": 1e-12}, ValueError),  # empty after simplify
        ([["ZZ"], ["ZZ", "IZ"]], ValueError),  # ragged
    ],
)
def test_errors_match_qiskit_types(obs, exc):
    ours, theirs = pair(np.zeros((2, 4, 1), dtype=np.uint8), 2)
    with pytest.raises(exc):
        bitarray_expectation_values(ours, obs)
    with pytest.raises(exc):
        theirs.expectation_values(obs)


def test_shape_mismatch_is_value_error():
    ba = BitArray(np.zeros((3, 4, 1), dtype=np.uint8), 2)
    with pytest.raises(ValueError):
        bitarray_expectation_values(ba, ["ZZ", "IZ"])


def test_zero_shots_is_value_error():
    ba = BitArray(np.zeros((0, 1), dtype=np.uint8), 2)
    with pytest.raises(ValueError, match="0 shots"):
        bitarray_expectation_values(ba, "ZZ")


def test_nan_coefficient_propagates_like_qiskit():
    # The NaN term used to be dropped as "small", giving -1.0 (and a lone NaN term raised
    # "Empty observable was detected").
    ours, theirs = BitArray.from_samples(["01", "11"]), QBitArray.from_samples(["01", "11"])
    nan = float("nan")
    for obs in ({"ZZ": nan, "IZ": 1.0}, {"ZZ": nan}, [{"ZZ": nan}, "IZ"]):
        got, want = ours.expectation_values(obs), theirs.expectation_values(obs)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, equal_nan=True)
    assert np.isnan(ours.expectation_values({"ZZ": nan, "IZ": 1.0}))

"""BitArray construction against Qiskit: from_bool_array (lists and arrays), from_samples,
from_counts, the raw constructor, properties, pickling, Qiskit interop and round trips."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qiskit.primitives import BitArray as QBitArray
from qiskit.result import Counts

from shotpack import BitArray, _native
from tests.containers._bit_array_cases import (
    num_bits_st,
    packed_arrays,
    pair,
    pub_shape_st,
    same,
    same_outcome,
    shots_st,
)


@st.composite
def bool_arrays(draw: st.DrawFn) -> np.ndarray:
    shape = (*draw(pub_shape_st), draw(shots_st), draw(num_bits_st))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(0, 2, shape).astype(bool)


@given(bool_arrays(), st.sampled_from(["big", "little"]))
def test_from_bool_array_nested_lists_matches_qiskit(bits: np.ndarray, order: str) -> None:
    lists = bits.astype(int).tolist()
    # Zero shots loses the inner axes in list form: both must then reject the input.
    got = same_outcome(
        lambda: BitArray.from_bool_array(lists, order=order),
        lambda: QBitArray.from_bool_array(lists, order),
    )
    if got is not None:
        same(*got)


@given(
    bool_arrays(),
    st.sampled_from(["big", "little"]),
    st.sampled_from(
        [
            np.bool_,
            np.uint8,
            np.int8,
            np.int16,
            np.uint16,
            np.int32,
            np.uint32,
            np.int64,
            np.uint64,
            np.float32,
            np.float64,
        ]
    ),
)
def test_from_bool_array_numpy_dtypes_match_qiskit(
    bits: np.ndarray, order: str, dtype: type
) -> None:
    # Nonzero values other than 1 must count as ones, as in np.asarray(dtype=bool).
    arr = bits.astype(dtype) * 3 if dtype is not np.bool_ else bits
    same(BitArray.from_bool_array(arr, order=order), QBitArray.from_bool_array(arr, order))


@given(bool_arrays(), st.sampled_from(["big", "little"]))
def test_from_bool_array_non_contiguous_views(bits: np.ndarray, order: str) -> None:
    view = bits[..., ::-1]
    same(BitArray.from_bool_array(view, order=order), QBitArray.from_bool_array(view, order))
    tview = np.swapaxes(bits, -2, -3) if bits.ndim >= 3 else bits
    same(BitArray.from_bool_array(tview, order=order), QBitArray.from_bool_array(tview, order))


def test_from_bool_array_tuples_and_mixed_values_follow_numpy() -> None:
    cases = [
        ((1, 0, 1), (0, 0, 1)),
        [[True, False, True], [False, True, True]],
        [[2, 0, -1], [0.5, 0.0, float("nan")]],
        [[1, 0], [True, False]],
        [[np.int64(1), 0], [0, np.True_]],
        [["", "x"], ["a", ""]],
        [[None, 1], [0, 1]],
        [[2**70, 0], [0, 1]],
        [np.array([1, 0, 1]), np.array([0, 1, 1])],
    ]
    for case in cases:
        for order in ("big", "little"):
            same(BitArray.from_bool_array(case, order), QBitArray.from_bool_array(case, order))


def test_from_bool_array_documented_examples() -> None:
    row = [[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]]
    big = BitArray.from_bool_array(row)
    assert big.array.tolist() == [[3, 0]] and big.get_bitstrings() == ["1100000000"]
    little = BitArray.from_bool_array(row, order="little")
    assert little.array.tolist() == [[0, 3]] and little.get_bitstrings() == ["0000000011"]
    assert big.array.flags.writeable


def test_from_bool_array_zero_bits_and_zero_shots() -> None:
    # Qiskit crashes on zero bits; shotpack gives an empty last axis.
    ba = BitArray.from_bool_array([[], []])
    assert (ba.num_bits, ba.num_shots, ba.array.shape) == (0, 2, (2, 0))
    assert ba.get_counts() == {"": 2}
    ba = BitArray.from_bool_array(np.zeros((3, 0, 5), dtype=bool))
    same(ba, QBitArray.from_bool_array(np.zeros((3, 0, 5), dtype=bool)))


@given(bool_arrays(), st.sampled_from(["big", "little"]))
def test_round_trip_lists_bitarray_bools_lists(bits: np.ndarray, order: str) -> None:
    lists = bits.astype(int).tolist()
    if 0 in bits.shape[:-1]:
        return  # the list form of an empty array has no bit axis
    ba = BitArray.from_bool_array(lists, order=order)
    back = ba.to_bool_array(order=order)
    assert back.dtype == np.bool_
    assert back.astype(int).tolist() == lists


@given(bool_arrays())
def test_pack_nested_lists_strict_matches_non_strict(bits: np.ndarray) -> None:
    lists = bits.astype(int).tolist()
    if 0 in bits.shape[:-1]:
        return
    for little in (False, True):
        strict, n1 = _native.pack_nested_lists(lists, little, True)
        loose, n2 = _native.pack_nested_lists(lists, little, False)
        assert n1 == n2 == bits.shape[-1]
        np.testing.assert_array_equal(strict, loose)


def test_pack_nested_lists_strict_accepts_bools_and_numpy_ints() -> None:
    packed, n = _native.pack_nested_lists([[True, 0, np.int64(1)]], True, True)
    assert n == 3 and packed.tolist() == [[0b101]]


# ---- from_samples ------------------------------------------------------------------------


@st.composite
def int_samples(draw: st.DrawFn) -> tuple[list[int], int]:
    n = draw(num_bits_st)
    vals = draw(st.lists(st.integers(0, 2**n - 1), min_size=1, max_size=60))
    return vals, n


@given(int_samples(), st.sampled_from(["int", "bin", "hex"]), st.booleans())
def test_from_samples_matches_qiskit(case: tuple[list[int], int], kind: str, infer: bool) -> None:
    vals, n = case
    if kind == "bin":
        samples: list = [format(v, f"0{n}b") for v in vals]
    elif kind == "hex":
        samples = [hex(v) for v in vals]
    else:
        samples = vals
    ours = BitArray.from_samples(iter(samples), None if infer else n)
    theirs = QBitArray.from_samples(samples, None if infer else n)
    if infer and kind == "bin":
        # Fix of Qiskit issue 12765: the width comes from the strings.
        assert ours.num_bits == n
        np.testing.assert_array_equal(ours.get_int_counts().keys(), theirs.get_int_counts().keys())
        assert ours.get_bitstrings() == samples
    else:
        same(ours, theirs)
    assert not ours.array.flags.writeable


def test_from_samples_python_int_rules_and_numpy_input() -> None:
    cases = [
        ([" 101 ", "1_1", "0b11", "0"], None),
        (["0x3", "101", "0XfF", " 0x_1 "], None),
        (["0x0", "0x0"], None),
        ([0, 0], None),
        ([True, 3], 2),
        ([2**200 + 5, 1], None),
        ([2**100, 7], 101),
    ]
    for samples, n in cases:
        same(BitArray.from_samples(samples, n), QBitArray.from_samples(samples, n))
    arr = np.array([5, 1, 0], dtype=np.int64)
    same(BitArray.from_samples(arr, 3), QBitArray.from_samples(arr.tolist(), 3))


def test_from_samples_width_from_strings() -> None:
    assert BitArray.from_samples(["0001"]).num_bits == 4
    assert BitArray.from_samples(["000"]).get_bitstrings() == ["000"]
    assert BitArray.from_samples(["0x0f"]).num_bits == 4  # hex: value width, as in Qiskit


def test_from_samples_zero_bits() -> None:
    ba = BitArray.from_samples([0, 0], 0)
    assert (ba.num_bits, ba.num_shots, ba.array.shape) == (0, 2, (2, 0))


# ---- from_counts ---------------------------------------------------------------------------


@given(
    st.lists(
        st.dictionaries(st.integers(0, 2**20 - 1), st.integers(-1, 5), max_size=8),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from(["int", "bin", "hex"]),
)
def test_from_counts_matches_qiskit(mappings: list[dict[int, int]], kind: str) -> None:
    def key(v: int) -> int | str:
        return {"int": v, "bin": format(v, "020b"), "hex": hex(v)}[kind]

    maps = [{key(k): c for k, c in m.items()} for m in mappings]
    totals = [sum(max(c, 0) for c in m.values()) for m in maps]
    if sum(totals) == 0:
        with pytest.raises(ValueError):
            BitArray.from_counts(maps, 20)
        return
    if totals[0]:
        same(BitArray.from_counts(maps[0], 20), QBitArray.from_counts(maps[0], 20))
    if len(set(totals)) > 1:
        # Qiskit only checks divisibility; shotpack checks every mapping.
        with pytest.raises(ValueError, match="same number of shots"):
            BitArray.from_counts(maps, 20)
        return
    ours, theirs = BitArray.from_counts(maps, 20), QBitArray.from_counts(maps, 20)
    if len(maps) == 1 and totals[0] == 1:
        # Qiskit's (1, 1) reshape quirk: shotpack gives shape (1,) with one shot.
        assert ours.shape == (1,) and ours.num_shots == 1
        np.testing.assert_array_equal(ours.array.reshape(-1), theirs.array.reshape(-1))
    else:
        same(ours, theirs)
    assert not ours.array.flags.writeable


def test_from_counts_qiskit_counts_objects() -> None:
    counts = Counts({"0x3": 2, "0x1": 1}, memory_slots=5)
    same(BitArray.from_counts(counts), QBitArray.from_counts(counts))
    same(BitArray.from_counts([counts, counts]), QBitArray.from_counts([counts, counts]))


def test_from_counts_generator_and_shape() -> None:
    ba = BitArray.from_counts(({"01": 2}, {"11": 1, "10": 1}))
    assert ba.shape == (2,) and ba.num_shots == 2
    assert ba.get_bitstrings() == ["01", "01", "11", "10"]


# ---- raw constructor, properties, pickling, interop -----------------------------------------


@given(packed_arrays())
def test_properties_repr_and_pickle(case: tuple[np.ndarray, int]) -> None:
    arr, n = case
    ours, theirs = pair(arr, n)
    assert ours.array is not None and ours.num_bits == n
    assert (ours.shape, ours.ndim, ours.size, ours.num_shots) == (
        theirs.shape,
        theirs.ndim,
        theirs.size,
        theirs.num_shots,
    )
    assert repr(ours) == repr(theirs)
    again = pickle.loads(pickle.dumps(ours))
    assert isinstance(again, BitArray) and again == ours
    np.testing.assert_array_equal(again.array, ours.array)


def test_constructor_does_not_copy_and_is_unhashable() -> None:
    arr = np.zeros((4, 2), dtype=np.uint8)
    ba = BitArray(arr, 9)
    assert ba.array is arr
    with pytest.raises(TypeError):
        hash(ba)


def test_qiskit_round_trip_shares_the_buffer() -> None:
    arr = np.arange(12, dtype=np.uint8).reshape(2, 3, 2)
    ours = BitArray(arr, 12)
    q = ours.to_qiskit()
    assert isinstance(q, QBitArray) and q.array is arr and q.num_bits == 12
    back = BitArray.from_qiskit(q)
    assert back.array is arr and back == ours
    assert ours == q and q == ours

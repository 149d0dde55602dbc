"""Counts, int counts, bitstrings and one-int-per-shot against Qiskit (order included)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotpack import BitArray
from tests.containers._bit_array_cases import packed_arrays, pair


def items(d: dict) -> list:
    """Dict contents with their order (first occurrence matters)."""
    return list(d.items())


@given(packed_arrays())
def test_counts_and_bitstrings_match_qiskit_over_all_positions(
    case: tuple[np.ndarray, int],
) -> None:
    ours, theirs = pair(*case)
    assert items(ours.get_counts()) == items(theirs.get_counts())
    assert items(ours.get_int_counts()) == items(theirs.get_int_counts())
    assert ours.get_bitstrings() == theirs.get_bitstrings()


@given(packed_arrays(), st.data())
def test_full_loc_matches_qiskit(case: tuple[np.ndarray, int], data: st.DataObject) -> None:
    ours, theirs = pair(*case)
    loc = tuple(data.draw(st.integers(0, n - 1)) for n in ours.shape)
    if len(loc) == 1 and data.draw(st.booleans()):
        loc = loc[0]  # an int for 1-D, as Qiskit documents
    assert items(ours.get_counts(loc)) == items(theirs.get_counts(loc))
    assert items(ours.get_int_counts(loc)) == items(theirs.get_int_counts(loc))
    assert ours.get_bitstrings(loc) == theirs.get_bitstrings(loc)


@given(packed_arrays(shape=(3, 2)), st.integers(0, 2))
def test_partial_loc_counts_the_whole_sub_array(case: tuple[np.ndarray, int], i: int) -> None:
    # Qiskit gives garbage keys here; shotpack counts every shot of row i.
    ours, theirs = pair(*case)
    expected: dict[str, int] = {}
    for s in theirs[i, 0].get_bitstrings() + theirs[i, 1].get_bitstrings():
        expected[s] = expected.get(s, 0) + 1
    assert items(ours.get_counts(i)) == items(expected)
    assert ours.get_bitstrings(i) == theirs[i].get_bitstrings()
    assert ours.get_bitstrings(slice(0, 2)) == theirs[0:2].get_bitstrings()


def test_loc_beyond_pub_axes_is_an_index_error() -> None:
    ba = BitArray.from_samples([1, 2, 3], 2)  # shape ()
    with pytest.raises(IndexError):
        ba.get_counts(0)  # Qiskit silently counts only the first shot
    assert ba.get_counts(()) == ba.get_counts()
    with pytest.raises(IndexError):
        BitArray(np.zeros((2, 3, 1), np.uint8), 3).get_counts(5)


WIDTHS = [1, 8, 12, 16, 20, 24, 25, 40, 64]


@given(st.sampled_from(WIDTHS), st.integers(0, 3000), st.integers(1, 40))
def test_dense_and_hashed_paths_agree_with_qiskit(num_bits: int, shots: int, distinct: int) -> None:
    # Many shots over few distinct values picks the dense table for small widths and the hash
    # map for wide ones; both must give Qiskit's first-occurrence order.
    rng = np.random.default_rng(num_bits * 7919 + shots)
    nb = (num_bits + 7) // 8
    table = rng.integers(0, 256, (distinct, nb), dtype=np.uint8)
    arr = table[rng.integers(0, distinct, shots)]
    ours, theirs = pair(arr, num_bits)
    assert items(ours.get_counts()) == items(theirs.get_counts())
    assert items(ours.get_int_counts()) == items(theirs.get_int_counts())
    assert ours.get_bitstrings() == theirs.get_bitstrings()


@given(packed_arrays())
def test_int_array_matches_int_conversion(case: tuple[np.ndarray, int]) -> None:
    arr, n = case
    ours = BitArray(arr, n)
    if n > 64:
        with pytest.raises(ValueError, match="64"):
            ours.get_int_array()
        return
    got = ours.get_int_array()
    assert got.dtype == np.uint64 and got.shape == (*ours.shape, ours.num_shots)
    expected = [int(s, 2) for s in ours.get_bitstrings()]
    assert got.reshape(-1).tolist() == expected
    if ours.ndim:
        np.testing.assert_array_equal(ours.get_int_array(0), got[0])


def test_counts_types_and_padding_garbage() -> None:
    ba = ~BitArray.from_samples(["0"], 1)  # padding becomes ones
    assert ba.array.tolist() == [[255]]
    assert ba.get_counts() == {"1": 1}
    counts = BitArray.from_samples([2**100 + 3, 3], 101).get_int_counts()
    assert counts == {2**100 + 3: 1, 3: 1}
    assert all(type(k) is int for k in counts)
    big = BitArray.from_samples([2**129 + 1], 130).get_int_counts()
    assert big == {2**129 + 1: 1}
    assert type(BitArray.from_samples([1]).get_counts()) is dict


def test_zero_bits_and_zero_shots() -> None:
    # Qiskit crashes with num_bits=0; shotpack counts empty outcomes.
    ba = BitArray(np.zeros((2, 3, 0), np.uint8), 0)
    assert ba.get_counts() == {"": 6}
    assert ba.get_int_counts() == {0: 6}
    assert ba.get_bitstrings() == [""] * 6
    assert ba.get_int_array().tolist() == [[0, 0, 0], [0, 0, 0]]
    empty = BitArray(np.zeros((0, 2), np.uint8), 9)
    assert empty.get_counts() == {} and empty.get_bitstrings() == []
    assert empty.get_int_counts() == {}


def test_non_contiguous_views_are_counted_in_c_order() -> None:
    arr = np.random.default_rng(5).integers(0, 4, (3, 4, 7, 1), dtype=np.uint8)
    ours, theirs = pair(arr, 2)
    assert items(ours.transpose().get_counts()) == items(theirs.transpose().get_counts())
    assert ours[::-1, 1:].get_bitstrings() == theirs[::-1, 1:].get_bitstrings()


@given(st.data())
def test_wide_int_counts_match_qiskit_in_order(data: st.DataObject) -> None:
    """Above 128 bits ints come from the row bytes directly: same keys, counts and order as
    Qiskit (``int.from_bytes`` of the masked row), padding garbage ignored."""
    num_bits = data.draw(st.sampled_from([129, 200, 256, 1000]))
    ours, theirs = pair(*data.draw(packed_arrays(num_bits=num_bits, garbage=True)))
    got = ours.get_int_counts()
    assert items(got) == items(theirs.get_int_counts())
    assert all(type(k) is int for k in got)


@pytest.mark.parametrize("num_bits", [12, 20, 24, 30])
def test_many_distinct_int_counts_keep_first_occurrence_order(num_bits: int) -> None:
    """Dense and hashed counting, many distinct outcomes: Qiskit's keys, counts and order."""
    rng = np.random.default_rng(num_bits)
    vals = [*rng.integers(0, 2**num_bits, 30_000).tolist(), 0, 1, 0]
    ours = BitArray.from_samples(vals, num_bits)
    theirs = ours.to_qiskit()
    assert items(ours.get_int_counts()) == items(theirs.get_int_counts())
    assert items(ours.get_counts()) == items(theirs.get_counts())

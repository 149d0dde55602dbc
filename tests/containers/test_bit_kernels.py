"""The word-level kernels behind ``bitcount``, ``slice_bits`` and ``postselect`` against Qiskit
(and NumPy's ``bitwise_count``) on random shapes and widths, padding bits set or not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shotpack import BitArray
from tests.containers._bit_array_cases import packed_arrays, pair, same

WIDTHS = st.sampled_from([1, 3, 8, 9, 16, 20, 24, 57, 63, 64, 65, 130])
SHOTS = st.sampled_from([0, 1, 2, 7, 8, 9, 33])


@st.composite
def arrays(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    return draw(packed_arrays(num_bits=draw(WIDTHS), shots=draw(SHOTS)))


@settings(max_examples=80, deadline=None)
@given(arrays())
def test_bitcount(case: tuple[np.ndarray, int]):
    data, n = case
    ours, theirs = pair(data, n)
    got = ours.bitcount()
    np.testing.assert_array_equal(got, theirs.bitcount())
    masked = data.copy()
    if n % 8 and masked.shape[-1]:
        masked[..., 0] &= (1 << (n % 8)) - 1
    np.testing.assert_array_equal(got, np.bitwise_count(masked).sum(axis=-1, dtype=np.uint64))


@settings(max_examples=80, deadline=None)
@given(arrays(), st.data())
def test_slice_bits(case: tuple[np.ndarray, int], data: st.DataObject):
    arr, n = case
    ours, theirs = pair(arr, n)
    picks = data.draw(
        st.one_of(
            st.lists(st.integers(0, n - 1), min_size=1, max_size=70),
            st.integers(0, n - 1).flatmap(
                lambda a: st.integers(a, n - 1).map(lambda b: list(range(a, b + 1)))
            ),
            st.integers(1, 5).map(lambda step: list(range(0, n, step))),
        )
    )
    same(ours.slice_bits(picks), theirs.slice_bits(picks))


@settings(max_examples=80, deadline=None)
@given(arrays(), st.data())
def test_postselect(case: tuple[np.ndarray, int], data: st.DataObject):
    arr, n = case
    ours, theirs = pair(arr, n)
    idx = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6))
    sel = data.draw(st.lists(st.booleans(), min_size=len(idx), max_size=len(idx)))
    if len({(i % n, s) for i, s in zip(idx, sel, strict=True)}) != len({i % n for i in idx}):
        # Contradictory conditions: shotpack returns no shots (Qiskit's result is undefined).
        assert ours.postselect(idx, sel).num_shots == 0
        return
    same(ours.postselect(idx, sel), theirs.postselect(idx, sel))


def _numpy_slice(arr: np.ndarray, n: int, picks: list[int]) -> np.ndarray:
    """Reference gather through one byte per bit: column j of the result is bit picks[j]."""
    flat = arr.reshape(-1, arr.shape[-1])
    bits = np.unpackbits(flat, axis=1, bitorder="big")[:, ::-1]  # column k is bit k
    cols = bits[:, picks][:, ::-1]  # most significant (last pick) first, as packbits wants
    pad = (-len(picks)) % 8
    cols = np.concatenate([np.zeros((flat.shape[0], pad), np.uint8), cols], axis=1)
    return np.packbits(cols, axis=1).reshape(*arr.shape[:-1], (len(picks) + 7) // 8)


# Index lists of the shapes the gather kernels plan differently: strictly increasing (one
# extract per word), sorted with repeats, unordered with repeats, reversed, single bits.
@st.composite
def pick_lists(draw: st.DrawFn, n: int) -> list[int]:
    raw = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=140))
    kind = draw(st.sampled_from(["strict", "sorted", "raw", "reversed", "one"]))
    if kind == "strict":
        return sorted(set(raw))
    if kind == "sorted":
        return sorted(raw)
    if kind == "reversed":
        return sorted(set(raw), reverse=True)
    if kind == "one":
        return raw[:1]
    return raw


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_slice_bits_edges_against_numpy_and_qiskit(data: st.DataObject):
    n = data.draw(st.sampled_from([1, 8, 9, 63, 64, 65, 127, 128, 129, 200]))
    arr, n = data.draw(packed_arrays(num_bits=n, shots=data.draw(st.sampled_from([0, 1, 9, 40]))))
    picks = data.draw(pick_lists(n))
    ours, theirs = pair(arr, n)
    got = ours.slice_bits(picks)
    np.testing.assert_array_equal(got.array, _numpy_slice(arr, n, picks))
    same(got, theirs.slice_bits(picks))


def test_slice_bits_one_million_rows_in_order_and_reversed():
    """A big input (the bulk loop with 8-byte stores and its byte-exact tail) against NumPy."""
    rng = np.random.default_rng(7)
    arr = rng.integers(0, 256, (100_003, 8), dtype=np.uint8)
    for picks in (list(range(0, 64, 3)), list(range(63, -1, -5)), [5, 5, 60, 1]):
        got = BitArray(arr, 64).slice_bits(picks)
        np.testing.assert_array_equal(got.array, _numpy_slice(arr, 64, picks))


@pytest.mark.parametrize("num_bits", [5, 20, 64, 65, 130])
def test_postselect_many_rows_against_numpy(num_bits: int):
    """Blocks of 64 rows and a partial last block: NumPy's mask-and-take on the same rows."""
    rng = np.random.default_rng(num_bits)
    arr = rng.integers(0, 256, (10_007, (num_bits + 7) // 8), dtype=np.uint8)
    idx, sel = [0, num_bits // 2, num_bits - 1], [True, False, True]
    bits = np.unpackbits(arr, axis=1)[:, ::-1]  # column k is bit k
    keep = np.all(bits[:, idx] == np.array(sel), axis=1)
    np.testing.assert_array_equal(BitArray(arr, num_bits).postselect(idx, sel).array, arr[keep])

"""The word-level kernels behind ``bitcount``, ``slice_bits`` and ``postselect`` against Qiskit
(and NumPy's ``bitwise_count``) on random shapes and widths, padding bits set or not."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

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

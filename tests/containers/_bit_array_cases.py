"""Hypothesis strategies shared by the BitArray tests: random packed arrays, paired with Qiskit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st
from qiskit.primitives import BitArray as QBitArray

from shotpack import BitArray

# Widths that exercise every layout edge (byte boundaries, the 64-bit word, beyond 128 bits).
EDGE_BITS = [1, 2, 7, 8, 9, 15, 16, 17, 20, 24, 31, 32, 33, 63, 64, 65, 127, 128, 129, 130]

num_bits_st = st.one_of(st.sampled_from(EDGE_BITS), st.integers(1, 130))
pub_shape_st = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)
shots_st = st.one_of(st.integers(0, 200), st.sampled_from([0, 1, 2]))


def num_bytes(num_bits: int) -> int:
    return (num_bits + 7) // 8


@st.composite
def packed_arrays(
    draw: st.DrawFn,
    *,
    garbage: bool = True,
    distinct: int | None = None,
    num_bits: int | None = None,
    shape: tuple[int, ...] | None = None,
    shots: int | None = None,
) -> tuple[np.ndarray, int]:
    """A packed uint8 array and its num_bits. With ``garbage``, padding bits may be set (as
    after ``~``); with ``distinct``, shots repeat a few outcomes (so counts have repeats)."""
    n = draw(num_bits_st) if num_bits is None else num_bits
    shp = draw(pub_shape_st) if shape is None else shape
    s = draw(shots_st) if shots is None else shots
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    nb = num_bytes(n)
    rows = int(np.prod(shp, dtype=int)) * s
    if distinct is None and draw(st.booleans()):
        distinct = draw(st.integers(1, 6))
    if distinct:
        table = rng.integers(0, 256, (distinct, nb), dtype=np.uint8)
        data = table[rng.integers(0, distinct, rows)]
    else:
        data = rng.integers(0, 256, (rows, nb), dtype=np.uint8)
    if not garbage and n % 8 and nb:
        data[:, 0] &= (1 << (n % 8)) - 1
    return data.reshape(*shp, s, nb), n


def pair(array: np.ndarray, num_bits: int) -> tuple[BitArray, QBitArray]:
    """Ours and Qiskit's over separate copies of the same bytes."""
    return BitArray(array.copy(), num_bits), QBitArray(array.copy(), num_bits)


def same(ours: BitArray, theirs: QBitArray) -> None:
    """Asserts identical layout: bytes, dtype, shape and num_bits."""
    assert isinstance(ours, BitArray)
    assert ours.num_bits == theirs.num_bits
    assert ours.shape == theirs.shape
    assert ours.num_shots == theirs.num_shots
    assert ours.array.dtype == np.uint8
    assert ours.array.shape == theirs.array.shape
    np.testing.assert_array_equal(ours.array, theirs.array)


def same_outcome(ours: Callable[[], Any], theirs: Callable[[], Any]) -> tuple[Any, Any] | None:
    """Runs both; if Qiskit raises, shotpack must raise the same exception type. Returns both
    results when neither raised, ``None`` otherwise."""
    try:
        expected = theirs()
    except Exception as ex:  # the type is what is compared
        with pytest.raises(type(ex)):
            ours()
        return None
    return ours(), expected

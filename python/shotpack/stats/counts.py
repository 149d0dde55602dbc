"""Counts as mergeable arrays: sorted distinct outcomes with their counts.

A counts dictionary cannot be summed chunk by chunk without Python work per key; two sorted
arrays can. :class:`ChunkCounts` holds the distinct packed rows of a set of shots in increasing
numeric order and an ``int64`` count for each; :meth:`ChunkCounts.merge` adds any number of them
with one sort, so counts of a sharded or chunked array merge to exactly the counts of the whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack import _native

__all__ = ["ChunkCounts"]


def _num_bytes(num_bits: int) -> int:
    return (num_bits + 7) // 8


def _clean_rows(rows: NDArray[np.uint8], num_bits: int) -> NDArray[np.uint8]:
    """C-ordered ``(shots, nbytes)`` rows with the padding bits of byte 0 cleared."""
    nbytes = _num_bytes(num_bits)
    rows = np.ascontiguousarray(rows, dtype=np.uint8).reshape(-1, nbytes)
    if num_bits % 8 and rows.shape[0]:
        rows = rows.copy()
        rows[:, 0] &= np.uint8((1 << (num_bits % 8)) - 1)
    return rows


def _unique_rows(
    rows: NDArray[np.uint8], weights: NDArray[np.int64] | None
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Distinct rows in increasing numeric order (byte 0 most significant) and their counts
    (or summed ``weights``)."""
    n, nbytes = rows.shape
    if n == 0:
        return rows.reshape(0, nbytes), np.zeros(0, dtype=np.int64)
    if nbytes == 0:
        total = n if weights is None else int(weights.sum())
        return np.zeros((1, 0), dtype=np.uint8), np.array([total], dtype=np.int64)
    # Big-endian byte rows sort numerically as fixed-width byte strings.
    keys = rows.view(np.dtype((np.void, nbytes))).reshape(n)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    new = np.ones(n, dtype=bool)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    starts = np.flatnonzero(new)
    w = np.ones(n, dtype=np.int64) if weights is None else weights[order]
    counts = np.add.reduceat(w, starts).astype(np.int64, copy=False)
    return np.ascontiguousarray(rows[order[starts]]), counts


class ChunkCounts:
    """Counts of the outcomes of a set of shots, as mergeable sorted arrays.

    Attributes:
        num_bits: bits per outcome.
        rows: ``uint8 (k, nbytes)``: the ``k`` distinct outcomes in shotpack's packed layout
            (padding bits zero), in increasing numeric order.
        counts: ``int64 (k,)``: shots per outcome.

    Example:
        >>> from shotpack import BitArray
        >>> a = ChunkCounts.from_bit_array(BitArray.from_samples(["01", "11"], num_bits=2))
        >>> b = ChunkCounts.from_bit_array(BitArray.from_samples(["01"], num_bits=2))
        >>> ChunkCounts.merge([a, b]).to_int_dict()
        {1: 2, 3: 1}
    """

    __slots__ = ("counts", "num_bits", "rows")

    def __init__(self, rows: NDArray[np.uint8], counts: NDArray[np.int64], num_bits: int) -> None:
        rows = np.asarray(rows, dtype=np.uint8)
        counts = np.asarray(counts, dtype=np.int64)
        if rows.ndim != 2 or rows.shape[1] != _num_bytes(num_bits):
            raise ValueError(
                f"rows must have shape (k, {_num_bytes(num_bits)}) for {num_bits} bits, "
                f"got {rows.shape}"
            )
        if counts.shape != (rows.shape[0],):
            raise ValueError(f"{rows.shape[0]} rows but counts of shape {counts.shape}")
        self.rows = rows
        self.counts = counts
        self.num_bits = int(num_bits)

    def __repr__(self) -> str:
        return (
            f"ChunkCounts(num_bits={self.num_bits}, distinct={len(self.counts)}, "
            f"shots={self.num_shots})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChunkCounts):
            return NotImplemented
        return (
            self.num_bits == other.num_bits
            and np.array_equal(self.rows, other.rows)
            and np.array_equal(self.counts, other.counts)
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (ChunkCounts, (self.rows, self.counts, self.num_bits))

    @property
    def num_shots(self) -> int:
        """Total number of shots counted."""
        return int(self.counts.sum())

    @classmethod
    def from_rows(cls, rows: NDArray[np.uint8], num_bits: int) -> ChunkCounts:
        """Counts of packed rows ``uint8 (..., nbytes)`` (every leading axis is shots).

        Args:
            rows: packed rows in shotpack's layout (``BitArray.array`` of any shape).
            num_bits: bits per row.

        Returns:
            The counts; up to 64 bits they come from the native integer conversion, above
            that from a sort of the rows as byte strings.
        """
        nbytes = _num_bytes(num_bits)
        arr = np.asarray(rows, dtype=np.uint8)
        if arr.shape[-1:] != (nbytes,) and not (nbytes == 0 and arr.ndim >= 1):
            raise ValueError(f"rows of {num_bits} bits need {nbytes} bytes, got {arr.shape}")
        flat = np.ascontiguousarray(arr).reshape(-1, nbytes)
        if 0 < num_bits <= 64 and flat.shape[0]:
            ints = _native.get_int_array(flat, num_bits)
            values, counts = np.unique(ints, return_counts=True)
            return cls(_ints_to_rows(values, num_bits), counts.astype(np.int64), num_bits)
        urows, counts = _unique_rows(_clean_rows(flat, num_bits), None)
        return cls(urows, counts, num_bits)

    @classmethod
    def from_bit_array(cls, bit_array: Any) -> ChunkCounts:
        """Counts over every shot of every cell of a ``BitArray`` (shotpack's or Qiskit's)."""
        return cls.from_rows(np.asarray(bit_array.array), bit_array.num_bits)

    @classmethod
    def empty(cls, num_bits: int) -> ChunkCounts:
        """Counts of no shots."""
        return cls(
            np.zeros((0, _num_bytes(num_bits)), dtype=np.uint8),
            np.zeros(0, dtype=np.int64),
            num_bits,
        )

    @staticmethod
    def merge(parts: Iterable[ChunkCounts]) -> ChunkCounts:
        """Adds the counts of disjoint sets of shots: exact, whatever the order or chunking.

        Raises:
            ValueError: no parts, or parts with different ``num_bits``.
        """
        parts = list(parts)
        if not parts:
            raise ValueError("merge needs at least one ChunkCounts")
        num_bits = parts[0].num_bits
        for i, p in enumerate(parts):
            if p.num_bits != num_bits:
                raise ValueError(f"part {i} has {p.num_bits} bits, part 0 has {num_bits}")
        if len(parts) == 1:
            return parts[0]
        rows = np.concatenate([p.rows for p in parts])
        counts = np.concatenate([p.counts for p in parts])
        urows, ucounts = _unique_rows(rows, counts)
        return ChunkCounts(urows, ucounts, num_bits)

    def __add__(self, other: ChunkCounts) -> ChunkCounts:
        if not isinstance(other, ChunkCounts):
            return NotImplemented
        return ChunkCounts.merge([self, other])

    def int_values(self) -> NDArray[np.uint64]:
        """The outcomes as ``uint64`` integers (at most 64 bits).

        Raises:
            ValueError: more than 64 bits.
        """
        if self.num_bits > 64:
            raise ValueError(f"{self.num_bits} bits do not fit uint64; use to_int_dict")
        if self.num_bits == 0:
            return np.zeros(len(self.counts), dtype=np.uint64)
        return _native.get_int_array(np.ascontiguousarray(self.rows), self.num_bits)

    def to_int_dict(self) -> dict[int, int]:
        """``{outcome: count}`` with int keys: the same items as ``BitArray.get_int_counts``
        (in increasing order of outcome rather than of first occurrence)."""
        if self.num_bits <= 64:
            keys = self.int_values().tolist()
        else:
            # One conversion per distinct outcome (not per shot).
            keys = [int.from_bytes(r.tobytes(), "big") for r in self.rows]
        return dict(zip(keys, self.counts.tolist(), strict=True))

    def to_dict(self) -> dict[str, int]:
        """``{bitstring: count}``: the same items as ``BitArray.get_counts`` (in increasing
        order of outcome rather than of first occurrence)."""
        keys = _native.get_bitstrings(np.ascontiguousarray(self.rows), self.num_bits)
        return dict(zip(keys, self.counts.tolist(), strict=True))


def _ints_to_rows(values: NDArray[np.uint64], num_bits: int) -> NDArray[np.uint8]:
    """``uint64`` outcomes to packed big-endian rows of ``ceil(num_bits / 8)`` bytes."""
    nbytes = _num_bytes(num_bits)
    be = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    return np.ascontiguousarray(be[:, 8 - nbytes :])

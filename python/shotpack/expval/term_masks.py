"""Bit masks of Pauli terms over measured qubits: what the native estimator kernels read."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack.quantum_info.labels import label_codes


def _letters(chars: str) -> NDArray[np.uint8]:
    return np.frombuffer(chars.encode(), dtype=np.uint8)


# Per-letter properties, indexed by the letter's byte.
_X_BASIS = np.isin(np.arange(256), _letters("XY+-rl"))  # measured after an X or Y rotation
_Z_BASIS = np.isin(np.arange(256), _letters("YZ01rl"))  # (x, z) = (1, 0) X, (1, 1) Y, (0, 1) Z
_PAULI = np.isin(np.arange(256), _letters("XYZ"))
_PROJ = np.isin(np.arange(256), _letters("01+-rl"))
_PROJ_ONE = np.isin(np.arange(256), _letters("1-l"))

__all__ = ["TermMasks", "term_masks"]


class TermMasks:
    """Bit masks of a list of terms over selected qubits (bit ``j`` is ``qubits[j]``), as
    ``(num_terms, words)`` little-endian uint64 tables.

    Attributes:
        x, z: measurement basis (X: x, Y: x and z, Z: z; projectors use their basis).
        pauli: positions of ``X Y Z``; after rotating each qubit's basis to Z these act as Z.
        proj: positions of projectors ``0 1 + - r l``.
        value: projector positions that project onto the rotated ``1`` (``1 - l``).
    """

    __slots__ = ("pauli", "proj", "value", "x", "z")

    def __init__(self, codes: NDArray[np.uint8]) -> None:
        self.x = _pack(_X_BASIS[codes])
        self.z = _pack(_Z_BASIS[codes])
        self.pauli = _pack(_PAULI[codes])
        self.proj = _pack(_PROJ[codes])
        self.value = _pack(_PROJ_ONE[codes])


def term_masks(
    labels: list[str] | tuple[str, ...], num_qubits: int, qubits: Any = None
) -> TermMasks:
    """:class:`TermMasks` of ``labels`` restricted to ``qubits`` (all qubits when None)."""
    codes = label_codes(labels, num_qubits)
    if qubits is not None:
        codes = codes[:, np.asarray(qubits, dtype=np.intp)]
    return TermMasks(codes)


def _pack(bits: NDArray[np.bool_]) -> NDArray[np.uint64]:
    """``(rows, n)`` bools to ``(rows, ceil(n / 64))`` words, column ``k`` at bit ``k % 64``
    of word ``k // 64``."""
    rows, n = bits.shape
    words = (n + 63) // 64
    packed = np.packbits(bits, axis=1, bitorder="little")
    out = np.zeros((rows, words * 8), dtype=np.uint8)
    out[:, : packed.shape[1]] = packed
    return out.view("<u8").reshape(rows, words).astype(np.uint64, copy=False)

"""``BitArray``: a Qiskit-compatible array of packed measurement bits, backed by Rust.

The memory layout is Qiskit's: ``uint8[*shape, num_shots, ceil(num_bits / 8)]``, big-endian
across bytes, bit ``k`` at value ``1 << (k % 8)`` of byte ``-1 - k // 8``. Bit 0 is the rightmost
character of every bitstring. The top ``(-num_bits) % 8`` bits of byte 0 are padding: writers
leave them zero, every reader masks them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray


def _num_bytes(num_bits: int) -> int:
    return num_bits // 8 + (num_bits % 8 > 0)


class BitArray:
    """An array of packed bitstrings with Qiskit's ``BitArray`` layout and API.

    Args:
        array: ``uint8`` array of shape ``(*shape, num_shots, ceil(num_bits / 8))``; not copied.
        num_bits: Number of bits per shot.

    Raises:
        TypeError: If ``array`` is not a NumPy array of dtype ``uint8``.
        ValueError: If ``array`` has fewer than two axes or the wrong number of bytes per shot.
    """

    __slots__ = ("_array", "_num_bits", "_shape")

    def __init__(self, array: NDArray[np.uint8], num_bits: int) -> None:
        if not isinstance(array, np.ndarray):
            raise TypeError(f"Input must be a numpy.ndarray not {type(array)}")
        if array.dtype != np.uint8:
            raise TypeError(f"Input array must have dtype uint8, not {array.dtype}.")
        if array.ndim < 2:
            raise ValueError("The input array must have at least two axes.")
        if array.shape[-1] != (expected := _num_bytes(num_bits)):
            raise ValueError(f"The input array is expected to have {expected} bytes per shot.")
        self._array = array
        self._num_bits = num_bits
        self._shape: tuple[int, ...] = array.shape[:-2]

    @property
    def array(self) -> NDArray[np.uint8]:
        """The raw ``uint8`` array, padding bits included."""
        return self._array

    @property
    def num_bits(self) -> int:
        """Number of bits per shot."""
        return self._num_bits

    @property
    def num_shots(self) -> int:
        """Number of shots at each position (length of the second-to-last axis of ``array``)."""
        return int(self._array.shape[-2])

    @property
    def shape(self) -> tuple[int, ...]:
        """The pub shape (every axis of ``array`` but the last two)."""
        return self._shape

    @property
    def ndim(self) -> int:
        """Number of pub axes."""
        return len(self._shape)

    @property
    def size(self) -> int:
        """Number of pub positions (1 for shape ``()``)."""
        return int(np.prod(self._shape, dtype=int))

    def __repr__(self) -> str:
        desc = f"<shape={self.shape}, num_shots={self.num_shots}, num_bits={self.num_bits}>"
        return f"BitArray({desc})"

    @staticmethod
    def from_bool_array(array: object, order: Literal["big", "little"] = "big") -> BitArray:
        """Packs an array of bits (last axis) into a ``BitArray``."""
        arr = np.asarray(array, dtype=bool)
        if arr.ndim < 2:
            raise ValueError("Expecting at least two dimensions.")
        if order == "little":
            arr = arr[..., ::-1]
        elif order != "big":
            raise ValueError(
                f"unknown value for order: '{order}'. Valid values are 'big' and 'little'."
            )
        num_bits = arr.shape[-1]
        pad = (-num_bits) % 8
        if pad:
            arr = np.concatenate([np.zeros((*arr.shape[:-1], pad), dtype=bool), arr], axis=-1)
        return BitArray(np.packbits(arr, axis=-1), num_bits)

"""``BitArray``: a Qiskit-compatible array of packed measurement bits, backed by Rust.

The memory layout is Qiskit's: ``uint8[*shape, num_shots, ceil(num_bits / 8)]``, big-endian
across bytes, bit ``k`` at value ``1 << (k % 8)`` of byte ``-1 - k // 8``. Bit 0 is the rightmost
character of every bitstring. The top ``(-num_bits) % 8`` bits of byte 0 are padding: writers
leave them zero, every reader masks them.

Every per-shot loop (packing lists and arrays, counts, bitstrings, bit slicing, concatenation,
postselection, bit counts) runs in ``shotpack._native``; NumPy keeps what it already does best
(indexing, reshapes, transposes, bitwise operators, equality). Differences from Qiskit 2.6 are
listed in ``docs/compatibility.md``.
"""

from __future__ import annotations

import numbers
import operator
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from shotpack import _native
from shotpack.containers.shape import ShapedMixin
from shotpack.expval.diagonal import bitarray_expectation_values

if TYPE_CHECKING:
    from qiskit.primitives import BitArray as QiskitBitArray

__all__ = ["BitArray"]

_ORDERS = ("big", "little")


def _num_bytes(num_bits: int) -> int:
    return num_bits // 8 + (num_bits % 8 > 0)


def _flatten_shape(arg: Any) -> Iterable[int]:
    """Integers of a possibly nested shape specification, depth first (like Qiskit's)."""
    for item in arg:
        try:
            if isinstance(item, Iterable):
                yield from _flatten_shape(item)
            elif int(item) == item:
                yield int(item)
            else:
                raise ValueError(f"Expected {item} to be iterable or an integer.")
        except (TypeError, RecursionError) as ex:
            raise ValueError(f"Expected {item} to be iterable or an integer.") from ex


def _shape_tuple(*shapes: Any) -> tuple[int, ...]:
    return tuple(_flatten_shape(shapes))


def _index_list(indices: int | Iterable[int]) -> list[Any]:
    """``indices`` as a list: a Python int becomes a one-element list (Qiskit's rule)."""
    if isinstance(indices, int):
        return [indices]
    return list(indices)


def _bit_indices(indices: int | Iterable[Any], num_bits: int) -> list[int]:
    """Validated bit indices for :meth:`BitArray.slice_bits`, read as NumPy reads an index
    (which is what Qiskit does): all-bool entries are a mask over the bits."""
    idx = _index_list(indices)
    if idx and all(isinstance(i, (bool, np.bool_)) for i in idx):
        if len(idx) != num_bits:
            raise IndexError(
                f"boolean index has {len(idx)} entries but the number of bits is {num_bits}."
            )
        return np.flatnonzero(np.asarray(idx, dtype=bool)).tolist()
    out = []
    for i in idx:
        if isinstance(i, (numbers.Real, np.floating)) and not isinstance(
            i, (numbers.Integral, np.integer)
        ):
            # NumPy (so Qiskit) rejects non-integer indices with IndexError.
            raise IndexError(f"bit indices must be integers, got {i!r}.")
        try:
            k = operator.index(i)
        except TypeError:
            raise TypeError(f"bit indices must be integers, got {type(i).__name__}.") from None
        if k < 0 or k >= num_bits:
            raise IndexError(f"index {k} is out of bounds for the number of bits {num_bits}.")
        out.append(k)
    return out


def _pub_axes_used(loc: tuple[Any, ...]) -> int | None:
    """How many pub axes an index tuple consumes, or None when it holds an Ellipsis."""
    used = 0
    for item in loc:
        if item is Ellipsis:
            return None
        if item is None:
            continue
        if isinstance(item, (bool, np.bool_, list, np.ndarray)):
            arr = np.asarray(item)
            # A boolean mask consumes one axis per dimension (a scalar bool none).
            used += arr.ndim if arr.dtype == bool else 1
        else:
            used += 1
    return used


class BitArray(ShapedMixin):
    """An array of packed bitstrings with Qiskit's ``BitArray`` layout and API.

    ``array`` has shape ``(*shape, num_shots, ceil(num_bits / 8))``: the leading axes are the
    pub shape (``shape``, ``ndim``, ``size``), then shots, then packed bits (big-endian across
    bytes, bit 0 in the last byte's lowest bit). The array is used as given, not copied.

    Args:
        array: The ``uint8`` data array.
        num_bits: Number of bits per shot (a non-negative integer).

    Raises:
        TypeError: If ``array`` is not a NumPy array of dtype ``uint8``, or ``num_bits`` is not
            an integer.
        ValueError: If ``array`` has fewer than two axes, ``num_bits`` is negative, or the last
            axis does not have ``ceil(num_bits / 8)`` bytes.

    Example:
        >>> ba = BitArray.from_samples(["011", "110"])
        >>> ba.get_counts()
        {'011': 1, '110': 1}
    """

    __slots__ = ("_array", "_num_bits", "_shape")

    def __init__(self, array: NDArray[np.uint8], num_bits: int) -> None:
        if not isinstance(array, np.ndarray):
            raise TypeError(f"Input must be a numpy.ndarray not {type(array)}")
        if array.dtype != np.uint8:
            raise TypeError(f"Input array must have dtype uint8, not {array.dtype}.")
        if array.ndim < 2:
            raise ValueError("The input array must have at least two axes.")
        num_bits = operator.index(num_bits)
        if num_bits < 0:
            raise ValueError(f"num_bits must be non-negative, got {num_bits}.")
        if array.shape[-1] != (expected := _num_bytes(num_bits)):
            raise ValueError(f"The input array is expected to have {expected} bytes per shot.")
        self._array = array
        self._num_bits = num_bits
        self._shape: tuple[int, ...] = array.shape[:-2]

    # ---- properties ---------------------------------------------------------------------

    @property
    def array(self) -> NDArray[np.uint8]:
        """The raw ``uint8`` array, padding bits included."""
        return self._array

    @property
    def num_bits(self) -> int:
        """Number of bits per shot (e.g. 5 for a ``ClassicalRegister(5)``)."""
        return self._num_bits

    @property
    def num_shots(self) -> int:
        """Number of shots at each position (the second-to-last axis of ``array``)."""
        return int(self._array.shape[-2])

    # ---- dunders ---------------------------------------------------------------------

    def __repr__(self) -> str:
        desc = f"<shape={self.shape}, num_shots={self.num_shots}, num_bits={self.num_bits}>"
        return f"BitArray({desc})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (BitArray, (self._array, self._num_bits))

    def __getitem__(self, indices: Any) -> BitArray:
        if isinstance(indices, tuple):
            if len(indices) == self.ndim + 1:
                raise IndexError(
                    "BitArray cannot be sliced along the shots axis, use slice_shots() instead."
                )
            if len(indices) >= self.ndim + 2:
                raise IndexError(
                    "BitArray cannot be sliced along the bits axis, use slice_bits() instead."
                )
        return BitArray(self._array[indices], self._num_bits)

    def _broadcast_with(self, other: BitArray) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
        if self.num_bits != other.num_bits:
            raise ValueError(f"'num_bits' must match in {self} and {other}.")
        try:
            outer = np.broadcast_shapes(
                (*self.shape, self.num_shots), (*other.shape, other.num_shots)
            )
            shape = (*outer, self._array.shape[-1])
        except ValueError as ex:
            raise ValueError(f"{self} and {other} are not compatible for this operation.") from ex
        return np.broadcast_to(self._array, shape), np.broadcast_to(other.array, shape)

    def __and__(self, other: BitArray) -> BitArray:
        return BitArray(np.bitwise_and(*self._broadcast_with(other)), self._num_bits)

    def __or__(self, other: BitArray) -> BitArray:
        return BitArray(np.bitwise_or(*self._broadcast_with(other)), self._num_bits)

    def __xor__(self, other: BitArray) -> BitArray:
        return BitArray(np.bitwise_xor(*self._broadcast_with(other)), self._num_bits)

    def __invert__(self) -> BitArray:
        # Padding bits become ones in `.array`; every reader masks them.
        return BitArray(np.bitwise_not(self._array), self._num_bits)

    def __eq__(self, other: object) -> bool:
        # Like Qiskit: a non-BitArray operand raises AttributeError (no NotImplemented path).
        n = self._num_bits
        if n != other.num_bits:  # type: ignore[attr-defined]
            return False
        a, b = self._array, other.array  # type: ignore[attr-defined]
        if n % 8:
            mask = np.full(a.shape[-1], 255, dtype=np.uint8)
            mask[0] = 255 >> (-n % 8)
            a, b = a & mask, b & mask
        return bool(np.array_equal(a, b))

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    # ---- constructors ------------------------------------------------------------------

    @staticmethod
    def from_bool_array(array: Any, order: Literal["big", "little"] = "big") -> BitArray:
        """Packs bits (the last axis) into a new ``BitArray``.

        Nested lists or tuples are walked natively without building an intermediate array, so
        IQM's ``[shot][qubit]`` measurement lists pack directly with ``order="little"`` (column
        ``j`` becomes bit ``j``). NumPy arrays of bool, integer or float dtype are read in place.
        Any nonzero value is a one, as with ``numpy.asarray(array, dtype=bool)``.

        Args:
            array: Array-like with at least two axes: ``(*shape, num_shots, num_bits)``.
            order: ``"big"`` if ``array[..., 0]`` is the most significant bit (the leftmost
                character of a bitstring), ``"little"`` if it is bit 0.

        Returns:
            A new bit array with ``num_bits = array.shape[-1]``.

        Raises:
            ValueError: If the input has fewer than two axes, is ragged, or ``order`` is
                neither ``"big"`` nor ``"little"``.

        Example:
            >>> BitArray.from_bool_array([[1, 0, 0]], order="little").get_bitstrings()
            ['001']
        """
        if order not in _ORDERS:
            if np.ndim(array) < 2:
                raise ValueError("Expecting at least two dimensions.")
            raise ValueError(
                f"unknown value for order: '{order}'. Valid values are 'big' and 'little'."
            )
        little = order == "little"
        if isinstance(array, (list, tuple)):
            packed, num_bits = _native.pack_nested_lists(array, little, False)
        else:
            packed, num_bits = _native.pack_bool_array(array, little)
        return BitArray(packed, num_bits)

    @staticmethod
    def from_samples(
        samples: Iterable[str] | Iterable[int], num_bits: int | None = None
    ) -> BitArray:
        """Builds a one-position bit array from bitstrings, hex strings or integers.

        The first sample decides how all are read: a string starting with ``"0x"`` makes
        every sample a hex string, any other string makes them bitstrings (parsed like
        ``int(s, 2)``), anything else makes them integers.

        Args:
            samples: The samples, one per shot (any iterable; consumed once).
            num_bits: Bits per shot. ``None`` takes the widest sample, with at least one bit;
                a bitstring counts all its digits, so ``"0001"`` needs 4 bits.

        Returns:
            A bit array of shape ``()`` with one shot per sample. Its array is read-only, as
            in Qiskit.

        Raises:
            ValueError: If there are no samples, or a sample is negative or does not fit in
                ``num_bits`` bits, or a string is not a valid number.
            TypeError: If samples mix strings and non-strings, or are not integers.

        Example:
            >>> BitArray.from_samples(["0x5", "0x1"], 4).get_bitstrings()
            ['0101', '0001']
        """
        if num_bits is not None:
            num_bits = _check_num_bits(num_bits)
        if isinstance(samples, np.ndarray):
            samples = samples.tolist()
        packed, bits = _native.pack_samples(samples, num_bits)
        packed.flags.writeable = False
        return BitArray(packed, bits)

    @staticmethod
    def from_counts(
        counts: Mapping[str | int, int] | Iterable[Mapping[str | int, int]],
        num_bits: int | None = None,
    ) -> BitArray:
        """Builds a bit array from one counts mapping (shape ``()``) or several (shape ``(N,)``).

        Keys are read as in :meth:`from_samples` (the first key with a positive count decides
        the kind); each key contributes ``count`` identical shots, key by key in mapping order.
        ``qiskit.result.Counts`` objects are read through their integer outcomes.

        Args:
            counts: A mapping of outcome to count, or an iterable of such mappings.
            num_bits: Bits per shot; ``None`` takes the widest key (at least one bit).

        Returns:
            A new bit array (read-only array, as in Qiskit).

        Raises:
            ValueError: If no mapping or no shot is given, a key does not fit in ``num_bits``
                bits, or the mappings do not all hold the same number of shots.
            TypeError: If a count is not an integer or keys mix strings and non-strings.

        Example:
            >>> BitArray.from_counts([{"01": 2}, {"11": 1, "10": 1}]).shape
            (2,)
        """
        if num_bits is not None:
            num_bits = _check_num_bits(num_bits)
        if singleton := isinstance(counts, Mapping):
            mappings = [counts]
        else:
            mappings = list(counts)
            if not mappings:
                raise ValueError("At least one counts mapping expected.")
        mappings = [_int_outcomes(m) for m in mappings]
        packed, bits, per_mapping = _native.pack_counts(mappings, num_bits)
        packed.flags.writeable = False
        if singleton:
            return BitArray(packed, bits)
        if len(set(per_mapping)) > 1:
            raise ValueError(
                f"All of your mappings need to have the same number of shots, got {per_mapping}."
            )
        return BitArray(packed.reshape(len(mappings), per_mapping[0], packed.shape[-1]), bits)

    @staticmethod
    def from_qiskit(bit_array: QiskitBitArray) -> BitArray:
        """Wraps a ``qiskit.primitives.BitArray`` (or anything with ``array`` and ``num_bits``).

        The buffer is shared, not copied.

        Raises:
            TypeError: If ``bit_array`` has no ``array`` or ``num_bits`` (or they have the wrong
                types; see the constructor).

        Example:
            >>> from qiskit.primitives import BitArray as QBitArray
            >>> BitArray.from_qiskit(QBitArray.from_samples([3], 2)).get_counts()
            {'11': 1}
        """
        array = getattr(bit_array, "array", None)
        num_bits = getattr(bit_array, "num_bits", None)
        if array is None or num_bits is None:
            raise TypeError(
                "from_qiskit expects a qiskit.primitives.BitArray (an object with `array` and "
                f"`num_bits`), got {type(bit_array).__name__}"
            )
        return BitArray(array, num_bits)

    def to_qiskit(self) -> QiskitBitArray:
        """This bit array as a ``qiskit.primitives.BitArray`` sharing the same buffer.

        Raises:
            ImportError: If Qiskit is not installed (``pip install shotpack[qiskit]``).
        """
        from qiskit.primitives import BitArray as QBitArray

        return QBitArray(self._array, self._num_bits)

    # ---- readers -------------------------------------------------------------------------

    def _select(self, loc: Any) -> NDArray[np.uint8]:
        """The packed rows at ``loc`` (an index into the pub shape), or all of them."""
        if loc is None:
            return self._array
        if not isinstance(loc, tuple):
            loc = (loc,)
        used = _pub_axes_used(loc)
        if used is not None and used > self.ndim:
            raise IndexError(
                f"loc has {used} entries but the BitArray has {self.ndim} pub axes "
                f"(shape {self.shape}); shots are not indexed by loc"
            )
        # Explicit shot and byte axes: `loc` can only ever index the pub axes, and a partial
        # `loc` selects a whole sub-array (all of which is counted).
        key = (*loc, slice(None), slice(None))
        return self._array[key]

    def get_counts(self, loc: int | tuple[int, ...] | None = None) -> dict[str, int]:
        """Counts of each outcome as a ``{bitstring: count}`` dict in order of first occurrence.

        Args:
            loc: Index into the pub shape (an int, a tuple, slices allowed); ``None`` counts
                every position. A partial index counts the whole selected sub-array.

        Returns:
            Bitstrings of ``num_bits`` characters (bit 0 rightmost) mapped to counts.

        Raises:
            IndexError: If ``loc`` is out of range or has more entries than pub axes.

        Example:
            >>> BitArray.from_samples([1, 3, 1], 2).get_counts()
            {'01': 2, '11': 1}
        """
        return _native.get_counts(self._select(loc), self._num_bits)

    def get_int_counts(self, loc: int | tuple[int, ...] | None = None) -> dict[int, int]:
        """Counts of each outcome as ``{int: count}`` in order of first occurrence.

        Args:
            loc: As in :meth:`get_counts`.

        Example:
            >>> BitArray.from_samples([1, 3, 1], 2).get_int_counts()
            {1: 2, 3: 1}
        """
        return _native.get_int_counts(self._select(loc), self._num_bits)

    def get_bitstrings(self, loc: int | tuple[int, ...] | None = None) -> list[str]:
        """One bitstring per shot, in C order over positions then shots.

        Args:
            loc: As in :meth:`get_counts`.

        Example:
            >>> BitArray.from_samples([1, 2], 2).get_bitstrings()
            ['01', '10']
        """
        return _native.get_bitstrings(self._select(loc), self._num_bits)

    def get_int_array(self, loc: int | tuple[int, ...] | None = None) -> NDArray[np.uint64]:
        """One integer per shot (bit ``k`` of the shot is bit ``k`` of the integer).

        Not in Qiskit (requested in Qiskit issue 14739).

        Args:
            loc: As in :meth:`get_counts`.

        Returns:
            A ``uint64`` array of shape ``(*selected_shape, num_shots)``.

        Raises:
            ValueError: If ``num_bits > 64``.

        Example:
            >>> BitArray.from_samples([1, 2], 2).get_int_array()
            array([1, 2], dtype=uint64)
        """
        return _native.get_int_array(self._select(loc), self._num_bits)

    def to_bool_array(self, order: Literal["big", "little"] = "big") -> NDArray[np.bool_]:
        """Unpacks to a bool array of shape ``(*shape, num_shots, num_bits)``.

        Args:
            order: ``"big"`` puts the most significant bit at ``[..., 0]``, ``"little"`` bit 0.

        Raises:
            ValueError: If ``order`` is neither ``"big"`` nor ``"little"``.

        Example:
            >>> BitArray.from_samples(["01"]).to_bool_array()
            array([[False,  True]])
        """
        if order not in _ORDERS:
            raise ValueError(
                f"Invalid value for order: '{order}'. Valid values are 'big' and 'little'."
            )
        return _native.unpack_to_bool(self._array, self._num_bits, order == "little")

    def bitcount(self) -> NDArray[np.uint64]:
        """Number of ones in each shot (padding excluded), ``uint64`` of shape ``(*shape, shots)``.

        Example:
            >>> BitArray.from_samples(["0111", "0001"]).bitcount()
            array([3, 1], dtype=uint64)
        """
        return _native.bitcount(self._array, self._num_bits)

    def expectation_values(self, observables: Any) -> NDArray[np.float64]:
        """Expectation values of diagonal observables (``I``, ``Z``, ``0``, ``1``), broadcast
        against this bit array's shape, as in Qiskit.

        Args:
            observables: Anything ``ObservablesArray``-like: Pauli strings, ``SparsePauliOp``s,
                ``{label: coeff}`` dicts, or arrays of them, on ``num_bits`` qubits.

        Returns:
            A float64 array of shape ``broadcast_shapes(self.shape, observables.shape)``.

        Raises:
            ValueError: On non-diagonal terms, a qubit count other than ``num_bits``, shapes
                that do not broadcast, or zero shots.
        """
        return bitarray_expectation_values(self, observables)

    # ---- shapes ----------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> BitArray:
        """A reshaped view (same rules as Qiskit: no ``-1``).

        If the new shape's size equals :attr:`size`, shots are kept; if it equals
        ``size * num_shots``, the last entry of the new shape becomes the number of shots.

        Raises:
            ValueError: If the size matches neither.

        Example:
            >>> BitArray.from_samples([0, 1, 2, 3], 2).reshape(2, 2).shape
            (2,)
        """
        new = _shape_tuple(shape)
        size = int(np.prod(new, dtype=int))
        if size == self.size:
            full = (*new, *self._array.shape[-2:])
        elif size == self.size * self.num_shots:
            full = (*new, self._array.shape[-1])
        else:
            raise ValueError("Cannot change the size of the array.")
        return BitArray(self._array.reshape(full), self._num_bits)

    def transpose(self, *axes: Any) -> BitArray:
        """A view with the pub axes permuted (reversed when no axes are given).

        Raises:
            ValueError: If ``axes`` does not name each pub axis once, or one is out of bounds.
        """
        if len(axes) == 0:
            axes = tuple(reversed(range(self.ndim)))
        if len(axes) == 1 and isinstance(axes[0], Sequence):
            axes = tuple(axes[0])
        if len(axes) != self.ndim:
            raise ValueError("axes don't match bit array")
        for i in axes:
            if i >= self.ndim or self.ndim + i < 0:
                raise ValueError(
                    f"axis {i} is out of bounds for bit array of dimension {self.ndim}."
                )
        full = (*(i if i >= 0 else self.ndim + i for i in axes), -2, -1)
        return BitArray(self._array.transpose(full), self._num_bits)

    # ---- slicing and selection ------------------------------------------------------------

    def slice_bits(self, indices: int | Sequence[int]) -> BitArray:
        """Keeps bits ``indices`` (new bit ``j`` is old bit ``indices[j]``), bit by bit.

        Args:
            indices: A Python int or a sequence of ints in ``[0, num_bits)`` (negative indices
                are rejected, as in Qiskit); order and repeats are kept. A sequence of
                ``num_bits`` bools is a mask (NumPy's reading of the index, so Qiskit's).

        Raises:
            IndexError: If an index is out of range or not an integer (e.g. ``1.0``), or a
                boolean mask does not have ``num_bits`` entries.
            TypeError: If an index is not a number.

        Example:
            >>> BitArray.from_samples(["10110"]).slice_bits([2, 0]).get_bitstrings()
            ['01']
        """
        idx = _bit_indices(indices, self._num_bits)
        return BitArray(_native.slice_bits(self._array, self._num_bits, idx), len(idx))

    def slice_shots(self, indices: int | Sequence[int]) -> BitArray:
        """Keeps shots ``indices`` at every position (a new array).

        Args:
            indices: A Python int or a sequence of ints in ``[0, num_shots)``; negative
                indices are rejected, as in Qiskit.

        Raises:
            IndexError: If an index is out of range.
        """
        idx = _index_list(indices)
        # An empty list must index as integers (NumPy would read np.asarray([]) as floats).
        arr = np.asarray(idx) if idx else np.zeros(0, dtype=np.intp)
        bad = (arr < 0) | (arr >= self.num_shots)
        if bad.any():
            raise IndexError(
                f"index {idx[int(np.argmax(bad))]} is out of bounds for the number of "
                f"shots {self.num_shots}."
            )
        return BitArray(self._array[..., arr, :], self._num_bits)

    def postselect(
        self,
        indices: Sequence[int] | int,
        selection: Sequence[bool | int] | bool | int,
    ) -> BitArray:
        """Keeps the shots whose bits ``indices`` equal ``selection`` (all positions flattened).

        Args:
            indices: Bit indices; negative ones count from ``num_bits`` (as in Qiskit).
            selection: Wanted values (cast to bool), one per index.

        Returns:
            A bit array of shape ``()`` with the kept shots in order; an empty one when a bit
            is required to be both 0 and 1.

        Raises:
            ValueError: If the lengths of ``indices`` and ``selection`` differ.
            IndexError: If an index is outside ``[-num_bits, num_bits)``.

        Example:
            >>> BitArray.from_samples(["01", "11", "10"]).postselect([0], [1]).get_bitstrings()
            ['01', '11']
        """
        if isinstance(indices, int):
            indices = (indices,)
        if isinstance(selection, (bool, int)):
            selection = (selection,)
        sel = np.asarray(selection, dtype=bool)
        if len(sel) != len(indices):
            raise ValueError("Lengths of indices and selection do not match.")
        n = self._num_bits
        idx = np.asarray(indices)
        if len(indices) > 0:
            if idx.max() >= n:
                raise IndexError(
                    f"index {int(idx.max())} out of bounds for the number of bits {n}."
                )
            if idx.min() < -n:
                raise IndexError(
                    f"index {int(idx.min())} out of bounds for the number of bits {n}."
                )
        flat = self._array.reshape(self.size * self.num_shots, self._array.shape[-1])
        if len(indices) == 0:
            return BitArray(flat, n)
        wrapped = [int(i) % n for i in idx.tolist()]
        kept = _native.postselect(flat, n, wrapped, sel.tolist())
        return BitArray(kept, n)

    # ---- concatenation -----------------------------------------------------------------

    @staticmethod
    def concatenate(bit_arrays: Sequence[BitArray], axis: int = 0) -> BitArray:
        """Joins bit arrays along an existing pub axis (``0 <= axis < ndim``).

        Raises:
            ValueError: If the sequence is empty, the arrays are 0-d, or they differ in
                ``num_bits``, ``num_shots``, ``ndim`` or the other axes; or ``axis`` is out
                of range (negative axes included, as in Qiskit).
        """
        if len(bit_arrays) == 0:
            raise ValueError("Need at least one bit array to concatenate")
        first = bit_arrays[0]
        num_bits, ndim = first.num_bits, first.ndim
        if ndim == 0:
            raise ValueError("Zero-dimensional bit arrays cannot be concatenated")
        _require_same(bit_arrays, (_BITS, _SHOTS, _NDIM))
        if axis < 0 or axis >= ndim:
            raise ValueError(f"axis {axis} is out of bounds for bit array of dimension {ndim}.")
        return BitArray(np.concatenate([ba.array for ba in bit_arrays], axis=axis), num_bits)

    @staticmethod
    def concatenate_shots(bit_arrays: Sequence[BitArray]) -> BitArray:
        """Appends bit arrays along the shots axis (equal ``num_bits`` and shape).

        Raises:
            ValueError: If the sequence is empty or the arrays differ in bits or shape.
        """
        if len(bit_arrays) == 0:
            raise ValueError("Need at least one bit array to stack")
        _require_same(bit_arrays, (_BITS, _SHAPE))
        return BitArray(
            np.concatenate([ba.array for ba in bit_arrays], axis=-2), bit_arrays[0].num_bits
        )

    @staticmethod
    def concatenate_bits(bit_arrays: Sequence[BitArray]) -> BitArray:
        """Joins bit arrays shot by shot along the bits; ``bit_arrays[0]`` gets the lowest bits.

        Raises:
            ValueError: If the sequence is empty or the arrays differ in shots or shape.

        Example:
            >>> a, b = BitArray.from_samples(["101"]), BitArray.from_samples(["0"])
            >>> BitArray.concatenate_bits([a, b]).get_bitstrings()
            ['0101']
        """
        if len(bit_arrays) == 0:
            raise ValueError("Need at least one bit array to stack")
        _require_same(bit_arrays, (_SHOTS, _SHAPE))
        data = _native.concatenate_bits(
            [ba.array for ba in bit_arrays], [ba.num_bits for ba in bit_arrays]
        )
        return BitArray(data, sum(ba.num_bits for ba in bit_arrays))


# (what must agree, its value, how to say it) for the concatenations' checks.
_Agreement = tuple[str, Callable[[BitArray], Any], Callable[[Any], str]]
_BITS: _Agreement = ("number of bits", lambda ba: ba.num_bits, lambda v: f"{v} bits")
_SHOTS: _Agreement = ("number of shots", lambda ba: ba.num_shots, lambda v: f"{v} shots")
_NDIM: _Agreement = ("number of dimensions", lambda ba: ba.ndim, lambda v: f"{v} dimension(s)")
_SHAPE: _Agreement = ("shape", lambda ba: ba.shape, lambda v: f"shape {v}")


def _require_same(bit_arrays: Sequence[BitArray], checks: tuple[_Agreement, ...]) -> None:
    """Raises Qiskit's ValueError for the first array (then the first check) that differs
    from ``bit_arrays[0]``."""
    first = bit_arrays[0]
    for i, ba in enumerate(bit_arrays):
        for what, value, say in checks:
            if value(ba) != value(first):
                raise ValueError(
                    f"All bit arrays must have same {what}, but the bit array at index 0 has "
                    f"{say(value(first))} and the bit array at index {i} has {say(value(ba))}."
                )


def _check_num_bits(num_bits: Any) -> int:
    n = operator.index(num_bits)
    if n < 0:
        raise ValueError(f"num_bits must be non-negative, got {n}.")
    return n


def _int_outcomes(mapping: Any) -> Any:
    """``qiskit.result.Counts`` through its integer outcomes (as Qiskit does); others as is."""
    # Only an imported Qiskit can have made a Counts object, so no import is forced here.
    counts_module = sys.modules.get("qiskit.result.counts")
    if counts_module is not None and isinstance(mapping, counts_module.Counts):
        return mapping.int_outcomes()
    return mapping

"""``BitArray.expectation_values``: diagonal observables on packed bits, in one native pass.

Qiskit builds a counts dictionary per cell and evaluates each term with a separate call. Here
every cell's rows are read once, in Rust, for all the terms its observables need (see
``rust/core/src/expval.rs``); no counts dictionary is built.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from shotpack import _native
from shotpack.containers.observables_array import ObservablesArray
from shotpack.expval.term_masks import term_masks
from shotpack.quantum_info.labels import DIAGONAL
from shotpack.quantum_info.pauli_sum import PauliSum
from shotpack.quantum_info.term_table import term_table

if TYPE_CHECKING:
    from shotpack.containers.bit_array import BitArray
    from shotpack.containers.observables_array import ObservablesArrayLike

__all__ = [
    "CompiledObservables",
    "bitarray_expectation_values",
    "compiled_observables",
    "diagonal_observables",
]


def bitarray_expectation_values(
    bit_array: BitArray, observables: ObservablesArrayLike
) -> NDArray[np.float64]:
    """Expectation values of diagonal observables on the shots of a BitArray.

    Each observable is a sum of terms over ``I Z 0 1`` (rightmost character on bit 0). Per shot a
    term is the product over its non-``I`` characters: ``Z`` is +1 for bit 0 and -1 for bit 1,
    ``0`` is 1 for bit 0 and 0 for bit 1, ``1`` the opposite. The value is the mean over shots.

    Args:
        bit_array: the measured bits; its shape is broadcast against the observables'.
        observables: anything :class:`~shotpack.ObservablesArray` accepts (labels,
            dicts, ``PauliSum``, nested lists, Qiskit ``Pauli``/``SparsePauliOp``/
            ``SparseObservable``).

    Returns:
        float64 array of shape ``np.broadcast_shapes(bit_array.shape, observables.shape)``
        (a 0-d array for a single value).

    Raises:
        TypeError: an invalid observable type.
        ValueError: shapes that do not broadcast; an observable that is not diagonal; an
            observable qubit count different from ``num_bits``; zero shots (Qiskit raises
            ``StopIteration`` there).

    Example:
        >>> import numpy as np
        >>> from shotpack import BitArray
        >>> ba = BitArray.from_samples(["00", "01", "11", "11"])
        >>> ba.expectation_values(["ZZ", "IZ", "I1"])
        array([ 0.5 , -0.5 ,  0.75])
    """
    compiled = compiled_observables(observables, bit_array.num_bits)
    shape, out_cell, out_obs = compiled.outputs(bit_array.shape)
    if out_cell.size and bit_array.num_shots == 0:
        raise ValueError("cannot compute expectation values of a BitArray with 0 shots")
    values = _native.expectation_values(
        bit_array.array,
        bit_array.size,
        bit_array.num_shots,
        compiled.num_bits,
        compiled.pauli,
        compiled.proj,
        compiled.value,
        compiled.ptr,
        compiled.entries,
        compiled.coeffs,
        out_cell,
        out_obs,
    )
    return values.reshape(shape)


class CompiledObservables:
    """Observables compiled once to the native kernel's tables: the distinct terms as bit masks,
    each observable as rows of ``(term, coeff)``, and per data shape the output index tables.

    Instances are immutable apart from a small, bounded memo of output tables per data shape.
    """

    __slots__ = (
        "_outputs",
        "coeffs",
        "entries",
        "num_bits",
        "pauli",
        "proj",
        "ptr",
        "shape",
        "size",
        "source",
        "value",
    )

    def __init__(self, obs: ObservablesArray, num_bits: int, source: object) -> None:
        flat = diagonal_observables(obs, num_bits)
        labels, self.ptr, self.entries, self.coeffs = term_table(flat)
        masks = term_masks(labels, num_bits)
        self.pauli, self.proj, self.value = masks.pauli, masks.proj, masks.value
        self.num_bits = num_bits
        self.shape = obs.shape
        self.size = obs.size
        # For identity-keyed entries: holding the object keeps its id from being reused.
        self.source = source
        self._outputs: dict[
            tuple[int, ...], tuple[tuple[int, ...], NDArray[np.int64], NDArray[np.int64]]
        ] = {}

    def outputs(
        self, data_shape: tuple[int, ...]
    ) -> tuple[tuple[int, ...], NDArray[np.int64], NDArray[np.int64]]:
        """``(shape, out_cell, out_obs)`` for data of pub shape ``data_shape``: the broadcast
        shape, and per output the flat data cell and the flat observable it reads.

        Raises:
            ValueError: shapes that do not broadcast.
        """
        got = self._outputs.get(data_shape)
        if got is not None:
            return got
        shape = np.broadcast_shapes(data_shape, self.shape)
        size = int(np.prod(data_shape, dtype=np.int64))
        cell = np.broadcast_to(np.arange(size, dtype=np.int64).reshape(data_shape), shape)
        obs = np.broadcast_to(np.arange(self.size, dtype=np.int64).reshape(self.shape), shape)
        got = (
            shape,
            np.ascontiguousarray(cell).reshape(-1),
            np.ascontiguousarray(obs).reshape(-1),
        )
        for a in got[1:]:
            a.flags.writeable = False
        if len(self._outputs) >= _MAX_SHAPES:
            self._outputs.pop(next(iter(self._outputs)))
        self._outputs[data_shape] = got
        return got


# Bounded caches: compiled observables (most recently used last), and data shapes per entry.
_MAX_COMPILED = 128
_MAX_SHAPES = 8
_COMPILED: OrderedDict[tuple[Any, ...], CompiledObservables] = OrderedDict()
_IMMUTABLE = (ObservablesArray, PauliSum)


def _cache_key(observables: object, num_bits: int) -> tuple[Any, ...] | None:
    """A key that identifies ``observables`` for as long as it is cached, or None.

    Labels (a string, or a list or tuple of strings) are keyed by value; ObservablesArray and
    PauliSum objects (immutable) by identity. Anything else (dicts, Qiskit operators, which can
    be mutated in place) is compiled on every call.
    """
    kind = type(observables)
    if kind is str:
        return (num_bits, "label", observables)
    if isinstance(observables, (list, tuple)) and (kind is list or kind is tuple):
        labels = tuple(observables)
        if set(map(type, labels)) <= {str}:
            return (num_bits, "labels", labels)
        return None
    if isinstance(observables, _IMMUTABLE):
        return (num_bits, "id", id(observables))
    return None


def compiled_observables(observables: object, num_bits: int) -> CompiledObservables:
    """``observables`` compiled for data of ``num_bits`` bits, from the cache when they were
    compiled before (see :func:`_cache_key`).

    Args:
        observables: anything :class:`~shotpack.ObservablesArray` accepts.
        num_bits: bits per shot of the data.

    Returns:
        The compiled tables.

    Raises:
        TypeError: an invalid observable type.
        ValueError: an observable that is not diagonal or not on ``num_bits`` qubits.

    Example:
        >>> compiled_observables(["ZZ", "IZ"], 2).shape
        (2,)
    """
    key = _cache_key(observables, num_bits)
    if key is not None:
        hit = _COMPILED.get(key)
        if hit is not None and (key[1] != "id" or hit.source is observables):
            _COMPILED.move_to_end(key)
            return hit
    source = observables if key is not None and key[1] == "id" else None
    compiled = CompiledObservables(ObservablesArray.coerce(observables), num_bits, source)
    if key is not None:
        _COMPILED[key] = compiled
        if len(_COMPILED) > _MAX_COMPILED:
            _COMPILED.popitem(last=False)
    return compiled


def diagonal_observables(obs: ObservablesArray, num_bits: int) -> list[Any]:
    """The observables of ``obs`` as a flat list, checked to be evaluable on measured bits.

    Args:
        obs: The observables.
        num_bits: Bits per shot of the data they will be evaluated on.

    Returns:
        ``obs.ravel().tolist()``: one ``PauliSum`` per observable, in C order.

    Raises:
        ValueError: an observable of another qubit count than ``num_bits``, or a term with a
            Pauli other than I, Z, 0 and 1.
    """
    flat = obs.ravel().tolist()
    if obs.size and obs.num_qubits != num_bits:
        raise ValueError(
            f"One or more operators not same length ({obs.num_qubits}) as input "
            f"bitstrings ({num_bits})"
        )
    diagonal = set(DIAGONAL)
    for i, o in enumerate(flat):
        for label in o.labels:
            if not set(label) <= diagonal:
                raise ValueError(
                    f"Input operator {label} is not diagonal (observable {i}); "
                    "only I, Z, 0 and 1 can be evaluated on measured bits"
                )
    return flat

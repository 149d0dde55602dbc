"""``BitArray.expectation_values``: diagonal observables on packed bits, in one native pass.

Qiskit builds a counts dictionary per cell and evaluates each term with a separate call. Here
every cell's rows are read once, in Rust, for all the terms its observables need (see
``rust/core/src/expval.rs``); no counts dictionary is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from shotpack import _native
from shotpack.containers.observables_array import ObservablesArray
from shotpack.expval.term_masks import term_masks
from shotpack.quantum_info.labels import DIAGONAL
from shotpack.quantum_info.term_table import term_table

if TYPE_CHECKING:
    from shotpack.containers.bit_array import BitArray
    from shotpack.containers.observables_array import ObservablesArrayLike

__all__ = ["bitarray_expectation_values", "diagonal_observables"]


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
    obs = ObservablesArray.coerce(observables)
    shape = np.broadcast_shapes(bit_array.shape, obs.shape)
    num_bits = bit_array.num_bits
    flat = diagonal_observables(obs, num_bits)

    # One table of distinct terms; each observable is a row of (term, coeff) entries.
    labels, ptr, entries, coeffs = term_table(flat)
    masks = term_masks(labels, num_bits)

    out_cell = np.broadcast_to(np.arange(bit_array.size).reshape(bit_array.shape), shape)
    out_obs = np.broadcast_to(np.arange(obs.size).reshape(obs.shape), shape)
    if out_cell.size and bit_array.num_shots == 0:
        raise ValueError("cannot compute expectation values of a BitArray with 0 shots")
    data = bit_array.array.reshape(bit_array.size, bit_array.num_shots, (num_bits + 7) // 8)
    values = _native.expectation_values(
        np.ascontiguousarray(data),
        bit_array.size,
        bit_array.num_shots,
        num_bits,
        masks.pauli,
        masks.proj,
        masks.value,
        ptr,
        entries,
        coeffs,
        np.ascontiguousarray(out_cell, dtype=np.int64).reshape(-1),
        np.ascontiguousarray(out_obs, dtype=np.int64).reshape(-1),
    )
    return values.reshape(shape)


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

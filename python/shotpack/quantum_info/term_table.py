"""The distinct terms of several observables, as one table (what the native evaluators read)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from shotpack.quantum_info.pauli_sum import PauliSum

__all__ = ["term_table"]


def term_table(
    observables: Sequence[PauliSum],
) -> tuple[list[str], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The distinct terms of several observables, and each observable as rows of that table.

    Args:
        observables: the observables, in order.

    Returns:
        ``(labels, ptr, entries, coeffs)``: ``labels`` are the distinct term labels in order of
        first appearance; observable ``i`` is the sum over ``k`` in ``ptr[i]:ptr[i + 1]`` of
        ``coeffs[k]`` times term ``labels[entries[k]]``.

    Example:
        >>> from shotpack import PauliSum
        >>> labels, ptr, entries, coeffs = term_table([PauliSum({"ZZ": 2.0}), PauliSum("ZZ")])
        >>> labels, ptr.tolist(), entries.tolist(), coeffs.tolist()
        (['ZZ'], [0, 1, 2], [0, 0], [2.0, 1.0])
    """
    index: dict[str, int] = {}
    ptr = np.zeros(len(observables) + 1, dtype=np.int64)
    entries: list[int] = []
    coeffs: list[NDArray[np.float64]] = []
    for i, o in enumerate(observables):
        entries.extend(index.setdefault(label, len(index)) for label in o.labels)
        coeffs.append(o.coeffs)
        ptr[i + 1] = len(entries)
    return (
        list(index),
        ptr,
        np.asarray(entries, dtype=np.int64),
        np.concatenate(coeffs) if coeffs else np.zeros(0, dtype=np.float64),
    )

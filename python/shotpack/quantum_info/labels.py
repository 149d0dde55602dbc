"""Dense term labels: the alphabet, their checks and their letter codes.

A label is a string over ``I X Y Z`` plus the projectors ``0 1`` (Z basis), ``+ -`` (X basis) and
``r l`` (Y basis), Qiskit's ``SparseObservable`` alphabet; the **rightmost character acts on
qubit 0**.

Example:
    >>> label_codes(["XZ"], 2).tolist()  # column q is qubit q
    [[90, 88]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["ALPHABET", "DIAGONAL", "SIMPLIFY_TOL", "check_labels", "label_codes"]


#: Every letter a term label may use.
ALPHABET = "IXYZ01+-rl"
#: Letters that are diagonal in the computational basis.
DIAGONAL = "IZ01"
#: Qiskit's default tolerance of ``simplify`` (coefficients at or below it are dropped).
SIMPLIFY_TOL = 1e-8

_VALID = np.zeros(256, dtype=bool)
_VALID[np.frombuffer(ALPHABET.encode(), dtype=np.uint8)] = True


def _letters(chars: str) -> NDArray[np.uint8]:
    return np.frombuffer(chars.encode(), dtype=np.uint8)


def check_labels(labels: list[str], num_qubits: int) -> None:
    for i, label in enumerate(labels):
        if not isinstance(label, str):
            raise TypeError(f"Invalid observable basis type: {type(label)} (term {i})")
        if len(label) != num_qubits:
            raise ValueError(
                f"term {i} label {label!r} has {len(label)} qubits, expected {num_qubits}"
            )
    if not labels or num_qubits == 0:
        return
    try:
        codes = np.frombuffer("".join(labels).encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        codes = None
    if codes is None or not _VALID[codes].all():
        for i, label in enumerate(labels):
            bad = [c for c in label if c not in ALPHABET]
            if bad:
                raise ValueError(
                    f"labels must only contain letters from the alphabet {ALPHABET!r}: "
                    f"term {i} label {label!r} has {bad[0]!r}"
                )


def label_codes(labels: Sequence[str], num_qubits: int) -> NDArray[np.uint8]:
    """Letter bytes of dense labels as a ``(num_terms, num_qubits)`` array, column ``q`` being
    qubit ``q`` (labels must already be valid)."""
    if not labels or num_qubits == 0:
        return np.zeros((len(labels), num_qubits), dtype=np.uint8)
    buf = np.frombuffer("".join(labels).encode("ascii"), dtype=np.uint8)
    return buf.reshape(len(labels), num_qubits)[:, ::-1]

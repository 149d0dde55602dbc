"""Exact integer sums of diagonal terms over packed shots, and products of terms.

A diagonal term (a label over ``I Z 0 1``) takes a value in ``{-1, 0, +1}`` per shot, so its sum
over any set of shots is an exact integer, and sums over disjoint chunks add exactly. The
product of two such terms is again a term up to a sign (or zero), so the second moments that
variances need are term sums too. Everything here is evaluated by the native
``expectation_values`` kernel in one call per chunk; no Python runs per shot.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from shotpack.containers.bit_array import BitArray
from shotpack.containers.observables_array import ObservablesArray

__all__ = ["label_product", "masks_to_labels", "term_sums"]

# Letters as small codes: I, Z, 0, 1.
_CODE = {"I": 0, "Z": 1, "0": 2, "1": 3}
_LETTER = "IZ01"
# _PRODUCT[a, b] = (letter code of a*b, sign, nonzero) per qubit.
_PRODUCT = {
    (0, 0): (0, 1, True), (0, 1): (1, 1, True), (0, 2): (2, 1, True), (0, 3): (3, 1, True),
    (1, 0): (1, 1, True), (1, 1): (0, 1, True), (1, 2): (2, 1, True), (1, 3): (3, -1, True),
    (2, 0): (2, 1, True), (2, 1): (2, 1, True), (2, 2): (2, 1, True), (2, 3): (0, 1, False),
    (3, 0): (3, 1, True), (3, 1): (3, -1, True), (3, 2): (0, 1, False), (3, 3): (3, 1, True),
}  # fmt: skip
_PROD_CODE = np.zeros((4, 4), dtype=np.uint8)
_PROD_SIGN = np.zeros((4, 4), dtype=np.int8)
for (_a, _b), (_c, _s, _nz) in _PRODUCT.items():
    _PROD_CODE[_a, _b] = _c
    _PROD_SIGN[_a, _b] = _s if _nz else 0
_LOOKUP = np.full(256, 255, dtype=np.uint8)
for _ch, _v in _CODE.items():
    _LOOKUP[ord(_ch)] = _v

# Chunks whose sums are recovered from float means must stay far below 2**52 shots.
_MAX_CHUNK_SHOTS = 1 << 48


def _codes(label: str) -> NDArray[np.uint8]:
    codes = _LOOKUP[np.frombuffer(label.encode("ascii"), dtype=np.uint8)]
    if (codes == 255).any():
        raise ValueError(f"term {label!r} is not diagonal: only I, Z, 0 and 1 are allowed")
    return codes


def label_product(a: str, b: str) -> tuple[str, int]:
    """The product of two diagonal terms as ``(label, sign)``; ``sign`` is 0 when the product
    vanishes on every shot (a ``0`` and a ``1`` on the same bit).

    Example:
        >>> label_product("ZZ", "Z1")
        ('I1', -1)
        >>> label_product("0I", "1Z")
        ('II', 0)
    """
    ca, cb = _codes(a), _codes(b)
    if ca.shape != cb.shape:
        raise ValueError(f"terms of different lengths: {a!r}, {b!r}")
    sign = int(np.prod(_PROD_SIGN[ca, cb], dtype=np.int64))
    label = bytes(np.frombuffer(_LETTER.encode(), np.uint8)[_PROD_CODE[ca, cb]]).decode()
    return (label, sign) if sign else ("I" * len(a), 0)


def masks_to_labels(
    pauli: NDArray[np.uint64], proj: NDArray[np.uint64], value: NDArray[np.uint64], num_bits: int
) -> list[str]:
    """Labels over ``I Z 0 1`` (rightmost on bit 0) of terms given as the native estimator's
    ``(pauli, proj, value)`` word masks, one row per term."""

    def bits(m: NDArray[np.uint64]) -> NDArray[np.bool_]:
        m = np.ascontiguousarray(m, dtype="<u8")
        b = np.unpackbits(m.view(np.uint8).reshape(m.shape[0], -1), axis=1, bitorder="little")
        return b[:, :num_bits].astype(bool)

    z, p, v = bits(pauli), bits(proj), bits(value)
    codes = np.full(z.shape, ord("I"), dtype=np.uint8)
    codes[z] = ord("Z")
    codes[p & ~v] = ord("0")
    codes[p & v] = ord("1")
    return [bytes(row[::-1]).decode("ascii") for row in codes]


def term_sums(
    rows: NDArray[np.uint8], num_bits: int, terms: Sequence[str] | ObservablesArray
) -> NDArray[np.int64]:
    """Exact sum over shots of each term, per cell.

    Args:
        rows: packed shots ``uint8 (cells, shots, nbytes)``.
        num_bits: bits per shot.
        terms: labels over ``I Z 0 1`` of length ``num_bits`` (or their ``ObservablesArray``).

    Returns:
        ``int64 (cells, len(terms))``.
    """
    obs = terms if isinstance(terms, ObservablesArray) else _observables(tuple(terms))
    cells, shots = rows.shape[0], rows.shape[1]
    out = np.zeros((cells, obs.size), dtype=np.int64)
    if cells == 0 or shots == 0 or obs.size == 0:
        return out
    if shots > _MAX_CHUNK_SHOTS:
        raise ValueError(f"a chunk of {shots} shots is too large; split it below 2**48 shots")
    ba = BitArray(np.ascontiguousarray(rows).reshape(cells, 1, shots, rows.shape[-1]), num_bits)
    means = np.asarray(ba.expectation_values(obs.reshape(obs.size)), dtype=np.float64)
    # Each mean is one term's integer sum divided by ``shots`` (correctly rounded), so scaling
    # back and rounding recovers the integer exactly for chunks below 2**48 shots.
    out[:] = np.rint(means * shots).astype(np.int64)
    return out


@functools.lru_cache(maxsize=256)
def _observables(labels: tuple[str, ...]) -> ObservablesArray:
    """The flat ``ObservablesArray`` of labels (one single-term observable each), built once
    per process: parsing 100 labels costs more than summing them over 10^5 shots."""
    obs = ObservablesArray.coerce(list(labels))
    return obs.reshape(obs.size)

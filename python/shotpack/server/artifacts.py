"""Encoding of job results into the IQM artifact bodies.

``measurements``: ``[{key: [[bit per locus component] per shot]}]`` per circuit. The body is built
with NumPy as fixed-width ASCII rows (``[0,1],``), never through Python lists, so a 1M-shot job
encodes in milliseconds instead of seconds.

``measurement_counts``: ``[{"measurement_keys": [...], "counts": {bitstring: n}}]`` per circuit, the
bitstring being the keys' bits concatenated in ``measurement_keys`` order, each key in locus order
(first character = first locus component of the first key). A circuit without measurements
reports every shot under the empty bitstring.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from shotpack.server.simulator import CircuitResult

__all__ = ["encode_counts", "encode_measurements", "encode_rows"]

_ZERO = ord("0")


def encode_rows(bits: np.ndarray) -> bytes:
    """Encode ``uint8[shots, k]`` bits (values 0..9) as the JSON text ``[[b,..],[b,..],...]``.

    Args:
        bits: 2-D array of small non-negative integers.

    Returns:
        The JSON array as ASCII bytes.

    Example:
        >>> encode_rows(np.array([[0, 1], [1, 1]], dtype=np.uint8))
        b'[[0,1],[1,1]]'
    """
    shots, k = bits.shape
    if shots == 0:
        return b"[]"
    if k == 0:
        # Each shot is an empty row.
        return b"[" + (b"[]," * shots)[:-1] + b"]"
    width = 2 * k + 2  # "[" + k digits + (k-1) commas + "]" + ","
    # One buffer at final size: the outer "[" then the rows; the last row's "," becomes "]".
    flat = np.empty(1 + shots * width, dtype=np.uint8)
    flat[0] = ord("[")
    out = flat[1:].reshape(shots, width)
    out[:, 0] = ord("[")
    np.add(bits, _ZERO, out=out[:, 1 : 2 * k : 2], dtype=np.uint8, casting="unsafe")
    out[:, 2 : 2 * k : 2] = ord(",")
    out[:, 2 * k] = ord("]")
    out[:, 2 * k + 1] = ord(",")
    flat[-1] = ord("]")
    return flat.tobytes()


def encode_measurements(results: Sequence[CircuitResult]) -> bytes:
    """Build the ``artifacts/measurements`` body for a batch of circuit results.

    Args:
        results: One result per circuit of the job, in batch order.

    Returns:
        The JSON body as bytes.
    """
    # Collect fragments and join once: repeated concatenation would copy the body each time.
    parts: list[bytes] = [b"["]
    for ci, result in enumerate(results):
        parts.append(b"{" if ci == 0 else b",{")
        for ki, key in enumerate(result.keys):
            parts.append((b"" if ki == 0 else b",") + json.dumps(key).encode() + b":")
            parts.append(encode_rows(result.bits[key]))
        parts.append(b"}")
    parts.append(b"]")
    return b"".join(parts)


def circuit_counts(result: CircuitResult) -> dict[str, int]:
    """Histogram of one circuit's shots over the concatenated bitstrings of its keys.

    Args:
        result: The circuit's measured bits.

    Returns:
        ``bitstring -> number of shots``.
    """
    if not result.keys:
        return {"": result.shots} if result.shots else {}
    table = np.concatenate([result.bits[k] for k in result.keys], axis=1)
    if table.shape[0] == 0:
        return {}
    width = table.shape[1]
    if width == 0:
        return {"": table.shape[0]}
    # Distinct rows via a byte view, one string per distinct outcome (not per shot).
    rows = np.ascontiguousarray(table + _ZERO)
    unique, counts = np.unique(rows.view(f"S{width}").reshape(-1), return_counts=True)
    return {
        u.decode("ascii"): int(c) for u, c in zip(unique.tolist(), counts.tolist(), strict=True)
    }


def encode_counts(results: Sequence[CircuitResult]) -> bytes:
    """Build the ``artifacts/measurement_counts`` body for a batch of circuit results.

    Args:
        results: One result per circuit of the job, in batch order.

    Returns:
        The JSON body as bytes.
    """
    body = [
        {"measurement_keys": list(result.keys), "counts": circuit_counts(result)}
        for result in results
    ]
    return json.dumps(body, separators=(",", ":")).encode()

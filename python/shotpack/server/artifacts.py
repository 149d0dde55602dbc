"""Encoding of job results into the IQM artifact bodies.

``measurements``: ``[{key: [[bit per locus component] per shot]}]`` per circuit. The body is built
with NumPy as fixed-width ASCII rows (``[0,1],``), never through Python lists, so a 1M-shot job
encodes in milliseconds instead of seconds. The server streams it (:class:`MeasurementsBody`): its
length is known in advance and it is encoded block by block while being sent, so a download holds
about 1 MiB of text at a time instead of the whole body.

``measurement_counts``: ``[{"measurement_keys": [...], "counts": {bitstring: n}}]`` per circuit, the
bitstring being the keys' bits concatenated in ``measurement_keys`` order, each key in locus order
(first character = first locus component of the first key). A circuit without measurements
reports every shot under the empty bitstring.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import numpy as np

from shotpack.server.simulator import CircuitResult

__all__ = ["MeasurementsBody", "encode_counts", "encode_measurements", "encode_rows"]

_ZERO = ord("0")
#: Shots tallied at a time by :func:`circuit_counts`.
_COUNT_BLOCK = 1 << 20


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


def _rows_length(bits: np.ndarray) -> int:
    """Length of :func:`encode_rows` of ``bits`` without encoding it."""
    shots, k = bits.shape
    if shots == 0:
        return 2
    return 1 + shots * (3 if k == 0 else 2 * k + 2)


class MeasurementsBody:
    """The ``artifacts/measurements`` body of a batch, encoded lazily in blocks of rows.

    ``len()`` is the exact byte length (for ``Content-Length``); iterating yields the body in
    pieces of about ``block_bytes``, so sending it never holds the whole text.

    Args:
        results: One result per circuit of the job, in batch order.
        block_bytes: Approximate size of the pieces yielded.

    Example:
        >>> r = CircuitResult(["m"], {"m": np.array([[0, 1], [1, 1]], dtype=np.uint8)}, 2)
        >>> body = MeasurementsBody([r])
        >>> b"".join(body), len(body)
        (b'[{"m":[[0,1],[1,1]]}]', 21)
    """

    def __init__(self, results: Sequence[CircuitResult], block_bytes: int = 1 << 20) -> None:
        self.results = list(results)
        self.block_bytes = block_bytes
        length = 2 + max(0, len(self.results) - 1)  # "[" "]" and the commas between circuits
        for result in self.results:
            length += 2 + max(0, len(result.keys) - 1)  # "{" "}" and the commas between keys
            for key in result.keys:
                length += len(json.dumps(key).encode()) + 1 + _rows_length(result.bits[key])
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        yield b"["
        for ci, result in enumerate(self.results):
            yield b"{" if ci == 0 else b",{"
            for ki, key in enumerate(result.keys):
                yield (b"" if ki == 0 else b",") + json.dumps(key).encode() + b":"
                yield from self._rows(result.bits[key])
            yield b"}"
        yield b"]"

    def _rows(self, bits: np.ndarray) -> Iterator[bytes]:
        """:func:`encode_rows` of ``bits``, in blocks of rows."""
        shots, k = bits.shape
        step = max(1, self.block_bytes // (2 * k + 3))
        if shots <= step:
            yield encode_rows(bits)
            return
        for start in range(0, shots, step):
            block = encode_rows(bits[start : start + step])
            # Each block is "[rows]": keep the outer "[" only first, the "]" only last.
            first, last = start == 0, start + step >= shots
            yield block[0 if first else 1 : len(block) if last else -1] + (b"" if last else b",")


def encode_measurements(results: Sequence[CircuitResult]) -> bytes:
    """Build the ``artifacts/measurements`` body for a batch of circuit results.

    Args:
        results: One result per circuit of the job, in batch order.

    Returns:
        The JSON body as bytes (the server streams :class:`MeasurementsBody` instead).
    """
    return b"".join(MeasurementsBody(results))


def circuit_counts(result: CircuitResult) -> dict[str, int]:
    """Histogram of one circuit's shots over the concatenated bitstrings of its keys.

    Shots are tallied in blocks of :data:`_COUNT_BLOCK` rows, so the temporaries stay small
    whatever the number of shots; outcomes come out in sorted order.

    Args:
        result: The circuit's measured bits.

    Returns:
        ``bitstring -> number of shots``.
    """
    if not result.keys:
        return {"": result.shots} if result.shots else {}
    shots = result.bits[result.keys[0]].shape[0]
    if shots == 0:
        return {}
    width = sum(result.bits[k].shape[1] for k in result.keys)
    if width == 0:
        return {"": shots}
    tally: dict[bytes, int] = {}
    for start in range(0, shots, _COUNT_BLOCK):
        block = [result.bits[k][start : start + _COUNT_BLOCK] for k in result.keys]
        rows = np.concatenate(block, axis=1)
        rows += _ZERO
        # Distinct rows via a byte view, one entry per distinct outcome (not per shot).
        unique, counts = np.unique(rows.view(f"S{width}").reshape(-1), return_counts=True)
        for u, c in zip(unique.tolist(), counts.tolist(), strict=True):
            tally[u] = tally.get(u, 0) + c
    return {u.decode("ascii"): tally[u] for u in sorted(tally)}


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

"""A JSON nesting check that runs before parsing (Python's parser recurses once per level)."""

from __future__ import annotations

import numpy as np

from shotpack.iqm.errors import InvalidOperationError

__all__ = ["check_json_depth"]

_SCAN_BLOCK = 1 << 18


def check_json_depth(body: bytes, limit: int) -> None:
    """Refuse a JSON body nested deeper than ``limit`` arrays/objects, before parsing it.

    Python's ``json`` parser recurses once per level, so ``[`` x 100,000 would otherwise end in a
    RecursionError. The scan is vectorised and works in blocks of 256 KiB, so its memory stays
    small for any body: a quote counts when an even number of backslashes precedes it, and
    brackets between an opening and a closing quote do not count.

    Args:
        body: The raw request body.
        limit: Deepest nesting allowed (the body itself being an object is depth 1).

    Raises:
        InvalidOperationError: The nesting is deeper than ``limit`` (HTTP 400).

    Example:
        >>> check_json_depth(b'{"a": [[1], "[[[[["]}', 3)
        >>> check_json_depth(b"[[[[1]]]]", 3)
        Traceback (most recent call last):
        ...
        shotpack.iqm.errors.InvalidOperationError: JSON nesting deeper than 3 levels ...
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return  # too few brackets to nest that deep
    data = np.frombuffer(body, dtype=np.uint8)
    depth = 0
    in_string = 0  # 1 if the previous block ended inside a string
    run = 0  # backslashes at the end of the previous block
    for start in range(0, len(data), _SCAN_BLOCK):
        block = data[start : start + _SCAN_BLOCK]
        idx = np.arange(len(block), dtype=np.int32)
        backslash = block == ord("\\")
        # Index of the last non-backslash at or before each position (-1: none in this block).
        last = np.maximum.accumulate(np.where(backslash, np.int32(-1), idx))
        before = np.empty_like(last)
        before[0] = -1
        before[1:] = last[:-1]
        # Backslashes right before each position, counting those carried from the last block.
        preceding = np.where(before < 0, idx + run, idx - 1 - before)
        quote = (block == ord('"')) & (preceding % 2 == 0)
        toggles = np.cumsum(quote, dtype=np.int32)
        outside = (toggles + in_string) % 2 == 0
        step = (block == ord("[")).astype(np.int32)
        step += block == ord("{")
        step -= block == ord("]")
        step -= block == ord("}")
        step *= outside
        levels = np.cumsum(step, dtype=np.int32)
        if depth + int(levels.max()) > limit:
            raise InvalidOperationError(
                f"JSON nesting deeper than {limit} levels is not accepted (the server's "
                "max_json_depth)",
                error_code="bad_request",
            )
        depth += int(levels[-1])
        in_string = (in_string + int(toggles[-1])) % 2
        run = int(len(block) + run if last[-1] < 0 else len(block) - 1 - last[-1])

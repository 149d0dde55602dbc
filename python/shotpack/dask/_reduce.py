"""A tree reduction of per-block partial results with ``dask.delayed`` (fan-in ``split_every``),
so no task receives every block's partial at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dask

SPLIT_EVERY = 16


def tree_reduce(
    parts: Sequence[Any], merge: Callable[[list[Any]], Any], split_every: int = SPLIT_EVERY
) -> Any:
    """A ``Delayed`` merging ``parts`` (Delayed objects) ``split_every`` at a time."""
    level = list(parts)
    if not level:
        raise ValueError("nothing to reduce")
    merge_task = dask.delayed(merge, pure=True)
    while len(level) > 1:
        level = [merge_task(level[i : i + split_every]) for i in range(0, len(level), split_every)]
    return level[0]

"""Shared timing helpers for the side-by-side benchmarks (medians of several runs)."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any


def median_time(fn: Callable[[], Any], *, repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs, after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def report(rows: list[tuple[str, float, float, float | None]]) -> None:
    """Prints ``(case, anchor_s, shotpack_s, target_ratio)`` rows as a table with ratios."""
    print(f"{'case':<64} {'anchor':>10} {'shotpack':>10} {'ratio':>9} {'target':>7}")
    for case, anchor, ours, target in rows:
        ratio = anchor / ours if ours > 0 else float("inf")
        tgt = f"{target:>6.0f}x" if target else "      -"
        flag = "" if target is None or ratio >= target else "  (below target)"
        print(f"{case:<64} {anchor:>9.4f}s {ours:>9.4f}s {ratio:>8.1f}x {tgt}{flag}")

"""Shared timing helpers for the side-by-side benchmarks.

Fairness rules (issue 13): each case runs in a fresh process (so no case pays for the garbage,
heap growth or thread pools another left behind), anchor and shotpack runs alternate inside it
(A S, S A, A S, ... so drift and turbo effects hit both sides alike), and every reported time is
a median of at least :data:`MIN_RUNS` runs. The parent prints the CPU, the load, and a table
with ratios.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

MIN_RUNS = 5
_MARK = "@@bench-rows "

Row = tuple[str, float, float, "float | None"]


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


def pair_times(
    anchor: Callable[[], Any],
    ours: Callable[[], Any],
    *,
    repeat: int = 7,
    anchor_repeat: int | None = None,
    warmup: int = 1,
    anchor_warmup: int | None = None,
) -> tuple[float, float]:
    """Median times of ``anchor()`` and ``ours()``, their runs alternating.

    Both get at least :data:`MIN_RUNS` timed runs (``anchor_repeat`` defaults to ``repeat``;
    slow anchors may ask for fewer runs, never below the minimum). Round ``i`` runs the anchor
    first when ``i`` is even and shotpack first when odd.
    """
    n_ours = max(MIN_RUNS, repeat)
    n_anchor = max(MIN_RUNS, anchor_repeat if anchor_repeat is not None else repeat)
    for _ in range(anchor_warmup if anchor_warmup is not None else warmup):
        anchor()
    for _ in range(warmup):
        ours()
    times: dict[str, list[float]] = {"a": [], "o": []}
    fns = {"a": anchor, "o": ours}
    want = {"a": n_anchor, "o": n_ours}
    i = 0
    while len(times["a"]) < n_anchor or len(times["o"]) < n_ours:
        for side in ("a", "o") if i % 2 == 0 else ("o", "a"):
            if len(times[side]) < want[side]:
                gc.collect()
                t0 = time.perf_counter()
                fns[side]()
                times[side].append(time.perf_counter() - t0)
        i += 1
    return statistics.median(times["a"]), statistics.median(times["o"])


def cpu_name() -> str:
    """The CPU model (from ``/proc/cpuinfo`` where there is one) and the core count."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical cores"


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def report(rows: Sequence[Row]) -> None:
    """Prints ``(case, anchor_s, shotpack_s, target_ratio)`` rows as a table with ratios."""
    print(f"{'case':<64} {'anchor':>10} {'shotpack':>10} {'ratio':>9} {'target':>7}")
    for case, anchor, ours, target in rows:
        ratio = anchor / ours if ours > 0 else float("inf")
        tgt = "      -"
        if target:
            tgt = f"{target:>6.0f}x" if target >= 10 else f"{target:>6.2f}x"
        flag = "" if target is None or ratio >= target else "  (below target)"
        print(f"{case:<64} {anchor:>9.4f}s {ours:>9.4f}s {ratio:>8.1f}x {tgt}{flag}")


def emit_rows(rows: Sequence[Row]) -> None:
    """In a case process: hands the case's rows to the parent (one marked JSON line)."""
    print(_MARK + json.dumps([list(r) for r in rows]), flush=True)


def run_cases(script: str, num_cases: int | None, argv: Sequence[str]) -> list[Row]:
    """Runs ``script --case i`` for each case in a fresh process, one after the other.

    Each child prints its own notes (passed through) and its rows (collected). With
    ``num_cases`` None, cases run until a child emits no rows.

    Returns:
        Every case's rows, in case order.
    """
    print(f"CPU: {cpu_name()}; load average at start: {load_average()}", flush=True)
    print(
        f"each case in a fresh process; anchor and shotpack runs alternate; medians of >= "
        f"{MIN_RUNS} runs",
        flush=True,
    )
    rows: list[Row] = []
    i = 0
    while num_cases is None or i < num_cases:
        proc = subprocess.run(
            [sys.executable, script, *argv, "--case", str(i)],
            capture_output=True,
            text=True,
            check=False,
        )
        got: list[Row] | None = None
        for line in proc.stdout.splitlines():
            if line.startswith(_MARK):
                got = [tuple(r) for r in json.loads(line[len(_MARK) :])]  # type: ignore[misc]
            elif line.strip():
                print(line, flush=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"case {i} of {script} failed (exit {proc.returncode})")
        if not got:
            break
        rows.extend(got)
        i += 1
    return rows

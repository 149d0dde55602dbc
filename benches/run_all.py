"""Runs every side-by-side benchmark and prints their tables.

Usage: ``python benches/run_all.py`` (after ``pip install .``; the release build is what the
README's numbers come from). Every bench runs each of its cases in a fresh process, with anchor
and shotpack runs alternating and medians of at least five runs (``benches/_timing.py``); the
CPU and the load average are printed first, so numbers from different machines or busy
machines can be told apart. ``bench_dask.py`` is not run here (it writes gigabytes); run it on
its own.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCHES = [
    "bench_bitarray.py",
    "bench_json.py",
    "bench_expval.py",
    "bench_client.py",
    "bench_qiskit.py",
    "bench_simulator.py",
]


def main() -> int:
    from _timing import cpu_name, load_average  # beside this script

    here = Path(__file__).resolve().parent
    print(f"CPU: {cpu_name()}; load average: {load_average()}", flush=True)
    failed = []
    for name in BENCHES:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(here / name)], check=False)
        print(f"--- {name}: {time.perf_counter() - t0:.1f} s, exit {proc.returncode}", flush=True)
        if proc.returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

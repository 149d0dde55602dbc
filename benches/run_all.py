"""Runs every side-by-side benchmark in one go and prints their tables.

Usage: ``python benches/run_all.py`` (after ``pip install .``; the release build is what the
README's numbers come from). Each bench runs in its own process so that one's memory and thread
pools do not disturb the next; timings are medians of several runs inside each bench.
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
]


def main() -> int:
    here = Path(__file__).resolve().parent
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

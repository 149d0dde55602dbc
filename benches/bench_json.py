"""Measurements JSON body -> DataBins: shotpack against the iqm-client + Qiskit pipeline.

The body is the Qiskit-on-IQM layout: one circuit, ``SHOTS`` shots, ``KEYS`` single-bit keys
``c_{KEYS}_0_{j}`` (about 15 MiB compact). The anchor is what iqm-client and Qiskit do with it:
``TypeAdapter(list[dict[str, list[list[int]]]]).validate_json``, ``np.array`` per key, then
``qiskit.primitives.BitArray.from_bool_array`` (per key, or per register after assembling the
register matrix the way Qiskit-on-IQM's result formatting does).

A second set of rows covers multi-bit keys, the layout of a plain IQM job: ``C`` circuits of
``S`` shots of one ``W``-qubit key ``meas`` (``--multi CxSxW,...``; default 100 x 100k x 2,
60 MB compact, and 1 x 200k x 20), against the same anchor with ``registers=False``.

A third set covers one large key (``--large SxW,...``; default 4M x 20 bits, 168 MB, and
2M x 64 bits, 260 MB, compact), whose value is checked and filled in pieces across threads:
the parse with ``SHOTPACK_NUM_THREADS=1`` and ``=2`` (worker processes alternating, 1 2 2 1),
each beside the memory limit measured in the same process: a NumPy sum over the body's bytes
read as uint64, on as many threads.

Run: ``python benches/bench_json.py [--shots N] [--keys K] [--multi CxSxW,...] [--large SxW,...]``.
Each body is a case run in a fresh process (``--case N`` runs body N alone), anchor and shotpack
alternating. Prints, for each body in the compact and the ``json.dumps`` spelling: medians side
by side and their ratio (target 100x), the one-core throughput (a subprocess with
``SHOTPACK_NUM_THREADS=1``; target 500 MB/s for single-bit keys, 2000 MB/s for multi-bit keys),
and the peak memory of a parse (a subprocess: VmHWM from /proc/self/status after resetting it
through /proc/self/clear_refs, minus the RSS before the body was read, so it covers the body plus
everything the parse allocates, Rust buffers included; budget: body + 2 x packed output).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import emit_rows, median_time, pair_times, report, run_cases

KEY_RE = re.compile(r"^(.*)_(\d+)_(\d+)_(\d+)$")


def make_body(shots: int, keys: int, *, spaced: bool = False, seed: int = 1234) -> bytes:
    """The server's JSON for one circuit of single-bit keys, built without Python lists."""
    rng = np.random.default_rng(seed)
    shot = b"[0], " if spaced else b"[0],"
    parts = []
    for j in range(keys):
        pattern = np.frombuffer(shot, dtype=np.uint8)
        buf = np.tile(pattern, shots).reshape(shots, len(shot))
        buf[:, 1] += rng.integers(0, 2, shots, dtype=np.uint8)
        sep = b": " if spaced else b":"
        parts.append(b'"c_%d_0_%d"%s[' % (keys, j, sep) + buf.tobytes()[: -len(shot) + 3] + b"]")
    return b"[{" + (b", " if spaced else b",").join(parts) + b"}]"


def make_multi_body(
    circuits: int, shots: int, width: int, *, spaced: bool = False, seed: int = 1234
) -> bytes:
    """``circuits`` x ``{"meas": shots x width bits}``, compact or as ``json.dumps`` spells it."""
    rng = np.random.default_rng(seed)
    sep = b", " if spaced else b","
    row = b"[" + sep.join([b"0"] * width) + b"]" + sep
    stride = len(sep) + 1
    parts = []
    for _ in range(circuits):
        buf = np.tile(np.frombuffer(row, dtype=np.uint8), shots).reshape(shots, len(row))
        buf[:, 1 : stride * width : stride] += rng.integers(0, 2, (shots, width), dtype=np.uint8)
        key = b'"meas": [' if spaced else b'"meas":['
        parts.append(b"{" + key + buf.tobytes()[: -len(sep)] + b"]}")
    return b"[" + sep.join(parts) + b"]"


def anchor(body: bytes, registers: bool) -> list[object]:
    """iqm-client's parse, then NumPy and Qiskit's BitArray, as the adapter does it."""
    from pydantic import TypeAdapter
    from qiskit.primitives import BitArray, DataBin

    batch = TypeAdapter(list[dict[str, list[list[int]]]]).validate_json(body)
    out = []
    for circuit in batch:
        if not registers:
            fields = {
                k: BitArray.from_bool_array(np.array(v), order="little") for k, v in circuit.items()
            }
        else:
            regs: dict[int, tuple[str, np.ndarray]] = {}
            for key, value in circuit.items():
                m = KEY_RE.match(key)
                assert m is not None
                name, length, idx, clbit = m[1], int(m[2]), int(m[3]), int(m[4])
                res = np.array(value, dtype=int)
                _, matrix = regs.setdefault(idx, (name, np.zeros((len(res), length), dtype=int)))
                matrix[:, clbit] = res[:, 0]
            fields = {
                name: BitArray.from_bool_array(matrix, order="little")
                for _, (name, matrix) in sorted(regs.items())
            }
        out.append(DataBin(**fields))
    return out


def ours(body: bytes, registers: bool) -> list[object]:
    import shotpack

    return list(shotpack.parse_measurements(body, registers=registers))


def _status(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    assert match is not None
    return int(match[1]) * 1024


def worker_speed(path: str, modes: list[bool]) -> None:
    body = Path(path).read_bytes()
    times = {str(reg): median_time(lambda r=reg: ours(body, r), repeat=7) for reg in modes}
    print(json.dumps(times))


def worker_memory(path: str, registers: bool) -> None:
    import shotpack

    shotpack.parse_measurements(b'[{"c_1_0_0": [[1]]}]', registers=registers)  # load + pool
    before = _status("VmRSS")
    body = Path(path).read_bytes()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    result = shotpack.parse_measurements(body, registers=registers)
    peak = _status("VmHWM")
    packed = sum(ba.array.nbytes for d in result for ba in d.values())
    print(json.dumps({"peak": peak - before, "body": len(body), "packed": packed}))


def _subprocess(args: list[str], env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def worker_large(path: str) -> None:
    """Parse and memory-read limit of one large body, alternating, in this process.

    The limit reads the body on as many threads as the parse may use (NumPy's sum releases the
    GIL), so it also shows how much of a second core the machine actually gave this run.
    """
    from concurrent.futures import ThreadPoolExecutor

    threads = int(os.environ.get("SHOTPACK_NUM_THREADS", "1"))
    body = Path(path).read_bytes()
    words = np.frombuffer(body, dtype=np.uint64, count=len(body) // 8)
    parts = np.array_split(words, threads)
    with ThreadPoolExecutor(threads) as pool:

        def read() -> int:
            return sum(pool.map(lambda p: int(p.sum()), parts))

        t_read, t_parse = pair_times(read, lambda: ours(body, False), repeat=7, warmup=1)
    # CPU seconds per wall second while parsing: below the thread count when the machine's
    # other cores were busy (the parse splits the key either way).
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    for _ in range(3):
        ours(body, False)
    busy = (_cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
    print(json.dumps({"read": t_read, "parse": t_parse, "cpus": busy}))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure_large(
    body: bytes, label: str, rows: list[tuple[str, float, float, float | None]], notes: list[str]
) -> None:
    """Rows of one large body on 1 and 2 threads, each beside its read limit."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        f.write(body)
        path = f.name
    try:
        runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
        for threads in (1, 2, 2, 1):
            runs[threads].append(
                _subprocess(
                    ["--worker", "large", "--path", path],
                    {"SHOTPACK_NUM_THREADS": str(threads)},
                )
            )
        gb = len(body) / 1e9
        speeds = {}
        for threads, got in runs.items():
            t_read = statistics.median(r["read"] for r in got)
            t_parse = statistics.median(r["parse"] for r in got)
            cpus = statistics.median(r["cpus"] for r in got)
            speeds[threads] = gb / t_parse
            case = f"{label} {len(body) / 2**20:.0f} MiB, {threads} thread(s): read limit vs parse"
            rows.append((case, t_read, t_parse, None))
            notes.append(
                f"{case}: parse {gb / t_parse:.2f} GB/s using {cpus:.2f} CPUs, NumPy read of the "
                f"body on as many threads {gb / t_read:.2f} GB/s: {t_parse / t_read:.1f}x the limit"
            )
        notes.append(f"{label}: 2 threads {speeds[2] / speeds[1]:.2f}x the speed of 1")
    finally:
        os.unlink(path)


def check_equal(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert list(x) == list(y)
        for k in x:
            assert x[k].num_bits == y[k].num_bits
            np.testing.assert_array_equal(x[k].array, y[k].array)


def measure(
    body: bytes,
    label: str,
    modes: list[bool],
    target_mbs: int,
    anchor_repeat: int,
    rows: list[tuple[str, float, float, float | None]],
    notes: list[str],
) -> None:
    """Adds the side-by-side rows and the one-core / memory notes of one body."""
    mib = len(body) / 2**20
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        f.write(body)
        path = f.name
    try:
        one_core = _subprocess(
            ["--worker", "speed", "--path", path, "--modes", ",".join(str(int(m)) for m in modes)],
            {"SHOTPACK_NUM_THREADS": "1"},
        )
        for registers in modes:
            check_equal(anchor(body, registers), ours(body, registers))
            t_anchor, t_ours = pair_times(
                lambda b=body, r=registers: anchor(b, r),
                lambda b=body, r=registers: ours(b, r),
                repeat=7,
                anchor_repeat=anchor_repeat,
                anchor_warmup=0,
            )
            case = f"{label} {mib:.1f} MiB registers={registers}"
            rows.append((case, t_anchor, t_ours, 100.0))
            t1 = one_core[str(registers)]
            mem = _subprocess(
                ["--worker", "memory", "--path", path, "--registers", str(int(registers))]
            )
            budget = mem["body"] + 2 * mem["packed"]
            notes.append(
                f"{case}: one core {t1 * 1e3:.1f} ms = {len(body) / t1 / 1e6:.0f} MB/s "
                f"(target {target_mbs}); all cores {len(body) / t_ours / 1e6:.0f} MB/s; peak "
                f"{mem['peak'] / 2**20:.1f} MiB vs budget {budget / 2**20:.1f} MiB (body "
                f"{mem['body'] / 2**20:.1f} + 2 x packed {mem['packed'] / 2**20:.2f})"
            )
    finally:
        os.unlink(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument(
        "--multi",
        default="100x100000x2,1x200000x20",
        help="multi-bit bodies as CIRCUITSxSHOTSxWIDTH, comma-separated ('' for none)",
    )
    parser.add_argument(
        "--large",
        default="4000000x20,2000000x64",
        help="one-key bodies as SHOTSxWIDTH, comma-separated ('' for none)",
    )
    parser.add_argument("--anchor-repeat", type=int, default=3)
    parser.add_argument("--worker", choices=["speed", "memory", "large"])
    parser.add_argument("--path")
    parser.add_argument("--registers", type=int, default=0)
    parser.add_argument("--modes", default="0,1")
    parser.add_argument("--case", type=int, help="run only body N (in this process)")
    args = parser.parse_args()
    if args.worker == "speed":
        worker_speed(args.path, [bool(int(m)) for m in args.modes.split(",")])
        return
    if args.worker == "memory":
        worker_memory(args.path, bool(args.registers))
        return
    if args.worker == "large":
        worker_large(args.path)
        return

    # One case per body, each in a fresh process: the body is built there and nowhere else.
    cases: list[tuple[Any, str, list[bool], int]] = []
    for spaced in (False, True):
        layout = "spaced" if spaced else "compact"
        cases.append(
            (
                lambda sp=spaced: make_body(args.shots, args.keys, spaced=sp),
                f"{args.shots}x{args.keys} keys {layout}",
                [False, True],
                500,
            )
        )
    for spec in filter(None, args.multi.split(",")):
        circuits, shots, width = (int(x) for x in spec.split("x"))
        for spaced in (False, True):
            layout = "spaced" if spaced else "compact"
            cases.append(
                (
                    lambda c=circuits, n=shots, w=width, sp=spaced: make_multi_body(
                        c, n, w, spaced=sp
                    ),
                    f"{circuits}x{shots} shots x {width}-bit key {layout}",
                    [False],
                    2000,
                )
            )
    large: list[tuple[Any, str]] = []
    for spec in filter(None, args.large.split(",")):
        shots, width = (int(x) for x in spec.split("x"))
        large.append(
            (
                lambda n=shots, w=width: make_multi_body(1, n, w),
                f"1 key {shots} shots x {width} bits compact",
            )
        )
    num_cases = len(cases) + len(large)
    if args.case is None:
        report(run_cases(__file__, num_cases, sys.argv[1:]))
        return
    if args.case >= num_cases:
        emit_rows([])
        return
    rows: list[tuple[str, float, float, float | None]] = []
    notes: list[str] = []
    if args.case >= len(cases):
        build_large, label = large[args.case - len(cases)]
        measure_large(build_large(), label, rows, notes)
    else:
        build, label, modes, target = cases[args.case]
        measure(build(), label, modes, target, args.anchor_repeat, rows, notes)
    for note in notes:
        print(note)
    emit_rows(rows)


if __name__ == "__main__":
    main()

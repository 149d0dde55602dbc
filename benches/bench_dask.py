"""Dask scale-out measured: Zarr-stored shots reduced to evs and stds of diagonal observables.

The data: ``--shots`` shots (default 2x10^8) of 64 random bits, written to a Zarr v3 store in
shotpack's packed layout (1.6 GB at the default size), and ``--observables`` (default 100)
random Z/I observables on all 64 bits. Three measurements, each in a fresh process:

1. **cluster**: a ``distributed.LocalCluster`` of 2 worker processes (1 thread each, each
   limited to ``--worker-memory``, default 1 GiB, so no worker can hold the data) computes
   ``shotpack.dask.evaluate_estimator`` on ``shotpack.dask.open_zarr(store)`` at the default
   chunk size, alternating with **in memory**: the same store read into one BitArray
   beforehand and ``shotpack.expval.evaluate.evaluate_estimator`` in one native call (all
   cores), and with the same exact tallies the Dask path computes per chunk, in one call on
   the whole array. Overhead = cluster / in-memory - 1 (goal: under 15%), against both.
2. **threads**: the threaded scheduler with 2 threads against 1 thread, alternating; every
   task runs the native kernels on its own thread (``kernels_on_calling_thread``), so Dask's
   threads are the only parallelism and 1 thread is one core (goal: at least 1.6x).

Every time is a median of ``--repeat`` (>= 5) alternating runs; both sides' results are
checked equal (to rounding) before timing. The CPU and load are printed: other processes on
the machine slow both sides.

Run: ``python benches/bench_dask.py [--shots N] [--path DIR] [--keep]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import MIN_RUNS, cpu_name, load_average

NUM_BITS = 64


def observables(count: int, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    labels = set()
    while len(labels) < count:
        labels.add("".join(rng.choice(["I", "Z"], NUM_BITS)))
    out = sorted(labels)
    # Every qubit measured, so the plan's one group is all 64 bits in order.
    out[0] = "Z" * NUM_BITS
    return out


def write_store(path: Path, shots: int, chunk_shots: int) -> None:
    """Random packed shots written chunk by chunk (never the whole array in memory)."""
    import zarr

    from shotpack.io import _root_attrs, bit_array_chunks

    rng = np.random.default_rng(2024)
    root = zarr.open_group(path, mode="w")
    nbytes = NUM_BITS // 8
    z = root.create_array(
        "bits",
        shape=(shots, nbytes),
        chunks=bit_array_chunks((), shots, nbytes, chunk_shots),
        dtype=np.uint8,
        compressors=None,
        fill_value=0,
    )
    step = chunk_shots * 16
    for a in range(0, shots, step):
        n = min(step, shots - a)
        z[a : a + n] = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    z.attrs.update({"shotpack": {"kind": "bitarray", "num_bits": NUM_BITS}})
    root.attrs.update({"shotpack": _root_attrs("bitarray", {"bench": "bench_dask"})})


def _busy_jiffies() -> int:
    """Busy CPU time of the whole machine so far, in clock ticks (0 where /proc is missing)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0
    return sum(fields) - fields[3] - fields[4]  # all but idle and iowait


def cpu_use(fn) -> tuple[float, float]:
    """Runs ``fn`` once: (cores this process used, cores everything else used) on average."""
    tick = os.sysconf("SC_CLK_TCK")
    t0, b0, c0 = time.perf_counter(), _busy_jiffies(), os.times()
    fn()
    t1, b1, c1 = time.perf_counter(), _busy_jiffies(), os.times()
    wall = t1 - t0
    own = (c1.user - c0.user) + (c1.system - c0.system)
    return own / wall, max(0.0, (b1 - b0) / tick - own) / wall


def alternate(*fns, repeat: int) -> list[list[float]]:
    """Runs ``fns`` in rotating order, ``repeat`` rounds; the times of each."""
    times: list[list[float]] = [[] for _ in fns]
    for i in range(repeat):
        for k in range(len(fns)):
            j = (i + k) % len(fns)
            t0 = time.perf_counter()
            fns[j]()
            times[j].append(time.perf_counter() - t0)
    return times


def check_close(x, y, what: str) -> None:
    for name in ("evs", "stds"):
        np.testing.assert_allclose(getattr(x, name), getattr(y, name), rtol=1e-9, atol=1e-12)
    print(f"  {what}: results agree", flush=True)


def case_cluster(args) -> dict:
    import distributed

    from shotpack.dask import evaluate_estimator as dask_evaluate
    from shotpack.dask import open_zarr
    from shotpack.expval.evaluate import evaluate_estimator
    from shotpack.expval.plan import plan_measurements
    from shotpack.io import open_zarr as load
    from shotpack.stats import EstimatorTallies

    plan = plan_measurements(observables(args.observables))
    assert plan.num_groups == 1 and plan.groups[0].num_bits == NUM_BITS
    t0 = time.perf_counter()
    in_memory = load(args.path)
    t_load = time.perf_counter() - t0
    # Every per-chunk task keeps the native kernels on its own thread
    # (shotpack.stats.kernels_on_calling_thread), so the 2 worker processes are the parallelism;
    # the in-memory call in this process uses every core.
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit=args.worker_memory,
    )
    client = distributed.Client(cluster)
    try:
        lazy = open_zarr(args.path)
        chunks = len(lazy.chunk_shots)

        def mem():
            return evaluate_estimator(plan, [in_memory])

        def tallies():
            # The per-chunk kernel of the Dask path, in one call on the whole array.
            return EstimatorTallies.from_groups(plan, [in_memory]).finalize()

        def dsk():
            return dask_evaluate(plan, [lazy], scheduler=client)

        check_close(mem(), dsk(), "cluster vs in memory")
        check_close(tallies(), dsk(), "cluster vs in-memory tallies")
        t_mem, t_tal, t_dask = alternate(mem, tallies, dsk, repeat=args.repeat)
        peaks = client.run(lambda dask_worker: dask_worker.monitor.range_query(start=0)["memory"])
        peak = max(max(v) if v else 0 for v in peaks.values())
    finally:
        client.close()
        cluster.close()
    return {
        "in_memory": statistics.median(t_mem),
        "in_memory_tallies": statistics.median(t_tal),
        "cluster": statistics.median(t_dask),
        "load_s": t_load,
        "chunks": chunks,
        "worker_peak_bytes": peak,
    }


def case_threads(args) -> dict:
    from shotpack.dask import evaluate_estimator as dask_evaluate
    from shotpack.dask import open_zarr
    from shotpack.expval.plan import plan_measurements

    plan = plan_measurements(observables(args.observables))
    lazy = open_zarr(args.path)

    def one():
        return dask_evaluate(plan, [lazy], scheduler="threads", num_workers=1)

    def two():
        return dask_evaluate(plan, [lazy], scheduler="threads", num_workers=2)

    check_close(one(), two(), "1 thread vs 2 threads")
    t1, t2 = alternate(one, two, repeat=args.repeat)
    # How many cores each run got, and how many other processes took meanwhile.
    own1, others1 = cpu_use(one)
    own2, others2 = cpu_use(two)
    return {
        "one_thread": statistics.median(t1),
        "two_threads": statistics.median(t2),
        "one_thread_own_cores": own1,
        "one_thread_other_cores": others1,
        "two_threads_own_cores": own2,
        "two_threads_other_cores": others2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=200_000_000)
    parser.add_argument("--observables", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=MIN_RUNS)
    parser.add_argument("--worker-memory", default="1GiB")
    parser.add_argument("--path", help="Zarr store to use (written unless it exists)")
    parser.add_argument("--keep", action="store_true", help="keep the store afterwards")
    parser.add_argument("--case", choices=["cluster", "threads"])
    args = parser.parse_args()
    args.repeat = max(MIN_RUNS, args.repeat)
    if args.case:
        result = case_cluster(args) if args.case == "cluster" else case_threads(args)
        print("@@result " + json.dumps(result), flush=True)
        return

    from shotpack.io import DEFAULT_CHUNK_SHOTS

    print(f"CPU: {cpu_name()}; load average at start: {load_average()}", flush=True)
    tmp = None
    if args.path is None:
        tmp = tempfile.mkdtemp(prefix="shotpack-bench-dask-")
        args.path = str(Path(tmp) / "shots.zarr")
    try:
        if not Path(args.path).exists():
            t0 = time.perf_counter()
            write_store(Path(args.path), args.shots, DEFAULT_CHUNK_SHOTS)
            gb = args.shots * NUM_BITS / 8 / 1e9
            print(f"wrote {args.shots:.3g} shots x 64 bits = {gb:.2f} GB of Zarr in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
        import zarr

        args.shots = int(zarr.open_group(args.path, mode="r")["bits"].shape[0])
        results = {}
        for case in ("cluster", "threads"):
            argv = [sys.executable, __file__, "--case", case, "--path", args.path]
            argv += ["--observables", str(args.observables), "--repeat", str(args.repeat)]
            argv += ["--worker-memory", args.worker_memory]
            proc = subprocess.run(argv, capture_output=True, text=True, check=False)
            for line in proc.stdout.splitlines():
                if line.startswith("@@result "):
                    results[case] = json.loads(line[len("@@result ") :])
                elif line.strip():
                    print(line, flush=True)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr[-4000:])
                raise SystemExit(f"case {case} failed")
        c, t = results["cluster"], results["threads"]
        overhead = c["cluster"] / c["in_memory"] - 1
        overhead_same = c["cluster"] / c["in_memory_tallies"] - 1
        speedup = t["one_thread"] / t["two_threads"]
        print(f"\n{args.shots:.3g} shots x 64 bits, {args.observables} observables, chunks of "
              f"{DEFAULT_CHUNK_SHOTS} shots ({c['chunks']} chunks); medians of {args.repeat} "
              f"alternating runs; load average now {load_average()}")  # fmt: skip
        print(f"{'in memory, one call (all cores)':<52} {c['in_memory']:>9.3f} s "
              f"(reading the store into memory first took {c['load_s']:.1f} s)")  # fmt: skip
        print(f"{'in memory, one call of the same tallies (all cores)':<52} "
              f"{c['in_memory_tallies']:>9.3f} s")  # fmt: skip
        print(f"{'cluster: 2 workers x 1 thread, ' + args.worker_memory + ' each':<52} "
              f"{c['cluster']:>9.3f} s  overhead {overhead * 100:+.1f}% (goal < 15%), "
              f"{overhead_same * 100:+.1f}% against the same tallies in memory; "
              f"worker peak memory {c['worker_peak_bytes'] / 2**20:.0f} MiB")  # fmt: skip
        print(f"{'threaded scheduler, 1 thread':<52} {t['one_thread']:>9.3f} s")
        print(f"{'threaded scheduler, 2 threads':<52} {t['two_threads']:>9.3f} s  "
              f"speed-up {speedup:.2f}x (goal >= 1.6x)")  # fmt: skip
        for name, key in (("1-thread", "one_thread"), ("2-thread", "two_threads")):
            print(f"  during a {name} run this process used {t[key + '_own_cores']:.2f} "
                  f"cores and other processes {t[key + '_other_cores']:.2f} of the "
                  f"{os.cpu_count()}")  # fmt: skip
    finally:
        if tmp is not None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

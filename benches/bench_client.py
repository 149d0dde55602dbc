"""IQM client benchmarks, side by side with iqm-client 36 in one run.

1. A completed job of 200k shots x 20 single-bit Qiskit keys -> Qiskit counts and memory.
   Anchor: iqm-client's adapter path, ``TypeAdapter(...).validate_json`` on the body (what
   ``get_artifact_measurements`` does) then ``IQMJob._iqm_format_results``. shotpack: the body
   parsed in Rust into packed registers, then memory and counts formatted in Rust.
   Target: at least 20x.
2. Polling: a job that finishes while the client waits is noticed within 10% of its run time
   or 100 ms (iqm-client polls every 1 s). Measured against the local server with a job delay.

Run: ``python benches/bench_client.py`` (each part in a fresh process; ``--case N`` runs part N
alone; anchor and shotpack runs alternate).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import types
from collections import Counter

import numpy as np

from _timing import emit_rows, pair_times, report, run_cases
from shotpack.iqm.models import Circuit, Instruction
from shotpack.iqm.result import ExperimentResult
from shotpack.measurements.registers import register_bins as _register_bins


def _iqm_job_class():
    import iqm

    try:
        importlib.import_module("iqm.qiskit_iqm")
    except ImportError:  # the package __init__ needs qiskit_aer; load the job module alone
        stub = types.ModuleType("iqm.qiskit_iqm")
        stub.__path__ = [os.path.join(next(iter(iqm.__path__)), "qiskit_iqm")]
        sys.modules["iqm.qiskit_iqm"] = stub
    return importlib.import_module("iqm.qiskit_iqm.iqm_job").IQMJob


def bench_formatting(shots: int = 200_000, keys: int = 20) -> tuple[float, float]:
    from iqm.pulse import Circuit as PulseCircuit
    from pydantic import TypeAdapter

    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, (keys, shots, 1))
    names = [f"c_{keys}_0_{k}" for k in range(keys)]
    body = json.dumps([{n: bits[k].tolist() for k, n in enumerate(names)}]).encode()
    IQMJob = _iqm_job_class()
    adapter = TypeAdapter(list[dict[str, list[list[int]]]])
    circuits = [PulseCircuit(name="c", instructions=())]

    def anchor():
        batch = adapter.validate_json(body)
        return IQMJob._iqm_format_results(batch, circuits, shots, True)

    def ours():
        [bins] = _register_bins(body)
        exp = ExperimentResult(name="c", shots=shots, registers=list(bins.items()))
        return exp.memory(), exp.counts()

    # Same answer before timing.
    [(_, want_mem, want_counts)] = anchor()
    mem, counts = ours()
    assert mem == want_mem, "memory differs from iqm-client"
    assert list(counts.items()) == list(Counter(want_mem).items())
    assert dict(counts) == dict(want_counts)
    return pair_times(anchor, ours, repeat=7, anchor_repeat=5)


def bench_polling(run_times: tuple[float, ...] = (0.3, 1.0, 2.5)) -> list[tuple[str, float, float]]:
    """For each job run time: how late completion is noticed (seconds), measured from the job's
    own completion timestamp on the server, and the allowed lateness."""
    from shotpack.iqm.backend import IQMBackend
    from shotpack.iqm.client import IQMClient
    from shotpack.server.local import LocalServer

    rows = []
    circuit = Circuit(
        name="p", instructions=[Instruction(name="measure", locus=("QB1",), args={"key": "m"})]
    )
    for run_time in run_times:
        lates = []
        with LocalServer(qubits=2, job_delay=run_time) as srv:
            backend = IQMBackend(IQMClient(srv.url))
            for _ in range(3):
                job = backend.run(circuit, shots=10)
                job.wait_for_final_state(progress=False)
                noticed = time.time()
                data = job._data
                assert data is not None
                done = [e.timestamp for e in data.timeline if e.status == "completed"]
                finished = done[-1].timestamp() if done else noticed
                lates.append(noticed - finished)
        allowed = max(0.1, 0.1 * run_time)
        rows.append(
            (
                f"poll: job of {run_time:.1f}s, completion noticed late by",
                float(np.median(lates)),
                allowed,
            )
        )
    return rows


FORMATTING = "200k shots x 20 keys -> Qiskit memory + counts (iqm-client adapter)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", type=int, help="run only part N (0: formatting, 1: polling)")
    args = parser.parse_args()
    if args.case is None:
        report(run_cases(__file__, 2, sys.argv[1:]))
        return
    if args.case == 0:
        t_anchor, t_ours = bench_formatting()
        emit_rows([(FORMATTING, t_anchor, t_ours, 20)])
        return
    if args.case != 1:
        emit_rows([])
        return
    # Polling is not a side-by-side timing: its own table, printed by this process.
    print()
    print(f"{'polling':<64} {'late':>10} {'allowed':>10}")
    for case, late, allowed in bench_polling():
        flag = "" if late <= allowed else "  (above target)"
        print(f"{case:<64} {late * 1000:>8.0f}ms {allowed * 1000:>8.0f}ms{flag}")
    print("(iqm-client polls every 1 s: up to 1000 ms late)")
    emit_rows([])


if __name__ == "__main__":
    main()

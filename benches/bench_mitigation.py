"""Readout mitigation: shotpack side by side with mthree, and TREX's post-processing cost.

    python benches/bench_mitigation.py [--runs 5] [--mthree-python PATH]

1. Mitigating counts of 1M shots of 20 bits with >= 10^4 distinct outcomes (all outcomes
   coupled, M3's default), shotpack vs mthree on the same counts and calibration. Each run is
   a fresh process (shotpack and mthree alternating); the medians of ``--runs`` runs are
   reported with the largest difference of the quasi-probabilities. mthree computes in float32
   (tolerance 1e-6, its GMRES with Jacobi preconditioning); shotpack in float64 (1e-8).

   mthree 3.x pulls in qiskit-ibm-runtime, whose pydantic (>= 2.13) conflicts with
   iqm-client 36 (< 2.13), so it usually lives in a separate virtualenv: give its interpreter
   with ``--mthree-python`` (default: ``$MTHREE_PYTHON``, else this interpreter).
2. TREX's added cost in the Estimator's post-processing: ``evaluate_estimator`` on twirled
   data against ``evaluate_mitigated`` on the same data plus the calibration's, medians.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
N_BITS = 20
SHOTS = 1_000_000

WORKER = r"""
import json, sys, time
import numpy as np
kind, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
with open(path) as fh:
    data = json.load(fh)
counts, p01, p10 = data["counts"], np.array(data["p01"]), np.array(data["p10"])
n = len(p01)
if kind == "shotpack":
    from shotpack.mitigation import ReadoutCalibration
    cal = ReadoutCalibration.from_errors([f"q{i}" for i in range(n)], p01, p10)
    t0 = time.perf_counter()
    quasi = cal.apply(counts, tol=1e-8)
    elapsed = time.perf_counter() - t0
    values = dict(quasi.items())
else:
    import mthree
    mit = mthree.M3Mitigation()
    mit.cals_from_matrices([np.array([[1 - a, b], [a, 1 - b]]) for a, b in zip(p01, p10)])
    t0 = time.perf_counter()
    quasi = mit.apply_correction(counts, list(range(n)), distance=n, method="iterative",
                                 tol=1e-6, max_iter=100)
    elapsed = time.perf_counter() - t0
    values = {k: float(v) for k, v in quasi.items()}
with open(out, "w") as fh:
    json.dump({"seconds": elapsed, "values": values}, fh)
"""


def make_counts(rng: np.random.Generator) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """1M noisy shots of a state spread over 40 random 20-bit strings."""
    p01 = rng.uniform(0.005, 0.03, N_BITS)
    p10 = rng.uniform(0.02, 0.06, N_BITS)
    true = rng.integers(0, 2, (40, N_BITS), dtype=np.uint8)
    which = rng.integers(0, len(true), SHOTS)
    bits = true[which]
    u = rng.random((SHOTS, N_BITS))
    flip = np.where(bits == 1, u < p10, u < p01)
    bits ^= flip.astype(np.uint8)
    # Bit 0 rightmost, as in Qiskit counts.
    keys, counts = np.unique(bits[:, ::-1], axis=0, return_counts=True)
    strings = ["".join(map(str, row)) for row in keys.tolist()]
    return dict(zip(strings, counts.tolist(), strict=True)), p01, p10


def run_one(python: str, kind: str, data_path: str, env: dict[str, str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    subprocess.run([python, "-c", WORKER, kind, data_path, out], check=True, env=env)
    with open(out) as fh:
        result = json.load(fh)
    os.unlink(out)
    return result


def bench_m3(runs: int, mthree_python: str) -> None:
    rng = np.random.default_rng(7)
    counts, p01, p10 = make_counts(rng)
    print(f"1. mitigation: {SHOTS} shots x {N_BITS} bits, {len(counts)} distinct outcomes")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"counts": counts, "p01": p01.tolist(), "p10": p10.tolist()}, fh)
        data_path = fh.name
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "python") + os.pathsep + env.get("PYTHONPATH", "")
    times: dict[str, list[float]] = {"shotpack": [], "mthree": []}
    values: dict[str, dict[str, float]] = {}
    for _ in range(runs):
        for kind, python in (("shotpack", sys.executable), ("mthree", mthree_python)):
            r = run_one(python, kind, data_path, env)
            times[kind].append(r["seconds"])
            values[kind] = r["values"]
    os.unlink(data_path)
    diff = max(abs(values["shotpack"][k] - values["mthree"][k]) for k in values["shotpack"])
    ms, mm = np.median(times["shotpack"]), np.median(times["mthree"])
    print(f"   shotpack median {ms:.3f} s  {np.round(times['shotpack'], 3).tolist()}")
    print(f"   mthree   median {mm:.3f} s  {np.round(times['mthree'], 3).tolist()}")
    print(f"   speedup {mm / ms:.1f}x (goal >= 5x); max |difference| {diff:.2e} (goal <= 1e-6)")


def _trex_case(
    rng: np.random.Generator,
    observables: list[dict[str, float]],
    num_sets: int,
    n: int,
    num_rand: int,
    shots: int,
) -> tuple[float, float, str]:
    """Median seconds of the twirled evaluation without and with TREX, and a description."""
    from shotpack.containers.bit_array import BitArray
    from shotpack.containers.estimator_pub import EstimatorPub
    from shotpack.expval.evaluate import evaluate_estimator
    from shotpack.expval.plan import plan_measurements
    from shotpack.mitigation.trex import TrexCalibration, evaluate_mitigated

    class _Circuit:
        num_qubits = n
        parameters: tuple[object, ...] = ()

    values = np.zeros((num_sets, 0))
    pub = EstimatorPub.coerce((_Circuit(), [[o] for o in observables], values), 0.01)
    plan = plan_measurements(pub)
    qubits = [f"QB{i + 1}" for i in range(n)]
    data, flips, loci = [], [], []
    for g in plan.groups:
        nb = (g.num_bits + 7) // 8
        arr = rng.integers(0, 256, (num_rand, shots, nb), dtype=np.uint8)
        if g.num_bits % 8:
            arr[..., 0] &= (1 << (g.num_bits % 8)) - 1
        data.append(BitArray(arr, g.num_bits))
        flip = rng.integers(0, 2, (num_rand, g.num_bits), dtype=np.uint8)
        flips.append(BitArray.from_bool_array(flip, order="little").array)
        loci.append(tuple(qubits[q] for q in g.qubits))
    cal_flip = rng.integers(0, 2, (num_rand, n), dtype=np.uint8)
    cal_rows = BitArray.from_bool_array(cal_flip, order="little").array
    # Calibration data that reads the flips back with 3% errors.
    readout = cal_flip[:, None, :].astype(bool) ^ (rng.random((num_rand, shots, n)) < 0.03)
    cal_bits = BitArray.from_bool_array(readout, order="little").array

    def median(fn) -> float:
        out = []
        for _ in range(7):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return float(np.median(out))

    def mitigated() -> None:
        cal = TrexCalibration(tuple(qubits), BitArray(cal_bits, n), cal_rows)
        evaluate_mitigated(plan, data, flips, loci, cal)

    base = median(lambda: evaluate_estimator(plan, data, flips))
    trex = median(mitigated)
    terms = sum(len(g.terms) for g in plan.groups)
    what = (
        f"{len(observables)} observables x {num_sets} parameter sets, {terms} terms in "
        f"{len(plan.groups)} groups x {num_rand} randomizations x {shots} shots, {n} qubits"
    )
    return base, trex, what


def bench_trex() -> None:
    rng = np.random.default_rng(3)
    print("2. TREX's added post-processing (goal < 10%), medians of 7:")
    seed_like = [{"XX": 0.5, "IY": 0.5}, {"XX": 1.0}, {"IY": 1.0}]
    n = 10
    many = [{"".join(rng.choice(list("IXYZ"), n)): 1.0} for _ in range(60)]
    for observables, num_sets, qubits in ((seed_like, 100, 2), (many, 1, n)):
        base, trex, what = _trex_case(rng, observables, num_sets, qubits, 32, 4096)
        print(f"   {what}:")
        print(
            f"     twirled evaluation {base * 1e3:.1f} ms; with TREX {trex * 1e3:.1f} ms "
            f"(+{(trex / base - 1) * 100:.0f}%)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mthree-python", default=os.environ.get("MTHREE_PYTHON", sys.executable))
    parser.add_argument("--skip-m3", action="store_true")
    args = parser.parse_args()
    if not args.skip_m3:
        bench_m3(args.runs, args.mthree_python)
    bench_trex()


if __name__ == "__main__":
    main()

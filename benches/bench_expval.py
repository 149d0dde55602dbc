"""Expectation values and Estimator post-processing: shotpack side by side with the anchors.

Run with the release build (``pip install --no-build-isolation -e .``):

    python benches/bench_expval.py            # all cases, each in a fresh process
    python benches/bench_expval.py --case 2   # one case, in this process
    python benches/bench_expval.py --qiskit-1m  # also time Qiskit on 1M shots (about 30 s a run)

Cases (targets from shotpack issue 3):
1. ``expectation_values``, 20 Z/I terms, 100k shots x 20 bits: Qiskit's BitArray (>= 200x).
2. 100 Z/I terms, 1M shots x 20 bits: a hand-vectorised NumPy reference (>= 5x).
3. Estimator evaluation, 100k shots x 100 Pauli terms over 4 groups: BackendEstimatorV2's
   post-processing (its parity loop over counts) on the same measured data (>= 300x).
4. Per-call overhead (issue 13): ``expectation_values`` at 1 shot and with 1,000 terms on 10^3
   shots, beside the limit measured in the same run (the native kernel called on tables built
   beforehand), and beside Qiskit at 1 shot. Observables are compiled once and cached.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from qiskit.primitives import BackendEstimatorV2
from qiskit.primitives import BitArray as QBitArray
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.quantum_info import PauliList

sys.path.insert(0, str(Path(__file__).parent))
from _timing import emit_rows, median_time, pair_times, report, run_cases
from shotpack import _native
from shotpack.containers.bit_array import BitArray
from shotpack.expval.diagonal import bitarray_expectation_values, compiled_observables
from shotpack.expval.evaluate import evaluate_estimator
from shotpack.expval.plan import plan_measurements

RNG = np.random.default_rng(1234)


def random_bits(shots: int, num_bits: int) -> np.ndarray:
    nbytes = (num_bits + 7) // 8
    arr = RNG.integers(0, 256, (shots, nbytes), dtype=np.uint8)
    if num_bits % 8:
        arr[:, 0] &= (1 << (num_bits % 8)) - 1
    return arr


def zi_labels(count: int, n: int) -> list[str]:
    out = []
    while len(out) < count:
        label = "".join(RNG.choice(["I", "Z"], n))
        if "Z" in label:
            out.append(label)
    return out


def numpy_reference(arr: np.ndarray, labels: list[str]) -> np.ndarray:
    """Packed bytes -> one uint32 per shot, then popcount parity per mask."""
    padded = np.zeros((arr.shape[0], 4), dtype=np.uint8)
    padded[:, 4 - arr.shape[1] :] = arr
    words = padded.view(">u4").reshape(-1).astype(np.uint32)
    out = np.empty(len(labels))
    for i, label in enumerate(labels):
        mask = np.uint32(int(label.replace("I", "0").replace("Z", "1"), 2))
        parity = np.bitwise_count(words & mask) & 1
        out[i] = 1.0 - 2.0 * parity.mean()
    return out


def case_expval_vs_qiskit() -> tuple[str, float, float, float]:
    arr = random_bits(100_000, 20)
    labels = zi_labels(20, 20)
    ours, theirs = BitArray(arr, 20), QBitArray(arr, 20)
    np.testing.assert_allclose(
        bitarray_expectation_values(ours, labels), theirs.expectation_values(labels), atol=1e-12
    )
    t_q, t_s = pair_times(
        lambda: theirs.expectation_values(labels),
        lambda: bitarray_expectation_values(ours, labels),
        repeat=15,
        anchor_repeat=5,
    )
    return ("expectation_values 20 Z/I terms, 100k x 20 bits vs Qiskit", t_q, t_s, 200)


def case_expval_vs_numpy(with_qiskit: bool) -> list[tuple[str, float, float, float | None]]:
    arr = random_bits(1_000_000, 20)
    labels = zi_labels(100, 20)
    ours = BitArray(arr, 20)
    ref = numpy_reference(arr, labels)
    np.testing.assert_allclose(bitarray_expectation_values(ours, labels), ref, atol=1e-12)
    t_np, t_s = pair_times(
        lambda: numpy_reference(arr, labels),
        lambda: bitarray_expectation_values(ours, labels),
        repeat=9,
        anchor_repeat=5,
    )
    rows: list[tuple[str, float, float, float | None]] = [
        ("expectation_values 100 Z/I terms, 1M x 20 bits vs NumPy ref", t_np, t_s, 5)
    ]
    if with_qiskit:
        q = QBitArray(arr, 20)
        t_q = median_time(lambda: q.expectation_values(labels), repeat=1, warmup=0)
        rows.append(("  (NumPy ref vs Qiskit on the same case)", t_q, t_np, None))
    return rows


def estimator_observable(n: int = 20) -> dict[str, float]:
    """100 Pauli terms in 4 bases (Z..., X..., Y..., and alternating X/Z), heavy supports so
    that no term fits another basis's group."""
    bases = ["Z" * n, "X" * n, "Y" * n, ("XZ" * n)[:n]]
    terms: dict[str, float] = {}
    for basis in bases:
        count = 0
        while count < 25:
            keep = RNG.random(n) < 0.8
            label = "".join(b if k else "I" for b, k in zip(basis, keep, strict=True))
            if label not in terms:
                terms[label] = float(RNG.normal())
                count += 1
    return terms


def case_estimator() -> tuple[str, float, float, float]:
    obs = estimator_observable()
    plan = plan_measurements(obs)
    assert plan.num_groups == 4, plan.num_groups
    shots = 100_000
    ours, counts, metadata = [], [], []
    for g in plan.groups:
        arr = random_bits(shots, g.num_bits)
        ours.append(BitArray(arr, g.num_bits))
        counts.append(QBitArray(arr, g.num_bits).get_counts())
        paulis = PauliList(list(g.terms))
        cols = np.asarray(g.qubits)
        meas = PauliList.from_symplectic(paulis.z[:, cols], paulis.x[:, cols], paulis.phase)
        metadata.append({"orig_paulis": paulis, "meas_paulis": meas, "param_index": ()})
    est = BackendEstimatorV2(backend=BasicSimulator())
    expval_map = est._calc_expval_map(counts, metadata)
    # Same evs as Qiskit's per-term expectations combined with the coefficients.
    qiskit_ev = sum(c * expval_map[(), label][0] for label, c in obs.items())
    assert abs(float(evaluate_estimator(plan, ours).evs) - qiskit_ev) < 1e-9
    t_q, t_s = pair_times(
        lambda: est._calc_expval_map(counts, metadata),
        lambda: evaluate_estimator(plan, ours),
        repeat=15,
        anchor_repeat=5,
        anchor_warmup=0,
    )
    return (
        "Estimator evaluation 100k shots x 100 terms / 4 groups vs BackendEstimatorV2",
        t_q,
        t_s,
        300,
    )


def _kernel_only(ba: BitArray, labels: list[str]) -> object:
    """The native kernel on prebuilt tables: the floor the public call's overhead sits on."""
    c = compiled_observables(labels, ba.num_bits)
    _, cell, obs = c.outputs(ba.shape)
    args = (ba.array, ba.size, ba.num_shots, ba.num_bits, c.pauli, c.proj, c.value)
    tables = (c.ptr, c.entries, c.coeffs, cell, obs)
    return lambda: _native.expectation_values(*args, *tables)


def _per_call(fn: object, number: int) -> object:
    return lambda: [fn() for _ in range(number)]  # type: ignore[operator]


def case_overhead() -> list[tuple[str, float, float, float | None]]:
    one = BitArray(random_bits(1, 20), 20)
    label = ["".join(RNG.choice(["I", "Z"], 20))]
    q_one = QBitArray(one.array, 20)
    np.testing.assert_allclose(one.expectation_values(label), q_one.expectation_values(label))
    reps = 1000  # rows report the time of 1,000 calls: the table prints seconds
    t_k, t_s = pair_times(
        _per_call(_kernel_only(one, label), reps),
        _per_call(lambda: one.expectation_values(label), reps),
        repeat=9,
    )
    t_q, t_s2 = pair_times(
        _per_call(lambda: q_one.expectation_values(label), reps),
        _per_call(lambda: one.expectation_values(label), reps),
        repeat=5,
    )
    many = BitArray(random_bits(1000, 20), 20)
    labels = zi_labels(1000, 20)
    np.testing.assert_allclose(
        many.expectation_values(labels), numpy_reference(many.array, labels), atol=1e-12
    )
    t_km, t_sm = pair_times(
        _per_call(_kernel_only(many, labels), 10),
        _per_call(lambda: many.expectation_values(labels), 10),
        repeat=9,
    )
    return [
        ("expectation_values 1 shot x 1,000 calls vs kernel-only limit", t_k, t_s, None),
        ("expectation_values 1 shot x 1,000 calls vs Qiskit", t_q, t_s2, None),
        ("expectation_values 1,000 terms, 10^3 shots x 10 calls vs kernel", t_km, t_sm, None),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qiskit-1m", action="store_true", help="also time Qiskit on 1M shots")
    parser.add_argument("--case", type=int, help="run only case N (0-3) in this process")
    args = parser.parse_args()
    if args.case is None:
        # Each case in a fresh process.
        report(run_cases(__file__, 4, sys.argv[1:]))
        return
    if args.case == 0:
        emit_rows([case_expval_vs_qiskit()])
    elif args.case == 1:
        emit_rows(case_expval_vs_numpy(args.qiskit_1m))
    elif args.case == 2:
        emit_rows([case_estimator()])
    elif args.case == 3:
        emit_rows(case_overhead())
    else:
        emit_rows([])


if __name__ == "__main__":
    main()

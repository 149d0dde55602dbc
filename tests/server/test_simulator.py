"""The statevector simulator against an independent exact calculation (Qiskit's Statevector).

The reference enumerates every measurement branch exactly with Qiskit (projectors, readout
error, classically controlled rotations) and gives the exact joint distribution of all reported
bits; the simulator's sampled frequencies must agree within 5 standard deviations per outcome,
and outcomes of probability zero must never occur.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qiskit.circuit.library import CZGate, RGate, RZGate, SXGate, UGate
from qiskit.quantum_info import Operator, Statevector

from shotpack.server.simulator import (
    NativeOp,
    SimulationCancelled,
    SimulationError,
    _Branches,
    _collect,
    prx_matrix,
    simulate_circuit,
)

PI = math.pi


def prx(q: str, angle: float, phase: float) -> NativeOp:
    return NativeOp("prx", (q,), {"angle": angle, "phase": phase})


def measure(key: str, *qs: str, feedback_key: str | None = None) -> NativeOp:
    args: dict[str, object] = {"key": key}
    if feedback_key is not None:
        args["feedback_key"] = feedback_key
    return NativeOp("measure", tuple(qs), args)


def cc_prx(q: str, angle: float, phase: float, fb_key: str, fb_qubit: str) -> NativeOp:
    args = {"angle": angle, "phase": phase, "feedback_key": fb_key, "feedback_qubit": fb_qubit}
    return NativeOp("cc_prx", (q,), args)


# --- the independent reference ----------------------------------------------------------------


def _gate(op: NativeOp):
    a = op.args
    if op.name in ("prx", "cc_prx"):
        return RGate(float(a["angle"]), float(a["phase"]))
    if op.name == "rz":
        return RZGate(float(a["angle"]))
    if op.name == "sx":
        return SXGate()
    if op.name == "u":
        return UGate(float(a["theta"]), float(a["phi"]), float(a["lam"]))
    if op.name == "cz":
        return CZGate()
    raise AssertionError(op.name)


def exact_distribution(
    ops: list[NativeOp], readout_error: dict[str, float] | None = None
) -> tuple[list[str], dict[str, float]]:
    """Exact joint distribution of the reported bits, by enumerating every branch with Qiskit.

    Returns:
        ``(keys, {bitstring: probability})`` with the bitstring the keys' bits concatenated in
        instruction order, each key in locus order.
    """
    readout_error = readout_error or {}
    names: list[str] = []
    for op in ops:
        if op.name not in ("barrier", "delay"):
            for q in op.locus:
                if q not in names:
                    names.append(q)
    idx = {q: i for i, q in enumerate(names)}
    n = max(len(names), 1)
    keys = [str(op.args["key"]) for op in ops if op.name == "measure"]
    out: Counter[str] = Counter()
    proj = [Operator(np.diag([1.0, 0.0])), Operator(np.diag([0.0, 1.0]))]
    flip = Operator(np.array([[0, 1], [1, 0]]))

    def walk(i: int, state: Statevector, p: float, record: dict, feedback: dict) -> None:
        if p < 1e-15:
            return
        if i == len(ops):
            out["".join("".join(map(str, record[k])) for k in keys)] += p
            return
        op = ops[i]
        if op.name in ("barrier", "delay"):
            walk(i + 1, state, p, record, feedback)
        elif op.name == "cc_prx":
            fired = feedback[(op.args["feedback_key"], op.args["feedback_qubit"])] == 1
            nxt = state.evolve(_gate(op), [idx[op.locus[0]]]) if fired else state
            walk(i + 1, nxt, p, record, feedback)
        elif op.name in ("measure", "reset"):
            # Measure the locus qubits one after another, branching on every outcome.
            def branch(j: int, st_: Statevector, pj: float, bits: list[int]) -> None:
                if j == len(op.locus):
                    rec, fb = dict(record), dict(feedback)
                    if op.name == "measure":
                        rec[op.args["key"]] = bits
                        for q, b in zip(op.locus, bits, strict=True):
                            if "feedback_key" in op.args:
                                fb[(op.args["feedback_key"], q)] = b
                    walk(i + 1, st_, pj, rec, fb)
                    return
                q = idx[op.locus[j]]
                e = readout_error.get(op.locus[j], 0.0) if op.name == "measure" else 0.0
                for t in (0, 1):
                    projected = st_.evolve(proj[t], [q])
                    pt = float(np.real(projected.inner(projected)))
                    if pt < 1e-15:
                        continue
                    collapsed = Statevector(projected.data / math.sqrt(pt))
                    if op.name == "reset":
                        after = collapsed.evolve(flip, [q]) if t else collapsed
                        branch(j + 1, after, pj * pt, bits)
                        continue
                    for r in (0, 1):
                        pr = (1 - e) if r == t else e
                        if pr > 0:
                            branch(j + 1, collapsed, pj * pt * pr, [*bits, r])

            branch(0, state, p, [])
        else:
            walk(i + 1, state.evolve(_gate(op), [idx[q] for q in op.locus]), p, record, feedback)

    walk(0, Statevector.from_label("0" * n), 1.0, {}, {})
    return keys, dict(out)


def sampled_counts(ops: list[NativeOp], shots: int, seed: int, **kwargs) -> Counter[str]:
    result = simulate_circuit(ops, shots, np.random.default_rng(seed), **kwargs)
    assert result.shots == shots
    if not result.keys:
        return Counter({"": shots})
    table = np.concatenate([result.bits[k] for k in result.keys], axis=1)
    return Counter("".join(map(str, row)) for row in table.tolist())


def assert_matches(counts: Counter[str], expected: dict[str, float], shots: int) -> None:
    """Every outcome within 5 sigma of its expectation; impossible outcomes never seen."""
    for outcome, n in counts.items():
        p = expected.get(outcome, 0.0)
        assert p > 1e-12, f"outcome {outcome} has probability 0 but occurred {n} times"
    for outcome, p in expected.items():
        n = counts.get(outcome, 0)
        p = min(max(p, 0.0), 1.0)  # the exact sum may exceed 1 by rounding
        sigma = math.sqrt(shots * p * (1 - p))
        assert abs(n - shots * p) <= 5 * sigma + 3, (outcome, n, shots * p)


# --- exact small cases ----------------------------------------------------------------------


def test_prx_matrix_matches_qiskit_r_gate():
    for angle, phase in [(0.3, 1.1), (PI, 0.0), (-2.0, -0.7), (PI / 2, PI / 2)]:
        np.testing.assert_allclose(prx_matrix(angle, phase), Operator(RGate(angle, phase)).data)


def test_deterministic_outcomes_and_shape():
    ops = [prx("QB1", PI, 0.0), measure("m", "QB2", "QB1"), measure("z", "QB3")]
    r = simulate_circuit(ops, 5, np.random.default_rng(0))
    assert r.keys == ["m", "z"]
    assert r.bits["m"].dtype == np.uint8
    assert r.bits["m"].tolist() == [[0, 1]] * 5
    assert r.bits["z"].tolist() == [[0]] * 5


def test_zero_shots_and_no_measurement():
    ops = [prx("QB1", 1.0, 0.0), measure("m", "QB1")]
    r = simulate_circuit(ops, 0, np.random.default_rng(0))
    assert r.shots == 0 and r.bits["m"].shape == (0, 1)
    r = simulate_circuit([prx("QB1", 1.0, 0.0)], 4, np.random.default_rng(0))
    assert r.keys == [] and r.shots == 4


def test_zero_shots_with_a_mid_circuit_measurement():
    ops = [prx("QB1", 1.0, 0.0), measure("mid", "QB1"), prx("QB2", 1.0, 0.0)]
    ops += [NativeOp("cz", ("QB1", "QB2")), measure("m", "QB1", "QB2")]
    r = simulate_circuit(ops, 0, np.random.default_rng(0))
    assert r.shots == 0
    assert r.bits["mid"].shape == (0, 1) and r.bits["m"].shape == (0, 2)


def test_feedback_copies_measured_bit():
    ops = [
        prx("QB1", PI / 2, PI / 2),
        measure("a", "QB1", feedback_key="f"),
        cc_prx("QB2", PI, 0.0, "f", "QB1"),
        measure("b", "QB2"),
    ]
    r = simulate_circuit(ops, 2000, np.random.default_rng(3))
    assert np.array_equal(r.bits["a"], r.bits["b"])
    assert 0.4 < r.bits["a"].mean() < 0.6


def test_reset_returns_qubit_to_zero():
    ops = [
        prx("QB1", 1.3, 0.2),
        measure("a", "QB1"),
        NativeOp("reset", ("QB1",)),
        measure("b", "QB1"),
    ]
    r = simulate_circuit(ops, 1000, np.random.default_rng(1))
    assert r.bits["b"].sum() == 0
    assert r.bits["a"].sum() > 0


def test_seeded_results_are_reproducible():
    ops = [prx("QB1", 1.0, 0.0), prx("QB2", 2.0, 1.0), measure("m", "QB1", "QB2")]
    a = simulate_circuit(ops, 100, np.random.default_rng(9)).bits["m"]
    b = simulate_circuit(ops, 100, np.random.default_rng(9)).bits["m"]
    assert np.array_equal(a, b)


# --- statistics against the independent reference ------------------------------------------


def test_bell_state_statistics():
    ops = [
        prx("QB1", PI / 2, PI / 2),
        prx("QB2", PI / 2, PI / 2),
        NativeOp("cz", ("QB1", "QB2")),
        prx("QB2", -PI / 2, PI / 2),
        measure("m", "QB1", "QB2"),
    ]
    keys, expected = exact_distribution(ops)
    assert keys == ["m"]
    assert expected == pytest.approx({"00": 0.5, "11": 0.5})
    assert_matches(sampled_counts(ops, 20000, 5), expected, 20000)


def test_other_single_qubit_gates_statistics():
    ops = [
        NativeOp("sx", ("QB1",)),
        NativeOp("rz", ("QB1",), {"angle": 0.7}),
        NativeOp("u", ("QB2",), {"theta": 1.2, "phi": 0.4, "lam": -0.9}),
        NativeOp("cz", ("QB1", "QB2")),
        NativeOp("sx", ("QB2",)),
        prx("QB1", 0.8, 0.3),
        measure("m", "QB1", "QB2"),
    ]
    _, expected = exact_distribution(ops)
    assert_matches(sampled_counts(ops, 20000, 6), expected, 20000)


def test_readout_error_statistics():
    ops = [prx("QB1", 1.1, 0.0), measure("m", "QB1", "QB2")]
    errors = {"QB1": 0.1, "QB2": 0.25}
    _, expected = exact_distribution(ops, errors)
    counts = sampled_counts(ops, 20000, 7, readout_error=errors)
    assert_matches(counts, expected, 20000)


def test_feedback_uses_reported_bit_under_readout_error():
    # A flipped report drives the feedback: QB2 follows the *reported* bit of QB1, always.
    ops = [
        measure("a", "QB1", feedback_key="f"),
        cc_prx("QB2", PI, 0.0, "f", "QB1"),
        measure("b", "QB2"),
    ]
    r = simulate_circuit(ops, 4000, np.random.default_rng(2), readout_error={"QB1": 0.2})
    assert np.array_equal(r.bits["a"], r.bits["b"])
    assert 0.15 < r.bits["a"].mean() < 0.25


def test_fast_path_agrees_with_branch_path():
    """Terminal measurements sampled at the end vs the same circuit forced mid-circuit."""
    body = [
        prx("QB1", 1.0, 0.2),
        prx("QB2", 2.1, -0.4),
        NativeOp("cz", ("QB1", "QB2")),
        prx("QB1", 0.6, 1.0),
    ]
    fast = [*body, measure("m", "QB1", "QB2")]
    # An identity cc_prx reading the feedback makes the measurement dynamic (branching).
    forced = [
        *body,
        measure("m", "QB1", "QB2", feedback_key="f"),
        cc_prx("QB3", 0.0, 0.0, "f", "QB1"),
    ]
    _, expected = exact_distribution(fast)
    shots = 20000
    assert_matches(sampled_counts(fast, shots, 11), expected, shots)
    assert_matches(sampled_counts(forced, shots, 12), expected, shots)


_QUBITS = ["QB1", "QB2", "QB3"]


@st.composite
def dynamic_circuits(draw) -> list[NativeOp]:
    """Random circuits of prx, cz, mid-circuit measure with feedback, cc_prx and reset."""
    ops: list[NativeOp] = []
    recorded: list[tuple[str, str]] = []
    angles = st.floats(-PI, PI, allow_nan=False)
    for i in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(["prx", "prx", "cz", "measure", "cc_prx", "reset"]))
        q = draw(st.sampled_from(_QUBITS))
        if kind == "prx":
            ops.append(prx(q, draw(angles), draw(angles)))
        elif kind == "cz":
            a, b = draw(st.permutations(_QUBITS))[:2]
            ops.append(NativeOp("cz", (a, b)))
        elif kind == "measure":
            ops.append(measure(f"k{i}", q, feedback_key=f"f{i}"))
            recorded.append((f"f{i}", q))
        elif kind == "cc_prx" and recorded:
            fb_key, fb_q = draw(st.sampled_from(recorded))
            ops.append(cc_prx(q, draw(angles), draw(angles), fb_key, fb_q))
        elif kind == "reset":
            ops.append(NativeOp("reset", (q,)))
    ops.append(measure("final", *draw(st.permutations(_QUBITS))))
    return ops


@given(ops=dynamic_circuits(), seed=st.integers(0, 2**32 - 1), error=st.sampled_from([0.0, 0.1]))
def test_random_dynamic_circuits_match_exact_distribution(ops, seed, error):
    errors = dict.fromkeys(_QUBITS, error)
    _, expected = exact_distribution(ops, errors)
    shots = 3000
    counts = sampled_counts(ops, shots, seed, readout_error=errors)
    assert_matches(counts, expected, shots)


def test_heralding_discards_shots_at_the_expected_rate():
    ops = [prx("QB1", 1.0, 0.0), measure("m", "QB1", "QB2")]
    errors = {"QB1": 0.1, "QB2": 0.2}
    shots = 20000
    r = simulate_circuit(ops, shots, np.random.default_rng(4), readout_error=errors, heralding=True)
    keep = 0.9 * 0.8
    assert abs(r.shots - shots * keep) <= 5 * math.sqrt(shots * keep * (1 - keep))
    assert r.bits["m"].shape == (r.shots, 2)
    # Without readout error heralding never discards.
    r = simulate_circuit(ops, 100, np.random.default_rng(4), heralding=True)
    assert r.shots == 100


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ops", "match"),
    [
        ([NativeOp("move", ("QB1", "CR1"))], "not supported"),
        ([measure("m", "QB1"), measure("m", "QB2")], "used twice"),
        ([cc_prx("QB1", 1.0, 0.0, "f", "QB2"), measure("m", "QB1")], "no earlier measure"),
        ([NativeOp("cz", ("QB1",))], "bad locus"),
        ([NativeOp("prx", ("QB1", "QB1"), {"angle": 1.0, "phase": 0.0})], "bad locus"),
    ],
)
def test_bad_circuits_raise_simulation_error(ops, match):
    with pytest.raises(SimulationError, match=match):
        simulate_circuit(ops, 10, np.random.default_rng(0))


def test_qubit_limit():
    ops = [measure("m", *(f"QB{i}" for i in range(1, 6)))]
    with pytest.raises(SimulationError, match="limited to 4"):
        simulate_circuit(ops, 1, np.random.default_rng(0), max_qubits=4)


def test_memory_budget_for_branches():
    ops = []
    for i in range(8):
        ops += [prx("QB1", PI / 2, 0.0), measure(f"k{i}", "QB1", feedback_key=f"f{i}")]
        ops.append(cc_prx("QB2", 0.0, 0.0, f"f{i}", "QB1"))
    with pytest.raises(SimulationError, match="memory budget"):
        simulate_circuit(ops, 10000, np.random.default_rng(0), max_state_bytes=64 * 16 * 4)


def test_cancellation_is_polled():
    ops = [prx("QB1", 1.0, 0.0), measure("m", "QB1")]
    with pytest.raises(SimulationCancelled):
        simulate_circuit(ops, 10, np.random.default_rng(0), should_cancel=lambda: True)


# --- the native sampler of single-branch circuits ----------------------------------------------


def test_native_draws_follow_each_qubit_and_key_order():
    # A product state: qubit i reads 1 with probability sin^2(angle_i / 2). Keys measure the
    # qubits in scrambled order, so a wrong column mapping shows up as a wrong mean.
    names = [f"QB{i + 1}" for i in range(12)]
    angles = np.linspace(0.2, 2.9, 12)
    ops = [prx(q, float(a), 0.0) for q, a in zip(names, angles, strict=True)]
    order = [7, 2, 11, 0, 5, 9, 1, 4, 10, 3, 8, 6]
    ops += [
        measure("a", *[names[i] for i in order[:5]]),
        measure("b", *[names[i] for i in order[5:]]),
    ]
    shots = 40_000
    r = simulate_circuit(ops, shots, np.random.default_rng(3))
    columns = np.concatenate([r.bits["a"], r.bits["b"]], axis=1)
    want = np.sin(angles[order] / 2) ** 2
    sigma = np.sqrt(want * (1 - want) / shots)
    assert np.all(np.abs(columns.mean(axis=0) - want) < 5 * sigma)
    # Independent qubits: a pair of columns is uncorrelated (shots not grouped by outcome).
    c = np.corrcoef(columns[:, 0], columns[:, 1])[0, 1]
    assert abs(c) < 5 / np.sqrt(shots)
    again = simulate_circuit(ops, shots, np.random.default_rng(3))
    assert np.array_equal(again.bits["a"], r.bits["a"])
    assert not np.array_equal(
        simulate_circuit(ops, shots, np.random.default_rng(4)).bits["a"], r.bits["a"]
    )


def test_native_draws_with_asymmetric_readout_error():
    # QB1 in |1>, QB2 in |0>: reported ones are 1 - P(0|1) and P(1|0).
    ops = [prx("QB1", PI, 0.0), measure("m", "QB1", "QB2")]
    shots = 50_000
    r = simulate_circuit(ops, shots, np.random.default_rng(8), readout_error=(0.1, 0.3))
    means = r.bits["m"].mean(axis=0)
    assert abs(means[0] - 0.7) < 5 * math.sqrt(0.21 / shots)
    assert abs(means[1] - 0.1) < 5 * math.sqrt(0.09 / shots)


# --- the native sampler of several branches ---------------------------------------------------


@pytest.mark.parametrize("branches", [2, 3])
def test_branch_draws_match_the_exact_joint_distribution(branches: int):
    # Mid-circuit measurements with feedback leave 2 branches (QB1 read) or 3 (then QB2 read,
    # rotated only where QB1 read 1); terminal measurements follow on entangled qubits, so the
    # joint distribution of the records and the final outcome depends on the branch.
    ops = [prx("QB1", 1.2, 0.3), measure("r1", "QB1", feedback_key="f1")]
    ops.append(cc_prx("QB2", 1.4, 0.0, "f1", "QB1"))
    if branches == 3:
        ops += [measure("r2", "QB2", feedback_key="f2"), cc_prx("QB3", 2.0, 0.5, "f2", "QB2")]
    ops += [
        prx("QB3", 0.7, 0.1),
        NativeOp("cz", ("QB2", "QB3")),
        prx("QB2", 0.9, -0.6),
        measure("m", "QB1", "QB2", "QB3"),
    ]
    _, expected = exact_distribution(ops)
    shots = 60_000
    assert_matches(sampled_counts(ops, shots, 21), expected, shots)
    # Readout error on top (applied after the draws, per reported bit).
    _, noisy = exact_distribution(ops, readout_error={"QB2": 0.1, "QB3": 0.05})
    counts = sampled_counts(ops, shots, 22, readout_error={"QB2": 0.1, "QB3": 0.05})
    assert_matches(counts, noisy, shots)
    # Seeded: the same seed gives the same shots in the same order.
    a = simulate_circuit(ops, 5000, np.random.default_rng(5))
    b = simulate_circuit(ops, 5000, np.random.default_rng(5))
    assert all(np.array_equal(a.bits[k], b.bits[k]) for k in a.keys)


def test_branch_counts_are_kept_and_spread_over_the_shots():
    """Branch labels: each branch keeps its exact count, placed uniformly over the shots."""
    n = 3
    rng = np.random.default_rng(0)
    amp = rng.normal(size=(3, 1 << n)) + 1j * rng.normal(size=(3, 1 << n))
    state = amp / np.linalg.norm(amp, axis=1, keepdims=True)
    counts = np.array([30_000, 5, 20_000], dtype=np.int64)
    # Each branch's record names it; "z" is recorded, "m" deferred (QB 2, then 0).
    record = np.array([[0, 0], [0, 1], [1, 0]], dtype=np.uint8)
    br = _Branches(n, state, counts, {"z": record}, {})
    out = _collect(br, ["m", "z"], [("m", [2, 0])], [(0.0, 0.0)] * n, np.random.default_rng(9))
    total = int(counts.sum())
    assert out.shots == total and out.bits["m"].shape == (total, 2)
    label = out.bits["z"][:, 0].astype(np.int64) * 2 + out.bits["z"][:, 1]
    assert np.bincount(label, minlength=3).tolist() == counts.tolist()
    # Every quarter of the shots holds each big branch in proportion (no grouping by branch).
    for part in np.array_split(label, 4):
        share = np.mean(part == 0)
        q = counts[0] / total
        assert abs(share - q) < 5 * math.sqrt(q * (1 - q) / len(part))
    # Given its branch, a shot's deferred outcome follows that branch's marginal exactly.
    probs = np.abs(state.reshape(3, 2, 2, 2)) ** 2
    for b in (0, 2):
        marginal = probs[b].sum(axis=1)  # axes (qubit 0, qubit 2)
        rows = out.bits["m"][label == b]
        got = np.zeros((2, 2))
        np.add.at(got, (rows[:, 1], rows[:, 0]), 1)
        want = marginal * counts[b]
        sigma = np.sqrt(want * (1 - marginal))
        assert np.all(np.abs(got - want) <= 5 * sigma), (b, got, want)
    # No branches left (no shots): empty columns of the right widths.
    empty = _Branches(n, state[:0], counts[:0], {"z": record[:0]}, {})
    out = _collect(empty, ["m", "z"], [("m", [2, 0])], [(0.0, 0.0)] * n, np.random.default_rng(9))
    assert out.shots == 0 and out.bits["m"].shape == (0, 2) and out.bits["z"].shape == (0, 2)


def test_branch_sampler_rejects_bad_input():
    from shotpack import _native

    out = np.empty((4, 1), dtype=np.uint8)
    probs = np.array([[0.5, 0.5], [1.0, 0.0]])
    labels = _native.sample_branch_outcome_bits(probs, np.array([3, 1], np.uint64), 1, [0], out)
    assert labels.dtype == np.uint32 and np.bincount(labels).tolist() == [3, 1]
    assert np.all(out[labels == 1] == 0)
    with pytest.raises(ValueError, match="do not add up"):
        _native.sample_branch_outcome_bits(probs, np.array([3, 2], np.uint64), 1, [0], out)
    with pytest.raises(ValueError, match="branch 1, outcome probability 0 is NaN"):
        bad = np.array([[0.5, 0.5], [np.nan, 0.0]])
        _native.sample_branch_outcome_bits(bad, np.array([3, 1], np.uint64), 1, [0], out)
    with pytest.raises(ValueError, match="shape"):
        _native.sample_branch_outcome_bits(probs, np.array([3, 1], np.uint64), 1, [0, 0], out)
    with pytest.raises(ValueError, match="bit 1"):
        _native.sample_branch_outcome_bits(probs, np.array([3, 1], np.uint64), 1, [1], out)

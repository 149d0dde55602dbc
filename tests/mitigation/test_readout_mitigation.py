"""Readout mitigation of samples: calibration on the noisy device, exact values, mthree."""

from __future__ import annotations

import numpy as np
import pytest

from shotpack.containers.bit_array import BitArray
from shotpack.iqm.client import IQMClient
from shotpack.iqm.models.circuit import Circuit, Instruction
from shotpack.measurements.parse import parse_measurements
from shotpack.mitigation import QuasiDistribution, ReadoutCalibration
from shotpack.server import LocalServer
from shotpack.server.simulator import GateNoise, NativeOp, _density_probabilities

PI = float(np.pi)
ERRORS = {"QB1": (0.03, 0.08), "QB2": (0.02, 0.06), "QB3": (0.05, 0.10), "QB4": (0.01, 0.07)}


def _ins(name: str, *locus: str, **args: object) -> Instruction:
    return Instruction(name=name, locus=list(locus), args=args)


def _run(client: IQMClient, instructions: list[Instruction], shots: int) -> BitArray:
    job = client.submit_circuits([Circuit(name="c", instructions=instructions)], shots=shots)
    job.wait_for_completion(60)
    (data,) = parse_measurements(client.get_job_measurements_body(job.job_id))
    return data.m


def _exact(instructions: list[Instruction], qubits: list[str]) -> dict[str, float]:
    """Exact distribution of the measured qubits (bit j = qubits[j])."""
    ops = [NativeOp(i.name, tuple(i.locus), i.args) for i in instructions if i.name != "measure"]
    index = {q: k for k, q in enumerate(qubits)}
    probs = _density_probabilities(ops, index, GateNoise(), 1 << 30, None)
    n = len(qubits)
    return {format(i, f"0{n}b")[::-1]: float(p) for i, p in enumerate(probs) if p > 1e-15}


def _tvd(dist: dict[str, float] | QuasiDistribution, exact: dict[str, float]) -> float:
    keys = set(dist) | set(exact)
    return 0.5 * sum(abs(dist.get(k, 0.0) - exact.get(k, 0.0)) for k in keys)


def _random_state(rng: np.random.Generator, qubits: list[str]) -> list[Instruction]:
    out = []
    for _ in range(2):
        for q in qubits:
            out.append(
                _ins("prx", q, angle=float(rng.uniform(0, PI)), phase=float(rng.uniform(0, 2 * PI)))
            )
        for a, b in (("QB1", "QB2"), ("QB2", "QB4"), ("QB3", "QB4"), ("QB1", "QB3")):
            if a in qubits and b in qubits:
                out.append(_ins("cz", a, b))
    return out


@pytest.fixture(scope="module")
def noisy():
    with LocalServer(qubits=4, seed=21, readout_error=ERRORS) as server:
        client = IQMClient(server.url)
        cal = ReadoutCalibration.measure(client, list(ERRORS), shots=40_000)
        yield client, cal


def test_measured_calibration_matches_the_device(noisy):
    _, cal = noisy
    assert cal.qubits == tuple(ERRORS) and cal.shots == 40_000
    for q, (p01, p10) in ERRORS.items():
        i = cal.qubits.index(q)
        assert abs(cal.p01[i] - p01) <= 5 * np.sqrt(p01 * (1 - p01) / 40_000)
        assert abs(cal.p10[i] - p10) <= 5 * np.sqrt(p10 * (1 - p10) / 40_000)


def test_ghz_distance_to_exact_falls_several_fold(noisy):
    client, cal = noisy
    qubits = list(ERRORS)
    ghz = [_ins("prx", "QB1", angle=PI / 2, phase=PI / 2)]
    for a, b in (("QB1", "QB2"), ("QB2", "QB4"), ("QB1", "QB3")):
        ghz += [
            _ins("prx", b, angle=PI / 2, phase=PI / 2),
            _ins("cz", a, b),
            _ins("prx", b, angle=-PI / 2, phase=PI / 2),
        ]
    ghz.append(_ins("measure", *qubits, key="m"))
    exact = _exact(ghz, qubits)
    assert set(exact) == {"0000", "1111"}
    bits = _run(client, ghz, 50_000)
    counts = bits.get_counts()
    raw = {k: v / 50_000 for k, v in counts.items()}
    quasi = cal.apply(bits)
    assert set(quasi) == set(counts)
    assert sum(quasi.values()) == pytest.approx(1.0, abs=1e-9)
    assert _tvd(quasi, exact) < _tvd(raw, exact) / 4
    assert _tvd(quasi.nearest_probability_distribution(), exact) < _tvd(raw, exact) / 4
    # <ZZZZ> is 1 exactly; the raw value is biased by many standard errors.
    value, err = quasi.expectation_value("ZZZZ")
    raw_value = sum(v * (-1) ** k.count("1") for k, v in raw.items())
    assert abs(value - 1.0) <= 5 * err
    assert abs(raw_value - 1.0) > 10 * err
    # The same outcomes from counts give the same quasi-probabilities.
    again = cal.apply(counts)
    assert max(abs(again[k] - quasi[k]) for k in quasi) < 1e-12


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_states_distance_to_exact_falls_several_fold(noisy, seed):
    client, cal = noisy
    rng = np.random.default_rng(seed)
    qubits = list(ERRORS)[: 2 + seed % 3]
    circuit = [*_random_state(rng, qubits), _ins("measure", *qubits, key="m")]
    exact = _exact(circuit, qubits)
    shots = 200_000
    bits = _run(client, circuit, shots)
    raw = {k: v / shots for k, v in bits.get_counts().items()}
    quasi = cal.apply(bits, qubits=qubits)
    raw_tvd, mit_tvd = _tvd(raw, exact), _tvd(quasi, exact)
    assert mit_tvd < raw_tvd / 3, (raw_tvd, mit_tvd)
    for label in ("Z" * len(qubits), "I" * (len(qubits) - 1) + "Z", "1" + "Z" * (len(qubits) - 1)):
        value, err = quasi.expectation_value(label)
        want = _label_value(exact, label)
        assert abs(value - want) <= 5 * err


def _label_value(dist: dict[str, float], label: str) -> float:
    total = 0.0
    for key, p in dist.items():
        f = 1.0
        for c, b in zip(label, key, strict=True):
            if c == "Z":
                f *= -1.0 if b == "1" else 1.0
            elif c == "0":
                f *= b == "0"
            elif c == "1":
                f *= b == "1"
        total += f * p
    return total


def test_overhead_distance_and_errors():
    cal = ReadoutCalibration.from_errors(["a", "b", "c"], [0.05, 0.02, 0.1], [0.1, 0.08, 0.02])
    counts = {"000": 400, "001": 50, "010": 60, "100": 30, "111": 460}
    full = cal.apply(counts)
    assert full.mitigation_overhead > 1.0
    near = cal.apply(counts, distance=1)
    assert near.keys() == full.keys()
    assert any(abs(near[k] - full[k]) > 1e-6 for k in full)
    assert sum(near.values()) == pytest.approx(1.0)
    # Bits measured on other calibrated qubits, by name or index.
    swapped = cal.apply(counts, qubits=["c", "b", "a"])
    assert swapped["001"] != full["001"]
    assert cal.apply(counts, qubits=[2, 1, 0])["001"] == swapped["001"]
    with pytest.raises(ValueError, match="bitstring"):
        cal.apply({"0x1": 3, "000": 2})
    with pytest.raises(ValueError, match="3 qubits"):
        cal.apply({"00": 3})
    with pytest.raises(ValueError, match="not calibrated"):
        cal.apply(counts, qubits=["a", "b", "z"])
    with pytest.raises(ValueError, match="sum below 1"):
        ReadoutCalibration.from_errors(["a"], [0.6], [0.5])
    with pytest.raises(TypeError, match="counts mapping or a BitArray"):
        cal.apply([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="characters"):
        full.expectation_value("ZZ")


def test_agrees_with_mthree():
    mthree = pytest.importorskip("mthree")
    rng = np.random.default_rng(4)
    n = 6
    p01 = rng.uniform(0.01, 0.05, n)
    p10 = rng.uniform(0.03, 0.1, n)
    keys = {format(int(v), f"0{n}b") for v in rng.integers(0, 1 << n, 40)}
    counts = {k: int(rng.integers(1, 500)) for k in sorted(keys)}
    cal = ReadoutCalibration.from_errors([f"QB{i + 1}" for i in range(n)], p01, p10)
    mit = mthree.M3Mitigation()
    mit.cals_from_matrices(
        [np.array([[1 - a, b], [a, 1 - b]]) for a, b in zip(p01, p10, strict=True)]
    )
    # mthree's float32 direct solve, with the distance given (its default differs slightly).
    for distance in (n, 2):
        ours = cal.apply(counts, distance=distance)
        theirs = mit.apply_correction(counts, list(range(n)), distance=distance, method="direct")
        assert max(abs(ours[k] - theirs[k]) for k in counts) < 1e-6


def test_calibration_from_quality_metrics(noisy):
    client, measured = noisy
    reported = ReadoutCalibration.from_quality_metrics(client, list(ERRORS))
    for i, (p01, p10) in enumerate(ERRORS.values()):
        assert reported.p01[i] == pytest.approx(p01) and reported.p10[i] == pytest.approx(p10)
    assert reported.shots is None
    assert np.allclose(reported.p01, measured.p01, atol=0.01)
    with pytest.raises(ValueError, match="no readout metrics"):
        ReadoutCalibration.from_quality_metrics(client, ["QB9"])

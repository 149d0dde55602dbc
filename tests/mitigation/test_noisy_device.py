"""The noisy local device: asymmetric readout error, depolarizing gates, reported metrics."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from shotpack.cli import _readout_error
from shotpack.iqm.client import IQMClient
from shotpack.server import LocalServer
from shotpack.server.architecture import Architecture
from shotpack.server.simulator import GateNoise, NativeOp, simulate_circuit

PI = float(np.pi)


def _x(q: str) -> NativeOp:
    return NativeOp("prx", (q,), {"angle": PI, "phase": 0.0})


def _h_like(q: str) -> NativeOp:
    return NativeOp("prx", (q,), {"angle": PI / 2, "phase": PI / 2})


def _within(observed: float, p: float, shots: int, sigmas: float = 5.0) -> bool:
    return abs(observed - p) <= sigmas * max(np.sqrt(p * (1 - p) / shots), 1.0 / shots)


def test_asymmetric_readout_error_statistics():
    shots = 200_000
    ops = [_x("QB2"), NativeOp("measure", ("QB1", "QB2"), {"key": "m"})]
    errors = {"QB1": (0.02, 0.07), "QB2": (0.03, 0.11)}
    bits = simulate_circuit(ops, shots, np.random.default_rng(3), readout_error=errors).bits["m"]
    # QB1 is in 0: reads 1 with P(1|0); QB2 is in 1: reads 0 with P(0|1).
    assert _within(bits[:, 0].mean(), 0.02, shots)
    assert _within(1 - bits[:, 1].mean(), 0.11, shots)


def test_asymmetric_readout_error_on_mid_circuit_measurements():
    shots = 100_000
    ops = [
        _x("QB1"),
        NativeOp("measure", ("QB1",), {"key": "a"}),
        _x("QB1"),
        NativeOp("measure", ("QB1",), {"key": "b"}),
    ]
    result = simulate_circuit(
        ops, shots, np.random.default_rng(5), readout_error={"QB1": (0.01, 0.08)}
    )
    assert _within(1 - result.bits["a"].mean(), 0.08, shots)
    assert _within(result.bits["b"].mean(), 0.01, shots)


def test_single_qubit_depolarizing_density_matrix():
    shots = 200_000
    p = 0.1
    ops = [_x("QB1"), NativeOp("measure", ("QB1",), {"key": "m"})]
    bits = simulate_circuit(
        ops, shots, np.random.default_rng(1), gate_noise=GateNoise(one_qubit=p)
    ).bits["m"]
    # (1 - p)|1><1| + p I/2: reads 0 with probability p/2.
    assert _within(1 - bits.mean(), p / 2, shots)


def test_cz_depolarizing_matches_trajectories():
    """The density-matrix path (terminal measurements) and the trajectory path (a mid-circuit
    measurement on a spectator) sample the same distribution."""
    shots = 100_000
    noise = GateNoise(one_qubit=0.02, two_qubit=0.2)
    body = [_h_like("QB1"), _h_like("QB2"), NativeOp("cz", ("QB1", "QB2")), _h_like("QB2")]
    static = [*body, NativeOp("measure", ("QB1", "QB2"), {"key": "m"})]
    dynamic = [
        NativeOp("measure", ("QB3",), {"key": "s", "feedback_key": "f"}),
        NativeOp(
            "cc_prx",
            ("QB3",),
            {"angle": 0.0, "phase": 0.0, "feedback_key": "f", "feedback_qubit": "QB3"},
        ),
        *static,
    ]
    rng = np.random.default_rng(11)
    a = simulate_circuit(static, shots, rng, gate_noise=noise).bits["m"]
    b = simulate_circuit(dynamic, shots, rng, gate_noise=noise).bits["m"]
    pa = np.bincount(a[:, 0] * 2 + a[:, 1], minlength=4) / shots
    pb = np.bincount(b[:, 0] * 2 + b[:, 1], minlength=4) / shots
    # The noiseless circuit gives 00 and 11 only; depolarizing spreads 0.2 * 3/4 ... to 01, 10.
    assert pa[1] + pa[2] > 0.05
    for x, y in zip(pa, pb, strict=True):
        assert abs(x - y) <= 6 * np.sqrt(0.25 * 2 / shots)


def test_random_readout_error_is_reproducible_and_asymmetric():
    a = Architecture.square(6, random_readout_error=0.04, noise_seed=9)
    b = Architecture.square(6, random_readout_error=0.04, noise_seed=9)
    c = Architecture.square(6, random_readout_error=0.04, noise_seed=10)
    assert a.readout_error == b.readout_error != c.readout_error
    for p01, p10 in a.readout_error.values():
        assert 0.02 <= p01 <= 0.04 <= p10 <= 0.08


def test_bad_noise_is_rejected():
    with pytest.raises(ValueError, match="readout error of QB1"):
        Architecture.square(2, {"QB1": (0.1, 0.7)})
    with pytest.raises(ValueError, match="cz_error"):
        Architecture.square(2, cz_error=1.5)


def test_quality_metrics_report_the_noise_to_client_and_target():
    from shotpack.qiskit.backend import IQMBackend

    errors = {"QB1": (0.02, 0.06), "QB2": 0.03}
    with LocalServer(qubits=2, seed=1, readout_error=errors, gate_error=0.004, cz_error=0.02) as s:
        client = IQMClient(s.url)
        metrics = client.get_calibration_quality_metrics()
        assert metrics.get("metrics.ssro.measure.constant.QB1.fidelity") == pytest.approx(0.96)
        assert metrics.get("metrics.ssro.measure.constant.QB1.error_0_to_1") == 0.02
        assert metrics.get("metrics.ssro.measure.constant.QB1.error_1_to_0") == 0.06
        assert metrics.get("metrics.ssro.measure.constant.QB2.fidelity") == pytest.approx(0.97)
        assert metrics.get("metrics.rb.prx.drag_gaussian.QB2.fidelity") == pytest.approx(0.998)
        assert metrics.get("metrics.irb.cz.tgss.QB1__QB2.fidelity") == pytest.approx(0.985)
        target = IQMBackend(client).target
        assert target["measure"][(0,)].error == pytest.approx(0.04)
        assert target["r"][(1,)].error == pytest.approx(0.002)
        assert target["cz"][(0, 1)].error == pytest.approx(0.015)


def test_cli_parses_asymmetric_readout_error():
    assert _readout_error("0.01/0.05") == (0.01, 0.05)
    assert _readout_error("QB1=0.01/0.05,QB2=0.02") == {"QB1": (0.01, 0.05), "QB2": 0.02}
    with pytest.raises(argparse.ArgumentTypeError):
        _readout_error("0.01/x")


def test_serve_parses_the_noise_options():
    from shotpack.cli import build_parser

    args = build_parser().parse_args(
        [
            "serve",
            "--random-readout-error",
            "0.04",
            "--noise-seed",
            "3",
            "--gate-error",
            "0.001",
            "--cz-error",
            "0.01",
            "--readout-error",
            "QB1=0.01/0.05",
        ]
    )
    assert args.random_readout_error == 0.04 and args.noise_seed == 3
    assert args.gate_error == 0.001 and args.cz_error == 0.01
    assert args.readout_error == {"QB1": (0.01, 0.05)}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--gate-error", "1.5"])

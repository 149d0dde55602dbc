"""TREX in the Estimator: random circuits on the noisy device against exact values."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.random import random_circuit
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from shotpack.primitives.estimator import Estimator
from shotpack.qiskit import EstimatorV2, IQMBackend
from shotpack.server import LocalServer


@pytest.fixture(scope="module")
def noisy_backend():
    with LocalServer(qubits=5, seed=3, random_readout_error=0.04, noise_seed=7) as server:
        yield IQMBackend(server.url)


def _case(backend: IQMBackend, n: int, seed: int) -> tuple[QuantumCircuit, SparsePauliOp, list]:
    rng = np.random.default_rng(seed)
    qc = random_circuit(n, 3, max_operands=2, seed=seed)
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(6)] + [
        "Z" * n,
        "I" * (n - 1) + "Z",
    ]
    labels = [lab for lab in labels if set(lab) != {"I"}]
    pm = generate_preset_pass_manager(optimization_level=1, backend=backend, seed_transpiler=seed)
    isa = pm.run(qc)
    observables = [SparsePauliOp(lab) for lab in labels]
    # A sum of terms on different supports (its split by support feeds the calibration error).
    observables.append(SparsePauliOp(labels[:3], [1.0, 0.5, -0.7]))
    laid = [o.apply_layout(isa.layout) for o in observables]
    exact = StatevectorEstimator().run([(qc, observables)]).result()[0].data.evs
    return isa, laid, exact


@pytest.mark.parametrize(("n", "seed"), [(2, 1), (3, 2), (4, 3), (5, 4)])
def test_mitigated_evs_within_five_sigma_raw_biased(noisy_backend, n, seed):
    isa, laid, exact = _case(noisy_backend, n, seed)
    precision = 0.01
    raw = Estimator(noisy_backend, seed=seed).run([(isa, laid)], precision=precision).result()[0]
    est = EstimatorV2(noisy_backend, measure_mitigation=True, seed=seed)
    result = est.run([(isa, laid)], precision=precision).result()
    mit = result[0]
    z_raw = np.abs(raw.data.evs - exact) / raw.data.stds.clip(1e-12)
    z_mit = np.abs(mit.data.evs - exact) / mit.data.stds
    assert np.all(z_mit <= 5), (z_mit, mit.data.evs, exact)
    # Where the exact value is large, readout error biases the raw value by many sigmas.
    big = np.abs(exact) > 0.4
    if big.any():
        assert np.all(z_raw[big] > 5), (z_raw, exact)
    assert result.metadata["resilience"]["measure_mitigation"] is True
    assert result.metadata["twirling"]["enable_measure"] is True
    assert result.metadata["twirling"]["num_randomizations"] == 32
    noise = result.metadata["resilience"]["measure_noise_learning"]
    assert noise["num_randomizations"] == 32 and noise["shots_per_randomization"] > 0
    assert mit.metadata["num_randomizations"] == 32
    assert all(
        0.5 < f < 1 for f in mit.metadata["resilience"]["measure_mitigation_factors"].values()
    )


def test_stds_match_the_spread_over_repeated_runs():
    """The reported std (circuit shot noise plus calibration noise) matches the empirical
    spread of the mitigated values over independent runs."""
    with LocalServer(
        qubits=2, seed=5, readout_error={"QB1": (0.05, 0.12), "QB2": (0.03, 0.09)}
    ) as s:
        backend = IQMBackend(s.url)
        qc = QuantumCircuit(2)
        qc.ry(0.7, 0)
        qc.cx(0, 1)
        pm = generate_preset_pass_manager(optimization_level=1, backend=backend, seed_transpiler=1)
        isa = pm.run(qc)
        obs = [SparsePauliOp(lab).apply_layout(isa.layout) for lab in ("ZZ", "ZI", "XX")]
        obs.append(SparsePauliOp(["ZZ", "IZ", "XX"], [1.0, 0.6, -0.4]).apply_layout(isa.layout))
        est = Estimator(backend, measure_mitigation=True, num_randomizations=8, seed=9)
        runs = [est.run([(isa, obs)], precision=0.05).result()[0] for _ in range(40)]
    evs = np.array([r.data.evs for r in runs])
    stds = np.array([r.data.stds for r in runs])
    empirical = evs.std(axis=0, ddof=1)
    reported = np.sqrt((stds**2).mean(axis=0))
    # 40 runs estimate a std to about +-11%; allow 35%.
    assert np.all(np.abs(reported / empirical - 1) < 0.35), (reported, empirical)


def test_unmitigated_metadata_and_projectors_rejected(noisy_backend):
    qc = QuantumCircuit(1)
    qc.x(0)
    pm = generate_preset_pass_manager(optimization_level=1, backend=noisy_backend)
    isa = pm.run(qc)
    result = (
        Estimator(noisy_backend).run([(isa, SparsePauliOp("Z").apply_layout(isa.layout))]).result()
    )
    assert result.metadata["resilience"]["measure_mitigation"] is False
    assert result.metadata["twirling"]["enable_measure"] is False
    assert result[0].metadata["resilience"] == {}
    with pytest.raises(ValueError, match="num_randomizations >= 2"):
        Estimator(noisy_backend, measure_mitigation=True, num_randomizations=1)
    est = Estimator(noisy_backend, measure_mitigation=True)
    label = "1" + "I" * (isa.num_qubits - 1)
    with pytest.raises(ValueError, match="projector"):
        est.run([(isa, {label[::-1]: 1.0})]).result()


def test_demo_shows_raw_and_mitigated_side_by_side():
    from shotpack.demo import DemoReport, _mitigation_section

    lines: list[str] = []
    report = DemoReport()
    _mitigation_section(lines.append, report, seed=1234)
    text = "\n".join(lines)
    assert "Readout mitigation (TREX)" in text and "TREX ev" in text
    assert report.ok, report.failures
    # Rows: observable, a, exact, raw ev +- std, z, TREX ev +- std, z.
    rows = [line.split() for line in lines if line.strip().startswith(("XX", "IY"))]
    z_raw = [float(r[6]) for r in rows]
    z_mit = [float(r[10]) for r in rows]
    assert max(z_mit) <= 5 and max(z_raw) > 5

"""Sampler and Estimator against ``shotpack serve`` (LocalServer) over loopback HTTP.

Exact values come from an independent dense statevector (tests/_primitives_helpers.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from shotpack import Estimator, Parameter, Sampler
from shotpack.containers.bindings_array import BindingsArray
from shotpack.containers.estimator_pub import EstimatorPub
from shotpack.iqm.backend import IQMBackend
from shotpack.iqm.client import IQMClient
from shotpack.iqm.errors import CircuitValidationError
from shotpack.iqm.models import Circuit, Instruction
from shotpack.primitives.job import ExecutionSpan
from shotpack.server import LocalServer
from tests._primitives_helpers import exact_grid, obj_array, state, three_qubit_circuit

SIGMAS = 5.0


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(qubits=4, seed=2024) as srv:
        yield srv


@pytest.fixture(scope="module")
def backend(server: LocalServer) -> IQMBackend:
    return IQMBackend(IQMClient(server.url))


def _posts(server: LocalServer) -> int:
    return sum(1 for r in server.requests if r.method == "POST" and r.path.endswith("/circuit"))


def _assert_close(evs: np.ndarray, stds: np.ndarray, exact: np.ndarray, shots: int) -> None:
    # A cell whose shots all agree has a sample std of 0 although its exact value may be a little
    # off +-1 (all n shots agree with probability 1e-4 once the minority outcome has p = 20/n).
    tol = SIGMAS * stds + 20.0 / shots
    assert np.all(np.abs(evs - exact) <= tol), np.max(np.abs(evs - exact) / (stds + 1e-12))


# --------------------------------------------------------------------------------------------
# Estimator: the seed's broadcasting patterns
# --------------------------------------------------------------------------------------------

RNG = np.random.default_rng(5)
PATTERNS = {
    "single observable": (RNG.uniform(0, 3, size=(5, 3)), "ZZZ", (5,)),
    "zip": (RNG.uniform(0, 3, size=(5, 3)), ["III", "XXX", "YYY", "ZZZ", "XYZ"], (5,)),
    "outer product": (
        RNG.uniform(0, 3, size=(1, 6, 3)),
        [["III"], ["XXX"], ["YYY"], ["ZZZ"]],
        (4, 6),
    ),
    "nd generalization": (
        RNG.uniform(0, 3, size=(3, 6, 3)),
        [[["XII"], ["IXI"], ["IIX"]], [["ZII"], ["IZI"], ["IIZ"]]],
        (2, 3, 6),
    ),
    "multi-term observables": (
        RNG.uniform(0, 3, size=(4, 3)),
        [{"ZZI": 0.5, "ZIZ": -1.5, "XXI": 0.25}, {"YIY": 1.0, "IIZ": 2.0}],
        None,
    ),
}


@pytest.mark.parametrize("name", list(PATTERNS))
def test_estimator_broadcasting_shapes_and_values(backend: IQMBackend, name: str) -> None:
    params, observables, want_shape = PATTERNS[name]
    circ, names = three_qubit_circuit()
    if want_shape is None:  # (4,) params against 2 observables do not broadcast; use (4, 1)
        params = params[:, None, :]
        want_shape = (4, 2)
    est = Estimator(backend, default_precision=1 / 32)
    job = est.run([(circ, observables, params)])
    res = job.result()
    assert len(res) == 1 and len(job.server_jobs) == 1
    data = res[0].data
    assert data.shape == want_shape
    for field in ("evs", "stds", "ensemble_standard_error"):
        arr = getattr(data, field)
        assert arr.shape == want_shape and arr.dtype == np.float64
    np.testing.assert_array_equal(data.stds, data.ensemble_standard_error)
    exact = exact_grid(circ, obj_array(observables), names, params)
    _assert_close(data.evs, data.stds, exact, 1024)
    md = res[0].metadata
    assert md["shots"] == 1024 and md["target_precision"] == 1 / 32
    assert md["num_randomizations"] == 1 and md["circuit_metadata"] == {}


def test_estimator_seed_example_shape(backend: IQMBackend) -> None:
    """The seed: a 2-parameter circuit, (100, 2) values, observables (3, 1) -> (3, 100)."""
    from shotpack.demo import OBSERVABLES, exact_expectations, seed_circuit, seed_parameters

    params = seed_parameters()
    res = Estimator(backend).run([(seed_circuit(), OBSERVABLES, params)]).result()
    data = res[0].data
    assert data.evs.shape == data.stds.shape == (3, 100)
    assert res[0].metadata["shots"] == 4096  # ceil(1 / (1/64)**2)
    _assert_close(data.evs, data.stds, exact_expectations(params), 4096)


def test_one_server_job_for_many_pubs_results_in_order(
    backend: IQMBackend, server: LocalServer
) -> None:
    circ, names = three_qubit_circuit()
    p1 = RNG.uniform(0, 3, size=(2, 3))
    p2 = RNG.uniform(0, 3, size=(3, 3))
    before = _posts(server)
    job = Estimator(backend).run(
        [(circ, "ZZI", p1, 1 / 16), (circ, ["XII", "IIY"], p2[:, None, :], 1 / 32)]
    )
    res = job.result()
    assert _posts(server) - before == 1
    assert [r.data.shape for r in res] == [(2,), (3, 2)]
    assert [r.metadata["shots"] for r in res] == [256, 1024]
    assert [r.metadata["target_precision"] for r in res] == [1 / 16, 1 / 32]
    _assert_close(
        res[0].data.evs, res[0].data.stds, exact_grid(circ, obj_array("ZZI"), names, p1), 256
    )
    exact2 = exact_grid(circ, obj_array(["XII", "IIY"]), names, p2[:, None, :])
    _assert_close(res[1].data.evs, res[1].data.stds, exact2, 1024)
    spans = res.metadata["execution"]["execution_spans"]
    assert res.metadata["version"] == 2
    assert len(spans) == 1 and isinstance(spans[0], ExecutionSpan)
    assert spans[0].stop >= spans[0].start
    assert set(spans[0].data_slices) == {0, 1}


def test_split_only_when_limits_require(backend: IQMBackend, server: LocalServer) -> None:
    circ, _ = three_qubit_circuit()
    params = RNG.uniform(0, 3, size=(7, 3))
    before = _posts(server)
    job = Estimator(backend, max_circuits=3).run([(circ, ["ZZZ"], params)], precision=0.1)
    res = job.result()
    assert _posts(server) - before == 3  # 7 circuits, at most 3 per job
    assert res[0].data.evs.shape == (7,)
    spans = res.metadata["execution"]["execution_spans"]
    assert [s.data_slices[0][1:] for s in spans] == [(0, 300), (300, 600), (600, 700)]
    before = _posts(server)
    Sampler(backend, max_total_shots=250).run(
        [(three_qubit_circuit(measure=True)[0], params)], shots=100
    ).result()
    assert _posts(server) - before == 4  # 2 circuits x 100 shots per job


def test_stds_are_honest(backend: IQMBackend) -> None:
    """Reported stds match the empirical spread over independent repetitions."""
    circ, names = three_qubit_circuit()
    params = RNG.uniform(0, 3, size=(6, 3))
    observables = [{"ZZI": 1.0, "ZIZ": 0.5, "IZZ": -0.7}, {"XXI": 0.5, "IYZ": 0.5}]
    reps = 24
    pubs = [(circ, observables, params[:, None, :]) for _ in range(reps)]
    res = Estimator(backend, default_precision=1 / 16).run(pubs).result()
    evs = np.stack([r.data.evs for r in res])  # (reps, 6, 2)
    stds = np.stack([r.data.stds for r in res])
    empirical = evs.var(axis=0, ddof=1)
    reported = (stds**2).mean(axis=0)
    ratio = empirical.sum() / reported.sum()
    # 12 cells x 23 degrees of freedom: the ratio's spread is about sqrt(2 / 276) = 0.085.
    assert 0.7 < ratio < 1.4, ratio
    exact = exact_grid(circ, obj_array(observables), names, params[:, None, :])
    assert np.all(np.abs(evs.mean(axis=0) - exact) <= SIGMAS * np.sqrt(reported / reps) + 1e-3)


def test_twirled_and_untwirled_agree(server: LocalServer) -> None:
    with LocalServer(qubits=3, seed=11, readout_error=0.03) as noisy:
        backend = IQMBackend(IQMClient(noisy.url))
        circ, _ = three_qubit_circuit()
        params = RNG.uniform(0, 3, size=(4, 3))
        obs = [{"ZZI": 1.0, "XIX": 0.5}, "IYZ"]
        plain = Estimator(backend, default_precision=1 / 48).run([(circ, obs, params[:, None])])
        twirl = Estimator(backend, default_precision=1 / 48, num_randomizations=16, seed=3)
        job = twirl.run([(circ, obs, params[:, None])])
        a, b = plain.result()[0], job.result()[0]
    assert b.metadata["num_randomizations"] == 16
    assert b.metadata["shots"] == 16 * math.ceil(48**2 / 16)
    assert b.data.evs.shape == a.data.evs.shape == (4, 2)
    # 16 randomizations of each group were submitted as separate circuits with random flips.
    flips = [
        sum(1 for i in c.instructions if i.name == "prx" and i.args["angle"] == math.pi)
        for c in job.server_jobs[0].payload().circuits
    ]
    assert len(set(flips)) > 1
    diff = np.abs(a.data.evs - b.data.evs)
    both = np.sqrt(a.data.stds**2 + b.data.stds**2)
    assert np.all(diff <= SIGMAS * both + 1e-3)
    # With twirling, stds (spread of randomizations) and the ensemble error differ but agree
    # in size.
    assert not np.array_equal(b.data.stds, b.data.ensemble_standard_error)
    ratio = np.mean(b.data.stds**2) / np.mean(b.data.ensemble_standard_error**2)
    assert 0.4 < ratio < 2.5


def test_identity_and_constant_observables(backend: IQMBackend) -> None:
    circ, _ = three_qubit_circuit()
    params = np.zeros((2, 3))
    res = Estimator(backend).run(
        [(circ, [{"III": 2.5}, {"III": 1.0, "ZII": 1.0}], params[:, None])]
    )
    data = res.result()[0].data
    np.testing.assert_array_equal(data.evs[:, 0], 2.5)
    np.testing.assert_array_equal(data.stds[:, 0], 0.0)


def test_identity_only_needs_no_server_job(backend: IQMBackend, server: LocalServer) -> None:
    circ, _ = three_qubit_circuit()
    before = _posts(server)
    job = Estimator(backend).run([(circ, [{"III": 2.5}, {"III": -1.0}], np.zeros((2, 1, 3)))])
    assert job.server_jobs == [] and set(job.timings) == {"prepare"}
    res = job.result()
    assert _posts(server) == before
    np.testing.assert_array_equal(res[0].data.evs, np.broadcast_to([2.5, -1.0], (2, 2)))
    np.testing.assert_array_equal(res[0].data.stds, 0.0)
    assert res.metadata["execution"]["execution_spans"] == []


def test_qubit_order_natural_and_declared(backend: IQMBackend) -> None:
    """Observable qubit k is the k-th qubit in natural order, or of the declared list."""
    # X-flip QB10 only; QB2 stays |0>. Natural order: QB2 (qubit 0) < QB10 (qubit 1).
    ins = [
        Instruction(name="prx", locus=("QB4",), args={"angle": math.pi, "phase": 0.0}),
        Instruction(name="barrier", locus=("QB2", "QB4")),
    ]
    # The 4-qubit server has QB1..QB4; QB4 sorts after QB2 by number as QB10 would.
    circ = Circuit(name="order", instructions=ins)
    assert circ.qubits == ("QB2", "QB4")
    est = Estimator(backend, default_precision=0.1)
    evs = est.run([(circ, ["IZ", "ZI"])]).result()[0].data.evs
    np.testing.assert_array_equal(evs, [1.0, -1.0])
    declared = Circuit(name="order", instructions=ins, metadata={"shotpack.qubits": ["QB4", "QB2"]})
    res = est.run([(declared, ["IZ", "ZI"])]).result()[0]
    np.testing.assert_array_equal(res.data.evs, [-1.0, 1.0])
    assert res.metadata["circuit_metadata"] == {}  # shotpack's own key is not shown


def test_estimator_errors(backend: IQMBackend) -> None:
    circ, _ = three_qubit_circuit()
    est = Estimator(backend)
    with pytest.raises(
        ValueError, match=r"observables shape \(3,\).*parameter values shape \(5,\)"
    ):
        est.run([(circ, ["ZZZ"] * 3, np.zeros((5, 3)))])
    with pytest.raises(ValueError, match=r"no value for parameter\(s\) \['t2'\]"):
        est.run([(circ, "ZZZ", {"t0": 1.0, "t1": 1.0, "x": 2.0})])
    with pytest.raises(ValueError, match="inconsistent with last dimension"):
        est.run([(circ, "ZZZ", [1.0, 2.0])])
    with pytest.raises(ValueError, match="number of qubits"):
        est.run([(circ, "ZZ", [1.0, 2.0, 3.0])])
    with pytest.raises(ValueError, match="positive"):
        est.run([(circ, "ZZZ", [1.0, 2.0, 3.0])], precision=0.0)
    with pytest.raises(ValueError, match=r"bare circuit was given.*passed in a list"):
        est.run((circ, "ZZZ", [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="num_randomizations"):
        Estimator(backend, num_randomizations=0)
    with pytest.raises(TypeError, match=r"IQMClient, got builtins\.str"):
        Estimator("http://localhost")
    bad = Circuit(
        name="bad",
        instructions=[Instruction(name="prx", locus=("QB9",), args={"angle": 1.0, "phase": 0.0})],
    )
    with pytest.raises(CircuitValidationError):
        est.run([(bad, "Z")])


# --------------------------------------------------------------------------------------------
# Sampler
# --------------------------------------------------------------------------------------------


def _probabilities(circ: Circuit, names: list[str], params: np.ndarray) -> np.ndarray:
    flat = params.reshape(-1, len(names))
    return np.stack([np.abs(state(circ, dict(zip(names, row, strict=True)))) ** 2 for row in flat])


@pytest.mark.parametrize("pshape", [(), (3,), (2, 3)])
def test_sampler_shapes_and_distribution(backend: IQMBackend, pshape: tuple[int, ...]) -> None:
    circ, names = three_qubit_circuit(measure=True)
    params = RNG.uniform(0, 3, size=(*pshape, 3))
    shots = 2000
    res = Sampler(backend).run([(circ, params)], shots=shots).result()
    pub = res[0]
    bits = pub.data.m
    assert pub.data.shape == pshape and bits.shape == pshape
    assert bits.num_shots == shots and bits.num_bits == 3
    assert pub.metadata == {"shots": shots, "circuit_metadata": {}}
    # Outcome histograms per parameter set, straight from the packed bytes.
    values = (bits.array[..., 0] & 7).reshape(-1, shots)
    counts = np.stack([(values == v).sum(axis=1) for v in range(8)], axis=1)
    probs = _probabilities(circ, names, params)
    sigma = np.sqrt(shots * probs * (1 - probs))
    assert np.all(np.abs(counts - shots * probs) <= SIGMAS * sigma + 1)


def test_sampler_keys_defaults_and_metadata(backend: IQMBackend) -> None:
    t = Parameter("t")
    ins = [
        Instruction(name="prx", locus=("QB1",), args={"angle": t, "phase": 0.0}),
        Instruction(name="prx", locus=("QB3",), args={"angle": math.pi, "phase": 0.0}),
        Instruction(name="measure", locus=("QB3", "QB1"), args={"key": "first"}),
        Instruction(name="measure", locus=("QB2",), args={"key": "second"}),
    ]
    circ = Circuit(name="keys", instructions=ins, metadata={"experiment": 7})
    sampler = Sampler(backend, default_shots=64)
    res = sampler.run([(circ, [[0.0], [math.pi]]), (circ, [0.0], 10)]).result()
    a, b = res
    assert list(a.data.keys()) == ["first", "second"]
    assert a.data.first.shape == (2,) and a.data.first.num_shots == 64
    assert a.data.first.num_bits == 2 and a.data.second.num_bits == 1
    # Bit 0 of "first" is QB3 (always 1); bit 1 is QB1 (0 at t=0, 1 at t=pi).
    np.testing.assert_array_equal(a.data.first.array[0, :, 0], 1)
    np.testing.assert_array_equal(a.data.first.array[1, :, 0], 3)
    np.testing.assert_array_equal(a.data.second.array, 0)
    assert b.data.first.shape == () and b.data.first.num_shots == 10
    assert b.metadata == {"shots": 10, "circuit_metadata": {"experiment": 7}}
    joined = a.join_data()
    assert joined.num_bits == 3


def test_sampler_errors(backend: IQMBackend) -> None:
    circ, _ = three_qubit_circuit()  # no measurement
    sampler = Sampler(backend)
    with pytest.raises(ValueError, match="no measurement"):
        sampler.run([(circ, [1.0, 2.0, 3.0])])
    mcirc, _ = three_qubit_circuit(measure=True)
    with pytest.raises(ValueError, match=r"circuit has 3 parameters \(t0, t1, t2\) but no"):
        sampler.run([mcirc])
    with pytest.raises(TypeError, match="shots must be an integer"):
        sampler.run([(mcirc, [1.0, 2.0, 3.0])], shots=10.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shots must be positive"):
        Sampler(backend, default_shots=0)
    with pytest.raises(ValueError, match=r"value\(s\) for unknown parameter\(s\) \['zz'\]"):
        sampler.run([(mcirc, BindingsArray({("t0", "t1", "zz"): [1.0, 2.0, 3.0]}))])
    with pytest.raises(ValueError, match=r"shape \(0,\) are empty"):
        sampler.run([(mcirc, np.zeros((0, 3)))])
    with pytest.raises(ValueError, match="not finite"):
        sampler.run([(mcirc, [np.inf, 2.0, 3.0])])


def test_prebuilt_pub_objects_are_accepted(backend: IQMBackend) -> None:
    circ, _ = three_qubit_circuit()
    pub = EstimatorPub(circ, "ZZZ", BindingsArray({("t0", "t1", "t2"): [0.1, 0.2, 0.3]}))
    res = Estimator(backend).run([pub], precision=0.1).result()
    assert res[0].metadata["target_precision"] == 0.1 and res[0].data.evs.shape == ()


def test_job_interface(backend: IQMBackend) -> None:
    circ, _ = three_qubit_circuit(measure=True)
    job = Sampler(backend).run([(circ, [0.1, 0.2, 0.3])], shots=5)
    res = job.result()
    assert job.result() is res  # cached
    assert job.done() and job.in_final_state() and not job.cancelled()
    assert job.job_id() == str(job.server_jobs[0].job_id)
    assert set(job.timings) >= {"prepare", "submit", "execute", "download", "parse", "assemble"}
    assert repr(job).startswith("PrimitiveJob(")

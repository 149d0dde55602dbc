"""shotpack.qiskit.SamplerV2 / EstimatorV2: Qiskit's V2 interfaces and containers on shotpack."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector
from qiskit.primitives import (
    BackendEstimatorV2,
    BackendSamplerV2,
    BaseEstimatorV2,
    BasePrimitiveJob,
    BaseSamplerV2,
    BitArray,
    DataBin,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
    StatevectorEstimator,
)
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers import JobStatus
from qiskit.quantum_info import Pauli, SparseObservable, SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from shotpack.primitives.estimator import Estimator
from shotpack.primitives.sampler import Sampler
from shotpack.qiskit import EstimatorV2, IQMBackend, SamplerV2
from shotpack.server import LocalServer


@pytest.fixture(scope="module")
def backend() -> Iterator[IQMBackend]:
    with LocalServer(qubits=4, seed=8) as srv:
        yield IQMBackend(srv.url)


def _ansatz() -> tuple[QuantumCircuit, ParameterVector]:
    theta = ParameterVector("θ", 4)
    qc = QuantumCircuit(2)
    qc.ry(theta[0], 0)
    qc.ry(theta[1], 1)
    qc.cx(0, 1)
    qc.rx(theta[2], 0)
    qc.rz(theta[3], 1)
    qc.ry(theta[3], 1)
    return qc, theta


def _isa(backend: IQMBackend, qc: QuantumCircuit) -> QuantumCircuit:
    pm = generate_preset_pass_manager(optimization_level=1, backend=backend, seed_transpiler=5)
    return pm.run(qc)


def test_sampler_is_a_qiskit_sampler_with_qiskit_results(backend: IQMBackend) -> None:
    q = QuantumRegister(2)
    a, b = ClassicalRegister(1, "alpha"), ClassicalRegister(2, "beta")
    qc = QuantumCircuit(q, a, b)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure(0, a[0])
    qc.measure([0, 1], [b[0], b[1]])
    isa = _isa(backend, qc)
    sampler = SamplerV2(backend, default_shots=300)
    assert isinstance(sampler, BaseSamplerV2)
    job = sampler.run([isa, (isa, None, 50)])
    assert isinstance(job, BasePrimitiveJob)
    result = job.result()
    assert job.status() is JobStatus.DONE and job.done() and job.in_final_state()
    assert not job.running() and not job.cancelled()
    assert isinstance(result, PrimitiveResult)
    assert len(job.shotpack_job.server_jobs) == 1  # both PUBs in one server job
    first = result[0]
    assert isinstance(first, SamplerPubResult) and isinstance(first.data, DataBin)
    assert isinstance(first.data.alpha, BitArray) and first.data.beta.num_bits == 2
    assert first.data.alpha.num_shots == 300 and result[1].data.beta.num_shots == 50
    assert set(first.data.beta.get_counts()) <= {"00", "11"}
    assert set(first.join_data().get_counts()) <= {"000", "111"}
    # The Qiskit BitArray wraps shotpack's packed buffer: no copy.
    mine = job.shotpack_job.result()[0].data.beta.array
    assert np.shares_memory(first.data.beta.array, mine)


def test_sampler_accepts_qiskit_pubs_and_bindings(backend: IQMBackend) -> None:
    qc, theta = _ansatz()
    qc.measure_all()
    isa = _isa(backend, qc)
    values = np.random.default_rng(2).uniform(-1, 1, size=(3, 4))
    bindings = BindingsArray({tuple(theta): values})
    pubs = [SamplerPub.coerce((isa, bindings), 40), (isa, values, 40)]
    result = SamplerV2(backend).run(pubs).result()
    assert result[0].data.meas.shape == (3,) == result[1].data.meas.shape
    # shotpack's own Sampler takes Qiskit's SamplerPub too.
    mine = Sampler(backend).run([SamplerPub.coerce((isa, bindings), 40)]).result()
    assert mine[0].data.meas.shape == (3,)


def test_estimator_is_a_qiskit_estimator_matching_statevector(backend: IQMBackend) -> None:
    qc, theta = _ansatz()
    isa = _isa(backend, qc)
    values = np.random.default_rng(4).uniform(-np.pi, np.pi, size=(5, 4))
    logical = [SparsePauliOp(["ZZ", "XI"], [1.0, 0.5]), Pauli("YY"), "IZ"]
    laid_out = ObservablesArray([[SparsePauliOp(o).apply_layout(isa.layout)] for o in logical])
    estimator = EstimatorV2(backend, default_precision=0.02)
    assert isinstance(estimator, BaseEstimatorV2)
    job = estimator.run([(isa, laid_out, BindingsArray({tuple(theta): values}))])
    result = job.result()
    assert isinstance(result[0], PubResult)
    evs, stds = result[0].data.evs, result[0].data.stds
    assert evs.shape == stds.shape == (3, 5)
    exact = StatevectorEstimator().run([(qc, [[o] for o in logical], values)]).result()
    assert np.all(np.abs(evs - exact[0].data.evs) <= 5 * stds + 1e-9)
    assert result[0].metadata["target_precision"] == 0.02
    assert len(job.shotpack_job.server_jobs) == 1


def test_estimator_observable_kinds(backend: IQMBackend) -> None:
    qc = QuantumCircuit(2)
    qc.x(0)
    isa = _isa(backend, qc)
    n = isa.num_qubits
    idx = isa.layout.final_index_layout()
    z0 = ["I"] * n
    z0[n - 1 - idx[0]] = "Z"
    label = "".join(z0)
    kinds = [label, Pauli(label), SparsePauliOp(label), SparseObservable(label), {label: 1.0}]
    pubs = [EstimatorPub.coerce((isa, k), 0.05) for k in kinds[:1]] + [(isa, k) for k in kinds]
    result = EstimatorV2(backend).run(pubs, precision=0.05).result()
    for r in result:
        assert r.data.evs == pytest.approx(-1.0)
    mine = Estimator(backend).run([EstimatorPub.coerce((isa, label), 0.05)]).result()
    assert mine[0].data.evs == pytest.approx(-1.0)


# Qiskit itself warns when it iterates a bare circuit given in place of a list of PUBs.
@pytest.mark.filterwarnings("ignore:Treating CircuitInstruction as an iterable:DeprecationWarning")
def test_rejects_what_qiskit_rejects_with_the_same_types(backend: IQMBackend) -> None:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    isa = _isa(backend, qc)
    for ours, theirs in (
        (SamplerV2(backend), BackendSamplerV2(backend=backend)),
        (EstimatorV2(backend), BackendEstimatorV2(backend=backend)),
    ):
        for bad in (isa, [(isa, [1.0])], [(isa, "Z" * 9, None, 0.1)], [5]):
            with pytest.raises(Exception) as theirs_exc:
                theirs.run(bad)  # type: ignore[arg-type]
            with pytest.raises(type(theirs_exc.value)):
                ours.run(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EstimatorV2(backend).run([(isa, "Z" * isa.num_qubits)], precision=0.0)
    with pytest.raises(ValueError):
        SamplerV2(backend).run([isa], shots=0)


def test_empty_run_and_options(backend: IQMBackend) -> None:
    sampler = SamplerV2(backend, default_shots=64)
    assert sampler.run([]).result().__len__() == 0
    sampler.options.default_shots = 32
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    assert sampler.run([_isa(backend, qc)]).result()[0].data.c.num_shots == 32
    estimator = EstimatorV2(backend)
    assert estimator.options.default_precision == 0.015625
    with pytest.raises(AttributeError):
        estimator.options.seed_simulator = 3  # type: ignore[attr-defined]


def test_pubs_that_measure_nothing(backend: IQMBackend) -> None:
    q = QuantumRegister(2)
    c, empty = ClassicalRegister(3, "c"), ClassicalRegister(0, "e")
    unmeasured = QuantumCircuit(q, c, empty)
    unmeasured.x(0)
    measured = QuantumCircuit(2, 2)
    measured.x(1)
    measured.measure([0, 1], [0, 1])
    bare = QuantumCircuit(2)
    sampler = SamplerV2(backend, default_shots=20)
    with pytest.warns(UserWarning, match="no classical registers"):
        job = sampler.run([_isa(backend, unmeasured), _isa(backend, measured), bare])
    result = job.result()
    assert result[0].data.c.get_counts() == {"000": 20}
    assert result[0].data.e.array.shape == (20, 0)
    assert result[1].data.c.get_counts() == {"10": 20}
    assert len(result[2].data) == 0
    # Only the PUB that measures something went to the server.
    assert len(job.shotpack_job.result()) == 1


def test_restricted_backend_runs_on_its_own_qubits() -> None:
    # QB1 reads out wrong every time: a circuit laid on QB1 would show it.
    with LocalServer(qubits=4, seed=3, readout_error={"QB1": 0.5}) as srv:
        restricted = IQMBackend(srv.url, qubits=["QB2", "QB4"])
        qc = QuantumCircuit(2, 2)
        qc.x(0)
        qc.measure([0, 1], [0, 1])
        isa = _isa(restricted, qc)
        counts = SamplerV2(restricted).run([(isa, None, 200)]).result()[0].data.c.get_counts()
        assert counts == {"01": 200}
        label = "ZI" if isa.layout.final_index_layout()[0] == 1 else "IZ"
        evs = EstimatorV2(restricted).run([(isa.remove_final_measurements(inplace=False), label)])
        assert evs.result()[0].data.evs == pytest.approx(-1.0)


def test_registers_partly_measured_and_pubs_of_different_shots(backend: IQMBackend) -> None:
    a, b, c = ClassicalRegister(1, "a"), ClassicalRegister(2, "b"), ClassicalRegister(3, "c")
    qc = QuantumCircuit(QuantumRegister(3), a, b, c)
    qc.x(1)
    qc.measure(1, c[2])  # only c's highest bit is written
    isa = _isa(backend, qc)
    result = SamplerV2(backend).run([(isa, None, 30), (isa, None, 45)]).result()
    for shots, pub in zip((30, 45), result, strict=True):
        data = pub.data
        assert list(data) == ["a", "b", "c"]
        assert data.a.get_counts() == {"0": shots} and data.b.get_counts() == {"00": shots}
        assert data.c.get_counts() == {"100": shots}
        assert pub.join_data().get_counts() == {"100000": shots}
        assert pub.metadata["shots"] == shots


def test_numpy_and_broadcast_parameter_values(backend: IQMBackend) -> None:
    qc, _ = _ansatz()
    isa = _isa(backend, qc)
    obs = SparsePauliOp("ZI").apply_layout(isa.layout)
    values = np.zeros((2, 3, 4))
    values[1] = np.pi  # θ[0] = π flips qubit 0 and the CNOT flips qubit 1: <Z_1> = -1
    values[..., 1:] = 0.0
    evs = EstimatorV2(backend).run([(isa, [[obs]], values)], precision=0.05).result()[0]
    assert evs.data.evs.shape == (2, 3)
    assert np.allclose(evs.data.evs[0], 1.0)
    assert np.allclose(evs.data.evs[1], -1.0)

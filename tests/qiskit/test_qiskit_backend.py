"""shotpack.qiskit.IQMBackend: a Qiskit BackendV2 whose Target comes from the local server."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.primitives import BackendSamplerV2
from qiskit.providers import BackendV2, JobStatus
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.result import Result
from qiskit.transpiler import generate_preset_pass_manager

from shotpack.iqm.client import IQMClient
from shotpack.primitives.sampler import Sampler
from shotpack.qiskit import IQMBackend, IQMTarget
from shotpack.server import LocalServer

NOISY = {"QB1": 0.2, "QB3": 0.15}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(qubits=5, seed=21, readout_error=NOISY) as srv:
        yield srv


@pytest.fixture(scope="module")
def backend(server: LocalServer) -> IQMBackend:
    return IQMBackend(server.url)


def _ghz_two_registers() -> QuantumCircuit:
    q = QuantumRegister(3, "q")
    a, b = ClassicalRegister(2, "a"), ClassicalRegister(1, "b")
    qc = QuantumCircuit(q, a, b, name="ghz")
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.measure(0, a[0])
    qc.measure(1, b[0])
    qc.measure(2, a[1])
    return qc


def test_is_a_backend_v2_with_the_server_target(backend: IQMBackend) -> None:
    assert isinstance(backend, BackendV2)
    assert isinstance(backend.target, IQMTarget)
    assert backend.num_qubits == 5
    assert backend.physical_qubits == ["QB1", "QB2", "QB3", "QB4", "QB5"]
    assert backend.qubit_name_to_index("QB3") == 2
    assert backend.index_to_qubit_name(4) == "QB5"
    with pytest.raises(ValueError, match="QB9"):
        backend.qubit_name_to_index("QB9")
    with pytest.raises(IndexError):
        backend.index_to_qubit_name(5)
    assert set(backend.operation_names) >= {"r", "cz", "measure", "reset", "delay", "barrier"}
    assert backend.target.instruction_supported("barrier", (0, 2, 4))
    edges = set(backend.coupling_map.get_edges())
    arch_pairs = backend.core.architecture.gates["cz"].loci
    expected = {
        (backend.qubit_name_to_index(a), backend.qubit_name_to_index(b)) for a, b in arch_pairs
    }
    assert edges == expected | {(b, a) for a, b in expected}
    assert backend.max_circuits is None


def test_target_errors_and_durations_come_from_the_quality_metrics(backend: IQMBackend) -> None:
    measure = backend.target["measure"]
    for name, idx in (("QB1", 0), ("QB2", 1), ("QB3", 2)):
        assert measure[(idx,)].error == pytest.approx(NOISY.get(name, 0.0))
        assert measure[(idx,)].duration == pytest.approx(1.5e-6)
    assert backend.target["r"][(0,)].duration == pytest.approx(40e-9)
    assert backend.target["cz"][(0, 1)].duration == pytest.approx(60e-9)


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_preset_pass_managers_give_circuits_that_run_unchanged(
    backend: IQMBackend, level: int
) -> None:
    pm = generate_preset_pass_manager(optimization_level=level, backend=backend, seed_transpiler=4)
    isa = pm.run(_ghz_two_registers())
    assert set(isa.count_ops()) <= {"r", "cz", "measure", "barrier"}
    if level >= 2:
        # Noise-aware layout keeps the measured qubits off the two noisy ones.
        used = set(isa.layout.initial_index_layout()[:3])
        assert not used & {0, 2}
    counts = backend.run(isa, shots=400).result().get_counts()
    assert sum(counts.values()) == 400
    if level >= 2:
        assert set(counts) == {"0 00", "1 11"}


def test_run_returns_a_qiskit_result_with_register_formatting(backend: IQMBackend) -> None:
    isa = transpile(_ghz_two_registers(), backend=backend, seed_transpiler=1)
    job = backend.run([isa, isa], shots=300, memory=True)
    result = job.result()
    assert isinstance(result, Result)
    assert job.status() is JobStatus.DONE
    header = result.results[0].header
    assert header["name"] == "ghz"
    assert header["creg_sizes"] == [["a", 2], ["b", 1]]
    assert header["memory_slots"] == 3
    memory = result.get_memory(1)
    counts = result.get_counts(1)
    assert len(memory) == 300
    assert all(len(m) == 4 and m[1] == " " for m in memory)
    assert {m: memory.count(m) for m in set(memory)} == dict(counts)
    # Same formatting as Qiskit's own simulator on the same circuit.
    reference = BasicSimulator().run(_ghz_two_registers(), shots=50, seed_simulator=1)
    assert set(reference.result().get_counts()) <= {"0 00", "1 11"}
    again = backend.retrieve_job(job.job_id()).result()
    assert again.get_memory(1) == memory


def test_memory_is_refused_unless_requested(backend: IQMBackend) -> None:
    isa = transpile(_ghz_two_registers(), backend=backend, seed_transpiler=1)
    result = backend.run(isa, shots=10).result()
    with pytest.raises(Exception, match="memory"):
        result.get_memory()


def test_restricted_target_and_backend(server: LocalServer) -> None:
    restricted = IQMBackend(server.url, qubits=["QB2", "QB4", "QB5"])
    assert restricted.num_qubits == 3
    target = IQMBackend(server.url).restrict_to_qubits(["QB2", "QB4", "QB5"])
    assert target.num_qubits == 3
    assert set(target.build_coupling_map().get_edges()) == set(restricted.coupling_map.get_edges())
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    isa = transpile(qc, target=target, seed_transpiler=2)
    counts = restricted.run(isa, shots=200).result().get_counts()
    assert set(counts) == {"00", "11"}  # QB2, QB4, QB5 have no readout error
    # shotpack's own Sampler lays Qiskit circuits on the restricted backend's qubits too.
    data = Sampler(restricted).run([(isa, None, 200)]).result()[0].data
    assert set(data.c.get_counts()) == {"00", "11"}


def test_errors_name_what_was_given(server: LocalServer, backend: IQMBackend) -> None:
    with pytest.raises(TypeError, match="int"):
        IQMBackend(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"qiskit\.providers\.basic_provider"):
        Sampler(BasicSimulator())
    big = QuantumCircuit(7)
    with pytest.raises(ValueError, match="7 qubits"):
        backend.run(big)
    with pytest.raises(ValueError, match="unknown run options"):
        backend.run(QuantumCircuit(1), seed=3)
    with pytest.warns(UserWarning, match="no simulator seed"):
        qc = QuantumCircuit(2, 1)
        qc.measure(1, 0)  # QB2 reads out without error
        assert backend.run(qc, shots=5, seed_simulator=3).result().get_counts() == {"0": 5}


def test_qiskits_backend_sampler_runs_on_it(backend: IQMBackend) -> None:
    # Qiskit's own BackendSamplerV2 (memory=True, seed_simulator=None) reads our Result.
    isa = transpile(_ghz_two_registers(), backend=backend, seed_transpiler=1)
    pub = BackendSamplerV2(backend=backend).run([(isa, None, 200)]).result()[0]
    assert pub.data.a.num_shots == 200
    assert set(pub.join_data().get_counts()) <= {"000", "111", "001", "110", "100", "011"}
    ours = backend.run(isa, shots=200, memory=True).result().get_memory()
    assert len(ours) == 200


def test_shotpack_sampler_runs_on_the_qiskit_backend(backend: IQMBackend) -> None:
    isa = transpile(_ghz_two_registers(), backend=backend, seed_transpiler=1)
    data = Sampler(backend).run([isa], shots=100).result()[0].data
    assert data.a.num_shots == 100 and data.b.num_bits == 1
    bits = np.unpackbits(data.a.array, axis=-1)[:, -2:]
    assert bits.shape == (100, 2)
    client = IQMClient(backend.client.root_url)
    assert Sampler(client).run([isa], shots=10).result()[0].data.a.num_shots == 10

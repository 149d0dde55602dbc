"""IQMBackend and IQMJob over real loopback HTTP: results in Qiskit's formats, status, cancel,
failures, retrieval, faults during download, and a 1M-shot job."""

from __future__ import annotations

import sys
import warnings
from collections import Counter

import numpy as np
import pytest

from shotpack.iqm import errors as E
from shotpack.iqm.backend import IQMBackend
from shotpack.iqm.client import IQMClient
from shotpack.iqm.job import IQMJob, JobStatus
from shotpack.iqm.models import Circuit, Instruction
from shotpack.iqm.transport import RetryPolicy
from shotpack.server.local import LocalServer
from tests.iqm.test_iqm_memory import iqm_job_class

FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.001, backoff_max=0.01)
HALF_PI = float(np.pi / 2)


@pytest.fixture(scope="module")
def server():
    with LocalServer(qubits=4, seed=5, readout_error=0.05) as srv:
        yield srv


@pytest.fixture
def backend(server):
    server.faults.clear()
    client = IQMClient(server.url, retry=FAST_RETRY)
    yield IQMBackend(client)
    server.faults.clear()


def qiskit_keyed_circuit(name: str = "ghz") -> Circuit:
    """GHZ on QB1..QB3, measured into register c (2 bits) and register d (1 bit)."""
    h = {"angle": HALF_PI, "phase": HALF_PI}
    return Circuit(
        name=name,
        instructions=[
            Instruction(name="prx", locus=("QB1",), args=h),
            Instruction(name="prx", locus=("QB2",), args=h),
            Instruction(name="cz", locus=("QB1", "QB2")),
            Instruction(name="prx", locus=("QB2",), args={"angle": -HALF_PI, "phase": HALF_PI}),
            Instruction(name="measure", locus=("QB1",), args={"key": "c_2_0_0"}),
            Instruction(name="measure", locus=("QB2",), args={"key": "c_2_0_1"}),
            Instruction(name="measure", locus=("QB3",), args={"key": "d_1_1_0"}),
        ],
    )


def check_against_iqm_client(job: IQMJob, result) -> None:
    """Memory and counts equal iqm-client's formatter applied to the per-shot lists."""
    IQMJob_ref = iqm_job_class()
    meas = job.backend().client.get_job_measurements(job.job_id())
    for i, m in enumerate(meas):
        want = IQMJob_ref._iqm_format_measurement_results(m, len(next(iter(m.values()))))
        assert result.get_memory(i) == want
        assert list(result.get_counts(i).items()) == list(Counter(want).items())


def test_run_and_result(backend):
    job = backend.run([qiskit_keyed_circuit(), qiskit_keyed_circuit("b")], shots=300)
    assert isinstance(job, IQMJob) and job.job_id()
    result = job.result(progress=False)
    assert job.status() == JobStatus.DONE
    assert result.job_id == job.job_id() and result.backend_name == backend.name
    counts = result.get_counts()
    assert isinstance(counts, list) and len(counts) == 2
    assert sum(counts[0].values()) == 300
    assert all(len(k) == 4 and k[1] == " " for k in counts[0])  # 'd cc'
    assert result.get_counts("b") == counts[1]
    check_against_iqm_client(job, result)
    pubs = result.data
    assert len(pubs) == 2
    data = pubs[0].data
    assert list(data.keys()) == ["c", "d"]
    assert data.c.num_bits == 2 and data.d.num_bits == 1 and data.c.num_shots == 300
    assert pubs[0].metadata["shots"] == 300
    q = result.to_qiskit()
    assert q.get_counts(0) == counts[0] and q.get_memory(1) == result.get_memory(1)
    assert job.result() is result  # cached
    assert job.error_message() is None
    assert job.queue_position() is None


def test_qiskit_circuit_with_unmeasured_register(backend):
    qiskit = pytest.importorskip("qiskit")
    qc = qiskit.QuantumCircuit(
        qiskit.QuantumRegister(2, "q"),
        qiskit.ClassicalRegister(2, "a"),
        qiskit.ClassicalRegister(3, "never"),
        qiskit.ClassicalRegister(1, "z"),
        name="qk",
    )
    qc.x(0)
    qc.measure(0, 1)  # a[1] = 1
    qc.measure(1, 5)  # z[0] = 0
    result = backend.run(qc, shots=50).result(progress=False)
    counts = result.get_counts()
    assert set(counts) <= {"0 000 10", "1 000 10", "0 000 00", "1 000 00"}
    assert sum(counts.values()) == 50
    assert max(counts, key=counts.get) == "0 000 10"  # readout error is small
    data = result.data[0].data
    assert list(data.keys()) == ["a", "never", "z"]
    assert data.never.num_bits == 3 and not np.asarray(data.never.array).any()


def test_result_metadata_hides_internal_keys(backend):
    qiskit = pytest.importorskip("qiskit")
    qc = qiskit.QuantumCircuit(2, 2, name="meta")
    qc.metadata = {"user": 1, "tag": "x"}
    qc.measure([0, 1], [0, 1])
    plain = Circuit(
        name="plain",
        instructions=[Instruction(name="measure", locus=("QB1",), args={"key": "m"})],
        metadata={"user": 2, "shotpack.qubits": ["QB1"], "shotpack.future": 0},
    )
    result = backend.run([qc, plain], shots=10).result(progress=False)
    assert result.results[0].metadata == {"user": 1, "tag": "x"}
    assert result.results[1].metadata == {"user": 2}
    assert result.data[0].metadata["circuit_metadata"] == {"user": 1, "tag": "x"}
    assert result.data[1].metadata["circuit_metadata"] == {"user": 2}
    # The circuits themselves keep their keys (the qubit order is still declared).
    assert plain.metadata is not None and "shotpack.qubits" in plain.metadata


def test_non_qiskit_keys(backend):
    c = Circuit(
        name="plain",
        instructions=[
            Instruction(name="prx", locus=("QB1",), args={"angle": float(np.pi), "phase": 0.0}),
            Instruction(name="measure", locus=("QB1", "QB2"), args={"key": "first"}),
            Instruction(name="measure", locus=("QB3",), args={"key": "second"}),
        ],
    )
    job = backend.run([c, qiskit_keyed_circuit()], shots=40)
    result = job.result(progress=False)
    data = result.data[0].data
    assert list(data.keys()) == ["first", "second"]
    # One "register" per key, first key rightmost.
    meas = backend.client.get_job_measurements(job.job_id())[0]
    want = [f"{s2[0]} {f[1]}{f[0]}" for f, s2 in zip(meas["first"], meas["second"], strict=True)]
    assert result.get_memory(0) == want
    # The Qiskit-keyed circuit of the same batch still gets registers.
    assert list(result.data[1].data.keys()) == ["c", "d"]
    check_against_iqm_client_one(job, result, 1)


def check_against_iqm_client_one(job, result, i):
    meas = job.backend().client.get_job_measurements(job.job_id())[i]
    want = iqm_job_class()._iqm_format_measurement_results(meas, len(next(iter(meas.values()))))
    assert result.get_memory(i) == want


def test_circuit_without_measurements(backend):
    c = Circuit(
        name="nomeas",
        instructions=[Instruction(name="prx", locus=("QB1",), args={"angle": 1.0, "phase": 0.0})],
    )
    result = backend.run(c, shots=10).result(progress=False)
    assert result.get_counts() == {} and result.get_memory() == []
    assert dict(result.data[0].data.items()) == {}


def test_cancel_while_queued(backend, server):
    with server.paused("all"):
        job = backend.run(qiskit_keyed_circuit(), shots=10)
        assert job.status() == JobStatus.QUEUED
        assert isinstance(job.queue_position(refresh=True), int)
        assert job.cancel() is True
        assert job.status() == JobStatus.CANCELLED
    with pytest.raises(E.JobCancelledError, match=job.job_id()):
        job.result(progress=False)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert job.cancel() is False  # already cancelled: the server refuses
    assert any("Failed to cancel" in str(x.message) for x in w)
    assert job.error_message() is not None


def test_failed_job_raises_with_server_message():
    with LocalServer(qubits=4, seed=1, max_qubits=2) as srv:
        backend = IQMBackend(IQMClient(srv.url))
        job = backend.run(qiskit_keyed_circuit(), shots=10)  # needs 3 qubits
        with pytest.raises(E.JobFailedError) as ei:
            job.result(progress=False)
        assert job.status() == JobStatus.ERROR
        msg = job.error_message()
        assert msg and msg.split(": ")[-1] in str(ei.value)
        assert isinstance(ei.value, E.ShotpackError)


def test_result_timeout(backend, server):
    with server.paused("all"):
        job = backend.run(qiskit_keyed_circuit(), shots=10)
        with pytest.raises(E.OperationTimeoutError, match="didn't finish"):
            job.result(timeout=0.1, progress=False)
        job.cancel()


def test_timeout_seconds_attribute(backend, server):
    with server.paused("all"):
        job = backend.run(qiskit_keyed_circuit(), shots=10, timeout_seconds=0.05)
        assert job.timeout_seconds == 0.05
        with pytest.raises(E.OperationTimeoutError):
            job.result(progress=True)
        job.cancel()


def test_retrieve_job(backend, server):
    job = backend.run(qiskit_keyed_circuit(), shots=25)
    first = job.result(progress=False)
    other = IQMBackend(IQMClient(server.url))
    again = other.retrieve_job(job.job_id())
    r = again.result(progress=False)
    assert r.get_memory() == first.get_memory()
    assert r.results[0].name == "ghz"
    with pytest.raises(E.NotFoundError):
        other.retrieve_job("00000000-0000-0000-0000-000000000000")


def test_submit_unsubmitted_job(backend):
    req = backend.client.create_run_request([qiskit_keyed_circuit()], shots=5)
    job = IQMJob(backend, None, run_request=req)
    assert job.status() == JobStatus.INITIALIZING
    with pytest.raises(E.InvalidOperationError):
        job.job_id()
    job.submit()
    assert job.result(progress=False).results[0].shots == 5
    with pytest.raises(E.InvalidOperationError, match="already submitted"):
        job.submit()


def test_faults_during_result_lose_nothing(backend, server):
    job = backend.run(qiskit_keyed_circuit(), shots=500)
    job.wait_for_final_state(progress=False)
    ref = backend.client.get_job_measurements(job.job_id())
    server.faults.truncate_next(1, path="/artifacts/measurements$")
    server.faults.fail_next(1, status=503, path="/artifacts/measurements$")
    server.faults.drop_next(1, path=r"/jobs/[0-9a-f-]+$")
    fresh = backend.retrieve_job(job.job_id())
    result = fresh.result(progress=False)
    want = iqm_job_class()._iqm_format_measurement_results(ref[0], 500)
    assert result.get_memory() == want
    assert sum(result.get_counts().values()) == 500


def test_million_shots(backend):
    job = backend.run(qiskit_keyed_circuit(), shots=1_000_000)
    result = job.result(progress=False)
    mem = result.get_memory()
    counts = result.get_counts()
    assert len(mem) == 1_000_000 and sum(counts.values()) == 1_000_000
    assert Counter(mem) == counts
    bins = backend.client.get_job_data_bins(job.job_id())
    c = bins[0]
    # Spot-check against the per-key packed bins: register c bit 1 is key c_2_0_1.
    rows = np.random.default_rng(0).integers(0, 1_000_000, 200)
    for r in rows:
        assert mem[r][3] == str(int(np.asarray(c["c_2_0_0"].array)[r, -1] & 1))
        assert mem[r][2] == str(int(np.asarray(c["c_2_0_1"].array)[r, -1] & 1))
        assert mem[r][0] == str(int(np.asarray(c["d_1_1_0"].array)[r, -1] & 1))


class _Stream:
    """A stand-in for sys.stderr that is or is not a terminal."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.text: list[str] = []

    def isatty(self) -> bool:
        return self.tty

    def write(self, s: str) -> int:
        self.text.append(s)
        return len(s)

    def flush(self) -> None:
        pass


def test_progress_default_follows_the_terminal(monkeypatch):
    pytest.importorskip("tqdm")
    from shotpack.iqm.circuit_job import progress_default

    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.setattr("sys.stderr", _Stream(tty=True))
    assert progress_default() is True
    monkeypatch.setattr("sys.stderr", _Stream(tty=False))
    assert progress_default() is False
    monkeypatch.setattr("sys.stderr", None)
    assert progress_default() is False
    # Without tqdm there is never a bar, terminal or not.
    monkeypatch.setattr("sys.stderr", _Stream(tty=True))
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert progress_default() is False


def test_result_shows_no_bar_unless_on_a_terminal_or_asked(backend, server, monkeypatch):
    pytest.importorskip("tqdm")
    c = Circuit(
        name="p", instructions=[Instruction(name="measure", locus=("QB1",), args={"key": "m"})]
    )
    quiet = _Stream(tty=False)
    monkeypatch.setattr("sys.stderr", quiet)
    backend.run(c, shots=10).result()
    assert quiet.text == []
    # Forced on, a non-terminal stream gets the bar.
    backend.run(c, shots=10).result(progress=True)
    assert "Progress" in "".join(quiet.text)
    # On a terminal the default shows it; progress=False still silences it.
    tty = _Stream(tty=True)
    monkeypatch.setattr("sys.stderr", tty)
    backend.run(c, shots=10).result(progress=False)
    assert tty.text == []
    backend.run(c, shots=10).result()
    assert "Progress" in "".join(tty.text)

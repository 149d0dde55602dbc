"""Progress a person (a bar) and a program (a callback) can read while a primitive job waits."""

from __future__ import annotations

import io

import pytest

pytest.importorskip("qiskit")
pytest.importorskip("tqdm")

from qiskit import QuantumCircuit

from shotpack.iqm.models.jobs import JobData, ServerJobStatus
from shotpack.primitives.sampler import Sampler
from shotpack.qiskit import IQMBackend, SamplerV2
from shotpack.server import LocalServer


def _circuit() -> QuantumCircuit:
    qc = QuantumCircuit(1, 1)
    qc.r(1.0, 0.0, 0)
    qc.measure(0, 0)
    return qc


def test_callback_sees_the_queue_then_the_final_state() -> None:
    with LocalServer(qubits=2, seed=1, job_delay=0.4) as srv:
        backend = IQMBackend(srv.url)
        first = SamplerV2(backend).run([(_circuit(), None, 100)])
        second = SamplerV2(backend).run([(_circuit(), None, 100)])
        seen: list[JobData] = []
        second.result(progress=False, progress_callback=seen.append)
        first.result(progress=False)
    assert seen, "the callback was never called"
    assert seen[-1].status == ServerJobStatus.COMPLETED
    positions = [d.queue_position for d in seen if d.status == ServerJobStatus.WAITING]
    assert positions and all(p is not None and p >= 0 for p in positions)
    done = seen[-1].execution
    assert done is not None and done.progress["shots"].value == 100


def test_bar_shows_counts_not_rates_and_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    with LocalServer(qubits=2, seed=2, job_delay=0.3) as srv:
        backend = IQMBackend(srv.url)
        blocker = Sampler(backend).run([(_circuit(), None, 50)])
        job = SamplerV2(backend).run([(_circuit(), None, 64)])
        assert job.result(progress=True)[0].data.c.num_shots == 64
        blocker.result(progress=False)
    text = err.getvalue()
    assert "Queued: position" in text
    assert "it/s" not in text and "s/it" not in text
    # leave=False: the bar's last write erases its line.
    assert text.rstrip(" ").endswith("\r")

"""The official iqm-client 36 runs unchanged against the local server (real loopback HTTP)."""

from __future__ import annotations

import math
import uuid

import numpy as np
import pytest

pytest.importorskip("iqm.iqm_client")

from exa.common.errors.iqm_error import (
    AuthenticationError,
    ConflictError,
    DataSizeError,
    NotFoundError,
    SystemUnavailableError,
)
from iqm.iqm_client import IQMClient
from iqm.pulse import Circuit, CircuitOperation

PI = math.pi
TOKEN = "official-client-token"


def op(name: str, *locus: str, **args) -> CircuitOperation:
    return CircuitOperation(name=name, locus=tuple(locus), args=args)


def bell(name: str = "bell") -> Circuit:
    return Circuit(
        name,
        (
            op("prx", "QB1", angle=PI / 2, phase=PI / 2),
            op("prx", "QB2", angle=PI / 2, phase=PI / 2),
            op("cz", "QB1", "QB2"),
            op("prx", "QB2", angle=-PI / 2, phase=PI / 2),
            op("measure", "QB1", "QB2", key="m"),
        ),
    )


@pytest.fixture
def client(iqm_server) -> IQMClient:
    return IQMClient.from_url(iqm_server.url, token=TOKEN)


pytestmark = [
    pytest.mark.iqm_server(token=TOKEN, qubits=6, readout_error=0.0),
    # iqm-client's own payload model tries its deprecated circuit classes while parsing.
    pytest.mark.filterwarnings("ignore:.*circuit\\._(Instruction|Circuit)` is deprecated"),
]


def test_architectures_and_metadata(client, iqm_server):
    assert client.quantum_computer_name == "sim"
    sqa = client.get_static_quantum_architecture()
    assert sqa.qubits == [f"QB{i}" for i in range(1, 7)]
    assert ("QB1", "QB2") in sqa.connectivity
    dqa = client.get_dynamic_quantum_architecture()
    assert dqa.calibration_set_id == iqm_server.architecture.calibration_set_id
    assert client.get_dynamic_quantum_architecture(dqa.calibration_set_id) == dqa
    assert set(dqa.gates) == {"prx", "cc_prx", "cz", "measure"}
    assert client.get_calibration_set().observations
    assert client.get_quality_metric_set(dqa.calibration_set_id).observations
    assert client.get_health()["status"] == "healthy"
    assert "about_station" in client.get_about()
    assert client.get_feedback_groups() == (frozenset(sqa.qubits),)
    with pytest.raises(NotFoundError):
        client.get_dynamic_quantum_architecture(uuid.uuid4())


def test_wrong_or_missing_token_is_rejected(iqm_server):
    with pytest.raises(AuthenticationError):
        IQMClient.from_url(iqm_server.url, token="wrong")
    with pytest.raises(AuthenticationError):
        IQMClient.from_url(iqm_server.url)


def test_submit_wait_measurements_and_counts(client):
    job = client.submit_circuits([bell("a"), bell("b")], shots=2000)
    assert job.wait_for_completion(polling_interval=0.02) == "completed"
    results = job.result()
    assert results is not None and len(results) == 2
    for circuit in results:
        bits = np.array(circuit["m"])
        assert bits.shape == (2000, 2)
        assert np.array_equal(bits[:, 0], bits[:, 1])
        assert abs(bits[:, 0].sum() - 1000) < 5 * math.sqrt(500)
    counts = job.result_counts()
    assert counts is not None
    for circuit, entry in zip(results, counts, strict=True):
        ones = int(np.array(circuit["m"])[:, 0].sum())
        assert entry.measurement_keys == ["m"]
        assert entry.counts == {"00": 2000 - ones, "11": ones}

    # A fresh tracker (another session) gets status, payload and results from the server.
    again = client.get_job(job.job_id)
    assert again.status == "completed"
    assert again.payload().shots == 2000
    assert again.result() == results
    with pytest.raises(ConflictError):
        client.cancel_job(job.job_id)


def test_feedback_circuit(client):
    circuit = Circuit(
        "teleport-bit",
        (
            op("prx", "QB1", angle=PI / 2, phase=PI / 2),
            op("measure", "QB1", key="a", feedback_key="fb"),
            op("cc_prx", "QB2", angle=PI, phase=0.0, feedback_key="fb", feedback_qubit="QB1"),
            op("measure", "QB2", key="b"),
        ),
    )
    job = client.submit_circuits([circuit], shots=500)
    assert job.wait_for_completion(polling_interval=0.02) == "completed"
    [result] = job.result()
    assert result["a"] == result["b"]


def test_cancel_while_queued(client, iqm_server):
    with iqm_server.paused():
        job = client.submit_circuits([bell()], shots=10)
        job.update()
        assert job.status == "waiting" and job.job_data.queue_position == 0
        job.cancel()
        assert job.wait_for_completion(polling_interval=0.02) == "cancelled"
    assert job.result() is None


def test_server_side_failure_is_reported(client):
    # cc_prx reading a feedback bit that was never measured passes iqm-client's checks.
    circuit = Circuit(
        "bad-feedback",
        (
            op("cc_prx", "QB2", angle=PI, phase=0.0, feedback_key="nope", feedback_qubit="QB1"),
            op("measure", "QB2", key="b"),
        ),
    )
    job = client.submit_circuits([circuit], shots=10)
    assert job.wait_for_completion(polling_interval=0.02) == "failed"
    assert "no earlier measure" in job.errors
    assert job.result() is None


def test_http_errors_map_to_iqm_exceptions(client, iqm_server):
    iqm_server.faults.fail_next(1, status=503, path="/circuit$")
    with pytest.raises(SystemUnavailableError, match="injected fault"):
        client.submit_circuits([bell()], shots=10)
    job = client.submit_circuits([bell()], shots=10)
    job.wait_for_completion(polling_interval=0.02)
    client.delete_job(job.job_id)
    with pytest.raises(NotFoundError):
        client.get_job(job.job_id)


@pytest.mark.iqm_server(token=TOKEN, max_body_bytes=1000)
def test_request_too_large(client):
    with pytest.raises(DataSizeError):
        client.submit_circuits([bell(f"c{i}") for i in range(20)], shots=10)

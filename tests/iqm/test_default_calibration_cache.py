"""submit_circuits reuses the default calibration's architecture (issue 9, item 13).

The default calibration set's id is trusted for ``default_calibration_ttl`` seconds, and
forgotten as soon as a job shows the server compiled with a set the client has not seen (what
happens right after the default changes). Real ``LocalServer`` on 127.0.0.1.
"""

from __future__ import annotations

import math
import uuid

import pytest

from shotpack.iqm.client import IQMClient
from shotpack.iqm.models import Circuit, Instruction, ServerJobStatus
from shotpack.iqm.transport import RetryPolicy
from shotpack.server.local import LocalServer

FAST = RetryPolicy(max_attempts=4, backoff_base=0.001, backoff_max=0.01)
DQA_PATH = "/default/dynamic-quantum-architecture"


@pytest.fixture
def server():
    with LocalServer(qubits=3, seed=3) as srv:
        yield srv


def x2() -> Circuit:
    return Circuit(
        name="x2",
        instructions=[
            Instruction(name="prx", locus=("QB2",), args={"angle": math.pi, "phase": 0.0}),
            Instruction(name="measure", locus=("QB1", "QB2"), args={"key": "m"}),
        ],
    )


def dqa_requests(server, start: int = 0) -> int:
    return sum(1 for r in server.requests[start:] if r.path.endswith(DQA_PATH))


def test_default_architecture_fetched_once(server):
    client = IQMClient(server.url, retry=FAST)
    n = len(server.requests)
    jobs = [client.submit_circuits([x2()], shots=4) for _ in range(5)]
    assert dqa_requests(server, n) == 1
    for job in jobs:
        assert job.wait_for_completion(60) == ServerJobStatus.COMPLETED
        assert job.data_bins()[0]["m"].get_counts() == {"10": 4}


def test_cached_architecture_spares_faulted_requests(server):
    client = IQMClient(server.url, retry=FAST)
    server.faults.fail_next(2, status=503, path=f"{DQA_PATH}$")
    client.submit_circuits([x2()], shots=2)  # retried through two 503s
    # From now on every DQA request would fail; submits do not make one.
    server.faults.fail_next(1000, status=503, path=f"{DQA_PATH}$")
    for _ in range(3):
        client.submit_circuits([x2()], shots=2)
    hits = [r for r in server.requests if r.path.endswith(DQA_PATH)]
    assert [r.status for r in hits] == [503, 503, 200]


def test_ttl_zero_asks_every_time(server):
    client = IQMClient(server.url, retry=FAST)
    client.default_calibration_ttl = 0.0
    n = len(server.requests)
    for _ in range(3):
        client.submit_circuits([x2()], shots=2)
    assert dqa_requests(server, n) == 3


def test_default_change_noticed_from_a_job(server):
    client = IQMClient(server.url, retry=FAST)
    first = client.submit_circuits([x2()], shots=2)
    assert first.wait_for_completion(60) == ServerJobStatus.COMPLETED
    old = first.data.compilation.calibration_set_id
    assert old == server.architecture.calibration_set_id
    n = len(server.requests)
    client.submit_circuits([x2()], shots=2)
    assert dqa_requests(server, n) == 0  # still cached

    # The server's default calibration changes; the next job compiles with the new set.
    server.architecture.calibration_set_id = new = uuid.uuid4()
    job = client.submit_circuits([x2()], shots=2)  # still validated against the cached one
    assert job.wait_for_completion(60) == ServerJobStatus.COMPLETED
    assert job.data.compilation.calibration_set_id == new
    n = len(server.requests)
    client.submit_circuits([x2()], shots=2)
    assert dqa_requests(server, n) == 1  # the job's status revealed the change
    assert client.get_dynamic_quantum_architecture(new).calibration_set_id == new
    assert dqa_requests(server, n) == 1  # ... and the new set is cached by id


def test_explicit_calibration_set_cached_by_id(server):
    client = IQMClient(server.url, retry=FAST)
    cal = server.architecture.calibration_set_id
    n = len(server.requests)
    for _ in range(3):
        client.submit_circuits([x2()], shots=2, calibration_set_id=cal)
    by_id = [r for r in server.requests[n:] if "dynamic-quantum-architecture" in r.path]
    assert len(by_id) == 1 and str(cal) in by_id[0].path

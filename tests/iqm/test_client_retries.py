"""Status polls and result fetches survive slow and broken responses (issue 9, item 12).

A read timeout or a lost connection on an idempotent GET is retried with backoff, and a poll
that still fails is followed by the next one, all within the overall timeout of
``wait_for_completion``; only errors that waiting cannot fix end the wait early. Everything runs
against a real ``LocalServer`` on 127.0.0.1 with its fault injection.
"""

from __future__ import annotations

import math
import time

import pytest

from shotpack.iqm import errors as E
from shotpack.iqm.backend import IQMBackend
from shotpack.iqm.client import IQMClient
from shotpack.iqm.job import IQMJob
from shotpack.iqm.models import Circuit, Instruction, ServerJobStatus
from shotpack.iqm.transport import RetryPolicy
from shotpack.server.local import LocalServer

FAST = RetryPolicy(max_attempts=4, backoff_base=0.001, backoff_max=0.01)
TIMEOUT = 0.3
"""The clients' read timeout; delay faults last longer."""
SLOW = 1.0


@pytest.fixture(scope="module")
def server():
    with LocalServer(qubits=3, seed=5) as srv:
        yield srv


@pytest.fixture
def client(server):
    server.faults.clear()
    c = IQMClient(server.url + "/", timeout=TIMEOUT, retry=FAST)
    yield c
    server.faults.clear()
    c.close()


def flip_first() -> Circuit:
    """X on QB1, then measure QB1 and QB2: every shot reads '01' (QB1 is the rightmost bit)."""
    return Circuit(
        name="x1",
        instructions=[
            Instruction(name="prx", locus=("QB1",), args={"angle": math.pi, "phase": 0.0}),
            Instruction(name="measure", locus=("QB1", "QB2"), args={"key": "m"}),
        ],
    )


def arrived(server, want: int, pred, start: int = 0) -> list:
    """The records matching ``pred`` once ``want`` of them are logged (a delayed request is
    logged when its delay ends, after the client's retry; waits at most 20 s)."""
    for _ in range(1000):
        got = [r for r in server.requests[start:] if pred(r)]
        if len(got) >= want:
            return got
        time.sleep(0.02)
    return got


def faulted(server, kind: str, suffix: str, start: int = 0, want: int = 0) -> list:
    return arrived(server, want, lambda r: r.fault == kind and r.path.endswith(suffix), start)


def test_slow_status_poll_does_not_abort_the_wait(client, server):
    with server.paused():
        job = client.submit_circuits([flip_first()], shots=20)
        server.faults.delay_next(2, SLOW, path=f"/jobs/{job.job_id}$", method="GET")
    assert job.wait_for_completion(timeout_secs=60) == ServerJobStatus.COMPLETED
    assert job.data_bins()[0]["m"].get_counts() == {"01": 20}
    assert len(faulted(server, "delay", str(job.job_id), want=2)) == 2


def test_broken_polls_beyond_the_retry_budget_keep_waiting(client, server):
    # 6 dropped polls in a row: more than one request's 4 attempts, so one whole poll fails;
    # the wait goes on with the next poll instead of giving up on a job that completes.
    n = len(server.requests)
    with server.paused():
        job = client.submit_circuits([flip_first()], shots=7)
        server.faults.drop_next(3, path=f"/jobs/{job.job_id}$", method="GET")
        server.faults.reset_next(3, path=f"/jobs/{job.job_id}$", method="GET")
    assert job.wait_for_completion(timeout_secs=60) == ServerJobStatus.COMPLETED
    assert len(faulted(server, "drop", str(job.job_id), n)) == 3
    assert len(faulted(server, "reset", str(job.job_id), n)) == 3
    assert job.data_bins()[0]["m"].get_counts() == {"01": 7}


@pytest.mark.parametrize("kind", ["delay", "drop", "reset", "truncate", "502"])
def test_result_fetch_retried(client, server, kind):
    job = client.submit_circuits([flip_first()], shots=9)
    assert job.wait_for_completion(timeout_secs=60) == ServerJobStatus.COMPLETED
    path = "/artifacts/measurements$"
    n = len(server.requests)
    if kind == "delay":
        server.faults.delay_next(1, SLOW, path=path)
    elif kind == "502":
        server.faults.fail_next(1, status=502, path=path)
    else:
        getattr(server.faults, f"{kind}_next")(1, path=path)
    assert job.data_bins()[0]["m"].get_counts() == {"01": 9}
    fetches = arrived(server, 2, lambda r: r.path.endswith("/artifacts/measurements"), n)
    assert len(fetches) == 2
    assert sorted(str(r.fault) for r in fetches) == sorted(["None", kind.replace("502", "status")])


def test_iqm_job_result_through_slow_polls(client, server):
    backend = IQMBackend(client)
    with server.paused():
        cj = client.submit_circuits([flip_first()], shots=11)
        server.faults.delay_next(2, SLOW, path=f"/jobs/{cj.job_id}$", method="GET")
        server.faults.delay_next(1, SLOW, path=f"/jobs/{cj.job_id}/payload$")
    job = IQMJob(backend, cj.job_id)
    assert job.result(timeout=60).get_counts() == {"01": 11}


def test_wait_ends_at_the_overall_timeout(client, server):
    # Every poll is slow and the job never runs: the wait returns the last status it saw
    # (IQMJob raises) once its own timeout has passed, instead of failing on the first poll.
    with server.paused():
        job = client.submit_circuits([flip_first()], shots=3)
        server.faults.delay_next(1000, SLOW, path=f"/jobs/{job.job_id}$", method="GET")
        assert job.wait_for_completion(timeout_secs=1.0) == ServerJobStatus.WAITING
        with pytest.raises(E.OperationTimeoutError, match="didn't finish"):
            IQMJob(IQMBackend(client), job.job_id).wait_for_final_state(timeout=1.0)
        server.faults.clear()
        client.cancel_job(job.job_id)


def test_errors_that_waiting_cannot_fix_end_the_wait(client, server):
    with server.paused():
        job = client.submit_circuits([flip_first()], shots=3)
        client.delete_job(job.job_id)
    with pytest.raises(E.NotFoundError):
        job.wait_for_completion(timeout_secs=60)


def test_transport_deadline(client):
    with pytest.raises(E.OperationTimeoutError, match="Deadline"):
        client._transport.request("GET", "about", deadline=time.monotonic() - 1.0)
    assert client._transport.request("GET", "about", deadline=time.monotonic() + 60).ok


def test_get_read_timeout_retried_with_backoff(client, server):
    delays: list[float] = []
    client._transport.sleep = delays.append
    server.faults.delay_next(2, SLOW, path="/health$")
    assert client.get_health()["status"] == "healthy"
    assert len(delays) == 2 and all(d >= 0 for d in delays)


def test_read_timeouts_give_up_after_the_attempts(server):
    c = IQMClient(server.url + "/", timeout=TIMEOUT, retry=FAST)
    server.faults.delay_next(4, SLOW, path="/health$")
    with pytest.raises(E.OperationTimeoutError, match="Client-side timeout"):
        c.get_health()
    server.faults.clear()
    c.close()

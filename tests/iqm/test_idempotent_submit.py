"""Idempotent job submission (issue 9, item 14), against a real ``LocalServer`` on 127.0.0.1.

The client sends ``Idempotency-Key: <uuid4>`` with every submit, the same key on each retry.
``shotpack serve`` answers a key it has seen with the job that key created, so a submit whose
outcome is unknown (timeout, dropped or truncated response, 5xx, 429) is retried without a
duplicate. Against a server that does not honour keys the client repeats nothing that may have
arrived, and its error says the job may exist and how to find it.
"""

from __future__ import annotations

import json
import math
import time
import uuid

import pytest
import requests

from shotpack.iqm import errors as E
from shotpack.iqm.client import IQMClient
from shotpack.iqm.models import Circuit, Instruction, ServerJobStatus
from shotpack.iqm.transport import RetryPolicy
from shotpack.server.local import LocalServer

FAST = RetryPolicy(max_attempts=4, backoff_base=0.001, backoff_max=0.01)
TIMEOUT = 0.3
SLOW = 1.0
POST = "/circuit$"


@pytest.fixture(scope="module")
def server():
    with LocalServer(qubits=3, seed=9) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _reset(server):
    server.faults.clear()
    server.jobs.idempotency_keys.enabled = True
    yield
    server.faults.clear()
    server.jobs.idempotency_keys.enabled = True


@pytest.fixture
def client(server):
    c = IQMClient(server.url, timeout=TIMEOUT, retry=FAST)
    yield c
    c.close()


@pytest.fixture
def keyless(server):
    """A client of the same server with Idempotency-Key support switched off."""
    server.jobs.idempotency_keys.enabled = False
    c = IQMClient(server.url, timeout=TIMEOUT, retry=FAST)
    yield c
    c.close()


def flip(name: str = "flip3") -> Circuit:
    """X on QB3, measure QB1..QB3: every shot reads '100'."""
    return Circuit(
        name=name,
        instructions=[
            Instruction(name="prx", locus=("QB3",), args={"angle": math.pi, "phase": 0.0}),
            Instruction(name="measure", locus=("QB1", "QB2", "QB3"), args={"key": "m"}),
        ],
    )


def jobs_on(server) -> int:
    return sum(server.jobs.counts().values())


def posts(server, start: int, want: int = 0) -> list:
    """POST records since ``start``, once ``want`` are logged (a delayed request is logged when
    its delay ends; waits at most 20 s)."""
    for _ in range(1000):
        got = [r for r in server.requests[start:] if r.method == "POST"]
        if len(got) >= want:
            return got
        time.sleep(0.02)
    return got


def inject(server, kind: str) -> None:
    """One fault of ``kind`` on the next submit."""
    f = server.faults
    if kind.isdigit():
        f.fail_next(1, status=int(kind), path=POST, method="POST", retry_after=0)
    elif kind == "delay":
        f.delay_next(1, SLOW, path=POST, method="POST")
    elif kind == "truncate":
        f.truncate_next(1, path=POST, method="POST")
    else:
        name, _, when = kind.partition("-")
        getattr(f, f"{name}_next")(1, path=POST, method="POST", after=when == "after")


# --- the server -----------------------------------------------------------------------------


def _post(server, body: bytes, key: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return requests.post(f"{server.url}/api/v1/jobs/sim/circuit", data=body, headers=headers)


def _body(shots: int = 5) -> bytes:
    return json.dumps(
        {"circuits": [flip().model_dump(mode="json")], "shots": shots}, separators=(",", ":")
    ).encode()


def test_server_replays_a_seen_key(server):
    n = jobs_on(server)
    key = str(uuid.uuid4())
    first = _post(server, _body(), key)
    again = _post(server, _body(), key)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.headers["Idempotency-Key"] == again.headers["Idempotency-Key"] == key
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert jobs_on(server) == n + 1
    assert server.jobs.idempotency_keys.job_for(key) == uuid.UUID(first.json()["id"])


def test_server_refuses_a_key_reused_with_another_body(server):
    key = str(uuid.uuid4())
    assert _post(server, _body(5), key).status_code == 200
    reused = _post(server, _body(6), key)
    assert reused.status_code == 422
    assert reused.json()["error_code"] == "idempotency_key_reused"
    assert key in reused.json()["message"]


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"])
def test_server_rejects_malformed_keys(server, key):
    n = jobs_on(server)
    headers = {"Content-Type": "application/json", "Idempotency-Key": key.encode("utf-8")}
    r = requests.post(f"{server.url}/api/v1/jobs/sim/circuit", data=_body(), headers=headers)
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["message"]
    assert jobs_on(server) == n


def test_server_without_key_creates_every_time(server):
    n = jobs_on(server)
    a, b = _post(server, _body(), None), _post(server, _body(), None)
    assert a.json()["id"] != b.json()["id"] and jobs_on(server) == n + 2


def test_server_key_of_a_deleted_job_is_a_conflict(server):
    key = str(uuid.uuid4())
    job_id = _post(server, _body(), key).json()["id"]
    requests.delete(f"{server.url}/api/v1/jobs/{job_id}")
    r = _post(server, _body(), key)
    assert r.status_code == 409 and job_id in r.json()["message"]


def test_server_key_map_is_bounded(server):
    keys = server.jobs.idempotency_keys
    old = keys.max_keys
    keys.max_keys = 3
    try:
        sent = [str(uuid.uuid4()) for _ in range(5)]
        for key in sent:
            _post(server, _body(), key)
        assert len(keys) == 3
        assert keys.job_for(sent[0]) is None and keys.job_for(sent[-1]) is not None
    finally:
        keys.max_keys = old


def test_server_advertises_support(server):
    r = requests.get(f"{server.url}/api/v1/quantum-computers")
    assert r.headers["Idempotency-Key-Support"] == "true"
    server.jobs.idempotency_keys.enabled = False
    r = requests.get(f"{server.url}/api/v1/quantum-computers")
    assert "Idempotency-Key-Support" not in r.headers
    n = jobs_on(server)
    key = str(uuid.uuid4())
    assert "Idempotency-Key" not in _post(server, _body(), key).headers
    _post(server, _body(), key)
    assert jobs_on(server) == n + 2  # the key is ignored, as by a server without the feature


# --- the client against a server that honours keys ------------------------------------------

KINDS = [
    "drop-before",
    "drop-after",
    "reset-before",
    "reset-after",
    "truncate",
    "delay",
    "500",
    "502",
    "503",
    "504",
    "429",
]


@pytest.mark.parametrize("kind", KINDS)
def test_submit_retried_once_per_job(client, server, kind):
    assert client.idempotent_submission
    n_jobs, n_req = jobs_on(server), len(server.requests)
    inject(server, kind)
    job = client.submit_circuits([flip()], shots=6)
    sent = posts(server, n_req, want=2)
    assert len(sent) == 2 and sum(r.fault is None for r in sent) == 1  # in any order
    assert jobs_on(server) == n_jobs + 1  # one job, however many attempts
    assert job.wait_for_completion(60) == ServerJobStatus.COMPLETED
    assert job.data_bins()[0]["m"].get_counts() == {"100": 6}


def test_every_attempt_carries_the_same_key(client, server):
    # The server's key map holds exactly one entry for a submission retried three times.
    keys = server.jobs.idempotency_keys
    before = len(keys)
    server.faults.drop_next(3, path=POST, method="POST", after=True)
    n_jobs = jobs_on(server)
    job = client.submit_circuits([flip()], shots=4)
    assert len(keys) == before + 1 and jobs_on(server) == n_jobs + 1
    assert job.job_id in {keys.job_for(k) for k in list(keys._keys)}


def test_slow_first_attempt_and_its_retry_make_one_job(client, server):
    # The first POST sleeps past the client's timeout, the retry creates the job, and the
    # first one, served afterwards, finds the key and returns the same job.
    n_jobs, n_req = jobs_on(server), len(server.requests)
    server.faults.delay_next(1, SLOW, path=POST, method="POST")
    job = client.submit_circuits([flip()], shots=3)
    sent = posts(server, n_req, want=2)
    assert [r.status for r in sent] == [200, 200]
    assert jobs_on(server) == n_jobs + 1
    assert job.wait_for_completion(60) == ServerJobStatus.COMPLETED


def test_persistent_500_reported_as_maybe_created(client, server):
    n_req = len(server.requests)
    server.faults.fail_next(10, status=500, path=POST, method="POST")
    with pytest.raises(E.InternalSystemError, match="may have been created") as info:
        client.submit_circuits([flip()], shots=6)
    assert info.value.idempotency_key in str(info.value)
    assert len(posts(server, n_req)) == FAST.max_attempts


def test_exhausted_retries_tell_how_to_recover(client, server):
    n_jobs = jobs_on(server)
    server.faults.drop_next(10, path=POST, method="POST", after=True)
    with pytest.raises(E.ConnectionFailedError) as info:
        client.submit_circuits([flip("recover-me")], shots=5)
    err = info.value
    text = str(err)
    assert "may have been created" in text and err.idempotency_key in text
    assert "'recover-me'" in text and "shots=5" in text
    assert err.circuit_names == ["recover-me"]
    assert err.submitted_at.tzinfo is not None
    assert jobs_on(server) == n_jobs + 1
    server.faults.clear()
    job = client.submit_circuits([flip("recover-me")], shots=5, idempotency_key=err.idempotency_key)
    assert jobs_on(server) == n_jobs + 1  # the job the failed attempts created
    assert job.job_id == server.jobs.idempotency_keys.job_for(err.idempotency_key)


def test_same_key_different_request_is_refused(client):
    key = str(uuid.uuid4())
    first = client.submit_circuits([flip()], shots=2, idempotency_key=key)
    assert client.submit_circuits([flip()], shots=2, idempotency_key=key).job_id == first.job_id
    with pytest.raises(E.ValidationError, match="different request body"):
        client.submit_circuits([flip()], shots=3, idempotency_key=key)


def test_invalid_key_refused_before_sending(client, server):
    n = len(server.requests)
    with pytest.raises(ValueError, match="idempotency_key"):
        client.submit_circuits([flip()], shots=2, idempotency_key="bad\nkey")
    assert posts(server, n) == []


def test_missing_echo_turns_retries_off(client, server):
    assert client.idempotent_submission
    server.jobs.idempotency_keys.enabled = False  # e.g. a proxy in front that drops the header
    client.submit_circuits([flip()], shots=2)
    assert not client.idempotent_submission
    server.jobs.idempotency_keys.enabled = True
    client.submit_circuits([flip()], shots=2)
    assert client.idempotent_submission


# --- the client against a server that ignores keys ------------------------------------------


@pytest.mark.parametrize("kind", ["drop-after", "reset-after", "truncate", "delay", "502", "504"])
def test_keyless_server_no_blind_resubmit(keyless, server, kind):
    assert not keyless.idempotent_submission
    n_jobs, n_req = jobs_on(server), len(server.requests)
    inject(server, kind)
    with pytest.raises(E.ShotpackError) as info:
        keyless.submit_circuits([flip("lost-one"), flip("lost-two")], shots=7)
    text = str(info.value)
    assert "may have been created" in text and "List your jobs" in text
    assert info.value.idempotency_key in text and "'lost-one', 'lost-two'" in text
    assert len(posts(server, n_req, want=1)) == 1  # never repeated
    # The job exists once (for the status faults: none was created), as the message warns.
    for _ in range(1000):
        if kind in ("502", "504") or jobs_on(server) == n_jobs + 1:
            break
        time.sleep(0.02)  # the delayed request creates its job when its delay ends
    assert jobs_on(server) == n_jobs + (0 if kind in ("502", "504") else 1)


@pytest.mark.parametrize("kind", ["drop-before", "reset-before", "503", "429"])
def test_keyless_server_retries_what_certainly_did_not_arrive(keyless, server, kind):
    # Refused (503/429) or dropped before processing: safe to repeat even without keys... but
    # a dropped connection could have been processed, so only refusals are repeated.
    n_jobs, n_req = jobs_on(server), len(server.requests)
    inject(server, kind)
    if kind in ("503", "429"):
        job = keyless.submit_circuits([flip()], shots=2)
        assert len(posts(server, n_req)) == 2 and jobs_on(server) == n_jobs + 1
        assert job.wait_for_completion(60) == ServerJobStatus.COMPLETED
    else:
        with pytest.raises(E.ConnectionFailedError, match="may have been created"):
            keyless.submit_circuits([flip()], shots=2)
        assert len(posts(server, n_req)) == 1 and jobs_on(server) == n_jobs


def test_keyless_definite_errors_unchanged(keyless):
    with pytest.raises(E.ValidationError) as info:
        keyless.submit_circuits([flip()], shots=10**9)
    assert "may have been created" not in str(info.value)

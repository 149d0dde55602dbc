"""IQMClient over real loopback HTTP against the local server: every method, auth, errors,
retries under injected faults, URL handling and token safety."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid

import numpy as np
import pytest

from shotpack.iqm import errors as E
from shotpack.iqm.client import IQMClient
from shotpack.iqm.models import (
    Circuit,
    CircuitCompilationOptions,
    HeraldingMode,
    Instruction,
    ServerJobStatus,
    Status,
)
from shotpack.iqm.transport import RetryPolicy, normalize_url
from shotpack.server.local import LocalServer

FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.001, backoff_max=0.01)
NO_RETRY = RetryPolicy(max_attempts=1)
TOKEN = "s3cr3t-t0ken-value"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in (
        "IQM_SERVER_URL",
        "IQM_QUANTUM_COMPUTER",
        "IQM_TOKEN",
        "IQM_TOKENS_FILE",
        "IQM_CLIENT_REQUESTS_TIMEOUT",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def server():
    with LocalServer(qubits=4, seed=11) as srv:
        yield srv


@pytest.fixture
def client(server):
    server.faults.clear()
    c = IQMClient(server.url + "/", retry=FAST_RETRY)
    yield c
    server.faults.clear()
    c.close()


def bell(name: str = "bell", key: str = "m") -> Circuit:
    return Circuit(
        name=name,
        instructions=[
            Instruction(name="prx", locus=("QB1",), args={"angle": 1.5707963, "phase": 1.5707963}),
            Instruction(name="cz", locus=("QB1", "QB2")),
            Instruction(name="prx", locus=("QB2",), args={"angle": 1.5707963, "phase": 1.5707963}),
            Instruction(name="measure", locus=("QB1", "QB2"), args={"key": key}),
        ],
    )


def jwt(exp: float) -> str:
    def b64(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{b64({'alg': 'none'})}.{b64({'exp': exp, 'sub': 'u'})}.sig"


def unpack(ba) -> np.ndarray:
    """Plain NumPy reference: packed rows -> [shot][bit] with column j = bit j."""
    bits = np.unpackbits(np.asarray(ba.array), axis=-1, bitorder="big")
    return bits[:, bits.shape[1] - ba.num_bits :][:, ::-1]


# --- basic methods ---------------------------------------------------------------------------


def test_info_methods(client, server):
    assert client.quantum_computer == server.quantum_computer
    assert client.get_health()["status"] == "healthy"
    about = client.get_about()
    assert "about_station" in about
    assert set(about["about_station"]) == {"version", "software_versions"}
    sqa = client.get_static_quantum_architecture()
    assert sqa.qubits == ["QB1", "QB2", "QB3", "QB4"]
    n = len(server.requests)
    assert client.get_static_quantum_architecture() is sqa  # cached: no request
    assert len(server.requests) == n


def test_dqa_cache(client, server):
    d1 = client.get_dynamic_quantum_architecture()
    n = len(server.requests)
    d2 = client.get_dynamic_quantum_architecture()  # None always asks
    assert len(server.requests) == n + 1
    assert d2.calibration_set_id == d1.calibration_set_id
    d3 = client.get_dynamic_quantum_architecture(d1.calibration_set_id)  # cached by id
    assert len(server.requests) == n + 1
    assert d3 is d2
    assert "prx" in d1.gates and "measure" in d1.gates
    with pytest.raises(E.NotFoundError):
        client.get_dynamic_quantum_architecture(uuid.uuid4())


def test_calibration_and_metrics(client):
    cal = client.get_calibration_set()
    assert cal.observation_set_type.value == "calibration-set"
    assert all(o.dut_label for o in cal.observations)
    qm = client.get_quality_metric_set(cal.observation_set_id)
    assert qm.observation_set_type.value == "quality-metric-set"
    finder = client.get_calibration_quality_metrics()
    assert len(finder) == len(cal.observations) + len(qm.observations)


def test_feedback_groups_protobuf(client, server):
    pytest.importorskip("iqm.data_definitions.common.v1.channel_properties_pb2")
    groups = client.get_feedback_groups()
    assert groups and all(isinstance(g, frozenset) for g in groups)
    assert set().union(*groups) <= set(client.get_static_quantum_architecture().qubits)
    ch = [r for r in server.requests if r.path.endswith("channel-properties")]
    assert ch and ch[-1].status == 200
    assert client.get_feedback_groups() is groups  # cached


def test_submit_and_fetch(client):
    job = client.submit_circuits([bell(), bell("b2", "k")], shots=50)
    assert job.status in (
        ServerJobStatus.WAITING,
        ServerJobStatus.PROCESSING,
        ServerJobStatus.COMPLETED,
    )
    assert job.wait_for_completion(30) == ServerJobStatus.COMPLETED
    got = client.get_job(job.job_id)
    assert got.status == ServerJobStatus.COMPLETED
    meas = client.get_job_measurements(job.job_id)
    assert json.loads(client.get_job_measurements_body(job.job_id)) == meas
    assert len(meas) == 2 and len(meas[0]["m"]) == 50 and len(meas[0]["m"][0]) == 2
    counts = client.get_job_measurement_counts(job.job_id)
    assert counts[0].measurement_keys == ["m"] and sum(counts[0].counts.values()) == 50
    bins = client.get_job_data_bins(job.job_id)
    assert bins[0].m.num_shots == 50 and bins[1].k.num_bits == 2
    # The packed bins and the nested lists hold the same shots.
    assert np.array_equal(unpack(bins[0].m), np.array(meas[0]["m"]))
    rr = client.get_run_result(job.job_id)
    assert rr.status == Status.READY and rr.measurements == meas
    assert rr.metadata.request is not None and rr.metadata.request.shots == 50
    payload = client.get_job_payload(job.job_id)
    assert payload.circuits[0].name == "bell"
    assert job.result_counts()[0].counts == counts[0].counts


def test_create_run_request_and_submit(client):
    req = client.create_run_request(
        [bell()], shots=7, options=CircuitCompilationOptions(heralding_mode=HeraldingMode.NONE)
    )
    assert req.shots == 7 and req.calibration_set_id is None
    job = client.submit_run_request(req)
    job.wait_for_completion(30)
    assert len(client.get_job_measurements(job.job_id)[0]["m"]) == 7


def test_qubit_mapping(client):
    logical = Circuit(
        name="l",
        instructions=[Instruction(name="measure", locus=("a", "b"), args={"key": "m"})],
    )
    job = client.submit_circuits([logical], qubit_mapping={"a": "QB1", "b": "QB2"}, shots=3)
    job.wait_for_completion(30)
    assert job.status == ServerJobStatus.COMPLETED
    with pytest.raises(E.CircuitValidationError, match="same physical"):
        client.create_run_request([logical], qubit_mapping={"a": "QB1", "b": "QB1"})
    with pytest.raises(E.CircuitValidationError, match="not in qubit_mapping"):
        client.create_run_request([logical], qubit_mapping={"a": "QB1"})
    with pytest.raises(E.CircuitValidationError, match="does not have"):
        client.create_run_request([logical], qubit_mapping={"a": "QB1", "b": "QB99"})


def test_cancel_and_delete(client, server):
    with server.paused("all"):
        job = client.submit_circuits([bell()], shots=5)
        client.cancel_job(job.job_id)
    assert client.get_job(job.job_id).status == ServerJobStatus.CANCELLED
    with pytest.raises(E.ConflictError) as ei:
        client.cancel_job(job.job_id)
    assert ei.value.message
    assert client.get_run_result(job.job_id).status == Status.ABORTED
    client.delete_job(job.job_id)
    with pytest.raises(E.NotFoundError):
        client.get_job(job.job_id)


def test_pending_run_result(client, server):
    with server.paused("execution"):
        job = client.submit_circuits([bell()], shots=5)
        # Bounded number of polls (no clock): ~10 s at most before declaring a hang.
        for _ in range(1000):
            if client.get_run_result(job.job_id).status == Status.PENDING_EXECUTION:
                break
            time.sleep(0.01)
        else:
            pytest.fail("compilation never finished")
        client.cancel_job(job.job_id)
    with server.paused("all"):
        job = client.submit_circuits([bell()], shots=5)
        rr = client.get_run_result(job.job_id)
        assert rr.status == Status.PENDING_COMPILATION
        assert rr.measurements is None
        with pytest.raises(E.ShotpackError):
            client.get_job_measurements(job.job_id)
        client.cancel_job(job.job_id)


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inst", "match"),
    [
        (Instruction(name="h", locus=("QB1",)), "unknown operation"),
        (Instruction(name="prx", locus=("QB1",), args={"angle": 1.0}), "missing argument 'phase'"),
        (
            Instruction(name="prx", locus=("QB1",), args={"angle": 1.0, "phase": 0.0, "x": 1}),
            "unexpected argument 'x'",
        ),
        (
            Instruction(name="prx", locus=("QB1",), args={"angle": "a", "phase": 0.0}),
            "must be a real number",
        ),
        (Instruction(name="cz", locus=("QB1",)), "needs 2 locus"),
        (Instruction(name="cz", locus=("QB1", "QB1")), "repeated component"),
        (Instruction(name="cz", locus=("QB2", "QB3")), "not calibrated for locus"),
        (Instruction(name="measure", locus=("QB9",), args={"key": "m"}), "component 'QB9'"),
        (Instruction(name="barrier", locus=("QB9",)), "not in the architecture"),
        (
            Instruction(
                name="prx", locus=("QB1",), args={"angle": 1.0, "phase": 0.0}, implementation="nope"
            ),
            "unknown implementation",
        ),
    ],
)
def test_validation_errors(client, inst, match):
    c = Circuit(name="c", instructions=[inst])
    with pytest.raises(E.CircuitValidationError, match=match) as ei:
        client.create_run_request([c], shots=1)
    assert "instruction 0" in str(ei.value)


@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), -float("inf"), np.float64("nan"), np.float32("inf")]
)
def test_non_finite_argument_rejected_before_sending(client, server, bad):
    circuits = [bell("ok"), bell("bad")]
    circuits[1].instructions[2] = Instruction(
        name="prx", locus=("QB2",), args={"angle": 1.0, "phase": bad}
    )
    n = len(server.requests)
    with pytest.raises(E.CircuitValidationError) as ei:
        client.submit_circuits(circuits, shots=5)
    msg = str(ei.value)
    assert "circuit 1" in msg and "instruction 2" in msg and "'phase'" in msg
    assert "must be finite" in msg
    assert not [r for r in server.requests[n:] if r.method == "POST"]
    # Huge but finite values (incl. ints beyond float range) are not the client's business.
    circuits[1].instructions[2] = Instruction(
        name="prx", locus=("QB2",), args={"angle": 1e300, "phase": 10**400}
    )
    client.create_run_request(circuits, shots=1)


def test_validation_rules(client):
    with pytest.raises(ValueError, match="greater than zero"):
        client.create_run_request([bell()], shots=0)
    with pytest.raises(ValueError, match="empty"):
        client.create_run_request([], shots=1)
    dup = Circuit(
        name="d",
        instructions=[
            Instruction(name="measure", locus=("QB1",), args={"key": "m"}),
            Instruction(name="measure", locus=("QB2",), args={"key": "m"}),
        ],
    )
    with pytest.raises(E.CircuitValidationError, match="non-unique measurement key"):
        client.create_run_request([dup])
    with pytest.raises(E.CircuitValidationError, match="no instructions"):
        client.create_run_request([Circuit(name="e")])
    with pytest.raises(E.CircuitValidationError, match="name is empty"):
        client.create_run_request([Circuit(name="", instructions=bell().instructions)])
    # cz is symmetric: the reversed locus is accepted; int angles are real numbers too.
    ok = Circuit(
        name="ok",
        instructions=[
            Instruction(name="cz", locus=("QB2", "QB1")),
            Instruction(name="prx", locus=("QB1",), args={"angle": 1, "phase": 0}),
            Instruction(name="barrier", locus=("QB1", "QB2", "QB3")),
            Instruction(name="measure", locus=("QB1", "QB2"), args={"key": "m"}),
        ],
    )
    client.create_run_request([ok])
    # QIR strings pass through unchecked.
    assert client.create_run_request(["; qir"]).circuits == ["; qir"]


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, E.InvalidOperationError),
        (401, E.AuthenticationError),
        (403, E.ForbiddenError),
        (404, E.NotFoundError),
        (409, E.ConflictError),
        (413, E.DataSizeError),
        (422, E.ValidationError),
        (429, E.RateLimitError),
        (500, E.InternalSystemError),
        (502, E.BadGatewayError),
        (503, E.SystemUnavailableError),
        (504, E.OperationTimeoutError),
        (418, E.InternalSystemError),
    ],
)
def test_error_mapping(server, status, cls):
    server.faults.clear()
    c = IQMClient(server.url + "/", retry=NO_RETRY)
    server.faults.fail_next(1, status=status, path="/health$")
    with pytest.raises(cls) as ei:
        c.get_health()
    assert isinstance(ei.value, E.ShotpackError)
    assert ei.value.status_code == status
    assert ei.value.message  # the server's message is carried
    c.get_health()  # the fault was one-shot


def test_real_server_errors_carry_message(client):
    job_id = uuid.uuid4()
    with pytest.raises(E.NotFoundError) as ei:
        client.get_job(job_id)
    assert ei.value.status_code == 404
    assert ei.value.message == f"job {job_id} does not exist"
    with pytest.raises(ValueError, match="not a UUID"):
        client.get_job("nope")


def test_client_timeout(server):
    c = IQMClient(server.url + "/", timeout=0.2, retry=NO_RETRY)
    server.faults.delay_next(1, 1.0, path="/health$")
    with pytest.raises(E.OperationTimeoutError, match=r"Client-side timeout reached \(0.2s\)"):
        c.get_health()
    server.faults.clear()


def test_connection_refused():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(E.ConnectionFailedError):
        IQMClient(f"http://127.0.0.1:{port}/", retry=FAST_RETRY)


# --- retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_get_retried_on_transient_status(client, server, status):
    server.faults.fail_next(2, status=status, path="/health$", retry_after=0)
    n = len(server.requests)
    assert client.get_health()["status"] == "healthy"
    hits = [r for r in server.requests[n:] if r.path.endswith("/health")]
    assert [r.status for r in hits] == [status, status, 200]


@pytest.mark.parametrize("kind", ["drop", "reset", "truncate"])
def test_get_retried_on_broken_connection(client, server, kind):
    job = client.submit_circuits([bell()], shots=20)
    job.wait_for_completion(30)
    want = client.get_job_measurements(job.job_id)
    getattr(server.faults, f"{kind}_next")(2, path="/artifacts/measurements$")
    assert client.get_job_measurements(job.job_id) == want
    getattr(server.faults, f"{kind}_next")(2, path="/artifacts/measurements$")
    bins = client.get_job_data_bins(job.job_id)
    assert bins[0].m.num_shots == 20


def _record_sleeps(client: IQMClient) -> list[float]:
    """Replaces the transport's sleep with a recorder, so waits are checked without a clock."""
    delays: list[float] = []
    client._transport.sleep = delays.append
    return delays


@pytest.mark.parametrize(("after", "want"), [(0.3, 0.3), (2.5, 2.5), (1e6, 60.0)])
def test_retry_after_is_honoured(client, server, after, want):
    delays = _record_sleeps(client)
    server.faults.fail_next(1, status=503, path="/health$", retry_after=after)
    n = len(server.requests)
    assert client.get_health()["status"] == "healthy"
    hits = [r.status for r in server.requests[n:] if r.path.endswith("/health")]
    assert hits == [503, 200]
    # FAST_RETRY's own backoff is <= 0.01 s, so the delay comes from Retry-After (capped at
    # retry_after_max = 60 s).
    assert delays == [want]


def test_backoff_without_retry_after(client, server):
    delays = _record_sleeps(client)
    server.faults.fail_next(3, status=503, path="/health$")
    client.get_health()
    assert len(delays) == 3
    for attempt, d in enumerate(delays):
        full = min(FAST_RETRY.backoff_max, FAST_RETRY.backoff_base * 2.0**attempt)
        assert full / 2 <= d <= full


def test_retries_give_up(server):
    c = IQMClient(server.url + "/", retry=FAST_RETRY)
    server.faults.fail_next(10, status=503, path="/health$")
    with pytest.raises(E.SystemUnavailableError):
        c.get_health()
    server.faults.clear()


def _jobs_on_server(server) -> int:
    return sum(server.jobs.counts().values())


def test_submit_retried_when_refused(client, server):
    before = _jobs_on_server(server)
    server.faults.fail_next(2, status=503, path="/circuit$", method="POST")
    job = client.submit_circuits([bell()], shots=5)
    assert _jobs_on_server(server) == before + 1  # exactly one job created
    job.wait_for_completion(30)
    assert job.status == ServerJobStatus.COMPLETED


@pytest.fixture
def keyless_client(server):
    """A client of the server with Idempotency-Key support off (retries with keys: tests/iqm/)."""
    server.jobs.idempotency_keys.enabled = False
    c = IQMClient(server.url + "/", retry=FAST_RETRY)
    yield c
    server.jobs.idempotency_keys.enabled = True
    server.faults.clear()
    c.close()


@pytest.mark.parametrize("status", [502, 504])
def test_submit_not_retried_when_it_may_have_arrived(keyless_client, server, status):
    server.faults.fail_next(1, status=status, path="/circuit$", method="POST")
    n = len(server.requests)
    with pytest.raises(E.ShotpackError):
        keyless_client.submit_circuits([bell()], shots=5)
    posts = [r for r in server.requests[n:] if r.method == "POST"]
    assert len(posts) == 1


def test_submit_not_duplicated_when_response_lost(keyless_client, server):
    before = _jobs_on_server(server)
    server.faults.drop_next(1, path="/circuit$", method="POST", after=True)
    with pytest.raises(E.ConnectionFailedError, match="not retried"):
        keyless_client.submit_circuits([bell()], shots=5)
    assert _jobs_on_server(server) == before + 1  # the job exists once; no blind resubmit


def test_cancel_retried(client, server):
    with server.paused("all"):
        job = client.submit_circuits([bell()], shots=5)
        server.faults.fail_next(1, status=502, path="/cancel$")
        client.cancel_job(job.job_id)
    assert client.get_job(job.job_id).status == ServerJobStatus.CANCELLED


def test_session_reuses_connections(client, server, monkeypatch):
    import urllib3.connectionpool as cp

    opened = []
    real = cp.HTTPConnectionPool._new_conn

    def counting(self):  # counts TCP connections; the real one is still made
        opened.append(1)
        return real(self)

    monkeypatch.setattr(cp.HTTPConnectionPool, "_new_conn", counting)
    for _ in range(6):
        client.get_health()
    assert len(opened) <= 1  # one TCP connection (or the pooled one) served all six


# --- configuration and auth ------------------------------------------------------------------


def test_url_normalization():
    assert normalize_url("https://host:8443/prefix/") == "https://host:8443/prefix"
    assert normalize_url("https://host/") == "https://host"
    assert normalize_url("https://host") == "https://host"
    assert normalize_url("http://[::1]:80/") == "http://[::1]:80"
    for bad, match in [
        ("https://host/garnet", "path segment"),
        ("ftp://host/", "http"),
        ("https://hóst/", "Non-ASCII"),
        ("https://host/x:timeslot", "obsolete"),
        ("https://cocos.host/", "obsolete"),
        ("https://user:pw@host/", "Credentials"),
        ("https://host/?a=1", "query"),
    ]:
        with pytest.raises(E.ClientConfigurationError, match=match):
            normalize_url(bad)


def test_url_from_env_and_missing(server, monkeypatch):
    with pytest.raises(ValueError, match="URL"):
        IQMClient()
    monkeypatch.setenv("IQM_SERVER_URL", server.url + "/")
    monkeypatch.setenv("IQM_QUANTUM_COMPUTER", server.quantum_computer)
    assert IQMClient().quantum_computer == server.quantum_computer


def test_quantum_computer_selection(server):
    assert IQMClient(server.url, quantum_computer=server.quantum_computer).quantum_computer
    with pytest.raises(E.ClientConfigurationError, match='"nope" does not exist'):
        IQMClient(server.url, quantum_computer="nope")


def test_user_agent(server):
    c = IQMClient(server.url, client_signature="my-sig/1.0")
    assert c.user_agent.endswith(", my-sig/1.0") and "shotpack" in c.user_agent


@pytest.fixture(scope="module")
def auth_server():
    with LocalServer(qubits=2, seed=3, token=TOKEN) as srv:
        yield srv


def test_token_auth(auth_server, monkeypatch):
    with pytest.raises(E.AuthenticationError):
        IQMClient(auth_server.url, retry=NO_RETRY)
    with pytest.raises(E.AuthenticationError):
        IQMClient(auth_server.url, token="wrong", retry=NO_RETRY)
    assert IQMClient(auth_server.url, token=TOKEN).get_health()
    monkeypatch.setenv("IQM_TOKEN", TOKEN)
    assert IQMClient(auth_server.url).get_health()


def test_auth_combination_rules(auth_server, monkeypatch, tmp_path):
    f = tmp_path / "tokens.json"
    f.write_text(json.dumps({"access_token": jwt(time.time() + 3600)}))
    with pytest.raises(E.ClientConfigurationError, match="No more than one"):
        IQMClient(auth_server.url, token=TOKEN, tokens_file=str(f))
    monkeypatch.setenv("IQM_TOKEN", TOKEN)
    with pytest.raises(E.ClientConfigurationError, match="must not be mixed"):
        IQMClient(auth_server.url, token=TOKEN)
    monkeypatch.setenv("IQM_TOKENS_FILE", str(f))
    with pytest.raises(E.ClientConfigurationError, match="No more than one"):
        IQMClient(auth_server.url)
    monkeypatch.setenv("IQM_TOKEN", "")  # empty counts as unset
    with pytest.raises(E.AuthenticationError):  # the file's JWT is not the server's token
        IQMClient(auth_server.url, retry=NO_RETRY)


def test_tokens_file(tmp_path):
    good = jwt(time.time() + 3600)
    with LocalServer(qubits=2, seed=1, token=good) as srv:
        f = tmp_path / "tokens.json"
        f.write_text(json.dumps({"access_token": good, "refresh_token": "ignored"}))
        c = IQMClient(srv.url, tokens_file=str(f))
        assert c.get_health()
        # A token near expiry is re-read from the file before the next request.
        soon = jwt(time.time() + 30)
        f.write_text(json.dumps({"access_token": soon}))
        c._tokens._file._expiry = time.time() + 10  # type: ignore[union-attr]
        assert c._tokens.token() == soon
    for content, match in [
        ("not json", "Failed to read"),
        (json.dumps({"x": 1}), "Failed to read"),
        (json.dumps({"access_token": jwt(time.time() - 10)}), "expired or is not valid"),
        (json.dumps({"access_token": "opaque"}), "expired or is not valid"),
    ]:
        f = tmp_path / "bad.json"
        f.write_text(content)
        with LocalServer(qubits=2) as srv, pytest.raises(E.ClientAuthenticationError, match=match):
            IQMClient(srv.url, tokens_file=str(f))
    with LocalServer(qubits=2) as srv, pytest.raises(E.ClientAuthenticationError):
        IQMClient(srv.url, tokens_file=str(tmp_path / "missing.json"))


def test_no_token_over_plain_remote_http():
    with pytest.raises(E.ClientConfigurationError, match="plain http"):
        IQMClient("http://example.invalid/", token=TOKEN)


def test_token_never_leaks(auth_server, caplog):
    caplog.set_level(logging.DEBUG)
    c = IQMClient(auth_server.url, token=TOKEN, retry=FAST_RETRY)
    assert TOKEN not in repr(c) and TOKEN not in repr(c._transport) and TOKEN not in repr(c._tokens)
    auth_server.faults.fail_next(1, status=500, path="/health$")
    with pytest.raises(E.InternalSystemError) as ei:
        c.get_health()
    assert TOKEN not in str(ei.value) and TOKEN not in repr(ei.value)
    with pytest.raises(E.NotFoundError) as ei2:
        c.get_job(uuid.uuid4())
    assert TOKEN not in str(ei2.value)
    assert TOKEN not in caplog.text
    auth_server.faults.clear()
    # A server that echoes the token gets it scrubbed from the error text.
    assert c._transport._scrub(f"bad token {TOKEN}") == "bad token ***"

"""The local server's limits, each against a real LocalServer on 127.0.0.1: request framing,
auth before the body, deadlines, the connection cap, bounded logs, JSON depth and the job store's
memory budget and eviction."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter

import numpy as np
import pytest
import requests

from shotpack.iqm.errors import InvalidOperationError
from shotpack.server import LocalServer, json_depth
from shotpack.server.artifacts import MeasurementsBody, circuit_counts, encode_rows
from shotpack.server.jobs import PARSED_BYTES_PER_BODY_BYTE
from shotpack.server.json_depth import check_json_depth
from shotpack.server.simulator import CircuitResult

SUBMIT = "/api/v1/jobs/sim/circuit"


def circuit(*qubits: str, name: str = "c") -> dict:
    return {
        "name": name,
        "instructions": [
            {"name": "prx", "locus": [q], "args": {"angle": 1.0, "phase": 0.0}} for q in qubits
        ]
        + [{"name": "measure", "locus": list(qubits), "args": {"key": "m"}}],
    }


def raw_exchange(
    server: LocalServer, data: bytes, timeout: float = 10.0, *, end: bool = False
) -> tuple[int, dict, bool]:
    """Send raw bytes (then end the stream if ``end``), read one response; return (status,
    body, whether the server closed)."""
    with socket.create_connection((server.host, int(server.url.rsplit(":", 1)[1])), timeout) as s:
        s.sendall(data)
        if end:
            s.shutdown(socket.SHUT_WR)
        received = b""
        while True:
            try:
                piece = s.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            received += piece
            head, sep, body = received.partition(b"\r\n\r\n")
            if sep and b"content-length" in head.lower():
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length and b"connection: close" not in head.lower():
                    break
        head, _, body = received.partition(b"\r\n\r\n")
        closed = b"connection: close" in head.lower()
        return int(head.split()[1]), json.loads(body), closed


def chunked_post(body: bytes, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode() + body


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        (b"-1\r\n", "invalid chunk size"),
        (b"+5\r\nabcde\r\n0\r\n\r\n", "invalid chunk size"),
        (b"0x5\r\nabcde\r\n0\r\n\r\n", "invalid chunk size"),
        (b"1_0\r\n", "invalid chunk size"),
        (b"zz\r\n", "invalid chunk size"),
        (b"11111111111111111\r\n", "invalid chunk size"),  # 17 hex digits
        (b"5" + b" " * 2000 + b"\r\n", "longer than 1024 bytes"),
        (b"5\r\nabcdeXY0\r\n\r\n", "missing CRLF"),
        (b"5\r\nab", "ended inside a chunk"),
        (b"5", "ended inside a chunk-size line"),
    ],
)
def test_malformed_chunked_bodies_get_400_and_close(iqm_server, chunks, message):
    # The stream ends after the bytes given (for the truncated cases).
    status, body, closed = raw_exchange(iqm_server, chunked_post(chunks), timeout=5, end=True)
    assert status == 400 and message in body["message"], body
    assert closed


@pytest.mark.iqm_server(max_body_bytes=100)
def test_chunked_body_limit_counts_as_it_reads(iqm_server):
    framed = b"40\r\n" + b"x" * 64 + b"\r\n40\r\n"  # 64 bytes, then 64 more announced
    status, body, closed = raw_exchange(iqm_server, chunked_post(framed))
    assert status == 413 and "limit of 100 bytes" in body["message"] and closed


def test_chunked_body_with_extensions_and_trailer(iqm_server):
    data = json.dumps({"circuits": [circuit("QB1")], "shots": 3}).encode()
    framed = b"".join(
        b"%x;ext=1\r\n%s\r\n" % (len(data[i : i + 7]), data[i : i + 7])
        for i in range(0, len(data), 7)
    )
    status, body, _ = raw_exchange(iqm_server, chunked_post(framed + b"0\r\nX-Trailer: 1\r\n\r\n"))
    assert status == 200, body


def test_both_framings_or_unknown_encoding_are_refused(iqm_server):
    both = (
        f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ).encode()
    status, body, closed = raw_exchange(iqm_server, both)
    assert status == 400 and "both" in body["message"] and closed
    gzip = f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n".encode()
    status, body, closed = raw_exchange(iqm_server, gzip)
    assert status == 400 and "Transfer-Encoding" in body["message"] and closed


@pytest.mark.iqm_server(token="secret-token")
def test_token_is_checked_before_the_body(iqm_server):
    # A 1 GB body is announced and never sent: the 401 comes from the headers alone.
    head = f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nContent-Length: {1 << 30}\r\n\r\n".encode()
    status, body, closed = raw_exchange(iqm_server, head)
    assert status == 401 and "missing bearer token" in body["message"] and closed
    # With Expect: 100-continue the client never gets a 100, only the 401.
    expect = head[:-2] + b"Expect: 100-continue\r\n\r\n"
    status, body, closed = raw_exchange(iqm_server, expect)
    assert status == 401 and closed
    # An oversized body is refused from its Content-Length, also before reading.
    big = (
        f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-token\r\n"
        f"Content-Length: {1 << 30}\r\n\r\n"
    ).encode()
    status, body, closed = raw_exchange(iqm_server, big)
    assert status == 413 and closed
    assert [r.status for r in iqm_server.requests][-3:] == [401, 401, 413]
    # A GET without a body keeps its connection usable after a 401.
    with requests.Session() as session:
        assert session.get(iqm_server.url + "/api/v1/about").status_code == 401
        ok = session.get(
            iqm_server.url + "/api/v1/about", headers={"Authorization": "Bearer secret-token"}
        )
        assert ok.status_code == 200


@pytest.mark.iqm_server(max_request_log=50, max_path_chars=40)
def test_request_and_fault_logs_are_bounded(iqm_server):
    iqm_server.faults.fail_next(1000, status=503, path="zz")
    with requests.Session() as session:
        for i in range(120):
            session.get(f"{iqm_server.url}/api/v1/{i:04d}" + "zz" * 2000)
    records = iqm_server.requests
    assert len(records) == 50
    assert records[-1].path.startswith("/api/v1/0119zz") and records[-1].path.endswith(
        "...[4012 chars]"
    )
    assert all(len(r.path) <= 40 + len("...[4012 chars]") for r in records)
    assert len(iqm_server.faults.injected) == 50
    assert all(len(path) < 100 for _, path, _ in iqm_server.faults.injected)


def test_deep_nesting_in_process_and_the_depth_scan(iqm_server):
    for body in (b"[" * 5000, b'{"circuits":[' + b'{"a":' * 3000):
        r = requests.post(
            iqm_server.url + SUBMIT, data=body, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400 and "nesting deeper than 64" in r.json()["message"]
    assert not [r for r in iqm_server.requests if r.status == 500]
    # Brackets inside strings, escaped quotes and unterminated strings do not count.
    check_json_depth(b'["[[[[[[[[", "\\"[[[[[[[", {"a": "]]]]{{{{"}]', 2)
    check_json_depth(b'["\\\\", "[[[[[[', 1)
    check_json_depth(b"[" * 64 + b"]" * 64, 64)
    with pytest.raises(InvalidOperationError, match="deeper than 64"):
        check_json_depth(b"[" * 65 + b"]" * 65, 64)
    # Across the scan's blocks.
    with pytest.raises(InvalidOperationError):
        check_json_depth(b" " * ((1 << 18) - 3) + b"[" * 10, 8)


@pytest.mark.parametrize("block", [1, 2, 3, 5, 1 << 18])
def test_depth_scan_carries_strings_and_escapes_across_blocks(monkeypatch, block):

    monkeypatch.setattr(json_depth, "_SCAN_BLOCK", block)
    tricky = ["[{", "\\", '"]]"', 'x\\"[', "\\\\"]
    for depth in range(1, 7):
        value: object = tricky
        for level in range(depth - 1):
            value = {f"k{level}[{{": value} if level % 2 else [value, "]]}}"]
        body = json.dumps(value).encode()
        check_json_depth(body, depth)
        with pytest.raises(InvalidOperationError):
            check_json_depth(body, depth - 1)


@pytest.mark.parametrize("shots", [True, False, "10", 1.0, 2.5, None, {"n": 1}])
def test_shot_counts_must_be_integers(iqm_server, shots):
    r = requests.post(iqm_server.url + SUBMIT, json={"circuits": [circuit("QB1")], "shots": shots})
    assert r.status_code == 422 and "shots: must be an integer" in r.json()["message"], r.text


@pytest.mark.iqm_server(idle_timeout=0.3, request_timeout=0.6)
def test_idle_and_trickling_connections_are_closed(iqm_server):
    port = int(iqm_server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
        assert idle.recv(1024) == b""  # closed by the server, no response
    with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
        answer = b""
        try:
            # One byte every 0.1 s would take 3 s for this request line: far past the deadline.
            for byte in b"GET /api/v1/about HTTP/1.1\r\n":
                slow.sendall(bytes([byte]))
                time.sleep(0.1)
        except OSError:
            pass
        try:
            answer = slow.recv(1024)
        except OSError:
            pass
        assert b"200 OK" not in answer


@pytest.mark.iqm_server(max_connections=2, idle_timeout=30.0)
def test_connections_beyond_the_cap_get_a_quick_503(iqm_server):
    port = int(iqm_server.url.rsplit(":", 1)[1])
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        for sock in held:  # make sure both are being served (each holds a thread)
            sock.sendall(b"GET /api/v1/about HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"200 OK" in sock.recv(65536)
        r = requests.get(iqm_server.url + "/api/v1/about", timeout=10)
        assert r.status_code == 503 and r.json()["error_code"] == "server_busy"
        assert r.headers["Retry-After"] == "1"
        assert iqm_server._httpd.busy_rejections >= 1
    finally:
        for sock in held:
            sock.close()
    for _ in range(200):
        if requests.get(iqm_server.url + "/api/v1/about", timeout=10).status_code == 200:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the server did not serve again after the held connections closed")


def test_backlog_absorbs_a_burst_of_new_connections(iqm_server):
    assert iqm_server._httpd.request_queue_size == 128
    failures: list[BaseException] = []
    statuses: list[int] = []

    def client() -> None:
        try:
            for _ in range(10):
                # requests.post without a session: a new connection per request.
                r = requests.post(
                    iqm_server.url + SUBMIT, json={"circuits": [circuit("QB1")]}, timeout=20
                )
                statuses.append(r.status_code)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures[:3]
    assert statuses == [200] * 160


def wait_done(server: LocalServer, job_id: str) -> dict:
    for _ in range(1000):
        status = requests.get(f"{server.url}/api/v1/jobs/{job_id}").json()
        if status["status"] in ("completed", "failed", "cancelled"):
            return status
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} did not finish")


def test_job_store_budget_evicts_oldest_and_refuses_what_cannot_fit(iqm_server_factory):
    job = {"circuits": [circuit("QB1", "QB2")], "shots": 1000}  # 2,000 bytes of bits
    body = len(json.dumps(job))
    estimate = 1000 * 2 + 4 * (2 + 12)  # bits, and at most 4 outcomes in the counts
    unfinished = (1 + PARSED_BYTES_PER_BODY_BYTE) * body + estimate
    budget = 3 * unfinished + 100  # room for three unfinished jobs, not four
    iqm_server = iqm_server_factory(max_job_result_bytes=3000, max_stored_bytes=budget)
    too_big = requests.post(iqm_server.url + SUBMIT, json={**job, "shots": 2000})
    assert too_big.status_code == 422 and "limit is 3000 bytes per job" in too_big.json()["message"]
    ids = []
    for _ in range(budget // (body + 2000) + 1):  # one more finished job than fits
        r = requests.post(iqm_server.url + SUBMIT, json=job)
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
        assert wait_done(iqm_server, ids[-1])["status"] == "completed"
        m = requests.get(f"{iqm_server.url}/api/v1/jobs/{ids[-1]}/artifacts/measurements")
        assert np.array(m.json()[0]["m"]).shape == (1000, 2)
    gone = requests.get(f"{iqm_server.url}/api/v1/jobs/{ids[0]}/artifacts/measurements")
    assert gone.status_code == 404 and gone.json()["error_code"] == "job_evicted"
    assert f"{budget} bytes" in gone.json()["message"]
    assert requests.get(f"{iqm_server.url}/api/v1/jobs/{ids[-1]}").status_code == 200
    # Unfinished jobs cannot be evicted: with execution held, the store fills and says so.
    with iqm_server.paused():
        answers = [requests.post(iqm_server.url + SUBMIT, json=job) for _ in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 503, 503]
        busy = answers[-1].json()
        assert busy["error_code"] == "server_busy" and "retry" in busy["message"]
        # The finished jobs made room for the waiting ones.
        evicted = requests.get(f"{iqm_server.url}/api/v1/jobs/{ids[-1]}").json()
        assert evicted["error_code"] == "job_evicted"
    for answer in answers[:3]:
        assert wait_done(iqm_server, answer.json()["id"])["status"] == "completed"
    # A deleted job is unknown, not evicted.
    r = requests.post(iqm_server.url + SUBMIT, json=job)
    assert r.status_code == 200, r.text
    requests.delete(f"{iqm_server.url}/api/v1/jobs/{r.json()['id']}")
    deleted = requests.get(f"{iqm_server.url}/api/v1/jobs/{r.json()['id']}")
    assert deleted.status_code == 404 and deleted.json()["error_code"] == "job_not_found"


@pytest.mark.iqm_server(job_retention=0.1)
def test_finished_jobs_expire_after_the_retention_time(iqm_server):
    r = requests.post(iqm_server.url + SUBMIT, json={"circuits": [circuit("QB1")], "shots": 5})
    job_id = r.json()["id"]
    assert wait_done(iqm_server, job_id)["status"] == "completed"
    for _ in range(300):  # expiry runs at most once a second
        answer = requests.get(f"{iqm_server.url}/api/v1/jobs/{job_id}")
        if answer.status_code == 404:
            break
        time.sleep(0.02)
    assert answer.status_code == 404 and answer.json()["error_code"] == "job_evicted"
    assert "kept for 0.1 s" in answer.json()["message"]


def test_limits_are_validated():
    with pytest.raises(ValueError, match="max_connections"):
        LocalServer(max_connections=0)
    with pytest.raises(ValueError, match="idle_timeout"):
        LocalServer(idle_timeout=0)
    with pytest.raises(ValueError, match="must not exceed max_stored_bytes"):
        LocalServer(max_job_result_bytes=10, max_stored_bytes=5)


def test_streamed_measurements_and_blockwise_counts_match_direct_encodings():
    rng = np.random.default_rng(3)
    shots = (1 << 20) + 12345  # more than one block of counts
    a = rng.integers(0, 2, (shots, 3), dtype=np.uint8)
    b = rng.integers(0, 2, (shots, 1), dtype=np.uint8)
    result = CircuitResult(["a", "b"], {"a": a, "b": b}, shots)
    body = MeasurementsBody([result], block_bytes=1 << 16)
    data = b"".join(body)
    assert len(data) == len(body)
    assert data == b'[{"a":' + encode_rows(a) + b',"b":' + encode_rows(b) + b"}]"
    rows = np.concatenate([a, b], axis=1) + ord("0")
    expected = Counter(bytes(row).decode() for row in rows[:2000])
    head = CircuitResult(["a", "b"], {"a": a[:2000], "b": b[:2000]}, 2000)
    assert circuit_counts(head) == dict(expected)
    counts = circuit_counts(result)
    assert sum(counts.values()) == shots and list(counts) == sorted(counts)
    assert counts["0000"] == int(np.all(rows == ord("0"), axis=1).sum())


def test_serve_flags_for_the_limits_are_checked(capsys):
    from shotpack.cli import main

    for argv in (["--max-connections", "0"], ["--max-json-depth", "-1"], ["--idle-timeout", "x"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["serve", *argv])
        assert exit_info.value.code == 2
    assert "--max-stored-bytes" in _serve_help(capsys)


def _serve_help(capsys) -> str:
    from shotpack.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("value", "status"), [("9" * 5000, 413), ("\u00b2", 400), ("-1", 400), ("1e3", 400)]
)
def test_content_length_values(iqm_server, value, status):
    head = f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\n"
    got, body, closed = raw_exchange(iqm_server, head.encode("latin-1"))
    assert got == status and closed, body

"""The local server over real loopback HTTP: endpoints, jobs, errors, limits, auth, faults."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests

from shotpack.server import FaultPlan, LocalServer

API = "/api/v1"
PI = float(np.pi)


def inst(name: str, *locus: str, **args) -> dict:
    return {"name": name, "locus": list(locus), "args": args, "implementation": None}


def bell_circuit(name: str = "bell", q1: str = "QB1", q2: str = "QB2") -> dict:
    return {
        "name": name,
        "instructions": [
            inst("prx", q1, angle=PI / 2, phase=PI / 2),
            inst("prx", q2, angle=PI / 2, phase=PI / 2),
            inst("cz", q1, q2),
            inst("prx", q2, angle=-PI / 2, phase=PI / 2),
            inst("measure", q1, q2, key="m"),
        ],
        "metadata": None,
    }


def job_body(*circuits: dict, shots: int = 100, **extra) -> dict:
    return {"circuits": list(circuits) or [bell_circuit()], "shots": shots, **extra}


def url(server: LocalServer, path: str) -> str:
    return f"{server.url}{API}/{path}"


def submit(server: LocalServer, body: dict, session=requests) -> dict:
    r = session.post(url(server, "jobs/sim/circuit"), json=body, params={"use_timeslot": "false"})
    assert r.status_code == 200, r.text
    return r.json()


def poll(server: LocalServer, job_id: str, statuses: tuple[str, ...], tries: int = 6000) -> dict:
    """Polls a job until its status is one of ``statuses``; a bounded number of polls (no clock
    comparison) guards against a hang."""
    data: dict = {}
    for _ in range(tries):
        data = requests.get(url(server, f"jobs/{job_id}")).json()
        if data["status"] in statuses:
            return data
        time.sleep(0.01)
    pytest.fail(f"job {job_id} stuck in {data.get('status')}")


def wait(server: LocalServer, job_id: str, tries: int = 6000) -> dict:
    return poll(server, job_id, ("completed", "failed", "cancelled"), tries)


def assert_error(r: requests.Response, status: int, error_code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"message", "error_code", "source"}
    assert body["source"] == "iqm-server"
    assert body["message"]
    if error_code is not None:
        assert body["error_code"] == error_code
    return body


# --- metadata endpoints -----------------------------------------------------------------------


def test_quantum_computers_and_architectures(iqm_server):
    qcs = requests.get(url(iqm_server, "quantum-computers")).json()["quantum_computers"]
    assert len(qcs) == 1
    assert qcs[0]["alias"] == "sim" and qcs[0]["proxy_path"] is None
    uuid.UUID(qcs[0]["id"])

    sqa = requests.get(
        url(iqm_server, "quantum-computers/sim/artifacts/static-quantum-architectures")
    )
    [arch] = sqa.json()
    assert arch["qubits"] == ["QB1", "QB2", "QB3", "QB4", "QB5"]
    # 5 qubits on a 3-wide square lattice.
    assert arch["connectivity"] == [
        ["QB1", "QB2"], ["QB1", "QB4"], ["QB2", "QB3"], ["QB2", "QB5"], ["QB4", "QB5"]
    ]  # fmt: skip

    dqa = requests.get(url(iqm_server, "calibration-sets/sim/default/dynamic-quantum-architecture"))
    dqa = dqa.json()
    calset = dqa["calibration_set_id"]
    assert set(dqa["gates"]) == {"prx", "cc_prx", "cz", "measure"}
    cz = dqa["gates"]["cz"]
    assert cz["implementations"]["tgss"]["loci"] == arch["connectivity"]
    same = requests.get(
        url(iqm_server, f"calibration-sets/sim/{calset}/dynamic-quantum-architecture")
    )
    assert same.json() == dqa
    for path in [f"calibration-sets/sim/{calset}", f"calibration-sets/sim/{calset}/metrics"]:
        body = requests.get(url(iqm_server, path)).json()
        assert body["observations"] and body["dut_label"] == arch["dut_label"]

    missing = requests.get(url(iqm_server, f"calibration-sets/sim/{uuid.uuid4()}"))
    assert_error(missing, 404, "calibration_set_not_found")
    assert_error(requests.get(url(iqm_server, "quantum-computers/other/health")), 404)
    health = requests.get(url(iqm_server, "quantum-computers/sim/health")).json()
    assert health["status"] == "healthy"
    about = requests.get(url(iqm_server, "quantum-computers/sim/artifacts/about")).json()
    assert "version" in about and "software_versions" in about


@pytest.mark.iqm_server(readout_error={"QB1": 0.05})
def test_metrics_report_configured_readout_error(iqm_server):
    body = requests.get(url(iqm_server, "calibration-sets/sim/default/metrics")).json()
    values = {o["dut_field"]: o["value"] for o in body["observations"]}
    assert values["metrics.ssro.measure.constant.QB1.fidelity"] == pytest.approx(0.95)
    assert values["metrics.ssro.measure.constant.QB2.fidelity"] == 1.0


def test_unknown_routes_and_methods(iqm_server):
    assert_error(requests.get(f"{iqm_server.url}/nothing"), 404, "not_found")
    assert_error(requests.get(url(iqm_server, "no/such/thing")), 404, "not_found")
    assert_error(requests.delete(url(iqm_server, "quantum-computers")), 405)
    assert_error(requests.get(url(iqm_server, "jobs/not-a-uuid")), 404, "job_not_found")
    assert_error(requests.get(url(iqm_server, f"jobs/{uuid.uuid4()}")), 404, "job_not_found")
    r = requests.post(
        url(iqm_server, "jobs/sim/run"),
        data=b"\x00",
        headers={"Content-Type": "application/protobuf"},
    )
    assert_error(r, 400, "unsupported_job_type")
    assert_error(requests.get(url(iqm_server, "quantum-computers/sim/artifacts/settings")), 404)


# --- job lifecycle ------------------------------------------------------------------------------


def test_job_lifecycle_and_artifacts(iqm_server):
    body = job_body(bell_circuit("a"), bell_circuit("b", "QB4", "QB5"), shots=500)
    raw = json.dumps(body).encode()
    created = requests.post(
        url(iqm_server, "jobs/sim/circuit?use_timeslot=false"),
        data=raw,
        headers={"Content-Type": "application/json; charset=UTF-8"},
    )
    created = created.json()
    assert created["status"] == "waiting" and created["type"] == "circuit"
    assert created["queue_position"] == 0
    assert [e["status"] for e in created["timeline"]] == ["created"]

    done = wait(iqm_server, created["id"])
    assert done["status"] == "completed"
    assert done["queue_position"] is None
    assert done["errors"] == []
    assert done["compilation"]["calibration_set_id"] == str(
        iqm_server.architecture.calibration_set_id
    )
    assert done["execution"]["progress"]["shots"] == {"value": 1000, "max_value": 1000}
    assert {a["type"] for a in done["artifacts"]} == {"measurements", "measurement_counts"}
    steps = [e["status"] for e in done["timeline"]]
    assert steps == [
        "created", "compilation_started", "compilation_ended",
        "execution_started", "execution_ended", "completed",
    ]  # fmt: skip

    payload = requests.get(url(iqm_server, f"jobs/{created['id']}/payload"))
    assert payload.content == raw

    measurements = requests.get(url(iqm_server, f"jobs/{created['id']}/artifacts/measurements"))
    batch = measurements.json()
    assert len(batch) == 2
    for circuit in batch:
        bits = np.array(circuit["m"])
        assert bits.shape == (500, 2)
        assert np.array_equal(bits[:, 0], bits[:, 1])  # Bell pairs agree
    counts = requests.get(
        url(iqm_server, f"jobs/{created['id']}/artifacts/measurement_counts")
    ).json()
    for circuit, entry in zip(batch, counts, strict=True):
        assert entry["measurement_keys"] == ["m"]
        assert entry["counts"] == dict(Counter(f"{a}{b}" for a, b in circuit["m"]))
    assert_error(requests.get(url(iqm_server, f"jobs/{created['id']}/artifacts/other")), 404)


def test_job_cancelled_while_queued(iqm_server):
    with iqm_server.paused("execution"):
        first = submit(iqm_server, job_body())
        second = submit(iqm_server, job_body())
        assert second["queue_position"] == 1
        r = requests.post(url(iqm_server, f"jobs/{second['id']}/cancel"))
        assert r.status_code == 200
        data = requests.get(url(iqm_server, f"jobs/{second['id']}")).json()
        assert data["status"] == "cancelled" and data["queue_position"] is None
        assert data["timeline"][-1]["status"] == "cancelled"
        assert requests.get(url(iqm_server, f"jobs/{first['id']}")).json()["status"] == "waiting"
    assert wait(iqm_server, first["id"])["status"] == "completed"
    assert requests.get(url(iqm_server, f"jobs/{second['id']}")).json()["status"] == "cancelled"
    artifact = requests.get(url(iqm_server, f"jobs/{second['id']}/artifacts/measurements"))
    assert_error(artifact, 404, "job_not_found")
    again = requests.post(url(iqm_server, f"jobs/{second['id']}/cancel"))
    assert_error(again, 409, "job_conflict")


def test_waiting_for_compilation_is_visible(iqm_server):
    with iqm_server.paused("all"):
        job = submit(iqm_server, job_body())
        data = requests.get(url(iqm_server, f"jobs/{job['id']}")).json()
        assert data["status"] == "waiting" and data["compilation"] is None
    assert wait(iqm_server, job["id"])["status"] == "completed"


@pytest.mark.iqm_server(job_delay=30.0)
def test_job_cancelled_while_processing(iqm_server):
    job = submit(iqm_server, job_body())
    poll(iqm_server, job["id"], ("processing",))
    assert requests.post(url(iqm_server, f"jobs/{job['id']}/cancel")).status_code == 200
    assert wait(iqm_server, job["id"])["status"] == "cancelled"


def test_completed_job_cannot_be_cancelled_and_delete_forgets(iqm_server):
    job = submit(iqm_server, job_body())
    wait(iqm_server, job["id"])
    assert_error(requests.post(url(iqm_server, f"jobs/{job['id']}/cancel")), 409, "job_conflict")
    assert requests.delete(url(iqm_server, f"jobs/{job['id']}")).status_code == 200
    assert_error(requests.get(url(iqm_server, f"jobs/{job['id']}")), 404, "job_not_found")


@pytest.mark.parametrize(
    ("circuit", "message"),
    [
        ({"name": "c", "instructions": [inst("cz", "QB1", "QB5")]}, "not calibrated for locus"),
        ({"name": "c", "instructions": [inst("h", "QB1")]}, "unknown operation 'h'"),
        ({"name": "c", "instructions": [inst("measure", "QB9", key="m")]}, "QB9"),
        (
            {
                "name": "c",
                "instructions": [inst("measure", "QB1", key="m"), inst("measure", "QB2", key="m")],
            },
            "non-unique measurement key",
        ),
        ({"name": "c", "instructions": []}, "no instructions"),
        (
            {
                "name": "c",
                "instructions": [
                    inst(
                        "cc_prx",
                        "QB1",
                        angle=1.0,
                        phase=0.0,
                        feedback_key="f",
                        feedback_qubit="QB2",
                    )
                ],
            },
            "no earlier measure",
        ),
    ],
)
def test_failed_job_reports_the_reason(iqm_server, circuit, message):
    job = submit(iqm_server, job_body(circuit))
    done = wait(iqm_server, job["id"])
    assert done["status"] == "failed"
    [error] = done["errors"]
    assert message in error["message"]
    assert error["source"] == "iqm-server" and error["error_code"]
    assert done["artifacts"] == []
    assert_error(
        requests.get(url(iqm_server, f"jobs/{job['id']}/artifacts/measurement_counts")), 404
    )
    assert_error(requests.post(url(iqm_server, f"jobs/{job['id']}/cancel")), 409)


@pytest.mark.iqm_server(qubits=9, max_qubits=3)
def test_simulator_limit_fails_the_job(iqm_server):
    circuit = {
        "name": "big",
        "instructions": [inst("measure", "QB1", "QB2", "QB3", "QB4", key="m")],
    }
    done = wait(iqm_server, submit(iqm_server, job_body(circuit))["id"])
    assert done["status"] == "failed"
    assert "limited to 3" in done["errors"][0]["message"]


def test_qubit_mapping_and_unknown_calibration_set(iqm_server):
    body = job_body(
        bell_circuit("logical", "a", "b"),
        qubit_mapping=[
            {"logical_name": "a", "physical_name": "QB2"},
            {"logical_name": "b", "physical_name": "QB3"},
        ],
    )
    done = wait(iqm_server, submit(iqm_server, body)["id"])
    assert done["status"] == "completed"
    bits = np.array(
        requests.get(url(iqm_server, f"jobs/{done['id']}/artifacts/measurements")).json()[0]["m"]
    )
    assert np.array_equal(bits[:, 0], bits[:, 1])

    body = job_body(calibration_set_id=str(uuid.uuid4()))
    done = wait(iqm_server, submit(iqm_server, body)["id"])
    assert done["status"] == "failed" and "calibration set" in done["errors"][0]["message"]


@pytest.mark.iqm_server(readout_error=0.2)
def test_heralding_zeros_reports_discarded_shots(iqm_server):
    done = wait(iqm_server, submit(iqm_server, job_body(shots=2000, heralding_mode="zeros"))["id"])
    assert done["status"] == "completed"
    assert "heralding discarded" in done["messages"][0]["message"]
    bits = requests.get(url(iqm_server, f"jobs/{done['id']}/artifacts/measurements")).json()[0]["m"]
    assert 0 < len(bits) < 2000


# --- request validation and limits -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 422),
        (json.dumps({"shots": 10}).encode(), 422),
        (json.dumps(job_body(shots=0)).encode(), 422),
        (json.dumps(job_body(shots=-3)).encode(), 422),
        (json.dumps({"circuits": [], "shots": 1}).encode(), 422),
        (json.dumps(job_body(heralding_mode="sometimes")).encode(), 422),
        (json.dumps(job_body(shots=10**9)).encode(), 422),
    ],
)
def test_malformed_submissions_are_rejected(iqm_server, data, status):
    r = requests.post(
        url(iqm_server, "jobs/sim/circuit"), data=data, headers={"Content-Type": "application/json"}
    )
    assert_error(r, status)
    assert iqm_server.jobs.counts() == dict.fromkeys(iqm_server.jobs.counts(), 0)


def test_use_timeslot_must_be_a_boolean(iqm_server):
    r = requests.post(
        url(iqm_server, "jobs/sim/circuit"), params={"use_timeslot": "maybe"}, json=job_body()
    )
    assert_error(r, 422)


@pytest.mark.iqm_server(max_body_bytes=2000)
def test_request_body_limit(iqm_server):
    big = job_body(*[bell_circuit(f"c{i}") for i in range(30)])
    r = requests.post(url(iqm_server, "jobs/sim/circuit"), json=big)
    assert_error(r, 413, "payload_too_large")
    # The connection stays usable and small requests still work.
    with requests.Session() as session:
        assert_error(session.post(url(iqm_server, "jobs/sim/circuit"), json=big), 413)
        assert session.post(url(iqm_server, "jobs/sim/circuit"), json=job_body()).status_code == 200


def test_chunked_request_body(iqm_server):
    def chunks():
        data = json.dumps(job_body()).encode()
        for i in range(0, len(data), 50):
            yield data[i : i + 50]

    r = requests.post(
        url(iqm_server, "jobs/sim/circuit"),
        data=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert wait(iqm_server, r.json()["id"])["status"] == "completed"


def test_large_result_one_million_shots(iqm_server):
    job = submit(iqm_server, job_body(shots=1_000_000))
    assert wait(iqm_server, job["id"], tries=12000)["status"] == "completed"
    r = requests.get(url(iqm_server, f"jobs/{job['id']}/artifacts/measurements"))
    assert int(r.headers["Content-Length"]) == len(r.content)
    [circuit] = json.loads(r.content)
    bits = np.array(circuit["m"], dtype=np.uint8)
    assert bits.shape == (1_000_000, 2)
    assert np.array_equal(bits[:, 0], bits[:, 1])
    ones = int(bits[:, 0].sum())
    assert abs(ones - 500_000) < 5 * 500  # 5 sigma of a fair coin over 1M shots
    counts = requests.get(url(iqm_server, f"jobs/{job['id']}/artifacts/measurement_counts")).json()
    assert counts[0]["counts"] == {"00": 1_000_000 - ones, "11": ones}


def test_seeded_servers_reproduce_results(iqm_server_factory):
    results = []
    for _ in range(2):
        server = iqm_server_factory(seed=77, readout_error=0.1)
        first = submit(server, job_body(shots=50))
        second = submit(server, job_body(shots=50))
        wait(server, first["id"])
        wait(server, second["id"])
        results.append(
            [
                requests.get(url(server, f"jobs/{j['id']}/artifacts/measurements")).json()
                for j in (first, second)
            ]
        )
    assert results[0] == results[1]
    assert results[0][0] != results[0][1]


# --- authentication -----------------------------------------------------------------------------


@pytest.mark.iqm_server(token="s3cret-token")
def test_token_required_on_every_endpoint(iqm_server, caplog):
    caplog.set_level(logging.DEBUG, logger="shotpack.server")
    good = {"Authorization": "Bearer s3cret-token"}
    job = requests.post(url(iqm_server, "jobs/sim/circuit"), json=job_body(), headers=good).json()
    paths = [
        ("GET", "quantum-computers"),
        ("GET", "about"),
        ("GET", "quantum-computers/sim/health"),
        ("GET", "quantum-computers/sim/artifacts/static-quantum-architectures"),
        ("GET", "calibration-sets/sim/default/dynamic-quantum-architecture"),
        ("GET", f"jobs/{job['id']}"),
        ("GET", f"jobs/{job['id']}/payload"),
        ("POST", f"jobs/{job['id']}/cancel"),
        ("POST", "jobs/sim/circuit"),
        ("GET", "does/not/exist"),
    ]
    for method, path in paths:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
            r = requests.request(method, url(iqm_server, path), headers=headers, json=job_body())
            body = assert_error(r, 401, "unauthorized")
            assert r.headers["WWW-Authenticate"] == "Bearer"
            assert "s3cret" not in body["message"]
    assert requests.get(url(iqm_server, "quantum-computers"), headers=good).status_code == 200
    assert "s3cret" not in caplog.text
    assert "s3cret" not in repr(iqm_server)


# --- connection handling and fault injection -----------------------------------------------------


def _connection(server: LocalServer) -> http.client.HTTPConnection:
    parts = urlsplit(server.url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def test_keep_alive_reuses_one_connection(iqm_server):
    conn = _connection(iqm_server)
    conn.request("GET", f"{API}/quantum-computers")
    conn.getresponse().read()
    sock = conn.sock
    for path in ["about", "quantum-computers/sim/health", "jobs/" + str(uuid.uuid4())]:
        conn.request("GET", f"{API}/{path}")
        conn.getresponse().read()
        assert conn.sock is sock
    conn.close()


def test_injected_status_with_retry_after(iqm_server):
    iqm_server.faults.fail_next(2, status=503, path=r"/quantum-computers$", retry_after=1.5)
    for _ in range(2):
        r = requests.get(url(iqm_server, "quantum-computers"))
        assert_error(r, 503, "injected_fault")
        assert r.headers["Retry-After"] == "1.5"
    assert requests.get(url(iqm_server, "quantum-computers")).status_code == 200
    # Other paths were never affected.
    assert [rec.fault for rec in iqm_server.requests] == ["status", "status", None]


def test_injected_429_only_for_matching_method(iqm_server):
    iqm_server.faults.fail_next(1, status=429, method="POST")
    assert requests.get(url(iqm_server, "about")).status_code == 200
    assert_error(requests.post(url(iqm_server, "jobs/sim/circuit"), json=job_body()), 429)
    assert requests.post(url(iqm_server, "jobs/sim/circuit"), json=job_body()).status_code == 200


def test_dropped_connection_before_processing(iqm_server):
    iqm_server.faults.drop_next(1, path="/circuit$")
    with pytest.raises(requests.ConnectionError):
        requests.post(url(iqm_server, "jobs/sim/circuit"), json=job_body())
    assert iqm_server.jobs.counts()["waiting"] + iqm_server.jobs.counts()["completed"] == 0
    assert iqm_server.requests[-1].status is None


def test_dropped_response_after_processing_still_creates_the_job(iqm_server):
    iqm_server.faults.drop_next(1, path="/circuit$", after=True)
    with pytest.raises(requests.ConnectionError):
        requests.post(url(iqm_server, "jobs/sim/circuit"), json=job_body())
    assert sum(iqm_server.jobs.counts().values()) == 1


def test_reset_connection(iqm_server):
    iqm_server.faults.reset_next(1)
    conn = _connection(iqm_server)
    conn.request("GET", f"{API}/about")
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        conn.getresponse()
    conn.close()


def test_truncated_body(iqm_server):
    iqm_server.faults.truncate_next(1, path="/quantum-computers$")
    conn = _connection(iqm_server)
    conn.request("GET", f"{API}/quantum-computers")
    response = conn.getresponse()
    assert response.status == 200
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    conn.close()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        iqm_server.faults.truncate_next(1)
        requests.get(url(iqm_server, "quantum-computers"))
    assert requests.get(url(iqm_server, "quantum-computers")).status_code == 200


def test_delay_trips_a_client_timeout(iqm_server):
    iqm_server.faults.delay_next(1, 2.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url(iqm_server, "about"), timeout=0.2)


@pytest.mark.iqm_server(faults="503:1.0")
def test_fault_spec_from_options(iqm_server):
    assert_error(requests.get(url(iqm_server, "about")), 503)
    iqm_server.faults.clear()
    assert requests.get(url(iqm_server, "about")).status_code == 200


def test_fault_plan_parse_and_probabilities():
    plan = FaultPlan.parse("503:0.5, delay:0.25:0.5, drop:0.1, truncate:0.05, 429:0.2:3", seed=5)
    picks = Counter()
    for _ in range(4000):
        fault = plan.pick("GET", "/x")
        picks[
            None
            if fault is None
            else (fault.kind, fault.status if fault.kind == "status" else None)
        ] += 1
    # Rules are tried in order: P(503)=0.5, P(delay)=0.5*0.25, ...
    assert abs(picks[("status", 503)] - 2000) < 5 * np.sqrt(4000 * 0.25)
    assert abs(picks[("delay", None)] - 500) < 5 * np.sqrt(4000 * 0.125 * 0.875)
    assert (
        picks[("drop", None)] > 0 and picks[("truncate", None)] > 0 and picks[("status", 429)] > 0
    )
    for bad in ["503", "oops:0.1", "drop:2", "drop:0.1:4", "delay:x", "99:0.1"]:
        with pytest.raises(ValueError, match="bad fault spec"):
            FaultPlan.parse(bad)


def test_stop_closes_idle_keep_alive_connections(iqm_server_factory):
    server = iqm_server_factory()
    port = urlsplit(server.url).port
    conn = _connection(server)
    conn.request("GET", f"{API}/about")
    conn.getresponse().read()
    server.stop()
    sock = conn.sock
    assert sock is not None
    sock.settimeout(5)
    assert sock.recv(1) == b""  # the server closed its end
    conn.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_protocol_level_errors_have_json_bodies(iqm_server):
    r = requests.request("OPTIONS", url(iqm_server, "about"))
    assert_error(r, 501)
    conn = _connection(iqm_server)
    conn.putrequest("GET", f"{API}/about", skip_host=True)
    conn.putheader("Content-Length", "-5")
    conn.endheaders()
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 400 and body["source"] == "iqm-server"
    conn.close()


@pytest.mark.iqm_server(max_retained_jobs=2)
def test_only_recent_finished_jobs_are_retained(iqm_server):
    ids = []
    for _ in range(4):
        ids.append(submit(iqm_server, job_body(shots=5))["id"])
        wait(iqm_server, ids[-1])
    assert_error(requests.get(url(iqm_server, f"jobs/{ids[0]}")), 404)
    assert requests.get(url(iqm_server, f"jobs/{ids[-1]}")).status_code == 200

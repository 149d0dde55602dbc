"""An iqm-client 36 script runs unchanged with its imports switched to shotpack (issue 11).

The same script text runs twice against the local server: once importing from
``iqm.iqm_client`` and once with that module name replaced by ``shotpack.iqm``. Both runs must
take the same path and report the same facts.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest

TOKEN = "idioms-token"

# Written as iqm-client 36's documentation writes client code: from_url, positional
# CircuitOperation / Circuit, wait_for_completion with a polling interval and a progress
# callback, results, counts, the timeline, cancel, and exceptions caught by iqm-client's names.
SCRIPT = """
import math
import uuid

from iqm.iqm_client import (
    AuthenticationError,
    Circuit,
    CircuitOperation,
    CircuitValidationError,
    ConflictError,
    IQMClient,
    IQMError,
    NotFoundError,
    UnauthorizedError,
)

client = IQMClient.from_url(URL, token=TOKEN)
OUT["has_name"] = isinstance(client.quantum_computer_name, str)

bell = Circuit(
    "bell",
    (
        CircuitOperation("prx", ("QB1",), {"angle": math.pi / 2, "phase": math.pi / 2}),
        CircuitOperation("prx", ("QB2",), {"angle": math.pi / 2, "phase": math.pi / 2}),
        CircuitOperation("cz", ("QB1", "QB2"), {}),
        CircuitOperation("prx", ("QB2",), {"angle": -math.pi / 2, "phase": math.pi / 2}),
        CircuitOperation("measure", ("QB1", "QB2"), {"key": "m"}),
    ),
)

progress = []
job = client.submit_circuits([bell], shots=500)
status = job.wait_for_completion(
    timeout_secs=60, polling_interval=0.01, progress_callback=progress.append
)
OUT["status"] = str(status)
OUT["status_equals_str"] = status == "completed"
OUT["progress_packets_are_label_value_total"] = all(
    isinstance(label, str) and value <= total
    for packet in progress
    for label, value, total in packet
)

results = job.result()
OUT["keys"] = sorted(results[0])
OUT["shots"] = len(results[0]["m"])
OUT["correlated"] = all(shot[0] == shot[1] for shot in results[0]["m"])
counts = job.result_counts()
OUT["count_keys"] = sorted(counts[0].counts)
OUT["count_total"] = sum(counts[0].counts.values())
OUT["client_counts_match"] = client.get_job_measurement_counts(job.job_id) == counts
OUT["measurements_match"] = client.get_job_measurements(job.job_id) == results

entry = job.find_timeline_entry("completed")
OUT["timeline_status"] = entry.status
OUT["timeline_missing"] = job.find_timeline_entry("no-such-status")

with PAUSED():
    queued = client.submit_circuits([bell], shots=10)
    queued.update()
    OUT["queued_status"] = str(queued.status)
    queued.cancel()
OUT["cancelled_status"] = str(queued.wait_for_completion(polling_interval=0.01))
OUT["cancelled_result"] = queued.result()

caught = []
try:
    client.cancel_job(job.job_id)
except ConflictError:
    caught.append("ConflictError")
try:
    client.get_job(uuid.uuid4())
except NotFoundError:
    caught.append("NotFoundError")
try:
    wrong_qubit = Circuit("bad", (CircuitOperation("measure", ("QB99",), {"key": "m"}),))
    client.submit_circuits([wrong_qubit], shots=10)
except CircuitValidationError:
    caught.append("CircuitValidationError")
try:
    client.submit_circuits([bell], shots=0)
except ValueError:
    caught.append("ValueError")
try:
    IQMClient.from_url(URL, token="not-the-token")
except UnauthorizedError as e:
    bases = (isinstance(e, AuthenticationError), isinstance(e, IQMError))
    caught.append(("UnauthorizedError", *bases))
OUT["caught"] = caught
"""


def run_script(imports_from: str, url: str, paused: Any) -> dict[str, Any]:
    text = SCRIPT.replace("from iqm.iqm_client import", f"from {imports_from} import")
    out: dict[str, Any] = {}
    exec(
        compile(text, f"<iqm-client script via {imports_from}>", "exec"),
        {
            "URL": url,
            "TOKEN": TOKEN,
            "PAUSED": paused,
            "OUT": out,
        },
    )
    return out


EXPECTED = {
    "has_name": True,
    "status": "completed",
    "status_equals_str": True,
    "progress_packets_are_label_value_total": True,
    "keys": ["m"],
    "shots": 500,
    "correlated": True,
    "count_keys": ["00", "11"],
    "count_total": 500,
    "client_counts_match": True,
    "measurements_match": True,
    "timeline_status": "completed",
    "timeline_missing": None,
    "queued_status": "waiting",
    "cancelled_status": "cancelled",
    "cancelled_result": None,
    "caught": [
        "ConflictError",
        "NotFoundError",
        "CircuitValidationError",
        "ValueError",
        ("UnauthorizedError", True, True),
    ],
}


pytestmark = [
    pytest.mark.iqm_server(token=TOKEN, qubits=6, readout_error=0.0),
    # iqm-client's own payload model tries its deprecated circuit classes while parsing.
    pytest.mark.filterwarnings("ignore:.*circuit\\._(Instruction|Circuit)` is deprecated"),
]


def test_script_runs_with_iqm_client(iqm_server) -> None:
    pytest.importorskip("iqm.iqm_client")
    assert run_script("iqm.iqm_client", iqm_server.url, iqm_server.paused) == EXPECTED


def test_same_script_runs_with_shotpack(iqm_server) -> None:
    assert run_script("shotpack.iqm", iqm_server.url, iqm_server.paused) == EXPECTED


def test_progress_callback_sees_the_queue_then_finishes(iqm_server) -> None:
    from shotpack.iqm import Circuit, CircuitOperation, IQMClient

    client = IQMClient.from_url(iqm_server.url, token=TOKEN)
    circuit = Circuit("m", (CircuitOperation("measure", ("QB1",), {"key": "m"}),))
    packets: list[list[tuple[str, int, int]]] = []
    with iqm_server.paused():
        first = client.submit_circuits([circuit], shots=5)
        second = client.submit_circuits([circuit], shots=5)
        assert second.wait_for_completion(timeout_secs=0.05, polling_interval=0.01) == "waiting"
        second.wait_for_completion(
            timeout_secs=0.05, polling_interval=0.01, progress_callback=packets.append
        )
    assert packets and packets[0] == [("Progress in queue", 0, 1)]
    assert str(first.wait_for_completion(polling_interval=0.01)) == "completed"
    assert second.wait_for_completion(polling_interval=0.01) == "completed"
    with pytest.raises(ValueError, match="polling_interval"):
        client.get_job(first.job_id).wait_for_completion(polling_interval=-1)


def test_status_prints_like_iqm_client() -> None:
    from shotpack.iqm import ServerJobStatus

    assert str(ServerJobStatus.WAITING) == "waiting"
    assert f"{ServerJobStatus.CANCELLED}" == "cancelled"
    assert ServerJobStatus.COMPLETED == "completed"


def test_circuit_operation_forms() -> None:
    from shotpack.iqm import Circuit, CircuitOperation, Instruction

    op = CircuitOperation("prx", ["QB1"], {"angle": math.pi, "phase": 0.0})
    assert isinstance(op, Instruction)
    assert op.locus == ("QB1",)
    assert CircuitOperation("cz", ("QB1", "QB2")).args == {}
    circuit = Circuit("c", [op])
    assert circuit == Circuit(name="c", instructions=[Instruction(**op.model_dump())])
    iqm_pulse = pytest.importorskip("iqm.pulse")
    theirs = iqm_pulse.CircuitOperation("measure", ("QB1",), {"key": "m"})
    assert Circuit("c", (theirs,)).instructions[0] == Instruction(
        name="measure", locus=("QB1",), args={"key": "m"}
    )


def test_non_iqm_server_url_is_named(iqm_server) -> None:
    from shotpack.iqm import IQMClient, NotFoundError

    # The health endpoint exists but the API does not live under it.
    wrong = iqm_server.url.rstrip("/") + "/not-here/"
    with pytest.raises(NotFoundError, match="does not look like an IQM server") as info:
        IQMClient.from_url(wrong, token=TOKEN)
    assert "not-here" in str(info.value)
    assert "<" not in str(info.value)


@pytest.mark.parametrize("status", [200, 404])
def test_a_web_server_that_is_not_iqm(status: int) -> None:
    import http.server
    import threading

    from shotpack.iqm import ClientConfigurationError, IQMClient, NotFoundError

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!DOCTYPE HTML><html><body>Welcome to some other site</body></html>"
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        expected = ClientConfigurationError if status == 200 else NotFoundError
        with pytest.raises(expected, match="does not look like an IQM server") as info:
            IQMClient(url)
        message = str(info.value)
        assert f"127.0.0.1:{server.server_address[1]}" in message
        assert "DOCTYPE" not in message and "Welcome" not in message
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- the Qiskit-style job API (IQMBackend / IQMJob / IQMResult) ------------------------------------


def _ghz_circuit() -> Any:
    from shotpack.iqm import Circuit, CircuitOperation

    half = {"angle": math.pi / 2, "phase": math.pi / 2}
    return Circuit(
        "ghz",
        (
            CircuitOperation("prx", ("QB1",), half),
            CircuitOperation("measure", ("QB1",), {"key": "c_2_0_0"}),
            CircuitOperation("measure", ("QB2",), {"key": "c_2_0_1"}),
        ),
    )


def test_qiskit_job_api(iqm_server) -> None:
    from shotpack.iqm import IQMBackend, IQMClient

    backend = IQMBackend(IQMClient.from_url(iqm_server.url, token=TOKEN))
    with iqm_server.paused():
        job = backend.run(_ghz_circuit(), shots=20, memory=True)
        assert not job.running() and not job.cancelled()
        assert job.cancel()
        assert job.cancelled() and not job.running()
    job = backend.run([_ghz_circuit()], shots=20, memory=True)
    result = job.result(progress=False)
    assert not job.running() and not job.cancelled() and job.done()
    assert result.results[0].header == {"name": "ghz"}
    assert len(result.get_memory(0)) == 20
    assert set(result.get_counts("ghz")) <= {"00", "01"}


@pytest.mark.iqm_server(token=TOKEN, qubits=3, readout_error=0.5, seed=9)
def test_zero_shot_result_warns(iqm_server) -> None:
    # Heralding drops every shot whose herald reads 1; at 50% readout error on two qubits, seed 9
    # loses all four shots (the server's own warning says how many it discarded).
    from shotpack.iqm import CircuitCompilationOptions, HeraldingMode, IQMBackend, IQMClient

    backend = IQMBackend(IQMClient.from_url(iqm_server.url, token=TOKEN))
    options = CircuitCompilationOptions(heralding_mode=HeraldingMode.ZEROS)
    job = backend.run(_ghz_circuit(), shots=4, options=options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = job.result(progress=False)
    messages = [str(w.message) for w in caught]
    assert any("heralding discarded 4 of 4 shots" in m for m in messages)  # the server's
    assert any("zero of the 4 shots" in m and "calibration" in m for m in messages)  # ours
    assert result.results[0].shots == 0
    assert result.get_counts(0) == {}


def test_client_counts_in_locus_or_qiskit_order(iqm_server) -> None:
    from shotpack.iqm import Circuit, CircuitOperation, IQMClient

    client = IQMClient.from_url(iqm_server.url, token=TOKEN)
    flip_first = Circuit(
        "flip",
        (
            CircuitOperation("prx", ("QB1",), {"angle": math.pi, "phase": 0.0}),
            CircuitOperation("measure", ("QB1", "QB2", "QB3"), {"key": "m"}),
        ),
    )
    job = client.submit_circuits([flip_first], shots=50)
    assert job.wait_for_completion(polling_interval=0.01) == "completed"
    assert client.get_job_measurement_counts(job.job_id)[0].counts == {"100": 50}
    qiskit = client.get_job_measurement_counts(job.job_id, qiskit_order=True)[0]
    assert qiskit.counts == {"001": 50}
    assert qiskit.measurement_keys == ["m"]
    [data] = client.get_job_data_bins(job.job_id)
    assert data.m.get_counts() == qiskit.counts

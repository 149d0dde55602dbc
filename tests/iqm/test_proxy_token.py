"""No token in clear to a proxy (issue 9, item 15).

With ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` set, requests would send a request for
``http://127.0.0.1:P/`` through the proxy, Authorization header included, in clear. The client
reaches loopback servers directly, and sends a token to a remote host only over https, which a
proxy tunnels with ``CONNECT`` without seeing it. The "proxy" here is a real listener on
127.0.0.1 that records every byte it receives and answers 502.
"""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from shotpack.iqm import errors as E
from shotpack.iqm.auth import TokenManager
from shotpack.iqm.client import IQMClient
from shotpack.iqm.models import Circuit, Instruction, ServerJobStatus
from shotpack.iqm.transport import RetryPolicy, Transport, normalize_url
from shotpack.server.local import LocalServer

TOKEN = "pr0xy-must-n0t-see-this"
NO_RETRY = RetryPolicy(max_attempts=1)
ANSWER = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class RecordingProxy:
    """Accepts connections on 127.0.0.1, records what arrives, answers 502 and closes."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data and len(data) < 1 << 16:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                # Recorded before answering: the client checks the record once it has the answer.
                self.received.append(data)
                try:
                    conn.sendall(ANSWER)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    @property
    def everything(self) -> bytes:
        return b"".join(self.received)


@pytest.fixture
def proxy(monkeypatch):
    p = RecordingProxy()
    for var in PROXY_VARS:
        monkeypatch.setenv(var, p.url)
    for var in ("NO_PROXY", "no_proxy", "IQM_TOKEN", "IQM_TOKENS_FILE"):
        monkeypatch.delenv(var, raising=False)
    yield p
    p.close()


@pytest.fixture
def server():
    with LocalServer(qubits=2, seed=2, token=TOKEN) as srv:
        yield srv


def measure_both() -> Circuit:
    return Circuit(
        name="zero",
        instructions=[Instruction(name="measure", locus=("QB1", "QB2"), args={"key": "m"})],
    )


def test_the_listener_does_see_what_a_plain_proxied_request_carries(proxy, server):
    # Control: plain requests with these variables sends a loopback request, header and all,
    # to the proxy. (The header here is a decoy, not the server's token.)
    r = requests.get(f"{server.url}/api/v1/about", headers={"Authorization": "Bearer decoy"})
    assert r.status_code == 502
    assert b"Bearer decoy" in proxy.everything
    assert f"GET {server.url}/api/v1/about".encode() in proxy.everything


def test_loopback_server_is_reached_directly(proxy, server):
    client = IQMClient(server.url, token=TOKEN, retry=NO_RETRY)
    assert client._transport.proxy_for(client._transport.url("about")) is None
    assert client.get_health()["status"] == "healthy"
    job = client.submit_circuits([measure_both()], shots=5)
    assert job.wait_for_completion(60) == ServerJobStatus.COMPLETED
    assert job.data_bins()[0]["m"].get_counts() == {"00": 5}
    client.close()
    assert proxy.received == []  # not one connection, so no token
    assert all(r.status != 401 for r in server.requests)  # the token did reach the server


@pytest.mark.parametrize("host", ["localhost", "[::1]", "127.0.0.2"])
def test_other_loopback_names_bypass_too(proxy, host):
    url = normalize_url(f"http://{host}:9/")
    t = Transport(url, TokenManager(TOKEN), user_agent="t", timeout=1)
    assert t.proxy_for(t.url("about")) is None


def test_https_token_is_tunnelled(proxy):
    # The proxy only gets CONNECT host:443; the token would travel inside TLS.
    with pytest.raises(E.ConnectionFailedError):
        IQMClient("https://iqm.example.invalid/", token=TOKEN, retry=NO_RETRY)
    assert proxy.everything.startswith(b"CONNECT iqm.example.invalid:443")
    assert TOKEN.encode() not in proxy.everything
    assert b"Authorization" not in proxy.everything


def test_plain_http_remote_with_token_refused_before_any_byte(proxy):
    with pytest.raises(E.ClientConfigurationError, match="plain http"):
        IQMClient("http://iqm.example.invalid/", token=TOKEN, retry=NO_RETRY)
    assert proxy.received == []


def test_plain_http_remote_without_token_may_use_the_proxy(proxy):
    with pytest.raises(E.BadGatewayError):
        IQMClient("http://iqm.example.invalid/", retry=NO_RETRY)
    assert b"GET http://iqm.example.invalid/api/v1/quantum-computers" in proxy.everything
    assert b"Authorization" not in proxy.everything


def test_proxy_choice_follows_no_proxy(proxy, monkeypatch):
    t = Transport("https://iqm.example.invalid", TokenManager(TOKEN), user_agent="t", timeout=1)
    assert t.proxy_for(t.url("about")) == proxy.url
    monkeypatch.setenv("NO_PROXY", "example.invalid")
    assert t.proxy_for(t.url("about")) is None

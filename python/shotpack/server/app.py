"""HTTP layer of the local server: routing, auth, limits, error bodies, fault injection.

Standard library only (``http.server``), HTTP/1.1 with keep-alive: every response carries a
``Content-Length``. Routes are those of the IQM Server API v1 that iqm-client 36 uses
(``/api/v1/...``; the endpoint table is in ``docs/server.md``). Every 4xx/5xx response has
the JSON body ``{"message": ..., "error_code": ..., "source": "iqm-server"}``.

Not served (404 with an explanation): pulse-level ``run`` jobs, the station proxy
(``proxy_path`` is ``null``), chip design records and the protobuf settings tree. Channel
properties are served as protobuf when the ``iqm-data-definitions`` package is importable.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pydantic

from shotpack.iqm.errors import (
    AuthenticationError,
    ConflictError,
    DataSizeError,
    InvalidOperationError,
    NotFoundError,
    ShotpackError,
    ValidationError,
)
from shotpack.iqm.models import PostJobsRequest
from shotpack.server.faults import Fault
from shotpack.server.jobs import IdempotencyKeyReused, JobConflict, UnknownJob

if TYPE_CHECKING:
    from shotpack.server.local import LocalServer

__all__ = ["ApiHTTPServer", "ApiHandler", "RequestRecord"]

logger = logging.getLogger("shotpack.server")

SOURCE = "iqm-server"
_JSON = "application/json"


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it (for tests: retries, faults, status codes).

    Attributes:
        method: HTTP method.
        path: Path without the query string.
        status: Status code sent, or None if the connection was dropped without a response.
        fault: Kind of injected fault, or None.
    """

    method: str
    path: str
    status: int | None
    fault: str | None


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = _JSON
    headers: dict[str, str] | None = None


def _json(obj: Any, status: int = 200) -> _Response:
    return _Response(status, json.dumps(obj, separators=(",", ":")).encode())


def _error_body(status: int, message: str, error_code: str | None) -> _Response:
    return _json({"message": message, "error_code": error_code, "source": SOURCE}, status)


class ApiHTTPServer(ThreadingHTTPServer):
    """Threading HTTP server that knows its :class:`LocalServer` and its open connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: LocalServer) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, ApiHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that disconnects mid-request is routine; anything else is logged, not
        # printed to stderr.
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_connections(self) -> None:
        """Shut down every open keep-alive connection (used when stopping)."""
        with self.connections_lock:
            connections = list(self.connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


_SEG = r"[^/]+"

IDEMPOTENCY_KEY = "Idempotency-Key"
"""Request header of a submission's key (echoed on the submit response); see docs/server.md."""


def _advertise_idempotency(owner: LocalServer, obj: Any) -> _Response:
    """A JSON response that tells clients ``Idempotency-Key`` is honoured on job submission
    (the listing every client fetches first, so they know before their first submit)."""
    response = _json(obj)
    if owner.jobs.idempotency_keys.enabled:
        response.headers = {"Idempotency-Key-Support": "true"}
    return response


class ApiHandler(BaseHTTPRequestHandler):
    """Request handler: one instance per connection, one call per request."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, a keep-alive client's
    # delayed ACK then stalls every response by ~40 ms. TCP_NODELAY removes the stall.
    disable_nagle_algorithm = True
    server_version = "shotpack-sim"
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 60
    server: ApiHTTPServer

    # -- plumbing --------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        # Only the request line and status reach the log; never the headers (token).
        logger.debug("%s %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors raised by ``http.server`` itself (bad request line, unsupported method, ...)
        get the same JSON body as every other error."""
        text = message or HTTPStatus(code).phrase
        if explain:
            text = f"{text}: {explain}"
        self.close_connection = True
        response = _error_body(code, text, HTTPStatus(code).phrase.lower().replace(" ", "_"))
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self._send(response)
        else:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _record(self, method: str, path: str, status: int | None, fault: str | None) -> None:
        self.server.owner._record(RequestRecord(method, path, status, fault))

    def _handle(self, method: str) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        fault = owner.faults.pick(method, path) if owner.faults is not None else None
        fault_kind = fault.kind if fault is not None else None
        try:
            body = self._read_body(owner.max_body_bytes)
        except ShotpackError as exc:
            self._record(method, path, exc.status_code, fault_kind)
            self._send(_error_body(exc.status_code or 400, exc.message, exc.error_code))
            return
        if fault is not None and self._inject_before(fault, method, path):
            return
        response = self._dispatch(method, path, body)
        if fault is not None and fault.kind in ("drop", "reset"):
            # after=True: the request took effect, only the response is lost.
            self._drop(fault)
            self._record(method, path, None, fault.kind)
            return
        if fault is not None and fault.kind == "truncate" and len(response.body) > 0:
            self._record(method, path, response.status, "truncate")
            self._send(response, truncate=True)
            return
        # Record before sending: a client that has its response must find it in the log.
        self._record(method, path, response.status, fault_kind)
        self._send(response)

    def _inject_before(self, fault: Fault, method: str, path: str) -> bool:
        """Apply a fault before dispatch; True if the request is finished."""
        if fault.kind == "delay":
            time.sleep(fault.delay)
            return False
        if fault.kind == "status":
            response = _error_body(
                fault.status,
                f"injected fault: {HTTPStatus(fault.status).phrase}"
                if fault.status in HTTPStatus._value2member_map_
                else "injected fault",
                "injected_fault",
            )
            if fault.retry_after is not None:
                response.headers = {"Retry-After": f"{fault.retry_after:g}"}
            self._record(method, path, fault.status, "status")
            self._send(response)
            return True
        if fault.kind in ("drop", "reset") and not fault.after:
            self._drop(fault)
            self._record(method, path, None, fault.kind)
            return True
        return False

    def _drop(self, fault: Fault) -> None:
        """Close the connection without a response (RST for ``reset``)."""
        self.close_connection = True
        if fault.kind == "reset":
            # SO_LINGER with a zero timeout makes close() send an RST.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _read_body(self, limit: int) -> bytes:
        """Read the request body (Content-Length or chunked), enforcing the size limit."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    raise InvalidOperationError(
                        "malformed chunked request body", error_code="bad_request"
                    ) from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > limit:
                    self.close_connection = True
                    raise DataSizeError(
                        f"request body exceeds the limit of {limit} bytes",
                        error_code="payload_too_large",
                    )
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise InvalidOperationError(
                f"invalid Content-Length {raw!r}", error_code="bad_request"
            ) from None
        if length > limit:
            # Drain a moderately large body so the client sees the 413 instead of a broken
            # pipe; beyond that, answer and close.
            if length <= max(4 * limit, 64 << 20):
                remaining = length
                while remaining > 0:
                    got = self.rfile.read(min(remaining, 1 << 20))
                    if not got:
                        break
                    remaining -= len(got)
            else:
                self.close_connection = True
            raise DataSizeError(
                f"request body of {length} bytes exceeds the limit of {limit} bytes",
                error_code="payload_too_large",
            )
        return self.rfile.read(length) if length else b""

    def _send(self, response: _Response, *, truncate: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if response.status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        for name, value in (response.headers or {}).items():
            self.send_header(name, value)
        if truncate or self.close_connection:
            self.send_header("Connection", "close")
        body = response.body[: len(response.body) // 2] if truncate else response.body
        try:
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client went away first (e.g. its timeout expired during a delay fault).
            self.close_connection = True
        if truncate:
            self.close_connection = True

    # -- routing ---------------------------------------------------------------------------

    def _dispatch(self, method: str, path: str, body: bytes) -> _Response:
        owner = self.server.owner
        try:
            if owner.token is not None:
                self._check_auth(owner.token)
            return self._route(method, path, body)
        except ShotpackError as exc:
            return _error_body(exc.status_code or 500, exc.message, exc.error_code)
        except Exception as exc:  # any bug becomes a 500 with the JSON body, never a hang
            logger.exception("internal error handling %s %s", method, path)
            return _error_body(
                500, f"internal server error: {type(exc).__name__}", "internal_error"
            )

    def _check_auth(self, token: str) -> None:
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            reason = "missing" if not given else "invalid"
            raise AuthenticationError(
                f"{reason} bearer token in the Authorization header", error_code="unauthorized"
            )

    def _route(self, method: str, path: str, body: bytes) -> _Response:
        if not path.startswith("/api/v1/"):
            raise NotFoundError(f"no such endpoint: {path}", error_code="not_found")
        rest = path[len("/api/v1/") :].rstrip("/")
        for pattern, handlers in _ROUTES:
            match = pattern.fullmatch(rest)
            if match is None:
                continue
            handler = handlers.get(method)
            if handler is None:
                return _error_body(
                    405,
                    f"method {method} is not allowed on {path}; allowed: {', '.join(handlers)}",
                    "method_not_allowed",
                )
            return handler(self, body, *match.groups())
        raise NotFoundError(f"no such endpoint: {path}", error_code="not_found")

    # -- helpers for route handlers ----------------------------------------------------------

    def _qc(self, alias: str) -> None:
        owner = self.server.owner
        if alias != owner.quantum_computer:
            raise NotFoundError(
                f"quantum computer {alias!r} does not exist; available: {owner.quantum_computer}",
                error_code="quantum_computer_not_found",
            )

    def _calset(self, calset: str) -> None:
        arch = self.server.owner.architecture
        if calset != "default" and calset != str(arch.calibration_set_id):
            raise NotFoundError(
                f"calibration set {calset!r} does not exist", error_code="calibration_set_not_found"
            )

    @staticmethod
    def _job_id(raw: str) -> uuid.UUID:
        try:
            return uuid.UUID(raw)
        except ValueError:
            raise NotFoundError(
                f"job {raw!r} does not exist (not a UUID)", error_code="job_not_found"
            ) from None

    def _query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    # -- route handlers ----------------------------------------------------------------------

    def _about(self, body: bytes) -> _Response:
        owner = self.server.owner
        return _json({"name": "shotpack local server", "version": owner.version})

    def _quantum_computers(self, body: bytes) -> _Response:
        owner = self.server.owner
        return _advertise_idempotency(
            owner,
            {
                "quantum_computers": [
                    {
                        "id": str(owner.quantum_computer_id),
                        "alias": owner.quantum_computer,
                        "display_name": owner.display_name,
                        "proxy_path": None,
                    }
                ]
            },
        )

    def _health(self, body: bytes, qc: str) -> _Response:
        self._qc(qc)
        owner = self.server.owner
        return _json({"status": "healthy", "jobs": owner.jobs.counts()})

    def _qc_about(self, body: bytes, qc: str) -> _Response:
        self._qc(qc)
        owner = self.server.owner
        return _json(
            {
                "version": owner.version,
                "software_versions": {"shotpack": owner.version},
                "simulator": "statevector",
                "num_qubits": len(owner.architecture.qubits),
            }
        )

    def _sqa(self, body: bytes, qc: str) -> _Response:
        self._qc(qc)
        return _json([self.server.owner.architecture.sqa()])

    def _channel_properties(self, body: bytes, qc: str) -> _Response:
        self._qc(qc)
        payload = self.server.owner.architecture.channel_properties()
        if payload is None:
            raise NotFoundError(
                "channel properties need the protobuf definitions of the iqm-data-definitions "
                "package, which is not installed on this server",
                error_code="not_available",
            )
        return _Response(200, payload, "application/protobuf")

    def _not_served(self, body: bytes, qc: str) -> _Response:
        self._qc(qc)
        raise NotFoundError(
            f"{urlsplit(self.path).path.rsplit('/', 1)[-1]} is not available on the shotpack "
            "local server",
            error_code="not_available",
        )

    def _calibration_set(self, body: bytes, qc: str, calset: str) -> _Response:
        self._qc(qc)
        self._calset(calset)
        return _json(self.server.owner.architecture.calibration_set())

    def _dqa(self, body: bytes, qc: str, calset: str) -> _Response:
        self._qc(qc)
        self._calset(calset)
        return _json(self.server.owner.architecture.dqa())

    def _metrics(self, body: bytes, qc: str, calset: str) -> _Response:
        self._qc(qc)
        self._calset(calset)
        return _json(self.server.owner.architecture.quality_metrics())

    def _submit(self, body: bytes, qc: str) -> _Response:
        self._qc(qc)
        owner = self.server.owner
        flags = self._query().get("use_timeslot", ["false"])
        if flags[-1] not in ("true", "false"):
            raise ValidationError(
                f"query parameter use_timeslot must be 'true' or 'false', got {flags[-1]!r}",
                error_code="validation_error",
            )
        content_type = self.headers.get("Content-Type", _JSON).split(";")[0].strip().lower()
        if content_type != _JSON:
            raise InvalidOperationError(
                f"circuit jobs must be sent as {_JSON}, got {content_type!r}",
                error_code="unsupported_media_type",
            )
        try:
            raw = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidOperationError(
                f"request body is not valid JSON: {exc}", error_code="bad_request"
            ) from None
        if not isinstance(raw, dict):
            raise ValidationError(
                "request body must be a JSON object (PostJobsRequest)",
                error_code="validation_error",
            )
        try:
            request = PostJobsRequest.model_validate(raw)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                for err in exc.errors()[:10]
            )
            raise ValidationError(
                f"invalid PostJobsRequest: {problems}", error_code="validation_error"
            ) from None
        if not request.circuits:
            raise ValidationError("the job has no circuits", error_code="validation_error")
        if request.shots > owner.max_shots:
            raise ValidationError(
                f"shots must be at most {owner.max_shots}, got {request.shots}",
                error_code="validation_error",
            )
        if len(request.circuits) * request.shots > owner.max_total_shots:
            raise ValidationError(
                f"circuits x shots = {len(request.circuits) * request.shots} exceeds the "
                f"server's limit of {owner.max_total_shots}",
                error_code="validation_error",
            )
        return self._submit_job(body, request)

    def _submit_job(self, body: bytes, request: PostJobsRequest) -> _Response:
        """Create the job, or with an ``Idempotency-Key`` header seen before, return the job
        that key created (same status and body as a fresh submit; the key is echoed back and
        ``Idempotent-Replayed: true`` marks the replay)."""
        jobs = self.server.owner.jobs
        key = self.headers.get(IDEMPOTENCY_KEY)
        if key is None or not jobs.idempotency_keys.enabled:
            return _json(jobs.submit(body, request))
        if not 0 < len(key) <= 255 or not key.isascii() or not key.isprintable():
            raise InvalidOperationError(
                f"the {IDEMPOTENCY_KEY} header must be 1-255 printable ASCII characters",
                error_code="bad_request",
            )
        try:
            data, created = jobs.submit_once(key, body, request)
        except IdempotencyKeyReused as exc:
            raise ValidationError(str(exc), error_code="idempotency_key_reused") from None
        except JobConflict as exc:
            raise ConflictError(str(exc), error_code="idempotency_key_conflict") from None
        response = _json(data)
        response.headers = {IDEMPOTENCY_KEY: key}
        if not created:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    def _submit_run(self, body: bytes, qc: str) -> _Response:
        self._qc(qc)
        raise InvalidOperationError(
            "pulse-level run jobs are not supported by the shotpack local server; submit "
            "circuit jobs to jobs/{qc}/circuit",
            error_code="unsupported_job_type",
        )

    def _job(self, body: bytes, job_id: str) -> _Response:
        return self._jobs_call(lambda jobs, jid: _json(jobs.get(jid)), job_id)

    def _delete(self, body: bytes, job_id: str) -> _Response:
        return self._jobs_call(lambda jobs, jid: (jobs.delete(jid), _json({}))[1], job_id)

    def _cancel(self, body: bytes, job_id: str) -> _Response:
        return self._jobs_call(lambda jobs, jid: (jobs.cancel(jid), _json({}))[1], job_id)

    def _payload(self, body: bytes, job_id: str) -> _Response:
        return self._jobs_call(lambda jobs, jid: _Response(200, jobs.payload(jid)), job_id)

    def _artifact(self, body: bytes, job_id: str, kind: str) -> _Response:
        return self._jobs_call(lambda jobs, jid: _Response(200, jobs.artifact(jid, kind)), job_id)

    def _jobs_call(self, call: Callable[[Any, uuid.UUID], _Response], job_id: str) -> _Response:
        jid = self._job_id(job_id)
        try:
            return call(self.server.owner.jobs, jid)
        except UnknownJob as exc:
            raise NotFoundError(str(exc), error_code="job_not_found") from None
        except JobConflict as exc:
            raise ConflictError(str(exc), error_code="job_conflict") from None


_Handler = Callable[..., _Response]
_ROUTE_TABLE: list[tuple[str, dict[str, _Handler]]] = [
    (r"about", {"GET": ApiHandler._about}),
    (r"quantum-computers", {"GET": ApiHandler._quantum_computers}),
    (rf"quantum-computers/({_SEG})/health", {"GET": ApiHandler._health}),
    (rf"quantum-computers/({_SEG})/artifacts/about", {"GET": ApiHandler._qc_about}),
    (
        rf"quantum-computers/({_SEG})/artifacts/static-quantum-architectures",
        {"GET": ApiHandler._sqa},
    ),
    (
        rf"quantum-computers/({_SEG})/artifacts/channel-properties",
        {"GET": ApiHandler._channel_properties},
    ),
    (
        rf"quantum-computers/({_SEG})/artifacts/(?:chip-design-records|settings)",
        {"GET": ApiHandler._not_served},
    ),
    (rf"calibration-sets/({_SEG})/({_SEG})", {"GET": ApiHandler._calibration_set}),
    (
        rf"calibration-sets/({_SEG})/({_SEG})/dynamic-quantum-architecture",
        {"GET": ApiHandler._dqa},
    ),
    (rf"calibration-sets/({_SEG})/({_SEG})/metrics", {"GET": ApiHandler._metrics}),
    (rf"jobs/({_SEG})/circuit", {"POST": ApiHandler._submit}),
    (rf"jobs/({_SEG})/run", {"POST": ApiHandler._submit_run}),
    (rf"jobs/({_SEG})", {"GET": ApiHandler._job, "DELETE": ApiHandler._delete}),
    (rf"jobs/({_SEG})/cancel", {"POST": ApiHandler._cancel}),
    (rf"jobs/({_SEG})/payload", {"GET": ApiHandler._payload}),
    (rf"jobs/({_SEG})/artifacts/({_SEG})", {"GET": ApiHandler._artifact}),
]
_ROUTES = [(re.compile(pattern), handlers) for pattern, handlers in _ROUTE_TABLE]

"""HTTP layer of the local server: routing, auth, limits, error bodies, fault injection.

Standard library only (``http.server``), HTTP/1.1 with keep-alive: every response carries a
``Content-Length``. Routes are those of the IQM Server API v1 that iqm-client 36 uses
(``/api/v1/...``; the endpoint table is in ``docs/server.md``). Every 4xx/5xx response has
the JSON body ``{"message": ..., "error_code": ..., "source": "iqm-server"}``.

Bounded under load (every limit is listed in ``docs/server.md``): at most ``max_connections``
handler threads (more connections get a quick 503), read deadlines per request, the token and
the announced size checked from the headers before any body byte is read, strict chunked
framing, a JSON nesting limit checked before parsing, and bounded request logs.

Not served (404 with an explanation): pulse-level ``run`` jobs, the station proxy
(``proxy_path`` is ``null``), chip design records and the protobuf settings tree. Channel
properties are served as protobuf when the ``iqm-data-definitions`` package is importable.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import re
import socket
import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
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
from shotpack.server.artifacts import MeasurementsBody
from shotpack.server.connections import SOURCE, DeadlineSocketIO, LimitedHTTPServer
from shotpack.server.faults import Fault
from shotpack.server.jobs import (
    EvictedJob,
    IdempotencyKeyReused,
    JobConflict,
    JobStoreFull,
    ResultTooLarge,
    UnknownJob,
)
from shotpack.server.json_depth import check_json_depth

if TYPE_CHECKING:
    from shotpack.server.local import LocalServer

__all__ = ["ApiHTTPServer", "ApiHandler", "RequestRecord"]

logger = logging.getLogger("shotpack.server")

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
    body: bytes | MeasurementsBody
    content_type: str = _JSON
    headers: dict[str, str] | None = None


def _json(obj: Any, status: int = 200) -> _Response:
    return _Response(status, json.dumps(obj, separators=(",", ":")).encode())


def _error_body(status: int, message: str, error_code: str | None) -> _Response:
    return _json({"message": message, "error_code": error_code, "source": SOURCE}, status)


class ApiHTTPServer(LimitedHTTPServer):
    """The local server's HTTP server: :class:`LimitedHTTPServer` serving :class:`ApiHandler`."""

    def __init__(self, address: tuple[str, int], owner: LocalServer) -> None:
        super().__init__(address, owner, ApiHandler)


_SEG = r"[^/]+"
# A chunk-size line: 1-16 hex digits, optional extensions, CRLF (no sign, no "0x", no "_").
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")
_MAX_CHUNK_LINE = 1024
_MAX_TRAILER_LINES = 32
# Lingering close after refusing a request without reading its body (see ApiHandler._linger).
_LINGER_BYTES = 256 << 10
_LINGER_SECONDS = 1.0

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
    server: ApiHTTPServer

    # -- plumbing --------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        owner = self.server.owner
        # Reads go through the deadline reader instead of the plain socket file.
        self.rfile.close()
        self._reader = DeadlineSocketIO(self.connection, owner.idle_timeout, owner.request_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.await_request()
        super().handle_one_request()

    def handle_expect_100(self) -> bool:
        """Refuse an ``Expect: 100-continue`` request before its body is sent, when possible."""
        refusal = self._refusal_from_headers()
        if refusal is not None:
            self._refuse_before_body(self.command, urlsplit(self.path).path, refusal)
            return False
        return super().handle_expect_100()

    def _refusal_from_headers(self) -> ShotpackError | None:
        """The error to answer from the headers alone (missing token, body too large)."""
        owner = self.server.owner
        if owner.token is not None:
            try:
                self._check_auth(owner.token)
            except AuthenticationError as exc:
                return exc
        length = _content_length(self.headers.get("Content-Length"))
        if length is not None and length > owner.max_body_bytes:
            return DataSizeError(
                f"request body of {length} bytes exceeds the limit of {owner.max_body_bytes} bytes",
                error_code="payload_too_large",
            )
        return None

    def _refuse_before_body(self, method: str, path: str, exc: ShotpackError) -> None:
        """Answer an error without reading the body; close the connection if one was announced,
        so its unread bytes are never parsed as a next request."""
        announced = bool(self.headers.get("Transfer-Encoding")) or self.headers.get(
            "Content-Length", "0"
        ).strip() not in ("0", "")
        if announced:
            self.close_connection = True
        status = exc.status_code or 400
        self._record(method, path, status, None)
        self._send(_error_body(status, exc.message, exc.error_code))
        if announced and self.headers.get("Expect", "").lower() != "100-continue":
            self._linger()

    def _linger(self) -> None:
        """Discard a little of an unread body before closing (at most 256 KiB, 1 s).

        Closing a socket with unread data sends an RST, which can make the client lose the
        response it was just sent; a short body is drained so the client sees the answer, a long
        one is cut off. Nothing is stored.
        """
        try:
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_SECONDS
            scratch = bytearray(1 << 16)
            left = _LINGER_BYTES
            while left > 0 and (timeout := deadline - time.monotonic()) > 0:
                self.connection.settimeout(timeout)
                n = self.connection.recv_into(scratch)
                if not n:
                    break
                left -= n
        except OSError:
            pass

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
        path = urlsplit(self.path).path
        # Auth and the announced size are checked from the headers, before any body byte is read.
        refusal = self._refusal_from_headers()
        if refusal is not None:
            self._refuse_before_body(method, path, refusal)
            return
        self._reserved = 0
        try:
            self._handle_body(method, path)
        finally:
            self.server.bodies.release(self._reserved)

    def _handle_body(self, method: str, path: str) -> None:
        owner = self.server.owner
        announced = _content_length(self.headers.get("Content-Length"))
        if announced is not None and announced > 0 and not self._reserve(announced):
            self._refuse_before_body(method, path, self._busy_bodies())
            return
        fault = owner.faults.pick(method, path) if owner.faults is not None else None
        fault_kind = fault.kind if fault is not None else None
        try:
            body = self._read_body(owner.max_body_bytes)
        except ShotpackError as exc:
            self._record(method, path, exc.status_code, fault_kind)
            self._send(_error_body(exc.status_code or 400, exc.message, exc.error_code))
            if self.close_connection:
                self._linger()
            return
        except TimeoutError:
            self.close_connection = True
            self._record(method, path, 408, fault_kind)
            self._send(
                _error_body(
                    408,
                    f"request body not received within {owner.request_timeout:g} s",
                    "request_timeout",
                )
            )
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

    def _reserve(self, n: int) -> bool:
        """Count ``n`` more body bytes of this request against the server's in-flight budget."""
        if not self.server.bodies.try_reserve(n):
            return False
        self._reserved += n
        return True

    def _busy_bodies(self) -> ShotpackError:
        return ShotpackError(
            f"server busy: request bodies in progress would exceed "
            f"{self.server.bodies.limit} bytes; retry shortly",
            error_code="server_busy",
            status_code=503,
        )

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
        """Read the request body (Content-Length or chunked), enforcing the size limit.

        Raises:
            InvalidOperationError: Malformed framing (400); the connection is closed.
            DataSizeError: The body exceeds ``limit`` (413); reading stops at the limit.
            TimeoutError: The body did not arrive within the request timeout.
        """
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked":
                self.close_connection = True
                raise InvalidOperationError(
                    f"unsupported Transfer-Encoding {encoding[:64]!r}; only 'chunked' is accepted",
                    error_code="bad_request",
                )
            if self.headers.get("Content-Length") is not None:
                # Both framings at once is how request smuggling starts: refuse it.
                self.close_connection = True
                raise InvalidOperationError(
                    "a request must not have both Transfer-Encoding and Content-Length",
                    error_code="bad_request",
                )
            return self._read_chunked(limit)
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        length = _content_length(raw)
        if length is None:
            self.close_connection = True
            raise InvalidOperationError(
                f"invalid Content-Length {raw[:64]!r}", error_code="bad_request"
            )
        if length > limit:
            # Normally refused from the headers already (see _refusal_from_headers).
            self.close_connection = True
            raise DataSizeError(
                f"request body of {length} bytes exceeds the limit of {limit} bytes",
                error_code="payload_too_large",
            )
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True
            raise InvalidOperationError(
                f"request body ended after {len(body)} of {length} bytes",
                error_code="bad_request",
            )
        return body

    def _read_chunked(self, limit: int) -> bytes:
        """Read a ``Transfer-Encoding: chunked`` body; at most ``limit`` bytes are kept."""

        def malformed(what: str) -> InvalidOperationError:
            self.close_connection = True
            return InvalidOperationError(
                f"malformed chunked request body: {what}", error_code="bad_request"
            )

        chunks = []
        total = 0
        while True:
            line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
            if not line.endswith(b"\n"):
                raise malformed(
                    f"chunk-size line longer than {_MAX_CHUNK_LINE} bytes"
                    if len(line) > _MAX_CHUNK_LINE
                    else "the body ended inside a chunk-size line"
                )
            match = _CHUNK_SIZE.fullmatch(line)
            if match is None:
                raise malformed(f"invalid chunk size {line[:32]!r} after {total} bytes")
            size = int(match.group(1), 16)
            if size == 0:
                break
            if total + size > limit:
                self.close_connection = True
                raise DataSizeError(
                    f"chunked request body exceeds the limit of {limit} bytes",
                    error_code="payload_too_large",
                )
            if not self._reserve(size):
                self.close_connection = True
                raise self._busy_bodies()
            data = self.rfile.read(size)
            if len(data) < size:
                raise malformed(f"the body ended inside a chunk of {size} bytes")
            chunks.append(data)
            total += size
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise malformed(f"missing CRLF after a chunk of {size} bytes")
        # Trailer fields (ignored), then the empty line that ends the body.
        for _ in range(_MAX_TRAILER_LINES):
            line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
            if line in (b"\r\n", b"\n"):
                return b"".join(chunks)
            if not line.endswith(b"\n"):
                raise malformed("the body ended inside its trailer")
        raise malformed(f"more than {_MAX_TRAILER_LINES} trailer lines")

    def _send(self, response: _Response, *, truncate: bool = False) -> None:
        # Bounds how long a client that stops reading can hold this thread.
        self.connection.settimeout(self.server.owner.response_timeout)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if response.status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        for name, value in (response.headers or {}).items():
            self.send_header(name, value)
        if truncate or self.close_connection:
            self.send_header("Connection", "close")
        # A truncate fault sends only the first half of the announced body.
        left = len(response.body) // 2 if truncate else len(response.body)
        pieces = [response.body] if isinstance(response.body, bytes) else response.body
        try:
            self.end_headers()
            for piece in pieces:
                if left <= 0:
                    break
                self.wfile.write(piece[:left] if len(piece) > left else piece)
                left -= len(piece)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            # The client went away first (e.g. its timeout expired during a delay fault), or
            # stopped reading.
            self.close_connection = True
        if truncate:
            self.close_connection = True

    # -- routing ---------------------------------------------------------------------------

    def _dispatch(self, method: str, path: str, body: bytes) -> _Response:
        owner = self.server.owner
        try:
            if owner.token is not None:
                self._check_auth(owner.token)  # already checked in _handle; kept as a guard
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
        with self.server.parse_lock:
            raw = _parse_job_body(body, owner.max_json_depth)
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
            del raw
        if not request.circuits:
            raise ValidationError("the job has no circuits", error_code="validation_error")
        if request.shots > owner.max_shots:
            raise ValidationError(
                f"shots must be at most {owner.max_shots}, got {request.shots}",
                error_code="validation_error",
            )
        key = self.headers.get(IDEMPOTENCY_KEY)
        if key is not None and owner.jobs.idempotency_keys.job_for(key) is not None:
            # A replay takes no new memory: admitting it could evict or refuse the very job the
            # key names.
            return self._submit_job(body, request)
        # Memory limits (may evict old finished jobs to make room), then the cheap batch check.
        try:
            owner.jobs.admit(request, len(body))
        except ResultTooLarge as exc:
            raise ValidationError(str(exc), error_code="validation_error") from None
        except JobStoreFull as exc:
            raise ShotpackError(str(exc), error_code="server_busy", status_code=503) from None
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
        except EvictedJob as exc:
            # 404 as for any unknown job (what clients and earlier versions expect), told apart
            # by its error_code and message.
            raise NotFoundError(str(exc), error_code="job_evicted") from None
        except UnknownJob as exc:
            raise NotFoundError(str(exc), error_code="job_not_found") from None
        except JobConflict as exc:
            raise ConflictError(str(exc), error_code="job_conflict") from None


_DIGITS = re.compile(r"[0-9]+")


def _content_length(value: str | None) -> int | None:
    """A ``Content-Length`` value as an int; None if absent or not ASCII digits. Values beyond
    18 digits are read as 10**18 (over any limit) instead of being converted."""
    if value is None:
        return None
    value = value.strip()
    if _DIGITS.fullmatch(value) is None:
        return None
    return int(value) if len(value) <= 18 else 10**18


def _parse_job_body(body: bytes, max_depth: int) -> dict[str, Any]:
    """Parse a job submission's JSON, refusing deep nesting and non-integer ``shots``.

    Raises:
        InvalidOperationError: Not JSON, or nested deeper than ``max_depth`` (400).
        ValidationError: Not an object, or ``shots`` is not a JSON integer (422).
    """
    check_json_depth(body, max_depth)
    try:
        raw = json.loads(body)
    except RecursionError:
        # Only reachable when max_json_depth is set above Python's recursion limit.
        raise InvalidOperationError(
            "request body is nested too deeply to parse", error_code="bad_request"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, or an over-long integer
        raise InvalidOperationError(
            f"request body is not valid JSON: {exc}", error_code="bad_request"
        ) from None
    if not isinstance(raw, dict):
        raise ValidationError(
            "request body must be a JSON object (PostJobsRequest)", error_code="validation_error"
        )
    shots = raw.get("shots", 1)
    # The schema says integer: true, 1.0 and "10" are not shot counts (pydantic's lax mode, which
    # the shared model uses, would coerce them).
    if type(shots) is not int:
        raise ValidationError(
            f"invalid PostJobsRequest: shots: must be an integer, got {json.dumps(shots)[:40]}",
            error_code="validation_error",
        )
    return raw


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

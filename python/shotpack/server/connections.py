"""Connection layer of the local server: a thread per connection up to a cap, read deadlines,
and a shared budget for request bodies in flight (every limit is listed in ``docs/server.md``)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from socketserver import BaseRequestHandler
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shotpack.server.local import LocalServer

__all__ = ["ByteBudget", "DeadlineSocketIO", "LimitedHTTPServer"]

logger = logging.getLogger("shotpack.server")

#: ``source`` of every error body, as IQM's server sends it.
SOURCE = "iqm-server"
_JSON = "application/json"


class LimitedHTTPServer(ThreadingHTTPServer):
    """Threading HTTP server that knows its :class:`LocalServer` and its open connections.

    Args:
        address: ``(host, port)`` to listen on.
        owner: The server whose limits apply.
        handler: The request handler class.

    At most ``owner.max_connections`` connections are served at once, each by its own thread.
    A connection accepted beyond that gets an immediate ``503`` (``error_code`` ``server_busy``,
    ``Retry-After: 1``) and is closed, instead of waiting in the listen backlog: the client learns
    at once that it should retry (both IQM clients retry a 503), the accept loop never blocks, and
    no connection can hold more than one thread.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        owner: LocalServer,
        handler: type[BaseRequestHandler],
    ) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.max_connections = owner.max_connections
        self.busy_rejections = 0
        """Connections refused with a 503 because every handler thread was busy."""
        self._slots = threading.BoundedSemaphore(owner.max_connections)
        self.bodies = ByteBudget(owner.max_inflight_body_bytes)
        # One job body parsed at a time: parsing holds about 20 bytes of Python objects per byte.
        self.parse_lock = threading.Lock()
        # listen() backlog: bursts of new connections wait here instead of being reset.
        self.request_queue_size = owner.backlog
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.busy_rejections += 1
            self._refuse_busy(request)
            return
        with self.connections_lock:
            self.connections.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse_busy(self, request: socket.socket) -> None:
        """Answer 503 on a connection no thread can serve, without blocking, and close it."""
        body = json.dumps(
            {
                "message": f"server busy: all {self.max_connections} connections are in use; "
                "retry shortly",
                "error_code": "server_busy",
                "source": SOURCE,
            },
            separators=(",", ":"),
        ).encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\n"
            f"Content-Type: {_JSON}\r\nContent-Length: {len(body)}\r\n"
            "Retry-After: 1\r\nConnection: close\r\n\r\n"
        ).encode()
        try:
            request.setblocking(False)
            # A fresh socket's send buffer is empty, so this small answer fits at once.
            request.send(head + body)
            # Read what the client already sent: closing with unread data would send an RST,
            # which can make the client lose the 503.
            for _ in range(16):
                if not request.recv(65536):
                    break
        except OSError:
            pass
        self.shutdown_request(request)

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


class ByteBudget:
    """A shared count of bytes in use with a ceiling (request bodies being read or handled)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def try_reserve(self, n: int) -> bool:
        with self._lock:
            if self.used + n > self.limit:
                return False
            self.used += n
            return True

    def release(self, n: int) -> None:
        with self._lock:
            self.used -= n


class DeadlineSocketIO(socket.SocketIO):
    """Socket reader with two deadlines, so a silent or trickling client cannot pin a thread.

    Until the first byte of a request arrives, each read waits at most ``idle_timeout`` (an idle
    keep-alive connection is closed after that). From the first byte on, the request line, the
    headers and the body must all arrive within ``request_timeout``; each read's socket timeout
    is the time left, so sending one byte every few seconds does not extend it.
    """

    def __init__(self, sock: socket.socket, idle_timeout: float, request_timeout: float) -> None:
        super().__init__(sock, "rb")
        self._idle_timeout = idle_timeout
        self._request_timeout = request_timeout
        self._deadline: float | None = None

    def await_request(self) -> None:
        """Start waiting for the next request (idle timeout until its first byte)."""
        self._deadline = None

    def readinto(self, b: Any) -> int | None:
        if self._deadline is None:
            timeout = self._idle_timeout
        else:
            timeout = self._deadline - time.monotonic()
            if timeout <= 0:
                raise TimeoutError(f"request not received within {self._request_timeout:g} s")
        self._sock.settimeout(timeout)  # type: ignore[attr-defined]
        n = super().readinto(b)
        if self._deadline is None and n:
            self._deadline = time.monotonic() + self._request_timeout
        return n

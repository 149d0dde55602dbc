"""`LocalServer`: start and stop the IQM-compatible local server in a background thread."""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import threading
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType

from shotpack._version import __version__
from shotpack.server.app import ApiHTTPServer, RequestRecord
from shotpack.server.architecture import Architecture
from shotpack.server.faults import FaultPlan, truncate_path
from shotpack.server.jobs import JobQueue
from shotpack.server.simulator import ReadoutError

__all__ = ["LocalServer", "return_freed_memory_promptly"]

logger = logging.getLogger("shotpack.server")


def return_freed_memory_promptly(threshold: int = 1 << 20) -> bool:
    """Make glibc's malloc give blocks of ``threshold`` bytes or more back to the OS on free.

    By default glibc raises its mmap threshold (up to 32 MiB) after large frees, so the big
    temporary arrays of a simulation end up in heaps that keep their pages: the process's RSS
    then grows past what the server's limits hold. A fixed threshold maps each large array on
    its own and unmaps it when freed. ``shotpack serve`` calls this at start-up; it affects the
    whole process, so :class:`LocalServer` does not.

    Args:
        threshold: Allocation size from which blocks are mapped individually.

    Returns:
        True if the setting was applied (glibc), False otherwise (no change).
    """
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_mmap_threshold = -3  # from glibc's malloc.h
    return bool(mallopt(ctypes.c_int(m_mmap_threshold), ctypes.c_int(threshold)))


class LocalServer:
    """An IQM Server API v1 endpoint backed by a statevector simulator.

    The official ``iqm-client`` (36.x) and ``shotpack.iqm.IQMClient`` both work against it.

    Args:
        host: Interface to listen on.
        port: TCP port; 0 picks a free one (see :attr:`url` after :meth:`start`).
        qubits: Number of qubits of the square-lattice device (``QB1..QBn``).
        token: If given, every request needs ``Authorization: Bearer <token>`` (else 401).
        readout_error: Probability of flipping a measured bit, for all qubits or per qubit name;
            a value may be a pair ``(P(1|0), P(0|1))`` for an asymmetric error.
        random_readout_error: If given, every qubit's asymmetric readout error is drawn from
            ``noise_seed``: ``P(1|0)`` in ``[m/2, m]`` and ``P(0|1)`` in ``[m, 2m]`` (see
            :meth:`Architecture.square`); overrides ``readout_error``.
        noise_seed: Seed of those draws (default 0, so the device is the same every time).
        gate_error: Depolarizing probability after every single-qubit gate.
        cz_error: Depolarizing probability after every ``cz``.
        seed: Seed for reproducible results (jobs draw from it in submission order).
        faults: Fault injection plan, or a spec string for :meth:`FaultPlan.parse`. A plan is
            always present (empty by default) so tests can add rules at any time.
        job_delay: Extra seconds every job spends processing (to observe queued jobs).
        quantum_computer: Alias of the single quantum computer.
        max_body_bytes: Largest accepted request body (else 413).
        max_shots: Largest ``shots`` per job (else 422).
        max_total_shots: Largest ``circuits x shots`` per job (else 422).
        max_qubits: Largest statevector a circuit may need (else the job fails).
        max_state_bytes: Memory budget of one simulation (else the job fails).
        max_retained_jobs: Finished jobs kept in memory; older ones are evicted (then 404
            with ``error_code`` ``job_evicted``, as for every eviction below).
        max_connections: Connections served at once, one handler thread each; more get an
            immediate 503 ``server_busy`` and are closed.
        max_inflight_body_bytes: Request body bytes being read or handled at once, over all
            connections (at least ``max_body_bytes``); a body that would exceed it gets 503
            ``server_busy`` before it is read.
        backlog: Listen backlog (connections the kernel queues before they are accepted).
        idle_timeout: Seconds a connection may wait before the first byte of a request
            (idle keep-alive connections are closed after it).
        request_timeout: Seconds to receive a request's line, headers and body once its first
            byte arrived (408 or close otherwise).
        response_timeout: Seconds a response may take to send to a client that reads slowly.
        max_json_depth: Deepest JSON nesting accepted in a request body (else 400).
        max_request_log: Records kept in :attr:`requests` (and in the fault log); older ones
            are dropped.
        max_path_chars: Paths longer than this are truncated in those logs.
        max_job_result_bytes: Largest estimated result of one job (shots x measured bits, plus
            the counts) accepted at submission (else 422).
        max_stored_bytes: Memory budget of the job store: payloads, results and encoded counts
            of all jobs. The oldest finished jobs are evicted to stay within it; a submission
            that cannot fit beside the unfinished jobs gets 503.
        job_retention: Seconds a finished job is kept before it is evicted.

    Example:
        >>> with LocalServer(qubits=3, seed=7) as server:
        ...     server.url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        qubits: int = 5,
        token: str | None = None,
        readout_error: ReadoutError | Mapping[str, ReadoutError] = 0.0,
        random_readout_error: float | None = None,
        noise_seed: int | None = None,
        gate_error: float = 0.0,
        cz_error: float = 0.0,
        seed: int | None = None,
        faults: FaultPlan | str | None = None,
        job_delay: float = 0.0,
        quantum_computer: str = "sim",
        max_body_bytes: int = 2 << 20,
        max_shots: int = 10_000_000,
        max_total_shots: int = 50_000_000,
        max_qubits: int = 20,
        max_state_bytes: int = 32 << 20,
        max_retained_jobs: int = 1000,
        max_connections: int = 64,
        max_inflight_body_bytes: int = 8 << 20,
        backlog: int = 128,
        idle_timeout: float = 15.0,
        request_timeout: float = 30.0,
        response_timeout: float = 60.0,
        max_json_depth: int = 64,
        max_request_log: int = 10_000,
        max_path_chars: int = 256,
        max_job_result_bytes: int = 32 << 20,
        max_stored_bytes: int = 64 << 20,
        job_retention: float = 3600.0,
    ) -> None:
        if token is not None and not token:
            raise ValueError("token must be a non-empty string or None")
        for name, value in (
            ("max_body_bytes", max_body_bytes),
            ("max_connections", max_connections),
            ("max_inflight_body_bytes", max_inflight_body_bytes),
            ("backlog", backlog),
            ("max_json_depth", max_json_depth),
            ("max_request_log", max_request_log),
            ("max_path_chars", max_path_chars),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        for name, seconds in (
            ("idle_timeout", idle_timeout),
            ("request_timeout", request_timeout),
            ("response_timeout", response_timeout),
        ):
            if not seconds > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {seconds}")
        self.host = host
        self.port = port
        self.token = token
        self.quantum_computer = quantum_computer
        self.quantum_computer_id = uuid.uuid5(
            uuid.NAMESPACE_URL, f"shotpack-sim/{quantum_computer}"
        )
        self.display_name = f"shotpack simulator ({qubits} qubits)"
        self.architecture = Architecture.square(
            qubits,
            readout_error,
            random_readout_error=random_readout_error,
            noise_seed=noise_seed,
            gate_error=gate_error,
            cz_error=cz_error,
        )
        self.faults = FaultPlan.parse(faults, seed) if isinstance(faults, str) else faults
        if self.faults is None:
            self.faults = FaultPlan(seed)
        self.max_body_bytes = max_body_bytes
        self.max_shots = max_shots
        self.max_total_shots = max_total_shots
        self.max_connections = max_connections
        self.max_inflight_body_bytes = max(max_inflight_body_bytes, max_body_bytes)
        self.backlog = backlog
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.response_timeout = response_timeout
        self.max_json_depth = max_json_depth
        self.max_path_chars = max_path_chars
        self.faults.limit_log(max_request_log, max_path_chars)
        self.jobs = JobQueue(
            self.architecture,
            seed=seed,
            job_delay=job_delay,
            max_qubits=max_qubits,
            max_state_bytes=max_state_bytes,
            max_retained_jobs=max_retained_jobs,
            max_job_result_bytes=max_job_result_bytes,
            max_stored_bytes=max_stored_bytes,
            job_retention=job_retention,
        )
        self._requests: deque[RequestRecord] = deque(maxlen=max_request_log)
        self._requests_lock = threading.Lock()
        self._httpd: ApiHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.version = __version__

    def __repr__(self) -> str:
        # Never show the token.
        state = self.url if self._httpd is not None else "stopped"
        auth = ", token=***" if self.token else ""
        return f"LocalServer({state}, qubits={len(self.architecture.qubits)}{auth})"

    @property
    def requests(self) -> list[RequestRecord]:
        """The most recent requests (at most ``max_request_log``), oldest first: method, path
        (truncated to ``max_path_chars``), status and injected fault. A snapshot list."""
        with self._requests_lock:
            return list(self._requests)

    @property
    def url(self) -> str:
        """Root URL (``http://host:port``) once started."""
        if self._httpd is None:
            raise RuntimeError("the server is not running; call start() first")
        host, port = self._httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    def start(self) -> LocalServer:
        """Bind the socket and serve in a background thread.

        Returns:
            self, so ``server = LocalServer().start()`` works.

        Raises:
            OSError: The address is in use or cannot be bound.
        """
        if self._httpd is not None:
            return self
        self._httpd = ApiHTTPServer((self.host, self.port), self)
        self.jobs.start()
        # A short poll interval keeps stop() quick (shutdown waits for one poll).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="shotpack-http",
            daemon=True,
        )
        self._thread.start()
        logger.info("serving on %s", self.url)
        return self

    def serve_forever(self) -> None:
        """Start and block until interrupted (Ctrl-C), then stop."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, close open connections and stop the job workers."""
        httpd = self._httpd
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        self.jobs.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @contextmanager
    def paused(self, stage: str = "execution") -> Iterator[None]:
        """Hold job compilation or execution (or ``"all"``) while the block runs.

        Example:
            >>> server = LocalServer()
            >>> with server.paused():
            ...     pass  # jobs submitted here stay 'waiting' until the block ends
        """
        self.jobs.pause(stage)
        try:
            yield
        finally:
            self.jobs.resume(stage)

    def _record(self, record: RequestRecord) -> None:
        if len(record.path) > self.max_path_chars:
            record = dataclasses.replace(
                record, path=truncate_path(record.path, self.max_path_chars)
            )
        with self._requests_lock:
            self._requests.append(record)

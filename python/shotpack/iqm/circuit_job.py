"""CircuitJob: a submitted job on the server, with status polling and result retrieval.

Polling backs off with the job's age: the wait between polls is 8% of the time already waited
(at least 20 ms, at most 5 s), so a job that finishes between two polls is noticed within about
10% of its run time (or a few tens of milliseconds for short jobs) without hammering the server.

A poll is a repeatable GET: the transport retries it on read timeouts, connection errors and
429/502/503/504, and a poll that still fails (a server briefly unreachable or slow) is followed by
the next one, all within the overall timeout. Only errors that cannot heal by waiting (401, 403,
404, 4xx in general, a malformed answer) end the wait early.

Example:
    >>> job = client.submit_circuits([circuit], shots=100)  # doctest: +SKIP
    >>> job.wait_for_completion(timeout_secs=60)  # doctest: +SKIP
    <ServerJobStatus.COMPLETED: 'completed'>
    >>> job.result_counts()[0].counts  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shotpack.iqm.errors import (
    ConnectionFailedError,
    OperationTimeoutError,
    ShotpackError,
)
from shotpack.iqm.models import (
    CircuitMeasurementCounts,
    CircuitMeasurementResultsBatch,
    JobData,
    PostJobsRequest,
    ServerJobStatus,
    TimelineEntry,
)

if TYPE_CHECKING:
    from shotpack.containers.data_bin import DataBin
    from shotpack.iqm.client import IQMClient

logger = logging.getLogger("shotpack.iqm")

DEFAULT_TIMEOUT_SECONDS = 10800.0
"""Default longest wait for a job, in seconds (3 hours)."""

MIN_POLL_INTERVAL = 0.02
MAX_POLL_INTERVAL = 5.0
POLL_FRACTION = 0.08


def poll_interval(waited: float) -> float:
    """Seconds to wait before the next poll, after ``waited`` seconds of waiting."""
    return min(MAX_POLL_INTERVAL, max(MIN_POLL_INTERVAL, POLL_FRACTION * waited))


def progress_default() -> bool:
    """Whether to show a progress bar when the caller did not say: tqdm is installed and someone
    is watching, i.e. standard error is a terminal or the code runs in a Jupyter kernel. Scripts,
    pipes, logs and tests stay free of bar output."""
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    stderr = sys.stderr
    try:
        if stderr is not None and stderr.isatty():
            return True
    except (AttributeError, ValueError):  # replaced or closed stream
        pass
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


class _Progress:
    """A tqdm bar for a job: the queue position while queued, then the shots done.

    The bar shows counts, never a rate (a job found finished at the first poll would otherwise
    show millions of "it/s"), and it is cleared when the wait ends, so nothing stale remains.
    """

    _SHOTS_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed}]"
    _QUEUE_FORMAT = "{desc} [{elapsed}]"

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        self._mode = ""
        if enabled:
            try:
                import tqdm  # noqa: F401
            except ImportError:
                enabled = False
        self.enabled = enabled

    def _open(self, mode: str, total: int | None, desc: str, unit: str, fmt: str) -> None:
        from tqdm.auto import tqdm

        if self._bar is not None:
            self._bar.close()
        self._bar = tqdm(total=total, desc=desc, unit=unit, leave=False, bar_format=fmt)
        self._mode = mode

    def update(self, data: JobData) -> None:
        if not self.enabled:
            return
        if data.status == ServerJobStatus.WAITING and data.queue_position is not None:
            if self._mode != "queue":
                self._open("queue", None, "Queued", "", self._QUEUE_FORMAT)
            self._bar.set_description_str(f"Queued: position {data.queue_position}")
        elif data.execution is not None and data.execution.progress:
            label, value = next(iter(data.execution.progress.items()))
            if self._mode != label:
                self._open(label, value.max_value, "Progress", label, self._SHOTS_FORMAT)
            self._bar.n = value.value
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def transient(exc: ShotpackError) -> bool:
    """Whether a failed poll may succeed later: a timeout, a lost connection, 429 or 5xx."""
    if isinstance(exc, (OperationTimeoutError, ConnectionFailedError)):
        return True
    status = exc.status_code or 0
    return status == 429 or status >= 500


ProgressCallback = Callable[[list[tuple[str, int, int]]], Any]
"""Receives ``[(label, value, total), ...]`` after each poll, as iqm-client 36's callbacks do:
``("Progress in queue", places moved, largest position seen)`` while queued, then one entry per
execution progress counter (e.g. shots)."""


class _CallbackProgress:
    """Feeds an iqm-client-style progress callback from successive job data."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._max_queue = 0

    def update(self, data: JobData) -> None:
        if self._callback is None:
            return
        if data.queue_position is not None:
            # The total never shrinks, so a bar only moves forward while the queue grows.
            self._max_queue = max(self._max_queue, data.queue_position)
            pos = data.queue_position
            self._callback([("Progress in queue", self._max_queue - pos, self._max_queue)])
        elif data.execution is not None and data.execution.progress:
            self._callback([(k, v.value, v.max_value) for k, v in data.execution.progress.items()])


def wait_for_job(
    fetch: Callable[[float | None], JobData],
    current: JobData | None,
    *,
    timeout_secs: float | None,
    progress: bool = False,
    polling_interval: float | None = None,
    progress_callback: ProgressCallback | None = None,
    on_poll: Callable[[JobData], None] | None = None,
) -> JobData | None:
    """Polls ``fetch(deadline)`` until the job is terminal or ``timeout_secs`` pass.

    A poll that fails transiently (see :func:`transient`) is logged and followed by the next
    poll; at the deadline the last data seen is returned.

    Args:
        fetch: returns the job's current data (one request, retried by the transport); its
            argument is the ``time.monotonic()`` deadline (or ``None``) the request must keep.
        current: the latest known data (returned at once if already terminal), or ``None``
            when nothing is known yet.
        timeout_secs: longest wait; ``None`` or 0 waits forever.
        progress: show a tqdm bar (when installed).
        polling_interval: fixed seconds between polls; None backs off with the job's age.
        progress_callback: called after every poll (see :data:`ProgressCallback`).
        on_poll: called with the job's data after every poll (status, ``queue_position``,
            ``execution.progress``), the last time with the final data.

    Returns:
        The last data seen; non-terminal (or ``None`` if nothing was ever seen) when the
        timeout passed.

    Raises:
        ShotpackError: a poll failed in a way waiting cannot fix (e.g. 401, 404).
        ValueError: a negative ``polling_interval``.
    """
    if polling_interval is not None and not polling_interval >= 0:
        raise ValueError(f"polling_interval must be >= 0 seconds, got {polling_interval!r}")
    if current is not None and current.status.is_terminal:
        return current
    bar = _Progress(progress)
    report = _CallbackProgress(progress_callback)
    start = time.monotonic()
    deadline = None if not timeout_secs else start + timeout_secs
    data = current
    try:
        while True:
            try:
                data = fetch(deadline)
            except ShotpackError as exc:
                if not transient(exc):
                    raise
                logger.debug("poll failed (%s); polling on", exc)
            else:
                bar.update(data)
                report.update(data)
                if on_poll is not None:
                    on_poll(data)
                if data.status.is_terminal:
                    return data
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return data
            delay = poll_interval(now - start) if polling_interval is None else polling_interval
            if deadline is not None:
                delay = min(delay, max(0.0, deadline - now))
            time.sleep(delay)
    finally:
        bar.close()


class CircuitJob:
    """A circuit job on the server, as returned by ``submit_circuits`` and ``get_job``.

    Args:
        client: the client that talks to the job's server.
        data: the job's data as last fetched.
        payload: the run request, when known locally (saves a request).
    """

    def __init__(
        self, client: IQMClient, data: JobData, *, payload: PostJobsRequest | None = None
    ) -> None:
        self._client = client
        self.data = data
        self._payload = payload
        self._warned = False
        self._counts: list[CircuitMeasurementCounts] | None = None

    def __repr__(self) -> str:
        return f"CircuitJob(job_id={self.job_id!s}, status={self.status.value!r})"

    @property
    def job_id(self) -> uuid.UUID:
        """The job's id."""
        return self.data.id

    @property
    def status(self) -> ServerJobStatus:
        """Status as last fetched (call :meth:`update` to refresh)."""
        return self.data.status

    @property
    def job_data(self) -> JobData:
        """The job's data as last fetched (iqm-client's name for :attr:`data`)."""
        return self.data

    def find_timeline_entry(self, status: str, source: str | None = None) -> TimelineEntry | None:
        """The first entry of the job's timeline with this ``status`` (and ``source``), as last
        fetched; ``None`` if there is none.

        Example:
            >>> job.find_timeline_entry("completed").timestamp  # doctest: +SKIP
        """
        return self.data.find_timeline_entry(status, source)

    @property
    def queue_position(self) -> int | None:
        """Position in the server's queue as last fetched (only while waiting)."""
        return self.data.queue_position

    @property
    def errors(self) -> str | None:
        """The server's errors, one ``source: code: message`` line each, or ``None``."""
        return self.data.errors_text()

    def update(self) -> ServerJobStatus:
        """Fetches the job's state unless it is already terminal; returns the status."""
        if not self.data.status.is_terminal:
            self.data = self._client._get_job_data(self.job_id)
        return self.data.status

    def cancel(self) -> None:
        """Asks the server to cancel the job.

        Raises:
            ConflictError: the job already finished.
        """
        self._client.cancel_job(self.job_id)

    def payload(self) -> PostJobsRequest:
        """The run request that created the job (fetched once if not known locally)."""
        if self._payload is None:
            self._payload = self._client.get_job_payload(self.job_id)
        return self._payload

    def wait_for_completion(
        self,
        timeout_secs: float | None = DEFAULT_TIMEOUT_SECONDS,
        *,
        progress: bool = False,
        polling_interval: float | None = None,
        progress_callback: ProgressCallback | None = None,
        on_poll: Callable[[JobData], None] | None = None,
    ) -> ServerJobStatus:
        """Polls until the job finishes (see the module docstring) or the timeout passes.

        Args:
            timeout_secs: longest wait in seconds; ``None`` or 0 waits forever.
            progress: show a tqdm progress bar when tqdm is installed.
            polling_interval: seconds between polls, as in iqm-client; None (the default)
                backs off with the job's age instead.
            progress_callback: called after every poll with ``[(label, value, total), ...]``
                (iqm-client's format, see :data:`ProgressCallback`).
            on_poll: called with the job's data (:class:`JobData`) after every poll, for
                programs that report progress their own way.

        Returns:
            The last status seen (not terminal if the timeout passed).

        Raises:
            ShotpackError: the server refused a poll for good (e.g. the job does not exist);
                slow or failed polls are retried until the timeout.
            ValueError: a negative ``polling_interval``.
        """
        data = wait_for_job(
            lambda deadline: self._client._get_job_data(self.job_id, deadline=deadline),
            self.data,
            timeout_secs=timeout_secs,
            progress=progress,
            polling_interval=polling_interval,
            on_poll=on_poll,
            progress_callback=progress_callback,
        )
        assert data is not None  # it started from self.data
        self.data = data
        return data.status

    def _completed(self) -> bool:
        self.update()
        if self.data.status != ServerJobStatus.COMPLETED:
            return False
        if not self._warned:
            self._warned = True
            for m in self.data.messages:
                warnings.warn(f"{m.source}: {m.message}", stacklevel=3)
        return True

    def result(self) -> CircuitMeasurementResultsBatch | None:
        """Per-shot results as nested lists, or ``None`` unless the job completed."""
        if not self._completed():
            return None
        return self._client.get_job_measurements(self.job_id)

    def result_counts(self) -> list[CircuitMeasurementCounts] | None:
        """Histograms per circuit, or ``None`` unless the job completed. Cached.

        Bitstrings are in locus order, as iqm-client gives them (see
        :meth:`IQMClient.get_job_measurement_counts`, which also offers Qiskit's order).
        """
        if not self._completed():
            return None
        if self._counts is None:
            self._counts = self._client.get_job_measurement_counts(self.job_id)
        return self._counts

    def data_bins(self, *, registers: bool = False) -> list[DataBin] | None:
        """Per-shot results as packed data bins, or ``None`` unless the job completed."""
        if not self._completed():
            return None
        return self._client.get_job_data_bins(self.job_id, registers=registers)

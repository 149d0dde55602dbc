"""CircuitJob: a submitted job on the server, with status polling and result retrieval.

Polling backs off with the job's age: the wait between polls is 8% of the time already waited
(at least 20 ms, at most 5 s), so a job that finishes between two polls is noticed within about
10% of its run time (or a few tens of milliseconds for short jobs) without hammering the server.

Example:
    >>> job = client.submit_circuits([circuit], shots=100)  # doctest: +SKIP
    >>> job.wait_for_completion(timeout_secs=60)  # doctest: +SKIP
    <ServerJobStatus.COMPLETED: 'completed'>
    >>> job.result_counts()[0].counts  # doctest: +SKIP
"""

from __future__ import annotations

import sys
import time
import uuid
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shotpack.iqm.models import (
    CircuitMeasurementCounts,
    CircuitMeasurementResultsBatch,
    JobData,
    PostJobsRequest,
    ServerJobStatus,
)

if TYPE_CHECKING:
    from shotpack.containers.data_bin import DataBin
    from shotpack.iqm.client import IQMClient

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

    def __init__(self, enabled: bool, job_id: uuid.UUID) -> None:
        self._bar: Any = None
        self._mode = ""
        self._job_id = job_id
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


def wait_for_job(
    fetch: Callable[[], JobData],
    current: JobData,
    *,
    timeout_secs: float | None,
    progress: bool = False,
    progress_callback: Callable[[JobData], None] | None = None,
) -> JobData:
    """Polls ``fetch()`` until the job is terminal or ``timeout_secs`` pass.

    Args:
        fetch: returns the job's current data (one request).
        current: the latest known data (returned at once if already terminal).
        timeout_secs: longest wait; ``None`` or 0 waits forever.
        progress: show a tqdm bar (when installed).
        progress_callback: called with the job's data after every poll (status,
            ``queue_position``, ``execution.progress``), the last time with the final data.

    Returns:
        The last data seen; non-terminal when the timeout passed.
    """
    if current.status.is_terminal:
        return current
    bar = _Progress(progress, current.id)
    start = time.monotonic()
    deadline = None if not timeout_secs else start + timeout_secs
    data = current
    try:
        while True:
            data = fetch()
            bar.update(data)
            if progress_callback is not None:
                progress_callback(data)
            if data.status.is_terminal:
                return data
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return data
            delay = poll_interval(now - start)
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
        progress_callback: Callable[[JobData], None] | None = None,
    ) -> ServerJobStatus:
        """Polls until the job finishes (see the module docstring) or the timeout passes.

        Args:
            timeout_secs: longest wait in seconds; ``None`` or 0 waits forever.
            progress: show a tqdm progress bar when tqdm is installed.
            progress_callback: called with the job's data after every poll.

        Returns:
            The last status seen (not terminal if the timeout passed).
        """
        self.data = wait_for_job(
            lambda: self._client._get_job_data(self.job_id),
            self.data,
            timeout_secs=timeout_secs,
            progress=progress,
            progress_callback=progress_callback,
        )
        return self.data.status

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
        """Histograms per circuit, or ``None`` unless the job completed. Cached."""
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

"""``PrimitiveJob``: one ``Sampler.run`` / ``Estimator.run`` on the server, and its
``ExecutionSpan`` s."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from shotpack.containers.data_bin import DataBin
from shotpack.containers.primitive_result import PrimitiveResult
from shotpack.containers.pub_result import PubResult
from shotpack.iqm.circuit_job import progress_default
from shotpack.iqm.errors import JobCancelledError, JobFailedError, OperationTimeoutError
from shotpack.iqm.job import JobStatus
from shotpack.iqm.models.circuit import Circuit
from shotpack.iqm.models.jobs import JobData, ServerJobStatus
from shotpack.measurements.parse import parse_measurements

if TYPE_CHECKING:
    from shotpack.iqm.circuit_job import CircuitJob
    from shotpack.iqm.client import IQMClient

__all__ = ["ExecutionSpan", "PrimitiveJob"]


T = TypeVar("T", bound=PubResult)


# ---------------------------------------------------------------------------------------------
# Backend access and job splitting
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionSpan:
    """When one server job ran, and which data of which PUB it produced.

    Attributes:
        start: execution start, from the server's job timeline (UTC).
        stop: execution end.
        data_slices: ``{pub index: (shape, start, stop)}``: the PUB's data flattened to
            ``shape`` (parameter sets x shots) and the flat range this job produced.
    """

    start: datetime
    stop: datetime
    data_slices: dict[int, tuple[tuple[int, ...], int, int]]

    @property
    def duration(self) -> float:
        """``stop - start`` in seconds."""
        return (self.stop - self.start).total_seconds()


@dataclass
class Batch:
    """The circuits of one ``run`` and how to turn their results into a PrimitiveResult."""

    circuits: list[Circuit]
    shots: int
    finish: Callable[[list[DataBin], list[ExecutionSpan]], Any]
    # Per PUB: (first circuit, number of circuits, flat data shape) for the execution spans.
    pub_ranges: list[tuple[int, int, tuple[int, ...]]] = field(default_factory=list)


class PrimitiveJob(Generic[T]):
    """The job of one ``Sampler.run`` / ``Estimator.run``: one server job (or a few, when the
    server's limits split the batch).

    ``result()`` waits for the server, downloads the per-shot results, parses them in Rust and
    assembles the :class:`~shotpack.PrimitiveResult`; the result is cached.
    :attr:`timings` then holds the seconds spent in each stage: ``prepare`` (PUB coercion,
    binding, circuit building), ``submit`` (validation and POST), ``execute`` (waiting for the
    server), ``download``, ``parse`` (Rust, JSON to packed bits) and ``assemble`` (PUB results).
    """

    def __init__(
        self, client: IQMClient, jobs: list[CircuitJob], batch: Batch, timings: dict[str, float]
    ) -> None:
        self._client = client
        self._jobs = jobs
        self._batch = batch
        self._result: Any = None
        self.timings: dict[str, float] = dict(timings)

    def __repr__(self) -> str:
        return f"PrimitiveJob(job_id={self.job_id()!r}, status={self.status().name})"

    def job_id(self) -> str:
        """The server job's id (comma-separated ids when the batch was split)."""
        return ",".join(str(j.job_id) for j in self._jobs)

    @property
    def server_jobs(self) -> list[CircuitJob]:
        """The server jobs of this primitive job."""
        return list(self._jobs)

    def status(self) -> Any:
        """A :class:`shotpack.iqm.job.JobStatus`, from the least advanced server job."""
        statuses = [j.update() for j in self._jobs]
        for bad, out in (
            (ServerJobStatus.FAILED, JobStatus.ERROR),
            (ServerJobStatus.CANCELLED, JobStatus.CANCELLED),
            (ServerJobStatus.WAITING, JobStatus.QUEUED),
            (ServerJobStatus.PROCESSING, JobStatus.RUNNING),
        ):
            if bad in statuses:
                return out
        return JobStatus.DONE

    def done(self) -> bool:
        """Whether every server job completed."""
        return self.status().name == "DONE"

    def running(self) -> bool:
        """Whether a server job is running."""
        return self.status().name == "RUNNING"

    def cancelled(self) -> bool:
        """Whether a server job was cancelled."""
        return self.status().name == "CANCELLED"

    def in_final_state(self) -> bool:
        """Whether nothing will change any more (done, failed or cancelled)."""
        return self.status().name in ("DONE", "ERROR", "CANCELLED")

    def cancel(self) -> bool:
        """Asks the server to cancel every unfinished server job; True if any was asked."""
        asked = False
        for j in self._jobs:
            if not j.update().is_terminal:
                j.cancel()
                asked = True
        return asked

    def result(
        self,
        timeout: float | None = None,
        *,
        progress: bool | None = None,
        progress_callback: Callable[[JobData], None] | None = None,
    ) -> PrimitiveResult[T]:
        """Waits for the server, then returns the primitive result (cached).

        Args:
            timeout: longest wait in seconds for the server; None waits as long as it takes.
            progress: show a tqdm bar on standard error while waiting (queue position, then
                shots done) when True; never when False; when None, if tqdm is installed and
                standard error is a terminal or a Jupyter kernel.
            progress_callback: called with each server job's data after every poll
                (``status``, ``queue_position``, ``execution.progress``), for programs that
                report progress their own way.

        Raises:
            OperationTimeoutError: the server did not finish in time.
            JobFailedError: a server job failed (the server's errors are in the message).
            JobCancelledError: a server job was cancelled.
        """
        if self._result is not None:
            return self._result
        t0 = time.perf_counter()
        show = progress_default() if progress is None else progress
        for j in self._jobs:
            status = j.wait_for_completion(timeout, progress=show, on_poll=progress_callback)
            if status == ServerJobStatus.FAILED:
                raise JobFailedError(f"job {j.job_id} failed: {j.errors}")
            if status == ServerJobStatus.CANCELLED:
                raise JobCancelledError(f"job {j.job_id} was cancelled")
            if not status.is_terminal:
                raise OperationTimeoutError(f"job {j.job_id} did not finish in {timeout} s")
        t1 = time.perf_counter()
        # The body is fetched raw (not through get_job_data_bins) to time download and parsing
        # apart.
        bodies = [self._client.get_job_measurements_body(j.job_id) for j in self._jobs]
        t2 = time.perf_counter()
        bins: list[DataBin] = []
        for body in bodies:
            bins.extend(parse_measurements(body))
        del bodies
        t3 = time.perf_counter()
        if len(bins) != len(self._batch.circuits):
            raise JobFailedError(
                f"the server returned results for {len(bins)} circuits, expected "
                f"{len(self._batch.circuits)}"
            )
        spans = self._spans()
        result = self._batch.finish(bins, spans)
        t4 = time.perf_counter()
        self.timings.update(execute=t1 - t0, download=t2 - t1, parse=t3 - t2, assemble=t4 - t3)
        self._result = result
        return result

    def _spans(self) -> list[ExecutionSpan]:
        spans = []
        offset = 0
        for j in self._jobs:
            n = len(j.payload().circuits)
            lo, hi = offset, offset + n
            offset = hi
            start = j.data.find_timeline_entry("execution_started")
            stop = j.data.find_timeline_entry("execution_ended")
            now = datetime.now(timezone.utc)
            slices = {}
            for p, (first, count, shape) in enumerate(self._batch.pub_ranges):
                a, b = max(first, lo), min(first + count, hi)
                if a < b:
                    per = int(np.prod(shape[1:], dtype=np.int64))
                    slices[p] = (shape, (a - first) * per, (b - first) * per)
            spans.append(
                ExecutionSpan(
                    start=start.timestamp if start else now,
                    stop=stop.timestamp if stop else now,
                    data_slices=slices,
                )
            )
        return spans

"""IQMJob: a Qiskit-style job handle for circuits run on an IQM server.

Status names are Qiskit's (:class:`JobStatus`). ``result()`` waits with backoff (see
:mod:`shotpack.iqm.circuit_job`), downloads the per-shot artifact once, parses it in Rust into
packed registers, and returns an :class:`~shotpack.iqm.result.IQMResult`. A failed or
cancelled job raises with the server's message instead of returning an empty result.

Example:
    >>> job = backend.run([circuit], shots=1000)  # doctest: +SKIP
    >>> job.status()  # doctest: +SKIP
    <JobStatus.QUEUED: 'job is queued'>
    >>> job.result().get_counts()  # doctest: +SKIP
"""

from __future__ import annotations

import enum
import uuid
import warnings
from typing import TYPE_CHECKING, Any

from shotpack.iqm.circuit_job import DEFAULT_TIMEOUT_SECONDS, progress_default, wait_for_job
from shotpack.iqm.errors import (
    CircuitExecutionError,
    InvalidOperationError,
    JobCancelledError,
    JobFailedError,
    OperationTimeoutError,
    ShotpackError,
)
from shotpack.iqm.models import (
    Circuit,
    HeraldingMode,
    JobData,
    PostJobsRequest,
    ServerJobStatus,
)
from shotpack.iqm.result import ExperimentResult, IQMResult
from shotpack.measurements.registers import QISKIT_REGISTERS_KEY, complete_registers
from shotpack.measurements.registers import register_bins as _register_bins

if TYPE_CHECKING:
    from shotpack.iqm.backend import IQMBackend


class JobStatus(enum.Enum):
    """Job states with Qiskit's names and values (``qiskit.providers.JobStatus``)."""

    INITIALIZING = "job is being initialized"
    QUEUED = "job is queued"
    VALIDATING = "job is being validated"
    RUNNING = "job is actively running"
    CANCELLED = "job has been cancelled"
    DONE = "job has successfully run"
    ERROR = "job incurred error"


JOB_FINAL_STATES = (JobStatus.DONE, JobStatus.CANCELLED, JobStatus.ERROR)

_FROM_SERVER = {
    ServerJobStatus.WAITING: JobStatus.QUEUED,
    ServerJobStatus.PROCESSING: JobStatus.RUNNING,
    ServerJobStatus.COMPLETED: JobStatus.DONE,
    ServerJobStatus.FAILED: JobStatus.ERROR,
    ServerJobStatus.CANCELLED: JobStatus.CANCELLED,
}


class IQMJob:
    """A job of circuits on an IQM server.

    Args:
        backend: the backend that runs (or ran) the job.
        job_id: the server's job id; ``None`` for a job built from ``run_request`` that
            :meth:`submit` has not sent yet.
        timeout_seconds: longest wait in :meth:`result`; ``None`` uses 3 hours.
        run_request: the request, when known locally (avoids fetching the payload, and makes
            :meth:`submit` possible for an unsubmitted job).
        **kwargs: ignored (accepted for Qiskit's ``JobV1`` signature).
    """

    def __init__(
        self,
        backend: IQMBackend,
        job_id: str | uuid.UUID | None,
        timeout_seconds: float | None = None,
        *,
        run_request: PostJobsRequest | None = None,
        use_timeslot: bool = False,
        **kwargs: Any,
    ) -> None:
        self._backend = backend
        self._job_id = None if job_id is None else str(uuid.UUID(str(job_id)))
        self.timeout_seconds = timeout_seconds
        self._request = run_request
        self._use_timeslot = use_timeslot
        self._data: JobData | None = None
        self._result: IQMResult | None = None
        self.circuit_metadata: list[dict[str, Any] | None] | None = None
        if job_id is None and run_request is None:
            raise ValueError("IQMJob needs a job_id or a run_request to submit")

    def __repr__(self) -> str:
        return f"IQMJob(job_id={self._job_id!r}, backend={self._backend.name!r})"

    # --- identity --------------------------------------------------------------------------

    def job_id(self) -> str:
        """The server's job id.

        Raises:
            InvalidOperationError: the job has not been submitted.
        """
        if self._job_id is None:
            raise InvalidOperationError("the job has not been submitted yet")
        return self._job_id

    def backend(self) -> IQMBackend:
        """The backend the job belongs to."""
        return self._backend

    @property
    def _client(self) -> Any:
        return self._backend.client

    # --- lifecycle -------------------------------------------------------------------------

    def submit(self) -> None:
        """Sends the job's run request to the server.

        Raises:
            InvalidOperationError: the job was already submitted (``backend.run`` submits).
        """
        if self._job_id is not None:
            raise InvalidOperationError(f"job {self._job_id} was already submitted")
        assert self._request is not None
        cj = self._client.submit_run_request(self._request, use_timeslot=self._use_timeslot)
        self._job_id = str(cj.job_id)
        self._data = cj.data

    def _fetch(self, deadline: float | None = None) -> JobData:
        self._data = self._client._get_job_data(self.job_id(), deadline=deadline)
        return self._data

    def _current(self, refresh: bool = True) -> JobData:
        if self._data is None or (refresh and not self._data.status.is_terminal):
            return self._fetch()
        return self._data

    def status(self) -> JobStatus:
        """The job's state, in Qiskit's names (one request unless already final).

        Mapping: waiting -> QUEUED, processing -> RUNNING, completed -> DONE, failed -> ERROR,
        cancelled -> CANCELLED; an unsubmitted job is INITIALIZING.
        """
        if self._job_id is None:
            return JobStatus.INITIALIZING
        return _FROM_SERVER[self._current().status]

    def done(self) -> bool:
        """Whether the job completed successfully."""
        return self.status() == JobStatus.DONE

    def running(self) -> bool:
        """Whether the server is executing the job now (Qiskit's ``JobV1.running``)."""
        return self.status() == JobStatus.RUNNING

    def cancelled(self) -> bool:
        """Whether the job was cancelled (Qiskit's ``JobV1.cancelled``)."""
        return self.status() == JobStatus.CANCELLED

    def in_final_state(self) -> bool:
        """Whether the job is done, failed or cancelled."""
        return self.status() in JOB_FINAL_STATES

    def cancel(self) -> bool:
        """Asks the server to cancel the job.

        Returns:
            ``True`` if the server accepted, ``False`` if it refused (e.g. the job already
            finished); the reason is given as a warning.
        """
        try:
            self._client.cancel_job(self.job_id())
        except ShotpackError as e:
            warnings.warn(f"Failed to cancel job {self._job_id}: {e}", stacklevel=2)
            return False
        self._data = None
        return True

    def error_message(self) -> str | None:
        """The server's error text if the job failed (or was cancelled), else ``None``."""
        if self._job_id is None:
            return None
        data = self._current()
        if data.status in (ServerJobStatus.FAILED, ServerJobStatus.CANCELLED):
            return data.errors_text() or (
                "cancelled" if data.status == ServerJobStatus.CANCELLED else "failed"
            )
        return None

    def queue_position(self, refresh: bool = False) -> int | None:
        """Position in the server's queue while the job waits, else ``None``.

        Args:
            refresh: ask the server; otherwise the last fetched value (fetched once if none).
        """
        if self._job_id is None:
            return None
        data = self._current(refresh=refresh)
        if data.status != ServerJobStatus.WAITING:
            return None
        return data.queue_position

    # --- results ---------------------------------------------------------------------------

    def wait_for_final_state(
        self, timeout: float | None = None, *, progress: bool | None = None
    ) -> JobStatus:
        """Polls with backoff until the job finishes.

        Args:
            timeout: seconds; default ``timeout_seconds`` (or 3 hours).
            progress: show a tqdm progress bar on standard error (True), never (False), or
                when tqdm is installed and stderr is a terminal or a Jupyter kernel (None).

        Raises:
            OperationTimeoutError: the job did not finish in time.
        """
        limit = timeout if timeout is not None else self.timeout_seconds
        if limit is None:
            limit = DEFAULT_TIMEOUT_SECONDS
        show = progress_default() if progress is None else progress
        # With nothing known yet, the first fetch is part of the wait (slow polls are retried).
        self.job_id()
        data = wait_for_job(self._fetch, self._data, timeout_secs=limit, progress=show)
        if data is not None:
            self._data = data
        if data is None or not data.status.is_terminal:
            raise OperationTimeoutError(f"The job {self._job_id} didn't finish in {limit} seconds.")
        return _FROM_SERVER[data.status]

    def _run_request(self) -> PostJobsRequest:
        if self._request is None:
            self._request = self._client.get_job_payload(self.job_id())
        return self._request

    def result(self, timeout: float | None = None, *, progress: bool | None = None) -> IQMResult:
        """Waits for the job and returns its results.

        Args:
            timeout: seconds to wait; default ``timeout_seconds`` (or 3 hours).
            progress: show a tqdm progress bar on standard error (True), never (False), or
                when tqdm is installed and stderr is a terminal or a Jupyter kernel (None).

        Returns:
            The results (cached after the first call).

        Raises:
            OperationTimeoutError: the job did not finish in time.
            JobFailedError: the job failed; the message is the server's.
            JobCancelledError: the job was cancelled.
            CircuitExecutionError: the results do not match the request.
        """
        if self._result is not None:
            return self._result
        self.wait_for_final_state(timeout, progress=progress)
        data = self._data
        assert data is not None
        if data.status == ServerJobStatus.FAILED:
            raise JobFailedError(
                f"Job {self._job_id} failed: {data.errors_text() or 'no message from the server'}"
            )
        if data.status == ServerJobStatus.CANCELLED:
            raise JobCancelledError(
                f"Job {self._job_id} was cancelled"
                + (f": {data.errors_text()}" if data.errors else "")
            )
        for m in data.messages:
            warnings.warn(f"{m.source}: {m.message}", stacklevel=2)
        request = self._run_request()
        body = self._client.get_job_measurements_body(self.job_id())
        self._result = self._format(body, request, data)
        return self._result

    def _format(self, body: bytes, request: PostJobsRequest, data: JobData) -> IQMResult:
        bins = _register_bins(body)
        circuits = request.circuits
        if len(bins) != len(circuits):
            raise CircuitExecutionError(
                f"Job {self._job_id}: {len(bins)} result(s) for {len(circuits)} circuit(s)"
            )
        exact = request.heralding_mode == HeraldingMode.NONE
        cal_id = data.compilation.calibration_set_id if data.compilation else None
        cal = str(cal_id or request.calibration_set_id or "") or None
        results = []
        for i, (circuit, bits) in enumerate(zip(circuits, bins, strict=True)):
            if isinstance(circuit, Circuit):
                name, meta = circuit.name, circuit.user_metadata
                declared = (circuit.metadata or {}).get(QISKIT_REGISTERS_KEY)
            else:  # QIR text
                name, meta, declared = f"circuit_{i}", {}, None
            if self.circuit_metadata is not None and i < len(self.circuit_metadata):
                meta = dict(self.circuit_metadata[i] or {})
            where = f"Job {self._job_id}, circuit {i} ({name!r}): "
            registers = complete_registers(bits, declared, request.shots, where)
            shots = registers[0][1].num_shots if registers else request.shots
            if shots == 0 and request.shots > 0:
                # Heralding discards shots whose herald failed; all of them failing usually
                # means the qubits are badly calibrated, so say so rather than return silently.
                warnings.warn(
                    f"{where}the server returned zero of the {request.shots} shots requested; "
                    f"with heralding ({request.heralding_mode.value}) every shot was discarded, "
                    "which often points at a bad calibration.",
                    stacklevel=3,
                )
            if exact and registers and shots != request.shots:
                raise CircuitExecutionError(
                    f"{where}expected {request.shots} shots but got {shots}"
                )
            results.append(
                ExperimentResult(
                    name=name,
                    shots=shots,
                    registers=registers,
                    metadata=meta,
                    calibration_set_id=cal,
                )
            )
        return IQMResult(
            self._backend.name,
            self.job_id(),
            results,
            metadata={
                "calibration_set_id": cal,
                "timeline": {e.status: e.timestamp.isoformat() for e in data.timeline},
                "parameters": request.model_dump(mode="json", exclude={"circuits"}),
            },
        )

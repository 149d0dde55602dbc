"""Jobs of the local server: the queue, the status transitions and the workers.

A submitted job goes through two background stages, like on an IQM server:

1. *compilation* (a worker thread, FIFO): the circuits are checked against the operation table
   and the dynamic architecture of the calibration set and turned into simulator operations. A
   circuit that fails here fails the job (status ``failed``, with the reason in ``errors``).
   The job stays ``waiting``; the ``compilation_ended`` timeline entry tells "waiting for
   execution" apart from "waiting for compilation".
2. *execution* (a second worker thread, FIFO): ``waiting -> processing -> completed``, or
   ``failed`` if the simulation fails, or ``cancelled``.

Cancelling a waiting job takes effect at once; cancelling a processing job makes the simulation
stop at its next operation and the job end ``cancelled`` (never ``completed`` once the cancel
request has been answered). Cancelling a job in a terminal status is a conflict (HTTP 409).

Every job draws its random numbers from its own generator, spawned from the server seed in
submission order, so a seeded server gives reproducible results.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from shotpack.iqm.errors import CircuitValidationError
from shotpack.iqm.models import DynamicQuantumArchitecture, HeraldingMode, PostJobsRequest
from shotpack.iqm.validation import (
    validate_circuit,
    validate_circuit_instructions,
    validate_qubit_mapping,
)
from shotpack.server.architecture import Architecture
from shotpack.server.artifacts import MeasurementsBody, encode_counts
from shotpack.server.simulator import (
    CircuitResult,
    NativeOp,
    SimulationCancelled,
    SimulationError,
    simulate_circuit,
)

__all__ = [
    "EvictedJob",
    "IdempotencyKeyReused",
    "IdempotencyKeys",
    "Job",
    "JobConflict",
    "JobQueue",
    "JobStatus",
    "JobStoreFull",
    "ResultTooLarge",
    "UnknownJob",
    "estimate_result_bytes",
]

logger = logging.getLogger("shotpack.server")

SOURCE = "iqm-server"


class JobStatus(str, enum.Enum):
    """Server-side job status (IQM Server API v1)."""

    WAITING = "waiting"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Whether the status can no longer change."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class UnknownJob(LookupError):
    """No job with that ID (HTTP 404)."""


class JobConflict(RuntimeError):
    """The operation does not fit the job's status (HTTP 409)."""


class IdempotencyKeyReused(ValueError):
    """An idempotency key came back with a different request body (HTTP 422)."""


class IdempotencyKeys:
    """A bounded map from submission idempotency key to the job it created.

    A key remembers the SHA-256 of the body it came with, so a retry (same key, same body) is
    recognised and a reused key with another body is refused. The oldest keys are forgotten
    first beyond ``max_keys`` and after ``max_age`` seconds: a client retries within minutes,
    and the bound keeps memory flat however many keys arrive (about 200 bytes a key).

    Args:
        max_keys: keys kept at most.
        max_age: seconds a key is kept.

    Attributes:
        enabled: when False the server ignores the header and does not advertise support,
            like a server without the feature (for testing clients against one).

    Example:
        >>> keys = IdempotencyKeys(max_keys=2)
        >>> keys.lookup("k", b"{}") is None
        True
        >>> keys.remember("k", b"{}", uuid.UUID(int=1))
        >>> keys.lookup("k", b"{}")
        UUID('00000000-0000-0000-0000-000000000001')
    """

    def __init__(self, max_keys: int = 10_000, max_age: float = 24 * 3600.0) -> None:
        self.max_keys = max_keys
        self.max_age = max_age
        self.enabled = True
        self._keys: OrderedDict[str, tuple[bytes, uuid.UUID, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.max_age
        while self._keys and (
            len(self._keys) > self.max_keys or next(iter(self._keys.values()))[2] < cutoff
        ):
            self._keys.popitem(last=False)

    def lookup(self, key: str, body: bytes) -> uuid.UUID | None:
        """The job created with ``key``, or None for a key not seen (or forgotten).

        Raises:
            IdempotencyKeyReused: the key was seen with a different body.
        """
        self._expire()
        entry = self._keys.get(key)
        if entry is None:
            return None
        if entry[0] != hashlib.sha256(body).digest():
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was already used for job {entry[1]} with a different "
                "request body; use a new key for a new submission"
            )
        return entry[1]

    def job_for(self, key: str) -> uuid.UUID | None:
        """The job ``key`` created, if the key is still remembered (no body check)."""
        entry = self._keys.get(key)
        return None if entry is None else entry[1]

    def remember(self, key: str, body: bytes, job_id: uuid.UUID) -> None:
        """Record that ``key`` (with ``body``) created ``job_id``."""
        self._keys[key] = (hashlib.sha256(body).digest(), job_id, time.monotonic())
        self._expire()


class EvictedJob(UnknownJob):
    """The job existed but was evicted to bound the server's memory.

    Answered with HTTP 404 and ``error_code`` ``job_evicted``.
    """


class ResultTooLarge(ValueError):
    """A job's estimated result exceeds the per-job limit (HTTP 422)."""


class JobStoreFull(RuntimeError):
    """Unfinished jobs fill the job store's memory budget (HTTP 503)."""


#: Memory an unfinished job holds per byte of its JSON body: its parsed request, then its compiled
#: operations (pydantic models, NativeOps; measured at 20-26 bytes per byte). Both are dropped when
#: the job has run.
PARSED_BYTES_PER_BODY_BYTE = 20
#: Tombstones of evicted jobs kept, so a request for one says it was evicted.
_MAX_TOMBSTONES = 10_000


def estimate_result_bytes(request: PostJobsRequest) -> int:
    """Upper bound of the memory a job's results take on the server.

    Per circuit and shot, every ``measure`` of ``k`` qubits stores ``k`` bytes of bits (the
    measurements artifact is streamed, not stored); the counts artifact, kept once encoded, holds
    at most ``min(shots, 2**width)`` entries of about ``width + 12`` bytes.

    Args:
        request: The parsed submission.

    Returns:
        The estimate in bytes.

    Example:
        >>> from shotpack.iqm.models import Circuit, Instruction
        >>> m = Instruction(name="measure", locus=("QB1", "QB2"), args={"key": "m"})
        >>> estimate_result_bytes(PostJobsRequest(circuits=[Circuit(name="c", instructions=[m])],
        ...                                       shots=1000))
        2056
    """
    total = 0
    shots = request.shots
    for circuit in request.circuits:
        if isinstance(circuit, str) or circuit is None:  # QIR, or dropped after compilation
            continue
        widths = [len(inst.locus) for inst in circuit.instructions if inst.name == "measure"]
        width = sum(widths)
        total += shots * width
        total += min(shots, 1 << min(width, 62)) * (width + 12) if widths else 0
    return total


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(eq=False)
class Job:
    """One circuit job and everything the server knows about it."""

    id: uuid.UUID
    seq: int
    payload: bytes
    request: PostJobsRequest
    rng: np.random.Generator
    status: JobStatus = JobStatus.WAITING
    timeline: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    compiled: list[list[NativeOp]] | None = None
    calibration_set_id: uuid.UUID | None = None
    results: list[CircuitResult] | None = None
    shots_done: int = 0
    cancel_requested: bool = False
    artifact_cache: dict[str, bytes] = field(default_factory=dict)

    def mark(self, status: str) -> None:
        """Append a timeline entry."""
        self.timeline.append({"source": SOURCE, "status": status, "timestamp": _now()})

    def fail(self, message: str, error_code: str) -> None:
        """Move to ``failed`` with one error."""
        self.status = JobStatus.FAILED
        self.errors.append({"message": message, "error_code": error_code, "source": SOURCE})
        self.mark("failed")

    def to_json(self, queue_position: int | None) -> dict[str, Any]:
        """The ``JobData`` document of ``GET jobs/{id}``."""
        total = len(self.request.circuits) * self.request.shots
        execution = None
        if self.status != JobStatus.WAITING and self.compiled is not None:
            execution = {"progress": {"shots": {"value": self.shots_done, "max_value": total}}}
        compilation = None
        if self.compiled is not None:
            compilation = {"calibration_set_id": str(self.calibration_set_id)}
        artifacts = []
        if self.status == JobStatus.COMPLETED:
            artifacts = [{"type": "measurements"}, {"type": "measurement_counts"}]
        return {
            "id": str(self.id),
            "type": "circuit",
            "status": self.status.value,
            "execution": execution,
            "compilation": compilation,
            "messages": list(self.messages),
            "errors": list(self.errors),
            "queue_position": queue_position if self.status == JobStatus.WAITING else None,
            "timeline": list(self.timeline),
            "artifacts": artifacts,
        }


def _drop_circuits(request: PostJobsRequest) -> PostJobsRequest:
    """The request without its parsed circuits (the compiled operations replace them), keeping
    their number; the submitted body stays available as the job's payload."""
    return request.model_copy(update={"circuits": [None] * len(request.circuits)})


class JobQueue:
    """The job store, the compilation and execution workers, and cancellation.

    Args:
        architecture: The simulated device.
        seed: Seed of the server's random source (None: fresh entropy).
        job_delay: Extra seconds each job spends ``processing`` (to let tests observe and
            cancel running or queued jobs); cancellation interrupts the wait.
        max_qubits: Largest statevector the simulator may use.
        max_state_bytes: Memory budget of one simulation.
        max_retained_jobs: Finished jobs kept (with their results); the oldest finished jobs
            beyond this number are evicted (``GET`` then answers 404 ``job_evicted``).
        max_job_result_bytes: Largest :func:`estimate_result_bytes` of one job (else
            :class:`ResultTooLarge` at admission).
        max_stored_bytes: Budget of the job store (payloads, results, encoded artifacts); the
            oldest finished jobs are evicted to stay within it.
        job_retention: Seconds a finished job is kept before eviction.

    Example:
        >>> from shotpack.server.architecture import Architecture
        >>> queue = JobQueue(Architecture.square(2), seed=1)
        >>> queue.start()
        >>> queue.stop()
    """

    def __init__(
        self,
        architecture: Architecture,
        *,
        seed: int | None = None,
        job_delay: float = 0.0,
        max_qubits: int = 20,
        max_state_bytes: int = 32 << 20,
        max_retained_jobs: int = 1000,
        max_job_result_bytes: int = 32 << 20,
        max_stored_bytes: int = 64 << 20,
        job_retention: float = 3600.0,
    ) -> None:
        if max_job_result_bytes > max_stored_bytes:
            raise ValueError(
                f"max_job_result_bytes ({max_job_result_bytes}) must not exceed max_stored_bytes "
                f"({max_stored_bytes})"
            )
        self.architecture = architecture
        self.max_retained_jobs = max_retained_jobs
        self.max_job_result_bytes = max_job_result_bytes
        self.max_stored_bytes = max_stored_bytes
        self.job_retention = job_retention
        self._finished_at: dict[uuid.UUID, float] = {}
        self._estimates: dict[uuid.UUID, int] = {}
        self._tombstones: dict[uuid.UUID, str] = {}
        self._last_expiry = 0.0
        # One artifact encoding at a time: the transient copies of two big encodings at once
        # would double the peak memory.
        self._encode_lock = threading.Lock()
        self.dqa = DynamicQuantumArchitecture.model_validate(architecture.dqa())
        self.job_delay = job_delay
        self.max_qubits = max_qubits
        self.max_state_bytes = max_state_bytes
        self._seeds = np.random.SeedSequence(seed)
        self._jobs: dict[uuid.UUID, Job] = {}
        self._to_compile: deque[Job] = deque()
        self._to_execute: deque[Job] = deque()
        self._cond = threading.Condition()
        self._seq = 0
        self._running = False
        self._paused = {"compilation": False, "execution": False}
        self._threads: list[threading.Thread] = []
        self.idempotency_keys = IdempotencyKeys()
        """Submission keys seen recently (see :meth:`submit_once`)."""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the two worker threads."""
        with self._cond:
            if self._running:
                return
            self._running = True
        for stage, target in (("compilation", self._compile_loop), ("execution", self._run_loop)):
            thread = threading.Thread(target=target, name=f"shotpack-{stage}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the workers (a running simulation is cancelled)."""
        with self._cond:
            self._running = False
            for job in self._jobs.values():
                if job.status == JobStatus.PROCESSING:
                    job.cancel_requested = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def pause(self, stage: str = "execution") -> None:
        """Hold a stage (``"compilation"``, ``"execution"`` or ``"all"``); jobs stay waiting."""
        self._set_paused(stage, True)

    def resume(self, stage: str = "execution") -> None:
        """Release a stage held by :meth:`pause`."""
        self._set_paused(stage, False)

    def _set_paused(self, stage: str, value: bool) -> None:
        stages = list(self._paused) if stage == "all" else [stage]
        with self._cond:
            for name in stages:
                if name not in self._paused:
                    raise ValueError(f"unknown stage {name!r}")
                self._paused[name] = value
            self._cond.notify_all()

    # -- requests --------------------------------------------------------------------------

    def submit(self, payload: bytes, request: PostJobsRequest) -> dict[str, Any]:
        """Create a job for a parsed request and queue it; returns its ``JobData``."""
        with self._cond:
            self._seq += 1
            rng = np.random.default_rng(self._seeds.spawn(1)[0])
            job = Job(uuid.uuid4(), self._seq, payload, request, rng)
            job.mark("created")
            self._evict()
            self._jobs[job.id] = job
            self._to_compile.append(job)
            self._cond.notify_all()
            logger.info("job %s created: %d circuit(s)", job.id, len(request.circuits))
            return job.to_json(self._queue_position(job))

    def submit_once(
        self, key: str, payload: bytes, request: PostJobsRequest
    ) -> tuple[dict[str, Any], bool]:
        """:meth:`submit` with an idempotency key: a key seen before (with the same body)
        returns the job it created instead of a new one.

        The lookup and the creation happen under one lock, so concurrent retries of one
        submission (a client that timed out while its first request was still being served)
        create one job between them.

        Returns:
            The job's ``JobData`` and whether it was created now (False: a replay).

        Raises:
            IdempotencyKeyReused: the key came before with a different body.
            JobConflict: the key's job has since been deleted or evicted.
        """
        with self._cond:
            existing = self.idempotency_keys.lookup(key, payload)
            if existing is not None:
                job = self._jobs.get(existing)
                if job is None:
                    raise JobConflict(
                        f"Idempotency-Key {key!r} created job {existing}, which no longer "
                        "exists on the server (deleted or evicted)"
                    )
                return job.to_json(self._queue_position(job)), False
            data = self.submit(payload, request)
            self.idempotency_keys.remember(key, payload, uuid.UUID(data["id"]))
            return data, True

    def get(self, job_id: uuid.UUID) -> dict[str, Any]:
        """The job's ``JobData``."""
        with self._cond:
            job = self._job(job_id)
            return job.to_json(self._queue_position(job))

    def payload(self, job_id: uuid.UUID) -> bytes:
        """The body the job was submitted with."""
        with self._cond:
            return self._job(job_id).payload

    def artifact(self, job_id: uuid.UUID, kind: str) -> bytes | MeasurementsBody:
        """A result artifact body (``measurements`` or ``measurement_counts``).

        The measurements body is returned as a :class:`MeasurementsBody`, encoded while it is
        sent (it would be about three times the size of the stored bits); the counts body is
        encoded once and kept.

        Raises:
            UnknownJob: No such job, or the job has no such artifact (not completed).
        """
        with self._cond:
            job = self._job(job_id)
            if kind not in ("measurements", "measurement_counts"):
                raise UnknownJob(f"job {job_id} has no artifact of type {kind!r}")
            if job.status != JobStatus.COMPLETED or job.results is None:
                raise UnknownJob(
                    f"job {job_id} has no {kind!r} artifact: its status is {job.status.value!r}"
                )
            cached = job.artifact_cache.get(kind)
            results = job.results
        if kind == "measurements":
            return MeasurementsBody(results)
        if cached is None:
            # Encode outside the job lock, one encoding at a time: two large encodings at once
            # would double the transient memory.
            with self._encode_lock:
                cached = job.artifact_cache.get(kind)
                if cached is None:
                    cached = encode_counts(results)
                    with self._cond:
                        job.artifact_cache[kind] = cached
                        self._enforce_budget()
        return cached

    def cancel(self, job_id: uuid.UUID) -> None:
        """Cancel a waiting or processing job.

        Raises:
            UnknownJob: No such job.
            JobConflict: The job is already completed, failed or cancelled.
        """
        with self._cond:
            job = self._job(job_id)
            if job.status.terminal:
                raise JobConflict(
                    f"job {job_id} cannot be cancelled: its status is {job.status.value!r}"
                )
            if job.cancel_requested:
                return
            job.cancel_requested = True
            if job.status == JobStatus.WAITING:
                self._finish_cancel(job)
            logger.info("job %s: cancel requested", job_id)
            self._cond.notify_all()

    def delete(self, job_id: uuid.UUID) -> None:
        """Cancel the job if it is not finished, then forget it."""
        with self._cond:
            job = self._job(job_id)
            if not job.status.terminal:
                job.cancel_requested = True
                if job.status == JobStatus.WAITING:
                    self._finish_cancel(job)
            del self._jobs[job_id]
            self._finished_at.pop(job_id, None)
            self._estimates.pop(job_id, None)
            self._cond.notify_all()

    def counts(self) -> dict[str, int]:
        """Number of jobs per status (for the health endpoint)."""
        with self._cond:
            out = {status.value: 0 for status in JobStatus}
            for job in self._jobs.values():
                out[job.status.value] += 1
            return out

    # -- internals -------------------------------------------------------------------------

    def _evict(self) -> None:
        """Evict finished jobs beyond ``max_retained_jobs``, older than ``job_retention``, or
        over the ``max_stored_bytes`` budget (oldest first). Call with the lock held."""
        now = time.monotonic()
        finished = self._finished_jobs(now)
        excess = len(finished) - self.max_retained_jobs
        for jid in finished[: max(0, excess)]:
            self._tombstone(jid, f"more than {self.max_retained_jobs} finished jobs are kept")
        for jid in finished[max(0, excess) :]:
            if now - self._finished_at[jid] <= self.job_retention:
                break
            self._tombstone(jid, f"finished jobs are kept for {self.job_retention:g} s")
        self._enforce_budget()

    # -- memory bounds (job store budget, eviction) ------------------------------------------

    def admit(self, request: PostJobsRequest, payload_bytes: int) -> None:
        """Check that a new job fits the memory limits, evicting old finished jobs if needed.

        Args:
            request: The parsed submission.
            payload_bytes: Size of the submitted body (kept for ``GET jobs/{id}/payload``); its
                parsed form counts :data:`PARSED_BYTES_PER_BODY_BYTE` times as much.

        Raises:
            ResultTooLarge: The job's estimated result exceeds ``max_job_result_bytes``.
            JobStoreFull: Unfinished jobs leave no room for this one in ``max_stored_bytes``.
        """
        estimate = estimate_result_bytes(request)
        if estimate > self.max_job_result_bytes:
            raise ResultTooLarge(
                f"the job's results would take about {estimate} bytes (shots x measured bits); "
                f"the server's limit is {self.max_job_result_bytes} bytes per job: use fewer "
                "shots, circuits or measured qubits"
            )
        needed = estimate + (1 + PARSED_BYTES_PER_BODY_BYTE) * payload_bytes
        with self._cond:
            self._evict()
            used = self._make_room(needed)
            if used + needed > self.max_stored_bytes:
                raise JobStoreFull(
                    f"the server is busy: unfinished jobs hold {used} of its "
                    f"{self.max_stored_bytes} bytes of job memory and this job needs about "
                    f"{needed}; retry when some have finished"
                )

    def _finished_jobs(self, now: float) -> list[uuid.UUID]:
        """Finished job IDs, oldest first; stamps newly finished ones with ``now``."""
        out = []
        for jid, job in self._jobs.items():
            if job.status.terminal:
                self._finished_at.setdefault(jid, now)
                out.append(jid)
        out.sort(key=self._finished_at.__getitem__)
        return out

    def _job_bytes(self, job: Job) -> int:
        """Memory held for a job: payload and its parsed form, results (or their estimate until
        they exist) and encoded artifacts."""
        # The parsed form is kept until the job finishes (then only the payload bytes are).
        parsed = PARSED_BYTES_PER_BODY_BYTE if not job.status.terminal else 0
        size = (1 + parsed) * len(job.payload)
        size += sum(len(body) for body in job.artifact_cache.values())
        if job.results is not None:
            size += sum(bits.nbytes for result in job.results for bits in result.bits.values())
        elif not job.status.terminal:
            estimate = self._estimates.get(job.id)
            if estimate is None:
                estimate = self._estimates[job.id] = estimate_result_bytes(job.request)
            size += estimate
        return size

    def _make_room(self, needed: int) -> int:
        """Evict the oldest finished jobs until ``needed`` more bytes fit the budget (or none
        is left); returns the bytes then held."""
        used = sum(self._job_bytes(job) for job in self._jobs.values())
        for jid in self._finished_jobs(time.monotonic()):
            if used + needed <= self.max_stored_bytes:
                break
            used -= self._job_bytes(self._jobs[jid])
            self._tombstone(jid, f"the job store keeps at most {self.max_stored_bytes} bytes")
        return used

    def _enforce_budget(self) -> None:
        """Evict the oldest finished jobs while the store exceeds ``max_stored_bytes``."""
        self._make_room(0)

    def _expire(self) -> None:
        """Apply ``job_retention`` at most once a second between submissions."""
        now = time.monotonic()
        if now - self._last_expiry >= 1.0:
            self._last_expiry = now
            self._evict()

    def _tombstone(self, job_id: uuid.UUID, reason: str) -> None:
        """Evict a job, remembering why (bounded) so requests for it say so (``job_evicted``)."""
        job = self._jobs.pop(job_id, None)
        self._finished_at.pop(job_id, None)
        self._estimates.pop(job_id, None)
        if job is None:
            return
        self._tombstones[job_id] = reason
        while len(self._tombstones) > _MAX_TOMBSTONES:
            del self._tombstones[next(iter(self._tombstones))]
        logger.info("job %s evicted: %s", job_id, reason)

    def _job(self, job_id: uuid.UUID) -> Job:
        self._expire()
        job = self._jobs.get(job_id)
        if job is None:
            reason = self._tombstones.get(job_id)
            if reason is not None:
                raise EvictedJob(
                    f"job {job_id} is no longer available: it was evicted after it finished "
                    f"({reason})"
                )
            raise UnknownJob(f"job {job_id} does not exist")
        return job

    def _queue_position(self, job: Job) -> int | None:
        """Number of waiting jobs submitted before this one (0 = next in line)."""
        if job.status != JobStatus.WAITING:
            return None
        return sum(
            1
            for other in self._jobs.values()
            if other.status == JobStatus.WAITING and other.seq < job.seq
        )

    def _finish_cancel(self, job: Job) -> None:
        job.status = JobStatus.CANCELLED
        job.mark("cancelled")
        for queue in (self._to_compile, self._to_execute):
            if job in queue:
                queue.remove(job)

    def _next(self, queue: deque[Job], stage: str) -> Job | None:
        """Wait for the next job of a stage; None when stopping."""
        with self._cond:
            while self._running and (self._paused[stage] or not queue):
                self._cond.wait()
            if not self._running:
                return None
            return queue.popleft()

    def _compile_loop(self) -> None:
        while (job := self._next(self._to_compile, "compilation")) is not None:
            with self._cond:
                job.mark("compilation_started")
            try:
                compiled = self._compile(job.request)
            except CircuitValidationError as exc:
                with self._cond:
                    if not job.status.terminal:
                        job.fail(str(exc), "circuit_validation_failed")
                continue
            except Exception as exc:  # a server bug must fail the job, not kill the worker
                logger.exception("job %s: compilation crashed", job.id)
                with self._cond:
                    if not job.status.terminal:
                        job.fail(f"internal error during compilation: {exc}", "internal_error")
                continue
            with self._cond:
                if job.status.terminal:
                    continue
                job.compiled = compiled
                # Estimate before the circuits go: the store counts it until the results exist.
                self._estimates.setdefault(job.id, estimate_result_bytes(job.request))
                job.request = _drop_circuits(job.request)
                job.calibration_set_id = self.architecture.calibration_set_id
                job.mark("compilation_ended")
                self._to_execute.append(job)
                self._cond.notify_all()

    def _compile(self, request: PostJobsRequest) -> list[list[NativeOp]]:
        """Validate the batch against the architecture and map it to simulator operations."""
        wanted = request.calibration_set_id
        if wanted is not None and wanted != self.architecture.calibration_set_id:
            raise CircuitValidationError(
                f"calibration set {wanted} does not exist; the default calibration set is "
                f"{self.architecture.calibration_set_id}"
            )
        for index, circuit in enumerate(request.circuits):
            if isinstance(circuit, str):
                raise CircuitValidationError(
                    f"circuit {index}: QIR circuits are not supported by the shotpack simulator"
                )
            validate_circuit(circuit, index=index)
        mapping = request.qubit_mapping
        validate_qubit_mapping(self.dqa, request.circuits, mapping)
        validate_circuit_instructions(
            self.dqa, request.circuits, mapping, move_validation=request.move_gate_validation
        )

        def physical(name: str) -> str:
            return mapping.get(name, name) if mapping else name

        compiled = []
        for circuit in request.circuits:
            assert not isinstance(circuit, str)
            ops = []
            for inst in circuit.instructions:
                args = dict(inst.args)
                if inst.name == "cc_prx":
                    args["feedback_qubit"] = physical(str(args["feedback_qubit"]))
                ops.append(NativeOp(inst.name, tuple(physical(c) for c in inst.locus), args))
            compiled.append(ops)
        return compiled

    def _run_loop(self) -> None:
        while (job := self._next(self._to_execute, "execution")) is not None:
            with self._cond:
                if job.status.terminal:
                    continue
                job.status = JobStatus.PROCESSING
                job.mark("execution_started")
            try:
                results = self._execute(job)
            except SimulationCancelled:
                results = None
            except SimulationError as exc:
                with self._cond:
                    job.fail(f"simulation failed: {exc}", "circuit_execution_failed")
                continue
            except Exception as exc:  # a server bug must fail the job, not kill the worker
                logger.exception("job %s: execution crashed", job.id)
                with self._cond:
                    job.fail(f"internal error during execution: {exc}", "internal_error")
                continue
            with self._cond:
                if job.cancel_requested or results is None:
                    job.status = JobStatus.CANCELLED
                    job.mark("cancelled")
                    logger.info("job %s cancelled", job.id)
                    continue
                job.results = results
                job.compiled = [[] for _ in job.compiled or ()]  # the operations are done with
                job.mark("execution_ended")
                job.status = JobStatus.COMPLETED
                job.mark("completed")
                logger.info("job %s completed", job.id)
                self._estimates.pop(job.id, None)
                self._evict()

    def _execute(self, job: Job) -> list[CircuitResult]:
        assert job.compiled is not None
        request = job.request

        def cancelled() -> bool:
            return job.cancel_requested or not self._running

        deadline = time.monotonic() + self.job_delay
        while (left := deadline - time.monotonic()) > 0:
            if cancelled():
                raise SimulationCancelled()
            time.sleep(min(left, 0.01))
        results = []
        heralding = request.heralding_mode == HeraldingMode.ZEROS
        for index, ops in enumerate(job.compiled):
            try:
                result = simulate_circuit(
                    ops,
                    request.shots,
                    job.rng,
                    readout_error=self.architecture.readout_error,
                    gate_noise=self.architecture.gate_noise,
                    heralding=heralding,
                    max_qubits=self.max_qubits,
                    max_state_bytes=self.max_state_bytes,
                    should_cancel=cancelled,
                )
            except SimulationError as exc:
                raise SimulationError(f"circuit {index}: {exc}") from None
            if result.shots < request.shots:
                with self._cond:
                    job.messages.append(
                        {
                            "source": SOURCE,
                            "message": f"circuit {index}: heralding discarded "
                            f"{request.shots - result.shots} of {request.shots} shots",
                        }
                    )
            results.append(result)
            with self._cond:
                job.shots_done += request.shots
        return results

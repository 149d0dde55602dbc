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
from collections.abc import Callable
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
from shotpack.server.artifacts import encode_counts, encode_measurements
from shotpack.server.simulator import (
    CircuitResult,
    NativeOp,
    SimulationCancelled,
    SimulationError,
    simulate_circuit,
)

__all__ = [
    "IdempotencyKeyReused",
    "IdempotencyKeys",
    "Job",
    "JobConflict",
    "JobQueue",
    "JobStatus",
    "UnknownJob",
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
            beyond this number are forgotten (``GET`` then answers 404).

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
        max_state_bytes: int = 1 << 30,
        max_retained_jobs: int = 1000,
    ) -> None:
        self.architecture = architecture
        self.max_retained_jobs = max_retained_jobs
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

    def artifact(self, job_id: uuid.UUID, kind: str) -> bytes:
        """A result artifact body (``measurements`` or ``measurement_counts``).

        Raises:
            UnknownJob: No such job, or the job has no such artifact (not completed).
        """
        encoders: dict[str, Callable[[list[CircuitResult]], bytes]] = {
            "measurements": encode_measurements,
            "measurement_counts": encode_counts,
        }
        with self._cond:
            job = self._job(job_id)
            if kind not in encoders:
                raise UnknownJob(f"job {job_id} has no artifact of type {kind!r}")
            if job.status != JobStatus.COMPLETED or job.results is None:
                raise UnknownJob(
                    f"job {job_id} has no {kind!r} artifact: its status is {job.status.value!r}"
                )
            cached = job.artifact_cache.get(kind)
            results = job.results
        if cached is None:
            # Encode outside the lock; two concurrent first requests both encode, harmlessly.
            cached = encoders[kind](results)
            with self._cond:
                job.artifact_cache[kind] = cached
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
        """Forget the oldest finished jobs beyond ``max_retained_jobs`` (dicts keep insertion
        order, so the first finished ones found are the oldest)."""
        finished = [jid for jid, job in self._jobs.items() if job.status.terminal]
        for jid in finished[: max(0, len(finished) - self.max_retained_jobs)]:
            del self._jobs[jid]

    def _job(self, job_id: uuid.UUID) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
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
                job.mark("execution_ended")
                job.status = JobStatus.COMPLETED
                job.mark("completed")
                logger.info("job %s completed", job.id)

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

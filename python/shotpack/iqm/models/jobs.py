"""Jobs in the IQM Server API v1: the request, the server's job record and status, and the
per-shot results (also in the legacy ``RunResult`` shape)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any, Literal, TypeAlias

from pydantic import (
    AliasChoices,
    Field,
    computed_field,
    field_serializer,
    field_validator,
    model_validator,
)

from shotpack.iqm.models.base import WireModel
from shotpack.iqm.models.circuit import Circuit, QIRCode
from shotpack.iqm.models.compilation import (
    CircuitCompilationOptions,
    DDMode,
    DDStrategy,
    HeraldingMode,
    MoveGateFrameTrackingMode,
    MoveGateValidationMode,
)

CircuitMeasurementResults: TypeAlias = dict[str, list[list[int]]]
"""One circuit's per-shot results: ``[key][shot][index in the measure locus]``."""

CircuitMeasurementResultsBatch: TypeAlias = list[CircuitMeasurementResults]
"""Per-shot results of a batch of circuits, one dict per circuit."""


# Compilation options
# ---------------------------------------------------------------------------------------------


def _parse_qubit_mapping(value: Any) -> Any:
    """Accepts ``{logical: physical}`` or the wire list ``[{logical_name, physical_name}]``."""
    if isinstance(value, list):
        out: dict[str, str] = {}
        for item in value:
            if isinstance(item, dict):
                out[item["logical_name"]] = item["physical_name"]
            else:
                out[item.logical_name] = item.physical_name
        return out
    return value


class PostJobsRequest(WireModel):
    """The body of ``POST jobs/{qc}/circuit``: circuits, shots and compilation options.

    ``qubit_mapping`` is a ``{logical: physical}`` dict in Python and the list
    ``[{"logical_name", "physical_name"}]`` on the wire (both forms are accepted on input). The
    deprecated duplicates ``move_validation_mode`` / ``move_gate_frame_tracking_mode`` are
    accepted on input and written on output, as current servers expect.
    """

    circuits: list[Circuit | QIRCode]
    calibration_set_id: uuid.UUID | None = None
    qubit_mapping: dict[str, str] | None = None
    shots: int = Field(1, gt=0)
    max_circuit_duration_over_t2: float | None = None
    heralding_mode: HeraldingMode = HeraldingMode.NONE
    move_gate_validation: MoveGateValidationMode = Field(
        MoveGateValidationMode.STRICT,
        validation_alias=AliasChoices("move_gate_validation", "move_validation_mode"),
    )
    move_gate_frame_tracking: MoveGateFrameTrackingMode = Field(
        MoveGateFrameTrackingMode.FULL,
        validation_alias=AliasChoices("move_gate_frame_tracking", "move_gate_frame_tracking_mode"),
    )
    active_reset_cycles: int | None = None
    dd_mode: DDMode = DDMode.DISABLED
    dd_strategy: DDStrategy | None = None

    @field_validator("qubit_mapping", mode="before")
    @classmethod
    def _qubit_mapping_in(cls, v: Any) -> Any:
        return _parse_qubit_mapping(v)

    @field_serializer("qubit_mapping")
    def _qubit_mapping_out(self, v: dict[str, str] | None) -> list[dict[str, str]] | None:
        if v is None:
            return None
        return [{"logical_name": k, "physical_name": p} for k, p in v.items()]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def move_validation_mode(self) -> MoveGateValidationMode:
        """Deprecated duplicate of ``move_gate_validation`` kept on the wire."""
        return self.move_gate_validation

    @computed_field  # type: ignore[prop-decorator]
    @property
    def move_gate_frame_tracking_mode(self) -> MoveGateFrameTrackingMode:
        """Deprecated duplicate of ``move_gate_frame_tracking`` kept on the wire."""
        return self.move_gate_frame_tracking

    @property
    def options(self) -> CircuitCompilationOptions:
        """The compilation options of this request."""
        return CircuitCompilationOptions(
            max_circuit_duration_over_t2=self.max_circuit_duration_over_t2,
            heralding_mode=self.heralding_mode,
            move_gate_validation=self.move_gate_validation,
            move_gate_frame_tracking=self.move_gate_frame_tracking,
            active_reset_cycles=self.active_reset_cycles,
            dd_mode=self.dd_mode,
            dd_strategy=self.dd_strategy,
        )


RunRequest = PostJobsRequest
CircuitJobDefinition = PostJobsRequest


class CircuitMeasurementCounts(WireModel):
    """Histogram of one circuit: each bitstring concatenates the keys' results in
    ``measurement_keys`` order, each key's bits in locus order."""

    measurement_keys: list[str]
    counts: dict[str, int]


# ---------------------------------------------------------------------------------------------
# Jobs (the server's view)
# ---------------------------------------------------------------------------------------------


class ServerJobStatus(str, Enum):
    """A job's status as the server reports it (``GET jobs/{id}``)."""

    WAITING = "waiting"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        # iqm-client's JobStatus is a StrEnum: str() and f-strings give the bare value.
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @classmethod
    def terminal_statuses(cls) -> frozenset[ServerJobStatus]:
        """Statuses after which nothing changes."""
        return frozenset({cls.COMPLETED, cls.FAILED, cls.CANCELLED})

    @property
    def is_terminal(self) -> bool:
        """Whether the job has finished (completed, failed or cancelled)."""
        return self in ServerJobStatus.terminal_statuses()


class IQMServerErrorBody(WireModel):
    """The body of a non-2xx response, and one entry of ``JobData.errors``.

    A legacy ``detail`` field is accepted as ``message``.
    """

    message: str = Field(validation_alias=AliasChoices("message", "detail"))
    error_code: str | None = None
    source: str = "iqm-server"


class ProgressValue(WireModel):
    """Progress of one counter: ``value`` out of ``max_value``."""

    value: int
    max_value: int


class JobExecution(WireModel):
    """Execution details of a job: named progress counters."""

    progress: dict[str, ProgressValue] = Field(default_factory=dict)


class JobCompilation(WireModel):
    """Compilation details of a job."""

    calibration_set_id: uuid.UUID | None = None


class JobMessage(WireModel):
    """An informational message attached to a job."""

    source: str = "iqm-server"
    message: str


class TimelineEntry(WireModel):
    """One step of a job's history; statuses are free-form strings set by the server."""

    source: str = "iqm-server"
    status: str
    timestamp: datetime


class Artifact(WireModel):
    """A result artifact available for a job, e.g. ``measurements``."""

    type: str


class JobData(WireModel):
    """The body of ``GET jobs/{id}`` and of the submit response."""

    id: uuid.UUID
    type: Literal["run", "circuit"] = "circuit"
    status: ServerJobStatus
    execution: JobExecution | None = None
    compilation: JobCompilation | None = None
    messages: list[JobMessage] = Field(default_factory=list)
    errors: list[IQMServerErrorBody] = Field(default_factory=list)
    queue_position: int | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    artifacts: list[Artifact] = Field(default_factory=list)

    def errors_text(self) -> str | None:
        """The errors as one line each (``source: error_code: message``), or ``None``."""
        if not self.errors:
            return None
        return "\n".join(
            f"{e.source}: {e.error_code}: {e.message}"
            if e.error_code
            else f"{e.source}: {e.message}"
            for e in self.errors
        )

    def find_timeline_entry(self, status: str, source: str | None = None) -> TimelineEntry | None:
        """The first timeline entry with this status (and source, when given)."""
        for entry in self.timeline:
            if entry.status == status and (source is None or entry.source == source):
                return entry
        return None


# ---------------------------------------------------------------------------------------------
# The legacy result shape (seed API)
# ---------------------------------------------------------------------------------------------


class Status(str, Enum):
    """A job's status in the classic IQM API (what :class:`RunResult` carries).

    Mapping from the server's status: ``waiting`` before compilation -> ``pending compilation``;
    ``waiting`` after compilation (compilation details or a ``compilation_ended`` timeline
    entry present) or ``processing`` -> ``pending execution``; ``completed`` ->
    ``ready``; ``failed`` -> ``failed``; ``cancelled`` -> ``aborted``.
    """

    PENDING_COMPILATION = "pending compilation"
    PENDING_EXECUTION = "pending execution"
    READY = "ready"
    FAILED = "failed"
    ABORTED = "aborted"

    @classmethod
    def from_job_data(cls, job: JobData) -> Status:
        """Maps the server's job status (see the class docstring)."""
        s = job.status
        if s == ServerJobStatus.COMPLETED:
            return cls.READY
        if s == ServerJobStatus.FAILED:
            return cls.FAILED
        if s == ServerJobStatus.CANCELLED:
            return cls.ABORTED
        if s == ServerJobStatus.PROCESSING:
            return cls.PENDING_EXECUTION
        # A waiting job has been compiled once the server reports compilation details or a
        # ``compilation_ended`` timeline entry.
        compiled = (
            job.compilation is not None and job.compilation.calibration_set_id is not None
        ) or job.find_timeline_entry("compilation_ended") is not None
        return cls.PENDING_EXECUTION if compiled else cls.PENDING_COMPILATION


class Metadata(WireModel):
    """Metadata about a job: the request that created it and what the server recorded.

    Args:
        calibration_set_id: calibration set the job ran with (``None`` until compiled).
        request: the original run request.
        parameters: job parameters (shots, heralding mode, ...) as a dict.
        circuits_batch: the circuits of the request.
        cocos_version: version of the server software, when known.
        timestamps: timeline status -> ISO timestamp.
    """

    calibration_set_id: uuid.UUID | None = None
    request: PostJobsRequest | None = None
    parameters: dict[str, Any] | None = None
    circuits_batch: list[Circuit | QIRCode] | None = None
    cocos_version: str | None = None
    timestamps: dict[str, str] | None = None

    @property
    def circuits(self) -> list[Circuit | QIRCode] | None:
        """The circuits of the job (from ``circuits_batch`` or the request)."""
        if self.circuits_batch is not None:
            return self.circuits_batch
        return None if self.request is None else self.request.circuits

    @property
    def shots(self) -> int | None:
        """Requested shots, when known."""
        if self.request is not None:
            return self.request.shots
        if self.parameters is not None and "shots" in self.parameters:
            return int(self.parameters["shots"])
        return None


class RunResult(WireModel):
    """Results of a circuit job (the classic IQM result shape).

    ``measurements[circuit][key][shot][qubit]`` is present iff ``status`` is ``ready``;
    ``message`` explains a ``failed`` job; pending jobs carry neither.

    Example:
        >>> r = RunResult.from_dict({"status": "ready", "metadata": {},
        ...                          "measurements": [{"m": [[0], [1]]}]})
        >>> r.status.value, r.measurements[0]["m"][1]
        ('ready', [1])
    """

    status: Status
    measurements: CircuitMeasurementResultsBatch | None = None
    message: str | None = None
    metadata: Metadata
    warnings: list[str] | None = None

    @model_validator(mode="after")
    def _measurements_iff_ready(self) -> RunResult:
        if self.status == Status.READY and self.measurements is None:
            raise ValueError("a 'ready' RunResult must carry measurements")
        if self.status != Status.READY and self.measurements is not None:
            raise ValueError(f"a {self.status.value!r} RunResult cannot carry measurements")
        return self

    @staticmethod
    def from_dict(inp: dict[str, Any]) -> RunResult:
        """Parses a result from a dict (e.g. decoded JSON).

        Args:
            inp: mapping with the fields of :class:`RunResult`.

        Returns:
            The parsed result.

        Raises:
            pydantic.ValidationError: ``inp`` does not describe a valid result.
        """
        return RunResult.model_validate(inp)


# ---------------------------------------------------------------------------------------------

"""Pydantic models of the IQM Server API v1 (the wire shapes iqm-client 36 sends and reads).

Both sides use these models: :class:`shotpack.iqm.IQMClient` to build requests and parse
responses, and the local server (``shotpack serve``) to parse requests and build responses.
Every model ignores unknown fields on input, so newer servers keep working.

Example:
    >>> from shotpack.iqm.models import Circuit, Instruction
    >>> c = Circuit(name="bell", instructions=[
    ...     Instruction(name="prx", locus=("QB1",), args={"angle": 1.0, "phase": 0.0}),
    ...     Instruction(name="measure", qubits=("QB1",), args={"key": "m"}),
    ... ])
    >>> c.instructions[1].locus
    ('QB1',)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from functools import cached_property
from typing import Any, Literal, TypeAlias

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_serializer,
    field_validator,
    model_validator,
)

from shotpack.circuit.binding import circuit_parameters

Locus: TypeAlias = tuple[str, ...]
"""Names of the components (qubits, resonators) an operation acts on, in order."""

CircuitMeasurementResults: TypeAlias = dict[str, list[list[int]]]
"""One circuit's per-shot results: ``[key][shot][index in the measure locus]``."""

CircuitMeasurementResultsBatch: TypeAlias = list[CircuitMeasurementResults]
"""Per-shot results of a batch of circuits, one dict per circuit."""

QIRCode: TypeAlias = str
"""A circuit given as QIR text; passed through to the server unchecked."""

INTERNAL_METADATA_PREFIX = "shotpack."
"""Circuit metadata keys starting with this are shotpack's own; results do not show them."""

QUBITS_METADATA_KEY = INTERNAL_METADATA_PREFIX + "qubits"
"""Circuit metadata key declaring the circuit's qubit order (see :attr:`Circuit.qubits`)."""


class _Model(BaseModel):
    """Common configuration: ignore unknown input fields, validate assignments."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True, populate_by_name=True)


def _component_sort_key(name: str) -> tuple[str, int, str]:
    """Sort key putting ``QB2`` before ``QB10``: letters, then trailing number, then name."""
    m = re.match(r"^(.*?)(\d+)$", name)
    if m is None:
        return (name, -1, name)
    return (m.group(1), int(m.group(2)), name)


def sort_components(components: Iterable[str]) -> tuple[str, ...]:
    """Sorts component names by letters, then number (``QB2`` < ``QB10``), then full name."""
    return tuple(sorted(components, key=_component_sort_key))


# ---------------------------------------------------------------------------------------------
# Circuits
# ---------------------------------------------------------------------------------------------


class Instruction(_Model):
    """One quantum operation of a circuit.

    Args:
        name: operation name, e.g. ``"prx"``, ``"cz"``, ``"measure"``.
        locus: component names the operation acts on; the old field name ``qubits`` is accepted
            as an alias on input (``locus`` is what goes on the wire).
        args: operation arguments, e.g. ``{"angle": 1.0, "phase": 0.0}``; checked per
            operation by :mod:`shotpack.iqm.validation`, not here, so values such as parameter
            expressions can be carried until they are bound.
        implementation: name of a specific implementation, or ``None`` for the default.

    Example:
        >>> Instruction(name="cz", qubits=["QB1", "QB2"]).locus
        ('QB1', 'QB2')
    """

    name: str
    locus: Locus = Field(default=(), validation_alias=AliasChoices("locus", "qubits"))
    args: dict[str, Any] = Field(default_factory=dict)
    implementation: str | None = None

    @property
    def qubits(self) -> Locus:
        """The locus under its legacy name."""
        return self.locus


class Circuit(_Model):
    """A named sequence of instructions.

    Args:
        name: circuit name (must be non-empty to be submitted).
        instructions: the operations, in order.
        metadata: free-form JSON-serialisable data kept with the circuit.
    """

    name: str
    instructions: list[Instruction] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None

    @property
    def user_metadata(self) -> dict[str, Any]:
        """A copy of ``metadata`` without shotpack's internal keys (those starting with
        ``"shotpack."``, e.g. the qubit order and Qiskit registers ``to_iqm_circuit`` adds);
        this is what results report as the circuit's metadata."""
        return {
            k: v
            for k, v in (self.metadata or {}).items()
            if not k.startswith(INTERNAL_METADATA_PREFIX)
        }

    def all_locus_components(self) -> set[str]:
        """Every component name used by some instruction."""
        out: set[str] = set()
        for inst in self.instructions:
            out.update(inst.locus)
        return out

    # The three properties below let the primitives' PUBs use a Circuit (shotpack.pubs protocol).
    @property
    def qubits(self) -> tuple[str, ...]:
        """The circuit's qubits, in the order observables index them (observable qubit ``k`` is
        ``qubits[k]``): ``metadata["shotpack.qubits"]`` when the circuit declares that list
        (``shotpack.qiskit.to_iqm_circuit`` does), else every component an instruction acts on,
        computational resonators (second component of a ``move``) excepted, in natural order
        (``QB2`` before ``QB10``)."""
        declared = (self.metadata or {}).get(QUBITS_METADATA_KEY)
        if declared is not None:
            return tuple(declared)
        resonators = {
            i.locus[1] for i in self.instructions if i.name == "move" and len(i.locus) == 2
        }
        return sort_components(self.all_locus_components() - resonators)

    @property
    def num_qubits(self) -> int:
        """``len(self.qubits)``."""
        return len(self.qubits)

    @property
    def parameters(self) -> tuple[Any, ...]:
        """The :class:`shotpack.Parameter` objects in the instruction arguments, sorted by name."""
        return circuit_parameters(self)


# ---------------------------------------------------------------------------------------------
# Compilation options
# ---------------------------------------------------------------------------------------------


class HeraldingMode(str, Enum):
    """Heralding: ``zeros`` keeps only shots whose heralding measurement read all zeros."""

    NONE = "none"
    ZEROS = "zeros"


class MoveGateValidationMode(str, Enum):
    """How strictly MOVE sandwiches are checked."""

    STRICT = "strict"
    ALLOW_PRX = "allow_prx"
    NONE = "none"


class MoveGateFrameTrackingMode(str, Enum):
    """Frame tracking applied to MOVE gates."""

    FULL = "full"
    NO_DETUNING_CORRECTION = "no_detuning_correction"
    NONE = "none"


class DDMode(str, Enum):
    """Dynamical decoupling on or off."""

    DISABLED = "disabled"
    ENABLED = "enabled"


PRXSequence: TypeAlias = list[tuple[float, float]]


class DDStrategy(_Model):
    """A dynamical decoupling strategy (which gate sequences fill which waits)."""

    merge_contiguous_waits: bool = True
    target_qubits: frozenset[str] | None = None
    skip_leading_wait: bool = True
    skip_trailing_wait: bool = True
    gate_sequences: list[tuple[int, str | PRXSequence, str]] = Field(default_factory=list)

    @field_serializer("target_qubits")
    def _ser_target_qubits(self, v: frozenset[str] | None) -> list[str] | None:
        return None if v is None else sorted(v)


STANDARD_DD_STRATEGY = DDStrategy(
    gate_sequences=[(9, "XYXYYXYX", "asap"), (5, "YXYX", "asap"), (2, "XX", "center")]
)
"""The standard strategy: long waits get XYXYYXYX, shorter ones YXYX, the shortest XX."""


def _check_move_options(
    validation: MoveGateValidationMode, tracking: MoveGateFrameTrackingMode
) -> None:
    if tracking == MoveGateFrameTrackingMode.FULL and validation not in (
        MoveGateValidationMode.STRICT,
        MoveGateValidationMode.ALLOW_PRX,
    ):
        raise ValueError(
            "Unable to perform full MOVE gate frame tracking if MOVE gate validation is not "
            '"strict" or "allow_prx".'
        )


class CircuitCompilationOptions(BaseModel):
    """Discrete options for compiling circuits into instruction schedules (frozen).

    Args:
        max_circuit_duration_over_t2: reject circuits longer than this fraction of T2; ``None``
            uses the server default, ``0.0`` disables the check.
        heralding_mode: :class:`HeraldingMode`; ``ZEROS`` may return fewer shots than asked.
        move_gate_validation: :class:`MoveGateValidationMode`.
        move_gate_frame_tracking: :class:`MoveGateFrameTrackingMode`.
        active_reset_cycles: active reset cycles between shots; ``None`` resets by waiting.
        dd_mode: :class:`DDMode`.
        dd_strategy: the :class:`DDStrategy` used when ``dd_mode`` is enabled.

    Raises:
        ValueError: full frame tracking combined with MOVE validation ``none``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_circuit_duration_over_t2: float | None = None
    heralding_mode: HeraldingMode = HeraldingMode.NONE
    move_gate_validation: MoveGateValidationMode = MoveGateValidationMode.STRICT
    move_gate_frame_tracking: MoveGateFrameTrackingMode = MoveGateFrameTrackingMode.FULL
    active_reset_cycles: int | None = None
    dd_mode: DDMode = DDMode.DISABLED
    dd_strategy: DDStrategy | None = None

    @model_validator(mode="after")
    def _check(self) -> CircuitCompilationOptions:
        _check_move_options(self.move_gate_validation, self.move_gate_frame_tracking)
        return self


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


class PostJobsRequest(_Model):
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


class CircuitMeasurementCounts(_Model):
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

    @classmethod
    def terminal_statuses(cls) -> frozenset[ServerJobStatus]:
        """Statuses after which nothing changes."""
        return frozenset({cls.COMPLETED, cls.FAILED, cls.CANCELLED})

    @property
    def is_terminal(self) -> bool:
        """Whether the job has finished (completed, failed or cancelled)."""
        return self in ServerJobStatus.terminal_statuses()


class IQMServerErrorBody(_Model):
    """The body of a non-2xx response, and one entry of ``JobData.errors``.

    A legacy ``detail`` field is accepted as ``message``.
    """

    message: str = Field(validation_alias=AliasChoices("message", "detail"))
    error_code: str | None = None
    source: str = "iqm-server"


class ProgressValue(_Model):
    """Progress of one counter: ``value`` out of ``max_value``."""

    value: int
    max_value: int


class JobExecution(_Model):
    """Execution details of a job: named progress counters."""

    progress: dict[str, ProgressValue] = Field(default_factory=dict)


class JobCompilation(_Model):
    """Compilation details of a job."""

    calibration_set_id: uuid.UUID | None = None


class JobMessage(_Model):
    """An informational message attached to a job."""

    source: str = "iqm-server"
    message: str


class TimelineEntry(_Model):
    """One step of a job's history; statuses are free-form strings set by the server."""

    source: str = "iqm-server"
    status: str
    timestamp: datetime


class Artifact(_Model):
    """A result artifact available for a job, e.g. ``measurements``."""

    type: str


class JobData(_Model):
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


class Metadata(_Model):
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


class RunResult(_Model):
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
# Architectures
# ---------------------------------------------------------------------------------------------


class StaticQuantumArchitecture(_Model):
    """The chip's fixed topology: qubits, computational resonators and their couplings."""

    dut_label: str | None = None
    qubits: list[str]
    computational_resonators: list[str] = Field(default_factory=list)
    connectivity: list[Locus] = Field(default_factory=list)


class GateImplementationInfo(_Model):
    """Loci for which one gate implementation is calibrated."""

    loci: tuple[Locus, ...]


class GateInfo(_Model):
    """Calibrated implementations of one gate.

    ``override_default_implementation`` maps a locus to the implementation used there by default;
    on the wire its keys are comma-joined component names (``"QB1,QB2"``).
    """

    implementations: dict[str, GateImplementationInfo]
    default_implementation: str
    override_default_implementation: dict[Locus, str] = Field(default_factory=dict)

    @field_validator("override_default_implementation", mode="before")
    @classmethod
    def _parse_override_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {
                tuple(k.split(",")) if isinstance(k, str) else tuple(k): i for k, i in v.items()
            }
        return v

    @field_serializer("override_default_implementation")
    def _ser_override_keys(self, v: dict[Locus, str]) -> dict[str, str]:
        return {",".join(k): i for k, i in v.items()}

    @cached_property
    def loci(self) -> tuple[Locus, ...]:
        """Union of the loci of all implementations, sorted by component names."""
        seen = {locus for impl in self.implementations.values() for locus in impl.loci}
        return tuple(sorted(seen, key=lambda lo: tuple(_component_sort_key(c) for c in lo)))

    def implementation_for(self, locus: Locus) -> str:
        """The implementation used at ``locus`` when none is requested."""
        return self.override_default_implementation.get(tuple(locus), self.default_implementation)


class DynamicQuantumArchitecture(_Model):
    """What a calibration set makes available: qubits, resonators, and calibrated gates."""

    calibration_set_id: uuid.UUID
    qubits: list[str]
    computational_resonators: list[str] = Field(default_factory=list)
    gates: dict[str, GateInfo]

    @cached_property
    def components(self) -> tuple[str, ...]:
        """Qubits and computational resonators, sorted (``QB2`` before ``QB10``)."""
        return sort_components([*self.qubits, *self.computational_resonators])


# ---------------------------------------------------------------------------------------------
# Calibration and quality-metric sets
# ---------------------------------------------------------------------------------------------


class ObservationSetType(str, Enum):
    """Purpose of an observation set."""

    GENERIC_SET = "generic-set"
    CALIBRATION_SET = "calibration-set"
    QUALITY_METRIC_SET = "quality-metric-set"
    CHARACTERIZATION_SET = "characterization-set"


class ObservationData(_Model):
    """One observed value (a calibration parameter or a quality metric).

    Observations without ``dut_label`` ("lite" ones) are accepted; their set fills it in.
    """

    dut_field: str
    value: Any
    unit: str = ""
    uncertainty: Any = None
    invalid: bool = False
    observation_id: int
    created_timestamp: datetime
    modified_timestamp: datetime
    dut_label: str = ""
    source: dict[str, Any] = Field(default_factory=lambda: {"type": "source_not_loaded"})
    tags: list[str] = Field(default_factory=list)
    observation_set_ids: list[uuid.UUID] = Field(default_factory=list)


class ObservationSet(_Model):
    """A calibration set or a quality-metric set with its observations."""

    observation_set_type: ObservationSetType
    observation_set_id: uuid.UUID
    describes_id: uuid.UUID | None = None
    invalid: bool = False
    dut_label: str | None = None
    created_timestamp: datetime
    end_timestamp: datetime | None = None
    observations: list[ObservationData] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _upgrade_lite(cls, data: Any) -> Any:
        # Lite observations omit their DUT label; it is the set's.
        if isinstance(data, dict) and data.get("dut_label"):
            label = data["dut_label"]
            obs = data.get("observations")
            if isinstance(obs, list):
                data = {
                    **data,
                    "observations": [
                        {**o, "dut_label": label}
                        if isinstance(o, dict) and not o.get("dut_label")
                        else o
                        for o in obs
                    ],
                }
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def observation_ids(self) -> list[int]:
        """Ids of the observations (deprecated on the wire, kept for compatibility)."""
        return [o.observation_id for o in self.observations]


CalibrationSet: TypeAlias = ObservationSet
QualityMetricSet: TypeAlias = ObservationSet


class ObservationFinder:
    """Observations of a calibration set and its quality metrics, searchable by DUT field.

    Example:
        >>> finder.get("QB1.t1_time")  # doctest: +SKIP
    """

    def __init__(self, observations: Iterable[ObservationData]) -> None:
        self.observations: list[ObservationData] = list(observations)
        self._by_field: dict[str, ObservationData] = {o.dut_field: o for o in self.observations}

    def __len__(self) -> int:
        return len(self.observations)

    def __contains__(self, dut_field: object) -> bool:
        return dut_field in self._by_field

    def get(self, dut_field: str, default: Any = None) -> Any:
        """The value of ``dut_field``, or ``default`` when absent."""
        o = self._by_field.get(dut_field)
        return default if o is None else o.value

    def __getitem__(self, dut_field: str) -> ObservationData:
        return self._by_field[dut_field]

    def find(self, pattern: str) -> dict[str, Any]:
        """All observations whose DUT field matches the regular expression ``pattern``."""
        rx = re.compile(pattern)
        return {f: o.value for f, o in self._by_field.items() if rx.search(f)}

    def __repr__(self) -> str:
        return f"ObservationFinder({len(self.observations)} observations)"


# ---------------------------------------------------------------------------------------------
# Quantum computers and channel properties
# ---------------------------------------------------------------------------------------------


class QuantumComputer(_Model):
    """One entry of ``GET quantum-computers``.

    ``proxy_path`` is ``None`` both when the server omits it (then a default applies; see
    ``"proxy_path" in model_fields_set``) and when it sends ``null`` (no station proxy).
    """

    id: uuid.UUID
    alias: str
    display_name: str = ""
    proxy_path: str | None = None


class QuantumComputerList(_Model):
    """The body of ``GET quantum-computers``."""

    quantum_computers: list[QuantumComputer]


class AWGChannelProperties(_Model):
    """The part of an AWG channel's properties the client uses: its fast-feedback sources."""

    fast_feedback_sources: list[str] = Field(default_factory=list)


class ChannelPropertyEntry(_Model):
    """Properties of one channel: an AWG (drive/flux) or a readout channel."""

    awg: AWGChannelProperties | None = None
    ro: dict[str, Any] | None = None


class ChannelPropertyDictionary(_Model):
    """Channel name (``"QB1__drive.awg"``) -> properties.

    JSON form of the ``channel-properties`` artifact, with protobuf field names; the client also
    decodes the protobuf form (see :mod:`shotpack.iqm.protobuf`).
    """

    channel_property_mapping: dict[str, ChannelPropertyEntry] = Field(default_factory=dict)

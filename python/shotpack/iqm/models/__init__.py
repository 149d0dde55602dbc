"""Pydantic models of the IQM Server API v1 (the wire shapes iqm-client 36 sends and reads).

Both sides use these models: :class:`shotpack.iqm.IQMClient` to build requests and parse
responses, and the local server (``shotpack serve``) to parse requests and build responses.
Every model ignores unknown fields on input, so newer servers keep working.

One module per concept: :mod:`~shotpack.iqm.models.circuit` (``Circuit``, ``Instruction``),
:mod:`~shotpack.iqm.models.compilation` (compilation options), :mod:`~shotpack.iqm.models.jobs`
(requests, job records, results), :mod:`~shotpack.iqm.models.architecture` (architectures,
quantum computers, channel properties) and :mod:`~shotpack.iqm.models.calibration`
(calibration and quality-metric sets). Every name is importable from this package too.
"""

from shotpack.iqm.models.architecture import (
    AWGChannelProperties,
    ChannelPropertyDictionary,
    ChannelPropertyEntry,
    DynamicQuantumArchitecture,
    GateImplementationInfo,
    GateInfo,
    QuantumComputer,
    QuantumComputerList,
    StaticQuantumArchitecture,
)
from shotpack.iqm.models.calibration import (
    CalibrationSet,
    ObservationData,
    ObservationFinder,
    ObservationSet,
    ObservationSetType,
    QualityMetricSet,
)
from shotpack.iqm.models.circuit import (
    INTERNAL_METADATA_PREFIX,
    QUBITS_METADATA_KEY,
    Circuit,
    CircuitOperation,
    Instruction,
    Locus,
    QIRCode,
    sort_components,
)
from shotpack.iqm.models.compilation import (
    STANDARD_DD_STRATEGY,
    CircuitCompilationOptions,
    DDMode,
    DDStrategy,
    HeraldingMode,
    MoveGateFrameTrackingMode,
    MoveGateValidationMode,
    PRXSequence,
)
from shotpack.iqm.models.jobs import (
    Artifact,
    CircuitJobDefinition,
    CircuitMeasurementCounts,
    CircuitMeasurementResults,
    CircuitMeasurementResultsBatch,
    IQMServerErrorBody,
    JobCompilation,
    JobData,
    JobExecution,
    JobMessage,
    Metadata,
    PostJobsRequest,
    ProgressValue,
    RunRequest,
    RunResult,
    ServerJobStatus,
    Status,
    TimelineEntry,
)

__all__ = [
    "INTERNAL_METADATA_PREFIX",
    "QUBITS_METADATA_KEY",
    "STANDARD_DD_STRATEGY",
    "AWGChannelProperties",
    "Artifact",
    "CalibrationSet",
    "ChannelPropertyDictionary",
    "ChannelPropertyEntry",
    "Circuit",
    "CircuitCompilationOptions",
    "CircuitJobDefinition",
    "CircuitMeasurementCounts",
    "CircuitMeasurementResults",
    "CircuitMeasurementResultsBatch",
    "CircuitOperation",
    "DDMode",
    "DDStrategy",
    "DynamicQuantumArchitecture",
    "GateImplementationInfo",
    "GateInfo",
    "HeraldingMode",
    "IQMServerErrorBody",
    "Instruction",
    "JobCompilation",
    "JobData",
    "JobExecution",
    "JobMessage",
    "Locus",
    "Metadata",
    "MoveGateFrameTrackingMode",
    "MoveGateValidationMode",
    "ObservationData",
    "ObservationFinder",
    "ObservationSet",
    "ObservationSetType",
    "PRXSequence",
    "PostJobsRequest",
    "ProgressValue",
    "QIRCode",
    "QualityMetricSet",
    "QuantumComputer",
    "QuantumComputerList",
    "RunRequest",
    "RunResult",
    "ServerJobStatus",
    "StaticQuantumArchitecture",
    "Status",
    "TimelineEntry",
    "sort_components",
]

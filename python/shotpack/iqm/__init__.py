"""shotpack's IQM client: models, the REST client, jobs and a Qiskit-style backend.

Names load on first use, so importing :mod:`shotpack.iqm.models` (as the local server does) does
not pull in the HTTP stack.

Example:
    >>> from shotpack.iqm import IQMClient, Circuit, Instruction  # doctest: +SKIP
    >>> client = IQMClient("http://127.0.0.1:8000/")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shotpack._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    # models
    "Circuit": "shotpack.iqm.models.circuit",
    "Instruction": "shotpack.iqm.models.circuit",
    "CircuitOperation": "shotpack.iqm.models.circuit",
    "CircuitCompilationOptions": "shotpack.iqm.models.compilation",
    "HeraldingMode": "shotpack.iqm.models.compilation",
    "MoveGateValidationMode": "shotpack.iqm.models.compilation",
    "MoveGateFrameTrackingMode": "shotpack.iqm.models.compilation",
    "DDMode": "shotpack.iqm.models.compilation",
    "DDStrategy": "shotpack.iqm.models.compilation",
    "STANDARD_DD_STRATEGY": "shotpack.iqm.models.compilation",
    "PostJobsRequest": "shotpack.iqm.models.jobs",
    "RunRequest": "shotpack.iqm.models.jobs",
    "RunResult": "shotpack.iqm.models.jobs",
    "Status": "shotpack.iqm.models.jobs",
    "TimelineEntry": "shotpack.iqm.models.jobs",
    "Metadata": "shotpack.iqm.models.jobs",
    "JobData": "shotpack.iqm.models.jobs",
    "ServerJobStatus": "shotpack.iqm.models.jobs",
    "StaticQuantumArchitecture": "shotpack.iqm.models.architecture",
    "DynamicQuantumArchitecture": "shotpack.iqm.models.architecture",
    "GateInfo": "shotpack.iqm.models.architecture",
    "GateImplementationInfo": "shotpack.iqm.models.architecture",
    "CircuitMeasurementCounts": "shotpack.iqm.models.jobs",
    "CalibrationSet": "shotpack.iqm.models.calibration",
    "QualityMetricSet": "shotpack.iqm.models.calibration",
    "ObservationFinder": "shotpack.iqm.models.calibration",
    # client
    "IQMClient": "shotpack.iqm.client",
    "CircuitJob": "shotpack.iqm.circuit_job",
    # jobs
    "IQMBackend": "shotpack.iqm.backend",
    "IQMJob": "shotpack.iqm.job",
    "JobStatus": "shotpack.iqm.job",
    "IQMResult": "shotpack.iqm.result",
    "MeasurementKey": "shotpack.measurements.registers",
    # errors (every exception name iqm-client 36 exports, and shotpack's own)
    "ShotpackError": "shotpack.errors",
    "ClientConfigurationError": "shotpack.iqm.errors",
    "ClientAuthenticationError": "shotpack.iqm.errors",
    "IQMError": "shotpack.iqm.errors",
    "InvalidOperationError": "shotpack.iqm.errors",
    "AuthenticationError": "shotpack.iqm.errors",
    "ForbiddenError": "shotpack.iqm.errors",
    "NotFoundError": "shotpack.iqm.errors",
    "ConflictError": "shotpack.iqm.errors",
    "DataSizeError": "shotpack.iqm.errors",
    "ValidationError": "shotpack.iqm.errors",
    "RateLimitError": "shotpack.iqm.errors",
    "InternalSystemError": "shotpack.iqm.errors",
    "BadGatewayError": "shotpack.iqm.errors",
    "SystemUnavailableError": "shotpack.iqm.errors",
    "OperationTimeoutError": "shotpack.iqm.errors",
    "ConnectionFailedError": "shotpack.iqm.errors",
    "CircuitValidationError": "shotpack.iqm.errors",
    "CircuitTranspilationError": "shotpack.iqm.errors",
    "CircuitExecutionError": "shotpack.iqm.errors",
    "EmptyComponentListError": "shotpack.iqm.errors",
    "UnknownObservationError": "shotpack.iqm.errors",
    "UnknownSettingError": "shotpack.iqm.errors",
    "EngineInitialisationError": "shotpack.iqm.errors",
    "BadRequestError": "shotpack.iqm.errors",
    "UnauthorizedError": "shotpack.iqm.errors",
    "PayloadTooLargeError": "shotpack.iqm.errors",
    "TooManyRequestsError": "shotpack.iqm.errors",
    "InternalServerError": "shotpack.iqm.errors",
    "ServiceUnavailableError": "shotpack.iqm.errors",
    "GatewayTimeoutError": "shotpack.iqm.errors",
    "JobFailedError": "shotpack.iqm.errors",
    "JobCancelledError": "shotpack.iqm.errors",
    "RegisterMismatchError": "shotpack.iqm.errors",
}

# Kept literal (not computed from _EXPORTS) so that linters and type checkers can read it;
# tests/test_public_api.py checks that the two agree.
__all__ = [
    "STANDARD_DD_STRATEGY",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "CalibrationSet",
    "Circuit",
    "CircuitCompilationOptions",
    "CircuitExecutionError",
    "CircuitJob",
    "CircuitMeasurementCounts",
    "CircuitOperation",
    "CircuitTranspilationError",
    "CircuitValidationError",
    "ClientAuthenticationError",
    "ClientConfigurationError",
    "ConflictError",
    "ConnectionFailedError",
    "DDMode",
    "DDStrategy",
    "DataSizeError",
    "DynamicQuantumArchitecture",
    "EmptyComponentListError",
    "EngineInitialisationError",
    "ForbiddenError",
    "GateImplementationInfo",
    "GateInfo",
    "GatewayTimeoutError",
    "HeraldingMode",
    "IQMBackend",
    "IQMClient",
    "IQMError",
    "IQMJob",
    "IQMResult",
    "Instruction",
    "InternalServerError",
    "InternalSystemError",
    "InvalidOperationError",
    "JobCancelledError",
    "JobData",
    "JobFailedError",
    "JobStatus",
    "MeasurementKey",
    "Metadata",
    "MoveGateFrameTrackingMode",
    "MoveGateValidationMode",
    "NotFoundError",
    "ObservationFinder",
    "OperationTimeoutError",
    "PayloadTooLargeError",
    "PostJobsRequest",
    "QualityMetricSet",
    "RateLimitError",
    "RegisterMismatchError",
    "RunRequest",
    "RunResult",
    "ServerJobStatus",
    "ServiceUnavailableError",
    "ShotpackError",
    "StaticQuantumArchitecture",
    "Status",
    "SystemUnavailableError",
    "TimelineEntry",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnknownObservationError",
    "UnknownSettingError",
    "ValidationError",
]


__getattr__, __dir__ = lazy_exports("shotpack.iqm", _EXPORTS, globals())


if TYPE_CHECKING:
    # Static checkers do not run __getattr__: these imports give every lazy name its real type.
    from shotpack.errors import ShotpackError
    from shotpack.iqm.backend import IQMBackend
    from shotpack.iqm.circuit_job import CircuitJob
    from shotpack.iqm.client import IQMClient
    from shotpack.iqm.errors import (
        AuthenticationError,
        BadGatewayError,
        BadRequestError,
        CircuitExecutionError,
        CircuitTranspilationError,
        CircuitValidationError,
        ClientAuthenticationError,
        ClientConfigurationError,
        ConflictError,
        ConnectionFailedError,
        DataSizeError,
        EmptyComponentListError,
        EngineInitialisationError,
        ForbiddenError,
        GatewayTimeoutError,
        InternalServerError,
        InternalSystemError,
        InvalidOperationError,
        IQMError,
        JobCancelledError,
        JobFailedError,
        NotFoundError,
        OperationTimeoutError,
        PayloadTooLargeError,
        RateLimitError,
        RegisterMismatchError,
        ServiceUnavailableError,
        SystemUnavailableError,
        TooManyRequestsError,
        UnauthorizedError,
        UnknownObservationError,
        UnknownSettingError,
        ValidationError,
    )
    from shotpack.iqm.job import IQMJob, JobStatus
    from shotpack.iqm.models.architecture import (
        DynamicQuantumArchitecture,
        GateImplementationInfo,
        GateInfo,
        StaticQuantumArchitecture,
    )
    from shotpack.iqm.models.calibration import CalibrationSet, ObservationFinder, QualityMetricSet
    from shotpack.iqm.models.circuit import Circuit, CircuitOperation, Instruction
    from shotpack.iqm.models.compilation import (
        STANDARD_DD_STRATEGY,
        CircuitCompilationOptions,
        DDMode,
        DDStrategy,
        HeraldingMode,
        MoveGateFrameTrackingMode,
        MoveGateValidationMode,
    )
    from shotpack.iqm.models.jobs import (
        CircuitMeasurementCounts,
        JobData,
        Metadata,
        PostJobsRequest,
        RunRequest,
        RunResult,
        ServerJobStatus,
        Status,
        TimelineEntry,
    )
    from shotpack.iqm.result import IQMResult
    from shotpack.measurements.registers import MeasurementKey

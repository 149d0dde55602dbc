"""shotpack's IQM client: models, the REST client, jobs and a Qiskit-style backend.

Names load on first use, so importing :mod:`shotpack.iqm.models` (as the local server does) does
not pull in the HTTP stack.

Example:
    >>> from shotpack.iqm import IQMClient, Circuit, Instruction  # doctest: +SKIP
    >>> client = IQMClient("http://127.0.0.1:8000/")  # doctest: +SKIP
"""

from __future__ import annotations

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

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports("shotpack.iqm", _EXPORTS, globals())

"""shotpack's IQM client: models, the REST client, jobs and a Qiskit-style backend.

Names load on first use, so importing :mod:`shotpack.iqm.models` (as the local server does) does
not pull in the HTTP stack.

Example:
    >>> from shotpack.iqm import IQMClient, Circuit, Instruction  # doctest: +SKIP
    >>> client = IQMClient("http://127.0.0.1:8000/")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # models
    "Circuit": "shotpack.iqm.models",
    "Instruction": "shotpack.iqm.models",
    "CircuitCompilationOptions": "shotpack.iqm.models",
    "HeraldingMode": "shotpack.iqm.models",
    "MoveGateValidationMode": "shotpack.iqm.models",
    "MoveGateFrameTrackingMode": "shotpack.iqm.models",
    "DDMode": "shotpack.iqm.models",
    "DDStrategy": "shotpack.iqm.models",
    "STANDARD_DD_STRATEGY": "shotpack.iqm.models",
    "PostJobsRequest": "shotpack.iqm.models",
    "RunRequest": "shotpack.iqm.models",
    "RunResult": "shotpack.iqm.models",
    "Status": "shotpack.iqm.models",
    "Metadata": "shotpack.iqm.models",
    "JobData": "shotpack.iqm.models",
    "ServerJobStatus": "shotpack.iqm.models",
    "StaticQuantumArchitecture": "shotpack.iqm.models",
    "DynamicQuantumArchitecture": "shotpack.iqm.models",
    "GateInfo": "shotpack.iqm.models",
    "GateImplementationInfo": "shotpack.iqm.models",
    "CircuitMeasurementCounts": "shotpack.iqm.models",
    "CalibrationSet": "shotpack.iqm.models",
    "QualityMetricSet": "shotpack.iqm.models",
    "ObservationFinder": "shotpack.iqm.models",
    # client
    "IQMClient": "shotpack.iqm.client",
    "CircuitJob": "shotpack.iqm.circuit_job",
    # jobs
    "IQMBackend": "shotpack.iqm.backend",
    "IQMJob": "shotpack.iqm.job",
    "JobStatus": "shotpack.iqm.job",
    "IQMResult": "shotpack.iqm.result",
    "MeasurementKey": "shotpack.iqm.result",
    # errors
    "ShotpackError": "shotpack.errors",
    "ClientConfigurationError": "shotpack.iqm.errors",
    "ClientAuthenticationError": "shotpack.iqm.errors",
    "CircuitValidationError": "shotpack.iqm.errors",
    "CircuitExecutionError": "shotpack.iqm.errors",
    "JobFailedError": "shotpack.iqm.errors",
    "JobCancelledError": "shotpack.iqm.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shotpack.iqm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

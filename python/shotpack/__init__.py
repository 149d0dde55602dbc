"""shotpack: quantum-job results to analysis-ready data, fast.

IQM per-shot measurements (nested lists or raw JSON bodies) become packed, Qiskit-compatible
``BitArray``s, counts and expectation values; a Rust extension does every per-shot loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shotpack._lazy import lazy_exports
from shotpack._version import __version__

# Public name -> defining module. Names load on first use, so `import shotpack` stays cheap and
# the client stack (requests, pydantic models) is imported only by users who need it.
_EXPORTS: dict[str, str] = {
    "BitArray": "shotpack.containers.bit_array",
    "DataBin": "shotpack.containers.data_bin",
    "PubResult": "shotpack.containers.pub_result",
    "SamplerPubResult": "shotpack.containers.pub_result",
    "PrimitiveResult": "shotpack.containers.primitive_result",
    "measurements_to_data_bin": "shotpack.measurements.parse",
    "parse_measurements": "shotpack.measurements.parse",
    "IQMClient": "shotpack.iqm.client",
    "IQMBackend": "shotpack.iqm.backend",
    "IQMJob": "shotpack.iqm.job",
    "IQMResult": "shotpack.iqm.result",
    "JobStatus": "shotpack.iqm.job",
    "Circuit": "shotpack.iqm.models.circuit",
    "Instruction": "shotpack.iqm.models.circuit",
    "CircuitOperation": "shotpack.iqm.models.circuit",
    "CircuitCompilationOptions": "shotpack.iqm.models.compilation",
    "RunResult": "shotpack.iqm.models.jobs",
    "ShotpackError": "shotpack.errors",
    "LocalServer": "shotpack.server.local",
    "Parameter": "shotpack.circuit.parameters",
    "ParameterExpression": "shotpack.circuit.parameters",
    "Sampler": "shotpack.primitives.sampler",
    "Estimator": "shotpack.primitives.estimator",
    "save": "shotpack.io",
    "load": "shotpack.io",
    "PauliSum": "shotpack.quantum_info.pauli_sum",
    "ObservablesArray": "shotpack.containers.observables_array",
    "BindingsArray": "shotpack.containers.bindings_array",
    "EstimatorPub": "shotpack.containers.estimator_pub",
    "SamplerPub": "shotpack.containers.sampler_pub",
    "MeasurementGroup": "shotpack.expval.plan",
    "MeasurementPlan": "shotpack.expval.plan",
    "plan_measurements": "shotpack.expval.plan",
    "evaluate_estimator": "shotpack.expval.evaluate",
}

# Kept literal (not computed from _EXPORTS) so that linters and IDEs can read it;
# tests/test_public_api.py checks that the two agree.
__all__ = [
    "BindingsArray",
    "BitArray",
    "Circuit",
    "CircuitCompilationOptions",
    "CircuitOperation",
    "DataBin",
    "Estimator",
    "EstimatorPub",
    "IQMBackend",
    "IQMClient",
    "IQMJob",
    "IQMResult",
    "Instruction",
    "JobStatus",
    "LocalServer",
    "MeasurementGroup",
    "MeasurementPlan",
    "ObservablesArray",
    "Parameter",
    "ParameterExpression",
    "PauliSum",
    "PrimitiveResult",
    "PubResult",
    "RunResult",
    "Sampler",
    "SamplerPub",
    "SamplerPubResult",
    "ShotpackError",
    "__version__",
    "evaluate_estimator",
    "load",
    "measurements_to_data_bin",
    "parse_measurements",
    "plan_measurements",
    "save",
]


__getattr__, __dir__ = lazy_exports("shotpack", _EXPORTS, globals())


if TYPE_CHECKING:
    # Static checkers do not run __getattr__: these imports give every lazy name its real type.
    from shotpack.circuit.parameters import Parameter, ParameterExpression
    from shotpack.containers.bindings_array import BindingsArray
    from shotpack.containers.bit_array import BitArray
    from shotpack.containers.data_bin import DataBin
    from shotpack.containers.estimator_pub import EstimatorPub
    from shotpack.containers.observables_array import ObservablesArray
    from shotpack.containers.primitive_result import PrimitiveResult
    from shotpack.containers.pub_result import PubResult, SamplerPubResult
    from shotpack.containers.sampler_pub import SamplerPub
    from shotpack.errors import ShotpackError
    from shotpack.expval.evaluate import evaluate_estimator
    from shotpack.expval.plan import MeasurementGroup, MeasurementPlan, plan_measurements
    from shotpack.io import load, save
    from shotpack.iqm.backend import IQMBackend
    from shotpack.iqm.client import IQMClient
    from shotpack.iqm.job import IQMJob, JobStatus
    from shotpack.iqm.models.circuit import Circuit, CircuitOperation, Instruction
    from shotpack.iqm.models.compilation import CircuitCompilationOptions
    from shotpack.iqm.models.jobs import RunResult
    from shotpack.iqm.result import IQMResult
    from shotpack.measurements.parse import measurements_to_data_bin, parse_measurements
    from shotpack.primitives.estimator import Estimator
    from shotpack.primitives.sampler import Sampler
    from shotpack.quantum_info.pauli_sum import PauliSum
    from shotpack.server.local import LocalServer

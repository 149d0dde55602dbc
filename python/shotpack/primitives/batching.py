"""What the Sampler and the Estimator share: the server behind a backend, splitting one run's
circuits into server jobs within the server's limits, binding parameter sets, and stacking the
per-circuit results back into PUB-shaped arrays."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from shotpack.circuit.binding import bind_circuit_array, check_parameter_names
from shotpack.containers.estimator_pub import EstimatorPub
from shotpack.containers.pub_inputs import parameter_names
from shotpack.containers.sampler_pub import SamplerPub
from shotpack.iqm.client import IQMClient
from shotpack.iqm.models.circuit import Circuit
from shotpack.iqm.models.compilation import CircuitCompilationOptions
from shotpack.primitives.job import Batch, ExecutionSpan, PrimitiveJob
from shotpack.qiskit.conversion import from_qiskit_pub

if TYPE_CHECKING:
    from shotpack.iqm.circuit_job import CircuitJob


def _client_of(backend: Any) -> tuple[IQMClient, Any, int | None]:
    """``(client, calibration_set_id, max_circuits)`` of an ``IQMBackend`` or ``IQMClient``."""
    if isinstance(backend, IQMClient):
        return backend, None, None
    client = getattr(backend, "client", None)
    if isinstance(client, IQMClient):
        return client, getattr(backend, "calibration_set_id", None), backend.max_circuits
    got = f"{type(backend).__module__}.{type(backend).__qualname__}"
    raise TypeError(
        "backend must be a shotpack.iqm.backend.IQMBackend, a shotpack.qiskit.IQMBackend or a "
        f"shotpack.iqm.client.IQMClient, got {got}"
    )


def _chunks(
    num_circuits: int, shots: int, max_circuits: int | None, max_total: int | None
) -> list[range]:
    """Splits ``range(num_circuits)`` so each chunk respects both server limits."""
    per_job = num_circuits
    if max_circuits is not None:
        per_job = min(per_job, max_circuits)
    if max_total is not None:
        per_job = min(per_job, max(1, max_total // shots))
    per_job = max(per_job, 1)
    return [range(a, min(a + per_job, num_circuits)) for a in range(0, num_circuits, per_job)]


def _bind(circuit: Circuit, bindings: Any, where: str) -> list[Circuit]:
    """One bound circuit per parameter set of ``bindings``, in C order of its shape."""
    names = list(parameter_names(circuit))
    try:
        check_parameter_names(circuit.name, names, list(bindings.parameter_names))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    values = bindings.as_array(names).reshape(bindings.size, len(names))
    return bind_circuit_array(circuit, names, values)


def _as_list(pubs: Iterable[Any]) -> list[Any]:
    if isinstance(pubs, (EstimatorPub, SamplerPub)) or type(pubs).__name__ in (
        "QuantumCircuit",
        "Circuit",
        "SamplerPub",
        "EstimatorPub",
    ):
        pubs = [pubs]
    # Qiskit's own SamplerPub / EstimatorPub objects become the equivalent tuples.
    return [from_qiskit_pub(p) for p in pubs]


class _Primitive:
    """What Sampler and Estimator share: the server, the job limits, and submitting a batch."""

    def __init__(
        self,
        backend: Any,
        options: CircuitCompilationOptions | None,
        max_circuits: int | None,
        max_total_shots: int | None,
    ) -> None:
        self._client, self._calibration_set_id, backend_max = _client_of(backend)
        # A Qiskit-facing backend (shotpack.qiskit.IQMBackend) numbers its qubits itself, also
        # when restricted to a subset: Qiskit qubit i runs on its i-th qubit.
        names = getattr(backend, "physical_qubits", None)
        self._qubit_names: list[str] | None = (
            list(names)
            if isinstance(names, list) and all(isinstance(n, str) for n in names)
            else None
        )
        self.backend = backend
        self.options = options
        self.max_circuits = max_circuits if max_circuits is not None else backend_max
        self.max_total_shots = max_total_shots

    def _submit(self, batch: Batch, started: float) -> PrimitiveJob[Any]:
        """Submits ``batch`` as one server job, or several when the limits split it.

        Args:
            batch: the circuits and how to assemble their results.
            started: ``time.perf_counter()`` when ``run`` began (for the ``prepare`` timing).

        Returns:
            The job; with no circuits (nothing to measure) a job with no server job, whose
            result is assembled from no bins.
        """
        timings = {"prepare": time.perf_counter() - started}
        jobs: list[CircuitJob] = []
        if not batch.circuits:
            return PrimitiveJob(self._client, jobs, batch, timings)
        t0 = time.perf_counter()
        chunks = _chunks(len(batch.circuits), batch.shots, self.max_circuits, self.max_total_shots)
        try:
            for chunk in chunks:
                jobs.append(
                    self._client.submit_circuits(
                        batch.circuits[chunk.start : chunk.stop],
                        calibration_set_id=self._calibration_set_id,
                        shots=batch.shots,
                        options=self.options,
                    )
                )
        except BaseException:
            for j in jobs:  # do not leave half a batch running
                try:
                    j.cancel()
                except Exception:  # best effort; the original error matters more
                    pass
            raise
        timings["submit"] = time.perf_counter() - t0
        return PrimitiveJob(self._client, jobs, batch, timings)


def _metadata(spans: list[ExecutionSpan]) -> dict[str, Any]:
    return {"execution": {"execution_spans": spans}, "version": 2}


def _stack(
    arrays: Sequence[NDArray[np.uint8]], shape: tuple[int, ...], shots: int
) -> NDArray[np.uint8]:
    """Stacks per-circuit ``(shots_job, nbytes)`` arrays into ``(*shape, shots, nbytes)``,
    keeping the first ``shots`` rows of each (one copy, no per-shot loop)."""
    nbytes = arrays[0].shape[1] if arrays else 0
    out = np.empty((len(arrays), shots, nbytes), dtype=np.uint8)
    for i, a in enumerate(arrays):
        out[i] = a[:shots]
    return out.reshape((*shape, shots, nbytes))


# ---------------------------------------------------------------------------------------------
# Sampler
# ---------------------------------------------------------------------------------------------

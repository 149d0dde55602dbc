"""``Sampler``: Qiskit ``SamplerV2``-style sampling of measured bits on an IQM server."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack.containers.bit_array import BitArray
from shotpack.containers.data_bin import DataBin
from shotpack.containers.primitive_result import PrimitiveResult
from shotpack.containers.pub_result import SamplerPubResult
from shotpack.containers.sampler_pub import SamplerPub
from shotpack.iqm.models.circuit import Circuit
from shotpack.iqm.models.compilation import CircuitCompilationOptions
from shotpack.measurements.registers import (
    QISKIT_REGISTERS_KEY,
    complete_registers,
    group_registers,
)
from shotpack.primitives.batching import _as_list, _bind, _metadata, _Primitive, _stack
from shotpack.primitives.job import Batch, ExecutionSpan, PrimitiveJob
from shotpack.qiskit.conversion import coerce_circuit

__all__ = ["Sampler"]


class Sampler(_Primitive):
    """Samples the measured bits of circuits on an IQM server, Qiskit ``SamplerV2``-style.

    Args:
        backend: a :class:`shotpack.iqm.IQMBackend` or :class:`shotpack.iqm.IQMClient`.
        default_shots: shots of a PUB that gives none.
        options: compilation options sent with the job.
        max_circuits: most circuits per server job (default: the backend's ``max_circuits``,
            else unlimited); larger batches are split.
        max_total_shots: most ``circuits x shots`` per server job; larger batches are split.

    Raises:
        TypeError: ``backend`` is neither a backend nor a client; ``default_shots`` not an int.
        ValueError: ``default_shots`` not positive.

    Example:
        >>> sampler = Sampler(IQMBackend(client))  # doctest: +SKIP
        >>> result = sampler.run([(circuit, values)], shots=1000).result()  # doctest: +SKIP
        >>> result[0].data.meas.get_counts()  # doctest: +SKIP
    """

    def __init__(
        self,
        backend: Any,
        *,
        default_shots: int = 1024,
        options: CircuitCompilationOptions | None = None,
        max_circuits: int | None = None,
        max_total_shots: int | None = None,
    ) -> None:
        super().__init__(backend, options, max_circuits, max_total_shots)
        if isinstance(default_shots, bool) or not isinstance(default_shots, int):
            raise TypeError("default_shots must be an integer")
        if default_shots <= 0:
            raise ValueError("default_shots must be positive")
        self.default_shots = default_shots

    def run(
        self, pubs: Iterable[Any], *, shots: int | None = None
    ) -> PrimitiveJob[SamplerPubResult]:
        """Submits the PUBs as one server job and returns its :class:`PrimitiveJob`.

        Args:
            pubs: ``SamplerPub`` s or tuples ``(circuit[, parameter_values[, shots]])``; the
                circuits must measure what is to be sampled.
            shots: shots of PUBs that give none (default ``default_shots``).

        Returns:
            The job; ``job.result()[i].data`` has one :class:`BitArray` per measurement key
            (or per classical register for Qiskit circuits) of shape ``pub.shape``.

        Raises:
            TypeError, ValueError: invalid PUBs (see :class:`~shotpack.SamplerPub`), a
                parameter missing or unknown, or a circuit with no measurement.
            CircuitValidationError: a circuit is not valid for the backend.
        """
        t0 = time.perf_counter()
        coerced = [
            SamplerPub.coerce(pub, self.default_shots if shots is None else shots)
            for pub in _as_list(pubs)
        ]
        circuits: list[Circuit] = []
        plans: list[tuple[int, int, Circuit, SamplerPub]] = []
        for i, pub in enumerate(coerced):
            where = f"pub {i}"
            circ = coerce_circuit(pub.circuit, where, qubit_names=self._qubit_names)
            if not any(inst.name == "measure" for inst in circ.instructions):
                raise ValueError(f"{where}: the circuit {circ.name!r} has no measurement")
            if pub.size == 0:
                raise ValueError(f"{where}: the parameter values of shape {pub.shape} are empty")
            bound = _bind(circ, pub.parameter_values, where)
            plans.append((len(circuits), len(bound), circ, pub))
            circuits.extend(bound)
        if not circuits:
            raise ValueError("no PUBs were given")
        job_shots = max(int(p.shots or self.default_shots) for *_, p in plans)

        def finish(bins: list[DataBin], spans: list[ExecutionSpan]) -> PrimitiveResult[Any]:
            results = []
            for i, (first, count, circ, pub) in enumerate(plans):
                results.append(_sampler_pub_result(i, circ, pub, bins[first : first + count]))
            return PrimitiveResult(results, _metadata(spans))

        ranges: list[tuple[int, int, tuple[int, ...]]] = [
            (first, count, (count, int(pub.shots or job_shots))) for first, count, _, pub in plans
        ]
        return self._submit(Batch(circuits, job_shots, finish, ranges), t0)


def _sampler_pub_result(
    index: int, circ: Circuit, pub: SamplerPub, bins: list[DataBin]
) -> SamplerPubResult:
    where = f"pub {index}"
    shots = int(pub.shots)  # type: ignore[arg-type]
    registers = (circ.metadata or {}).get(QISKIT_REGISTERS_KEY)
    per_circuit: list[dict[str, tuple[NDArray[np.uint8], int]]] = []
    for k, dbin in enumerate(bins):
        if registers is not None:
            # Zero shots for registers when nothing was measured: the shot check below reports it.
            at = f"{where}, circuit {k}: "
            regs = complete_registers(group_registers(dbin, at), registers, 0, at)
        else:
            regs = list(dbin.items())
        per_circuit.append({name: (ba.array, ba.num_bits) for name, ba in regs})
    first = per_circuit[0]
    for k, fields in enumerate(per_circuit):
        for name, (arr, _) in fields.items():
            if arr.shape[0] < shots:
                raise ValueError(
                    f"{where}, parameter set {k}: key {name!r} has {arr.shape[0]} shots, "
                    f"expected {shots} (heralding drops shots; the Sampler needs all of them)"
                )
    data = {}
    for name, (_, num_bits) in first.items():
        stacked = _stack([fields[name][0] for fields in per_circuit], pub.shape, shots)
        data[name] = BitArray(stacked, num_bits)
    return SamplerPubResult(
        DataBin(**data, shape=pub.shape),
        {"shots": shots, "circuit_metadata": circ.user_metadata},
    )

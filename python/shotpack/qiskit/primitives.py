"""Qiskit's V2 primitives on shotpack's fast path: :class:`SamplerV2`, :class:`EstimatorV2`.

Both subclass Qiskit's ``BaseSamplerV2`` / ``BaseEstimatorV2`` and accept what Qiskit's
``BackendSamplerV2`` / ``BackendEstimatorV2`` accept, coercing each PUB with Qiskit's own
``SamplerPub.coerce`` / ``EstimatorPub.coerce`` (so invalid input raises the same exceptions).
The work is shotpack's: all PUBs of a run go to the server as one job, the measurements body is
parsed once in Rust, and the Estimator's expectation values are computed in Rust. Results are
Qiskit's own ``PrimitiveResult``, ``SamplerPubResult`` / ``PubResult`` and ``DataBin``; each
``qiskit.primitives.BitArray`` wraps shotpack's packed buffer without copying it.

Example:
    >>> backend = IQMBackend(url)  # doctest: +SKIP
    >>> isa = generate_preset_pass_manager(1, backend=backend).run(bell)  # doctest: +SKIP
    >>> result = SamplerV2(backend).run([isa], shots=100).result()  # doctest: +SKIP
    >>> result[0].data.meas.get_counts()  # doctest: +SKIP
    {'00': 52, '11': 48}
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit.primitives import (
    BaseEstimatorV2,
    BasePrimitiveJob,
    BaseSamplerV2,
    BitArray,
    DataBin,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
)
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers import JobStatus

from shotpack.containers.bit_array import BitArray as ShotpackBitArray
from shotpack.containers.primitive_result import PrimitiveResult as ShotpackResult
from shotpack.primitives.estimator import Estimator
from shotpack.primitives.job import PrimitiveJob
from shotpack.primitives.sampler import Sampler
from shotpack.qiskit.conversion import qiskit_pub_values

__all__ = [
    "EstimatorV2",
    "EstimatorV2Options",
    "QiskitPrimitiveJob",
    "SamplerV2",
    "SamplerV2Options",
]


class QiskitPrimitiveJob(BasePrimitiveJob[PrimitiveResult, JobStatus]):
    """A Qiskit ``BasePrimitiveJob`` over a shotpack :class:`~shotpack.primitives.job.PrimitiveJob`.

    ``result()`` waits for the server job(s), parses the measurements once and returns Qiskit's
    containers (cached). ``shotpack_job`` is the underlying job.
    """

    def __init__(
        self,
        job: PrimitiveJob[Any] | None,
        convert: Callable[[ShotpackResult[Any] | None], PrimitiveResult],
    ) -> None:
        super().__init__(job_id="" if job is None else job.job_id())
        self.shotpack_job = job
        self._convert = convert
        self._result: PrimitiveResult | None = None

    def result(
        self,
        timeout: float | None = None,
        *,
        progress: bool | None = None,
        progress_callback: Callable[[Any], None] | None = None,
    ) -> PrimitiveResult:
        """Waits for the job and returns its ``PrimitiveResult``.

        Args:
            timeout: longest wait in seconds; ``None`` waits as long as it takes.
            progress: show a progress bar while waiting (queue position, then shots done);
                ``None``: when tqdm is installed and someone watches (a terminal, Jupyter).
            progress_callback: called with each server job's data after every poll.

        Raises:
            JobFailedError: a server job failed. JobCancelledError: it was cancelled.
        """
        if self._result is None:
            job = self.shotpack_job
            done = None
            if job is not None:
                done = job.result(timeout, progress=progress, progress_callback=progress_callback)
            self._result = self._convert(done)
        return self._result

    def status(self) -> JobStatus:
        """The job's status in Qiskit's ``JobStatus``."""
        if self.shotpack_job is None:
            return JobStatus.DONE
        return JobStatus[self.shotpack_job.status().name]

    def done(self) -> bool:
        """Whether the job has finished successfully."""
        return self.status() is JobStatus.DONE

    def running(self) -> bool:
        """Whether the server is running the job."""
        return self.status() is JobStatus.RUNNING

    def cancelled(self) -> bool:
        """Whether the job was cancelled."""
        return self.status() is JobStatus.CANCELLED

    def in_final_state(self) -> bool:
        """Whether the job is done, failed or cancelled."""
        return self.status() in (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED)

    def cancel(self) -> bool:
        """Asks the server to cancel the job's server jobs."""
        return False if self.shotpack_job is None else bool(self.shotpack_job.cancel())


def _qiskit_value(value: Any) -> Any:
    # The packed rows are shared, not copied: a Qiskit BitArray holds the same ndarray.
    if isinstance(value, ShotpackBitArray):
        return BitArray(value.array, value.num_bits)
    return value


def _qiskit_bin(data: Any, shape: tuple[int, ...]) -> DataBin:
    return DataBin(**{k: _qiskit_value(v) for k, v in data.items()}, shape=shape)


@dataclass(slots=True)
class SamplerV2Options:
    """Options of :class:`SamplerV2` (mutable, as Qiskit's ``BackendSamplerV2.options``).

    Attributes:
        default_shots: shots of PUBs that give none.
    """

    default_shots: int = 1024


@dataclass(slots=True)
class EstimatorV2Options:
    """Options of :class:`EstimatorV2` (mutable, as Qiskit's ``BackendEstimatorV2.options``).

    Attributes:
        default_precision: precision of PUBs that give none.
        abelian_grouping: accepted for Qiskit's interface; shotpack always measures
            qubit-wise commuting groups together, which gives the same expectation values.
    """

    default_precision: float = 0.015625
    abelian_grouping: bool = True


class SamplerV2(BaseSamplerV2):
    """Qiskit's ``SamplerV2`` interface on an IQM server, run by shotpack.

    Args:
        backend: a :class:`shotpack.qiskit.IQMBackend`, a shotpack
            :class:`~shotpack.iqm.backend.IQMBackend` or an :class:`~shotpack.iqm.client.IQMClient`.
            Circuits must be ISA circuits of the backend's target (transpile first).
        default_shots: shots of PUBs that give none.

    Raises:
        TypeError: an unsupported backend (the message names its module).

    Example:
        >>> sampler = SamplerV2(backend, default_shots=2000)  # doctest: +SKIP
        >>> result = sampler.run([isa_circuit]).result()  # doctest: +SKIP
        >>> result[0].data.meas.get_counts()  # doctest: +SKIP
    """

    def __init__(self, backend: Any, *, default_shots: int = 1024) -> None:
        self._sampler = Sampler(backend, default_shots=default_shots)
        self._backend = backend
        self._options = SamplerV2Options(default_shots)

    @property
    def backend(self) -> Any:
        """The backend the PUBs run on."""
        return self._backend

    @property
    def default_shots(self) -> int:
        """Shots of PUBs that give none."""
        return self._options.default_shots

    @property
    def options(self) -> SamplerV2Options:
        """The options (``default_shots``), settable."""
        return self._options

    def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> QiskitPrimitiveJob:
        """Coerces the PUBs as Qiskit does and submits them all as one server job.

        Args:
            pubs: ``SamplerPub`` s, ``QuantumCircuit`` s or tuples ``(circuit[,
                parameter_values[, shots]])``.
            shots: shots of PUBs that give none (default ``default_shots``).

        Returns:
            The job; ``result()[i].data`` has one ``BitArray`` per classical register.

        Raises:
            ValueError: invalid PUBs (as Qiskit's ``SamplerPub.coerce``; a bare circuit in
                place of a list of PUBs too), or shots < 1.
            TypeError: a PUB of the wrong type.
            CircuitValidationError: a circuit is not valid for the backend.
        """
        if shots is None:
            shots = self._options.default_shots
        coerced = [SamplerPub.coerce(pub, shots) for pub in pubs]
        submit: list[int] = []
        for i, pub in enumerate(coerced):
            if len(pub.circuit.cregs) == 0:
                warnings.warn(
                    f"pub {i}: the circuit has no classical registers, so its result is empty; "
                    "add measurements to sample them",
                    UserWarning,
                    stacklevel=2,
                )
            if any(inst.operation.name == "measure" for inst in pub.circuit.data):
                submit.append(i)
        # A PUB that measures nothing needs no server: its registers hold zeros, as unmeasured
        # clbits do on the hardware.
        job = None
        if submit:
            job = self._sampler.run(
                [(p.circuit, qiskit_pub_values(p), p.shots) for p in (coerced[i] for i in submit)]
            )
        return QiskitPrimitiveJob(job, _sampler_result(coerced, submit))


def _zeros(pub: Any) -> DataBin:
    fields = {
        creg.name: BitArray(
            np.zeros((*pub.shape, pub.shots, (creg.size + 7) // 8), dtype=np.uint8), creg.size
        )
        for creg in pub.circuit.cregs
    }
    return DataBin(**fields, shape=pub.shape)


def _sampler_result(
    pubs: list[Any], submitted: list[int]
) -> Callable[[ShotpackResult[Any] | None], PrimitiveResult]:
    def convert(res: ShotpackResult[Any] | None) -> PrimitiveResult:
        ran = dict(zip(submitted, res if res is not None else [], strict=True))
        out = []
        for i, pub in enumerate(pubs):
            meta = {"shots": pub.shots, "circuit_metadata": pub.circuit.metadata}
            r = ran.get(i)
            data = _zeros(pub) if r is None else _qiskit_bin(r.data, pub.shape)
            out.append(SamplerPubResult(data, metadata=meta))
        return PrimitiveResult(out, metadata={"version": 2})

    return convert


class EstimatorV2(BaseEstimatorV2):
    """Qiskit's ``EstimatorV2`` interface on an IQM server, run by shotpack.

    Observables are measured in qubit-wise commuting groups, one circuit per group and
    parameter set, all PUBs in one server job; ``evs`` and ``stds`` are computed in Rust. A PUB
    of precision ``p`` runs ``ceil(1 / p**2)`` shots per circuit, as Qiskit's
    ``BackendEstimatorV2`` does.

    Args:
        backend: a :class:`shotpack.qiskit.IQMBackend`, a shotpack
            :class:`~shotpack.iqm.backend.IQMBackend` or an :class:`~shotpack.iqm.client.IQMClient`.
        default_precision: precision of PUBs that give none.
        measure_mitigation: TREX readout mitigation (measurement twirling plus twirled
            calibration circuits; see :class:`shotpack.primitives.Estimator`).
        num_randomizations: measurement-twirling randomizations (default 1, or 32 with
            ``measure_mitigation``).
        seed: seed of the twirling flips.

    Raises:
        TypeError: an unsupported backend. ValueError: ``default_precision <= 0``.

    Example:
        >>> estimator = EstimatorV2(backend)  # doctest: +SKIP
        >>> obs = SparsePauliOp("ZZ").apply_layout(isa.layout)  # doctest: +SKIP
        >>> estimator.run([(isa, obs)]).result()[0].data.evs  # doctest: +SKIP
    """

    def __init__(
        self,
        backend: Any,
        *,
        default_precision: float = 0.015625,
        measure_mitigation: bool = False,
        num_randomizations: int | None = None,
        seed: int | None = None,
    ) -> None:
        self._estimator = Estimator(
            backend,
            default_precision=default_precision,
            measure_mitigation=measure_mitigation,
            num_randomizations=num_randomizations,
            seed=seed,
        )
        self._backend = backend
        self._options = EstimatorV2Options(default_precision)

    @property
    def backend(self) -> Any:
        """The backend the PUBs run on."""
        return self._backend

    @property
    def default_precision(self) -> float:
        """Precision of PUBs that give none."""
        return self._options.default_precision

    @property
    def options(self) -> EstimatorV2Options:
        """The options (``default_precision``, ``abelian_grouping``), settable."""
        return self._options

    def run(self, pubs: Iterable[Any], *, precision: float | None = None) -> QiskitPrimitiveJob:
        """Coerces the PUBs as Qiskit does and submits them all as one server job.

        Args:
            pubs: ``EstimatorPub`` s or tuples ``(circuit, observables[, parameter_values[,
                precision]])``; observables may be anything Qiskit's ``ObservablesArray``
                takes (``SparsePauliOp``, ``Pauli``, ``SparseObservable``, ``str``, dicts,
                nested lists, an ``ObservablesArray``).
            precision: precision of PUBs that give none (default ``default_precision``).

        Returns:
            The job; ``result()[i].data`` holds ``evs`` and ``stds`` of the PUB's shape.

        Raises:
            ValueError: invalid PUBs (as Qiskit's ``EstimatorPub.coerce``), or precision <= 0.
            TypeError: a PUB of the wrong type.
        """
        if precision is None:
            precision = self._options.default_precision
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        for i, pub in enumerate(coerced):
            if pub.precision <= 0.0:
                raise ValueError(f"pub {i}: precision must be larger than 0, got {pub.precision}")
        job = None
        if coerced:
            job = self._estimator.run(
                [
                    (
                        p.circuit,
                        p.observables.tolist(),
                        qiskit_pub_values(p),
                        p.precision,
                    )
                    for p in coerced
                ]
            )
        return QiskitPrimitiveJob(job, _estimator_result(coerced))


def _estimator_result(
    pubs: list[Any],
) -> Callable[[ShotpackResult[Any] | None], PrimitiveResult]:
    def convert(res: ShotpackResult[Any] | None) -> PrimitiveResult:
        out = []
        for pub, r in zip(pubs, res if res is not None else [], strict=True):
            meta = {
                "target_precision": pub.precision,
                "shots": r.metadata.get("shots"),
                "circuit_metadata": pub.circuit.metadata,
                "resilience": r.metadata.get("resilience", {}),
                "num_randomizations": r.metadata.get("num_randomizations", 1),
            }
            out.append(PubResult(_qiskit_bin(r.data, pub.shape), metadata=meta))
        # The run's options, as Qiskit Runtime reports them (twirling, resilience).
        extra: dict[str, Any] = {}
        if res is not None:
            extra = {k: res.metadata[k] for k in ("twirling", "resilience") if k in res.metadata}
        return PrimitiveResult(out, metadata={**extra, "version": 2})

    return convert

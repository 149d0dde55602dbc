"""``Sampler`` and ``Estimator``: Qiskit V2-style primitives running on an IQM server.

Both take PUBs (:mod:`shotpack.pubs`) whose circuits are shotpack IQM :class:`Circuit` s or Qiskit
``QuantumCircuit`` s already transpiled to IQM's native gates (converted with
:func:`shotpack.qiskit.to_iqm_circuit`), bind every parameter set with NumPy, and submit **all
circuits of all PUBs as one server job** (split into several only when ``max_circuits`` or
``max_total_shots`` require it). ``job.result()`` waits, downloads the per-shot body once and
parses it in Rust into packed bits; the results are assembled per PUB with NumPy (no per-shot
Python work).

Qubit order of observables: observable qubit ``k`` (the ``k``-th character from the right of a
label) is ``circuit.qubits[k]``: the ``k``-th qubit of the circuit in natural order of names
(``QB1 < QB2 < QB10``), or the ``k``-th entry of the qubit list the circuit declares in
``metadata["shotpack.qubits"]`` (Qiskit circuits converted by ``to_iqm_circuit`` declare their
qubits in Qiskit index order, so Qiskit observables laid out on the transpiled circuit apply).

All PUBs of one ``run`` share the server job's shot count (the largest any PUB needs); a PUB that
needs fewer shots uses the first ones of each of its circuits (shots are independent, so this is
an unbiased subsample).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from shotpack import _native
from shotpack.circuit.binding import bind_circuit_array, check_parameter_names
from shotpack.containers.bit_array import BitArray
from shotpack.containers.data_bin import DataBin
from shotpack.containers.estimator_pub import EstimatorPub
from shotpack.containers.primitive_result import PrimitiveResult
from shotpack.containers.pub_inputs import parameter_names
from shotpack.containers.pub_result import PubResult, SamplerPubResult
from shotpack.containers.sampler_pub import SamplerPub
from shotpack.iqm.models.circuit import Circuit, Instruction
from shotpack.iqm.models.compilation import CircuitCompilationOptions
from shotpack.iqm.models.jobs import ServerJobStatus
from shotpack.qiskit import QISKIT_REGISTERS_KEY

if TYPE_CHECKING:
    from shotpack.iqm.circuit_job import CircuitJob
    from shotpack.iqm.client import IQMClient

__all__ = ["Estimator", "ExecutionSpan", "PrimitiveJob", "Sampler"]


T = TypeVar("T", bound=PubResult)


# ---------------------------------------------------------------------------------------------
# Backend access and job splitting
# ---------------------------------------------------------------------------------------------


def _client_of(backend: Any) -> tuple[IQMClient, Any, int | None]:
    """``(client, calibration_set_id, max_circuits)`` of an ``IQMBackend`` or ``IQMClient``."""
    from shotpack.iqm.client import IQMClient

    if isinstance(backend, IQMClient):
        return backend, None, None
    client = getattr(backend, "client", None)
    if isinstance(client, IQMClient):
        return client, getattr(backend, "calibration_set_id", None), backend.max_circuits
    raise TypeError(
        f"backend must be a shotpack IQMBackend or IQMClient, got {type(backend).__name__}"
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


def _iqm_circuit(circuit: Any, where: str) -> Circuit:
    if isinstance(circuit, Circuit):
        return circuit
    if type(circuit).__name__ == "QuantumCircuit":
        from shotpack.qiskit import to_iqm_circuit

        return to_iqm_circuit(circuit)
    raise TypeError(
        f"{where}: the circuit must be a shotpack Circuit or a Qiskit QuantumCircuit, got "
        f"{type(circuit).__name__}"
    )


def _bind(circuit: Circuit, bindings: Any, where: str) -> list[Circuit]:
    """One bound circuit per parameter set of ``bindings``, in C order of its shape."""
    names = list(parameter_names(circuit))
    try:
        check_parameter_names(circuit.name, names, list(bindings.parameter_names))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    values = bindings.as_array(names).reshape(bindings.size, len(names))
    return bind_circuit_array(circuit, names, values)


# ---------------------------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionSpan:
    """When one server job ran, and which data of which PUB it produced.

    Attributes:
        start: execution start, from the server's job timeline (UTC).
        stop: execution end.
        data_slices: ``{pub index: (shape, start, stop)}``: the PUB's data flattened to
            ``shape`` (parameter sets x shots) and the flat range this job produced.
    """

    start: datetime
    stop: datetime
    data_slices: dict[int, tuple[tuple[int, ...], int, int]]

    @property
    def duration(self) -> float:
        """``stop - start`` in seconds."""
        return (self.stop - self.start).total_seconds()


@dataclass
class _Batch:
    """The circuits of one ``run`` and how to turn their results into a PrimitiveResult."""

    circuits: list[Circuit]
    shots: int
    finish: Callable[[list[DataBin], list[ExecutionSpan]], Any]
    # Per PUB: (first circuit, number of circuits, flat data shape) for the execution spans.
    pub_ranges: list[tuple[int, int, tuple[int, ...]]] = field(default_factory=list)


class PrimitiveJob(Generic[T]):
    """The job of one ``Sampler.run`` / ``Estimator.run``: one server job (or a few, when the
    server's limits split the batch).

    ``result()`` waits for the server, downloads the per-shot results, parses them in Rust and
    assembles the :class:`~shotpack.containers.PrimitiveResult`; the result is cached.
    :attr:`timings` then holds the seconds spent in each stage: ``prepare`` (PUB coercion,
    binding, circuit building), ``submit`` (validation and POST), ``execute`` (waiting for the
    server), ``download``, ``parse`` (Rust, JSON to packed bits) and ``assemble`` (PUB results).
    """

    def __init__(
        self, client: IQMClient, jobs: list[CircuitJob], batch: _Batch, timings: dict[str, float]
    ) -> None:
        self._client = client
        self._jobs = jobs
        self._batch = batch
        self._result: Any = None
        self.timings: dict[str, float] = dict(timings)

    def __repr__(self) -> str:
        return f"PrimitiveJob(job_id={self.job_id()!r}, status={self.status().name})"

    def job_id(self) -> str:
        """The server job's id (comma-separated ids when the batch was split)."""
        return ",".join(str(j.job_id) for j in self._jobs)

    @property
    def server_jobs(self) -> list[CircuitJob]:
        """The server jobs of this primitive job."""
        return list(self._jobs)

    def status(self) -> Any:
        """A :class:`shotpack.iqm.job.JobStatus`, from the least advanced server job."""
        from shotpack.iqm.job import JobStatus

        statuses = [j.update() for j in self._jobs]
        for bad, out in (
            (ServerJobStatus.FAILED, JobStatus.ERROR),
            (ServerJobStatus.CANCELLED, JobStatus.CANCELLED),
            (ServerJobStatus.WAITING, JobStatus.QUEUED),
            (ServerJobStatus.PROCESSING, JobStatus.RUNNING),
        ):
            if bad in statuses:
                return out
        return JobStatus.DONE

    def done(self) -> bool:
        """Whether every server job completed."""
        return self.status().name == "DONE"

    def running(self) -> bool:
        """Whether a server job is running."""
        return self.status().name == "RUNNING"

    def cancelled(self) -> bool:
        """Whether a server job was cancelled."""
        return self.status().name == "CANCELLED"

    def in_final_state(self) -> bool:
        """Whether nothing will change any more (done, failed or cancelled)."""
        return self.status().name in ("DONE", "ERROR", "CANCELLED")

    def cancel(self) -> bool:
        """Asks the server to cancel every unfinished server job; True if any was asked."""
        asked = False
        for j in self._jobs:
            if not j.update().is_terminal:
                j.cancel()
                asked = True
        return asked

    def result(self, timeout: float | None = None) -> PrimitiveResult[T]:
        """Waits for the server, then returns the primitive result (cached).

        Args:
            timeout: longest wait in seconds for the server; None waits as long as it takes.

        Raises:
            OperationTimeoutError: the server did not finish in time.
            JobFailedError: a server job failed (the server's errors are in the message).
            JobCancelledError: a server job was cancelled.
        """
        if self._result is not None:
            return self._result
        from shotpack.iqm.errors import JobCancelledError, JobFailedError, OperationTimeoutError
        from shotpack.measurements import parse_measurements

        t0 = time.perf_counter()
        for j in self._jobs:
            status = j.wait_for_completion(timeout)
            if status == ServerJobStatus.FAILED:
                raise JobFailedError(f"job {j.job_id} failed: {j.errors}")
            if status == ServerJobStatus.CANCELLED:
                raise JobCancelledError(f"job {j.job_id} was cancelled")
            if not status.is_terminal:
                raise OperationTimeoutError(f"job {j.job_id} did not finish in {timeout} s")
        t1 = time.perf_counter()
        # The body is fetched raw (not through get_job_data_bins) to time download and parsing
        # apart.
        bodies = [self._client.get_job_measurements_body(j.job_id) for j in self._jobs]
        t2 = time.perf_counter()
        bins: list[DataBin] = []
        for body in bodies:
            bins.extend(parse_measurements(body))
        del bodies
        t3 = time.perf_counter()
        if len(bins) != len(self._batch.circuits):
            raise JobFailedError(
                f"the server returned results for {len(bins)} circuits, expected "
                f"{len(self._batch.circuits)}"
            )
        spans = self._spans()
        result = self._batch.finish(bins, spans)
        t4 = time.perf_counter()
        self.timings.update(execute=t1 - t0, download=t2 - t1, parse=t3 - t2, assemble=t4 - t3)
        self._result = result
        return result

    def _spans(self) -> list[ExecutionSpan]:
        spans = []
        offset = 0
        for j in self._jobs:
            n = len(j.payload().circuits)
            lo, hi = offset, offset + n
            offset = hi
            start = j.data.find_timeline_entry("execution_started")
            stop = j.data.find_timeline_entry("execution_ended")
            now = datetime.now(timezone.utc)
            slices = {}
            for p, (first, count, shape) in enumerate(self._batch.pub_ranges):
                a, b = max(first, lo), min(first + count, hi)
                if a < b:
                    per = int(np.prod(shape[1:], dtype=np.int64))
                    slices[p] = (shape, (a - first) * per, (b - first) * per)
            spans.append(
                ExecutionSpan(
                    start=start.timestamp if start else now,
                    stop=stop.timestamp if stop else now,
                    data_slices=slices,
                )
            )
        return spans


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
        self.backend = backend
        self.options = options
        self.max_circuits = max_circuits if max_circuits is not None else backend_max
        self.max_total_shots = max_total_shots

    def _submit(self, batch: _Batch, started: float) -> PrimitiveJob[Any]:
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


def _register_fields(
    dbin: DataBin, registers: list[list[Any]], where: str
) -> dict[str, tuple[NDArray[np.uint8], int]]:
    """Per-key bits of one Qiskit-converted circuit grouped into its registers, in circuit
    order; registers nothing measured are all zeros, as in Qiskit's samplers."""
    names = list(dbin.keys())
    arrays = [dbin[k].array for k in names]
    shots = arrays[0].shape[0] if arrays else 0
    grouped = {
        name: (arr, nb)
        for name, arr, nb in _native.assemble_registers(
            names, arrays, [dbin[k].num_bits for k in names]
        )
    }
    out = {}
    for name, size in registers:
        if name in grouped:
            _, nb = grouped[name]
            if nb != size:
                raise ValueError(f"{where}: register {name!r} has {nb} bits, expected {size}")
            out[name] = grouped[name]
        else:
            out[name] = (np.zeros((shots, (size + 7) // 8), dtype=np.uint8), size)
    return out


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
            TypeError, ValueError: invalid PUBs (see :class:`~shotpack.pubs.SamplerPub`), a
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
            circ = _iqm_circuit(pub.circuit, where)
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
        return self._submit(_Batch(circuits, job_shots, finish, ranges), t0)


def _as_list(pubs: Iterable[Any]) -> list[Any]:
    if isinstance(pubs, (EstimatorPub, SamplerPub)) or type(pubs).__name__ in (
        "QuantumCircuit",
        "Circuit",
    ):
        return [pubs]
    return list(pubs)


def _sampler_pub_result(
    index: int, circ: Circuit, pub: SamplerPub, bins: list[DataBin]
) -> SamplerPubResult:
    where = f"pub {index}"
    shots = int(pub.shots)  # type: ignore[arg-type]
    registers = (circ.metadata or {}).get(QISKIT_REGISTERS_KEY)
    per_circuit: list[dict[str, tuple[NDArray[np.uint8], int]]] = []
    for k, dbin in enumerate(bins):
        if registers is not None:
            per_circuit.append(_register_fields(dbin, registers, f"{where}, circuit {k}"))
        else:
            per_circuit.append({name: (ba.array, ba.num_bits) for name, ba in dbin.items()})
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


# ---------------------------------------------------------------------------------------------
# Estimator
# ---------------------------------------------------------------------------------------------


def _free_key(circ: Circuit, base: str) -> str:
    used = {inst.args.get("key") for inst in circ.instructions if inst.name == "measure"}
    key, n = base, 0
    while key in used:
        n += 1
        key = f"{base}_{n}"
    return key


class Estimator(_Primitive):
    """Estimates expectation values of observables on an IQM server, Qiskit ``EstimatorV2``-style.

    For each PUB, the Pauli terms broadcast onto each parameter set are grouped into qubit-wise
    commuting sets (:func:`shotpack.estimator.plan_measurements`); each group is one circuit: the
    bound circuit, ``prx`` basis rotations, and one ``measure`` of the group's qubits. Values and
    standard errors come from :func:`shotpack.estimator.evaluate_estimator` (Rust).

    Measurement twirling (``num_randomizations > 1``): every group is run as that many circuits,
    each flipping a random subset of the measured qubits with ``prx(pi, 0)`` just before the
    measurement; the flips are XORed out of the bits, so readout bias averages out, and
    ``stds`` becomes the spread of the per-randomization estimates.

    Args:
        backend: a :class:`shotpack.iqm.IQMBackend` or :class:`shotpack.iqm.IQMClient`.
        default_precision: target standard error of PUBs that give none; shots per group are
            ``ceil(1 / precision**2)``.
        num_randomizations: measurement-twirling randomizations (1: no twirling).
        seed: seed of the twirling flips.
        options: compilation options sent with the job.
        max_circuits: most circuits per server job (default: the backend's ``max_circuits``).
        max_total_shots: most ``circuits x shots`` per server job.

    Raises:
        TypeError: wrong argument types.
        ValueError: a non-positive precision or number of randomizations.

    Example:
        >>> est = Estimator(IQMBackend(client))  # doctest: +SKIP
        >>> res = est.run([(circuit, [["XX"], ["IY"]], values)]).result()  # doctest: +SKIP
        >>> res[0].data.evs.shape  # doctest: +SKIP
        (2, 100)
    """

    def __init__(
        self,
        backend: Any,
        *,
        default_precision: float = 1 / 64,
        num_randomizations: int = 1,
        seed: int | None = None,
        options: CircuitCompilationOptions | None = None,
        max_circuits: int | None = None,
        max_total_shots: int | None = None,
    ) -> None:
        super().__init__(backend, options, max_circuits, max_total_shots)
        _check_precision(default_precision, "default_precision")
        if isinstance(num_randomizations, bool) or not isinstance(num_randomizations, int):
            raise TypeError("num_randomizations must be an integer")
        if num_randomizations < 1:
            raise ValueError("num_randomizations must be at least 1")
        self.default_precision = float(default_precision)
        self.num_randomizations = num_randomizations
        self._rng = np.random.default_rng(seed)

    def run(
        self, pubs: Iterable[Any], *, precision: float | None = None
    ) -> PrimitiveJob[PubResult]:
        """Submits the PUBs as one server job and returns its :class:`PrimitiveJob`.

        Args:
            pubs: ``EstimatorPub`` s or tuples ``(circuit, observables[, parameter_values[,
                precision]])``; ``observables`` broadcast against the parameter values.
            precision: target precision of PUBs that give none (default
                ``default_precision``).

        Returns:
            The job; ``job.result()[i].data`` holds ``evs``, ``stds`` and
            ``ensemble_standard_error`` of shape ``pub.shape``.

        Raises:
            TypeError, ValueError: invalid PUBs (see :class:`~shotpack.pubs.EstimatorPub`),
                shapes that do not broadcast, a precision that is not positive, a parameter
                missing or unknown.
            CircuitValidationError: a circuit is not valid for the backend.
        """
        from shotpack.expval.plan import plan_measurements

        t0 = time.perf_counter()
        if precision is not None:
            _check_precision(precision, "precision")
        default = self.default_precision if precision is None else precision
        coerced = [EstimatorPub.coerce(pub, default) for pub in _as_list(pubs)]
        num_rand = self.num_randomizations
        circuits: list[Circuit] = []
        plans: list[dict[str, Any]] = []
        for i, pub in enumerate(coerced):
            where = f"pub {i}"
            prec = pub.precision
            _check_precision(prec, f"{where}: precision")
            circ = _iqm_circuit(pub.circuit, where)
            qubits = circ.qubits
            used = circ.all_locus_components()
            undeclared = sorted(used - set(qubits) - _resonators(circ))
            if undeclared:
                raise ValueError(
                    f"{where}: circuit {circ.name!r} acts on {undeclared}, which its declared "
                    f"qubit list {list(qubits)} does not contain"
                )
            shots = math.ceil(1.0 / float(prec) ** 2)  # type: ignore[arg-type]
            per_rand = math.ceil(shots / num_rand)
            bound = _bind(circ, pub.parameter_values, where)
            plan = plan_measurements(pub)
            key = _free_key(circ, "shotpack_estimator")
            first = len(circuits)
            flips: list[NDArray[np.uint8] | None] = []
            for g in plan.groups:
                flat = (
                    int(np.ravel_multi_index(g.parameter_index, plan.parameter_shape))
                    if (plan.parameter_shape)
                    else 0
                )
                base = bound[flat]
                locus = tuple(qubits[q] for q in g.qubits)
                rotations = [
                    Instruction.model_construct(
                        name="prx",
                        locus=(qubits[q],),
                        args={"angle": angle, "phase": phase},
                        implementation=None,
                    )
                    for q, angle, phase in g.rotations
                ]
                if num_rand > 1:
                    mask = self._rng.integers(0, 2, size=(num_rand, len(locus)), dtype=np.uint8)
                    flips.append(BitArray.from_bool_array(mask, order="little").array)
                else:
                    mask = np.zeros((1, len(locus)), dtype=np.uint8)
                    flips.append(None)
                for r in range(num_rand):
                    flipped = [
                        Instruction.model_construct(
                            name="prx",
                            locus=(locus[j],),
                            args={"angle": math.pi, "phase": 0.0},
                            implementation=None,
                        )
                        for j in np.flatnonzero(mask[r]).tolist()
                    ]
                    measure = Instruction.model_construct(
                        name="measure", locus=locus, args={"key": key}, implementation=None
                    )
                    circuits.append(
                        Circuit.model_construct(
                            name=base.name,
                            instructions=[*base.instructions, *rotations, *flipped, measure],
                            metadata=base.metadata,
                        )
                    )
            plans.append(
                {
                    "plan": plan,
                    "first": first,
                    "count": len(circuits) - first,
                    "shots": per_rand,
                    "key": key,
                    "flips": flips,
                    "precision": float(prec),  # type: ignore[arg-type]
                    "circuit": circ,
                }
            )
        # No circuits when every observable is the identity: nothing to measure, values exact.
        job_shots = max((p["shots"] for p in plans if p["count"]), default=0)

        def finish(bins: list[DataBin], spans: list[ExecutionSpan]) -> PrimitiveResult[Any]:
            return PrimitiveResult(
                [_estimator_pub_result(p, bins, num_rand) for p in plans], _metadata(spans)
            )

        ranges: list[tuple[int, int, tuple[int, ...]]] = [
            (p["first"], p["count"], (p["count"], p["shots"])) for p in plans
        ]
        return self._submit(_Batch(circuits, job_shots, finish, ranges), t0)


def _resonators(circ: Circuit) -> set[str]:
    return {i.locus[1] for i in circ.instructions if i.name == "move" and len(i.locus) == 2}


def _check_precision(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{what} must be a real number, not {type(value).__name__}")
    if not value > 0 or not math.isfinite(float(value)):
        raise ValueError(f"{what} must be positive and finite, got {value}")


def _estimator_pub_result(p: dict[str, Any], bins: list[DataBin], num_rand: int) -> PubResult:
    from shotpack.expval.evaluate import evaluate_estimator

    plan = p["plan"]
    shots, key = p["shots"], p["key"]
    data = []
    for g_index, group in enumerate(plan.groups):
        start = p["first"] + g_index * num_rand
        arrays = []
        for r in range(num_rand):
            ba = bins[start + r][key]
            if ba.num_shots < shots:
                raise ValueError(
                    f"group {g_index} (basis {group.basis}): {ba.num_shots} shots came back, "
                    f"expected {shots} (heralding drops shots; the Estimator needs all of them)"
                )
            arrays.append(ba.array)
        shape = (num_rand,) if num_rand > 1 else ()
        data.append(BitArray(_stack(arrays, shape, shots), group.num_bits))
    flips = p["flips"] if num_rand > 1 else None
    dbin = evaluate_estimator(plan, data, flips)
    metadata = {
        "target_precision": p["precision"],
        "shots": shots * num_rand,
        "num_randomizations": num_rand,
        "circuit_metadata": p["circuit"].user_metadata,
    }
    return PubResult(dbin, metadata)

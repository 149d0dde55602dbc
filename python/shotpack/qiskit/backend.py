"""A Qiskit ``BackendV2`` for an IQM server: a ``Target`` to transpile for, and ``run``.

:class:`IQMBackend` wraps shotpack's Qiskit-free :class:`shotpack.iqm.backend.IQMBackend`: it
builds a :class:`IQMTarget` from the server's dynamic quantum architecture (qubit ``i`` is the
``i``-th qubit in natural name order, ``QB2`` before ``QB10``) and the calibration set's quality
metrics, so ``transpile(qc, backend=backend)`` and ``generate_preset_pass_manager(backend=...)``
give circuits that run unchanged, with noise-aware layout. ``run`` returns a Qiskit job whose
``result()`` is a real ``qiskit.result.Result``.

This module imports Qiskit; ``import shotpack`` and ``import shotpack.qiskit`` do not.

Example:
    >>> backend = IQMBackend("http://127.0.0.1:8000")  # doctest: +SKIP
    >>> isa = transpile(bell, backend=backend)  # doctest: +SKIP
    >>> backend.run(isa, shots=1000).result().get_counts()  # doctest: +SKIP
    {'00': 503, '11': 497}
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from qiskit.circuit import Barrier, Delay, Measure, Parameter, QuantumCircuit, Reset
from qiskit.circuit.library import CZGate, IGate, RGate
from qiskit.providers import BackendV2, JobV1, Options
from qiskit.providers import JobStatus as QiskitJobStatus
from qiskit.result import Result
from qiskit.transpiler import InstructionProperties, Target

from shotpack._version import __version__
from shotpack.containers.bit_array import BitArray
from shotpack.errors import ShotpackError
from shotpack.iqm.backend import IQMBackend as CoreBackend
from shotpack.iqm.client import IQMClient
from shotpack.iqm.job import IQMJob
from shotpack.iqm.models.architecture import DynamicQuantumArchitecture
from shotpack.iqm.models.calibration import ObservationFinder
from shotpack.iqm.models.circuit import sort_components
from shotpack.iqm.result import ExperimentResult, IQMResult
from shotpack.measurements.registers import QISKIT_REGISTERS_KEY
from shotpack.qiskit.conversion import QISKIT_QUBITS_KEY, to_iqm_circuit

__all__ = ["IQMBackend", "IQMQiskitJob", "IQMTarget"]

# How IQM's quality metrics name the fidelity of each native gate (``metrics.<method>.<gate>...``).
_FIDELITY_METHOD = {"prx": "rb", "cz": "irb", "measure": "ssro"}


def _locus_str(locus: Sequence[str]) -> str:
    return "__".join(locus)


class IQMTarget(Target):
    """The Qiskit ``Target`` of an IQM calibration set.

    Qubit ``i`` is ``physical_qubits[i]``. Instructions: ``r`` (IQM's ``prx``) on the qubits
    where ``prx`` is calibrated, ``cz`` on calibrated pairs (both directions: CZ is symmetric),
    ``measure`` where calibrated, ``reset``, ``delay`` and ``id`` on every qubit, and
    ``barrier`` on any qubits. Each calibrated instruction carries ``error = 1 - fidelity`` and
    ``duration`` (seconds) from the calibration set and its quality metrics when the server
    reports them.

    Args:
        architecture: the dynamic quantum architecture.
        metrics: the calibration set's observations and quality metrics, or ``None``.
        qubits: the qubits to include, in index order; default all, in natural name order.

    Raises:
        ValueError: a qubit is not in the architecture.
    """

    def __new__(
        cls,
        architecture: DynamicQuantumArchitecture,
        metrics: ObservationFinder | None = None,
        qubits: Sequence[str] | None = None,
    ) -> IQMTarget:
        # Qiskit's Target is built in __new__ (Rust), which must get the qubit count.
        num_qubits = len(architecture.qubits) if qubits is None else len(list(qubits))
        description = f"IQM calibration set {architecture.calibration_set_id}"
        out: IQMTarget = super().__new__(cls, description=description, num_qubits=num_qubits)
        return out

    def __init__(
        self,
        architecture: DynamicQuantumArchitecture,
        metrics: ObservationFinder | None = None,
        qubits: Sequence[str] | None = None,
    ) -> None:
        names = list(sort_components(architecture.qubits) if qubits is None else qubits)
        unknown = sorted(set(names) - set(architecture.qubits))
        if unknown:
            raise ValueError(f"qubits {unknown} are not in the architecture")
        if len(set(names)) != len(names):
            raise ValueError(f"qubits repeat a name: {names}")
        self.iqm_architecture = architecture
        self.iqm_metrics = metrics
        self.iqm_qubits: list[str] = names
        self._index = {q: i for i, q in enumerate(names)}
        gates = architecture.gates

        def props(gate: str, symmetric: bool = False) -> dict[tuple[int, ...], Any]:
            out: dict[tuple[int, ...], Any] = {}
            info = gates.get(gate)
            if info is None:
                return out
            for locus in info.loci:
                if not all(c in self._index for c in locus):
                    continue
                p = self._properties(gate, info.implementation_for(locus), locus)
                idx = tuple(self._index[c] for c in locus)
                out[idx] = p
                if symmetric:
                    out.setdefault(idx[::-1], p)
            return out

        everywhere: dict[tuple[int, ...], Any] = {(i,): None for i in range(len(names))}
        self.add_instruction(RGate(Parameter("θ"), Parameter("φ")), props("prx"))
        cz = props("cz", symmetric=True)
        if cz:
            self.add_instruction(CZGate(), cz)
        self.add_instruction(Measure(), props("measure"))
        self.add_instruction(Reset(), dict(everywhere))
        self.add_instruction(Delay(Parameter("t")), dict(everywhere))
        self.add_instruction(IGate(), dict(everywhere))
        # Variadic: a barrier may span any qubits (the server takes any existing components).
        self.add_instruction(Barrier, name="barrier")

    def _properties(
        self, gate: str, impl: str, locus: Sequence[str]
    ) -> InstructionProperties | None:
        if self.iqm_metrics is None:
            return None
        where = f"{gate}.{impl}.{_locus_str(locus)}"
        duration = self.iqm_metrics.get(f"gates.{where}.duration")
        fidelity = self.iqm_metrics.get(
            f"metrics.{_FIDELITY_METHOD.get(gate, 'irb')}.{where}.fidelity"
        )
        if duration is None and fidelity is None:
            return None
        return InstructionProperties(
            duration=None if duration is None else float(duration),
            error=None if fidelity is None else max(0.0, 1.0 - float(fidelity)),
        )

    @property
    def physical_qubits(self) -> list[int]:
        """Qubit indices ``0 .. num_qubits - 1`` (names: :attr:`iqm_qubits`)."""
        return list(range(self.num_qubits or 0))

    def restrict_to_qubits(self, qubits: Iterable[int | str]) -> IQMTarget:
        """A target of only ``qubits`` (indices of this target, or names), in the given order.

        Example:
            >>> target.restrict_to_qubits(["QB1", "QB2"]).num_qubits  # doctest: +SKIP
            2
        """
        names = [self.iqm_qubits[q] if isinstance(q, int) else str(q) for q in qubits]
        return IQMTarget(self.iqm_architecture, self.iqm_metrics, names)


class IQMBackend(BackendV2):
    """An IQM quantum computer as a Qiskit ``BackendV2``.

    The calibration set is fixed at construction (the server's default when
    ``calibration_set_id`` is ``None``), together with its quality metrics, which become the
    target's gate errors and durations.

    Args:
        client_or_url: an :class:`~shotpack.iqm.client.IQMClient`, or the server's URL.
        calibration_set_id: the calibration set to run with; ``None`` for the current default.
        qubits: restrict the backend to these qubit names, in index order (see
            :meth:`restrict_to_qubits`).

    Raises:
        TypeError: ``client_or_url`` is neither a client nor a URL.

    Example:
        >>> backend = IQMBackend(IQMClient(url))  # doctest: +SKIP
        >>> backend.num_qubits, backend.qubit_name_to_index("QB2")  # doctest: +SKIP
        (5, 1)
    """

    def __init__(
        self,
        client_or_url: IQMClient | str,
        *,
        calibration_set_id: uuid.UUID | str | None = None,
        qubits: Sequence[str] | None = None,
    ) -> None:
        if isinstance(client_or_url, str):
            client = IQMClient(client_or_url)
        elif isinstance(client_or_url, IQMClient):
            client = client_or_url
        else:
            raise TypeError(
                "IQMBackend needs a shotpack.iqm.client.IQMClient or a server URL, got "
                f"{type(client_or_url).__module__}.{type(client_or_url).__qualname__}"
            )
        self.core = CoreBackend(client, calibration_set_id=calibration_set_id)
        super().__init__(
            provider=None,
            name=client.quantum_computer_name,
            description=f"IQM quantum computer {client.quantum_computer_name!r} (shotpack)",
            backend_version=__version__,
        )
        try:
            metrics: ObservationFinder | None = client.get_calibration_quality_metrics(
                self.core.calibration_set_id
            )
        except ShotpackError:
            metrics = None  # a server without metrics: a target without errors or durations
        self._target = IQMTarget(self.core.architecture, metrics, qubits)

    def __repr__(self) -> str:
        return (
            f"<shotpack.qiskit.IQMBackend name={self.name!r} qubits={self.num_qubits} "
            f"calibration_set_id={self.calibration_set_id}>"
        )

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024, memory=False)

    @property
    def client(self) -> IQMClient:
        """The client that talks to the server."""
        return self.core.client

    @property
    def calibration_set_id(self) -> uuid.UUID:
        """The calibration set every job of this backend uses."""
        return self.core.calibration_set_id

    @property
    def target(self) -> IQMTarget:
        """The target: calibrated instructions with their errors and durations."""
        return self._target

    @property
    def max_circuits(self) -> int | None:
        """No limit on circuits per job is known (``None``)."""
        return self.core.max_circuits

    @property
    def physical_qubits(self) -> list[str]:
        """IQM names of qubits ``0 .. num_qubits - 1``."""
        return list(self._target.iqm_qubits)

    def qubit_name_to_index(self, name: str) -> int:
        """The index of an IQM qubit name.

        Raises:
            ValueError: the backend has no such qubit.
        """
        try:
            return self._target.iqm_qubits.index(name)
        except ValueError:
            raise ValueError(f"the backend has no qubit named {name!r}") from None

    def index_to_qubit_name(self, index: int) -> str:
        """The IQM name of qubit ``index``.

        Raises:
            IndexError: out of range.
        """
        if not 0 <= index < len(self._target.iqm_qubits):
            raise IndexError(f"qubit index {index} out of range for {self.num_qubits} qubits")
        return self._target.iqm_qubits[index]

    def restrict_to_qubits(self, qubits: Iterable[int | str]) -> IQMTarget:
        """A target of only ``qubits`` (indices or names), qubit ``i`` being the ``i``-th given;
        transpile against it and run with a backend built with ``qubits=`` the same names.

        Example:
            >>> t = backend.restrict_to_qubits(["QB3", "QB1"])  # doctest: +SKIP
            >>> t.num_qubits  # doctest: +SKIP
            2
        """
        return self._target.restrict_to_qubits(qubits)

    def run(self, run_input: Any, **options: Any) -> IQMQiskitJob:
        """Submits transpiled circuits as one server job.

        Args:
            run_input: a ``QuantumCircuit`` or a list of them, in the target's gates (transpile
                first); qubit ``i`` runs on :meth:`index_to_qubit_name` ``(i)``.
            **options: ``shots`` (default 1024) and ``memory`` (keep per-shot memory strings);
                ``timeout_seconds`` for the job's ``result()``. ``seed_simulator`` (which
                Qiskit's ``BackendSamplerV2`` passes) is ignored, with a warning if not None.

        Returns:
            The submitted job.

        Raises:
            ValueError: an unknown option, a circuit with more qubits than the backend, or an
                operation the target lacks.
            TypeError: not a ``QuantumCircuit``.
        """
        # Qiskit's BackendSamplerV2 always passes seed_simulator (None unless set); as
        # Qiskit-on-IQM does with options it cannot apply, a seed is ignored with a warning.
        if options.pop("seed_simulator", None) is not None:
            warnings.warn(
                "seed_simulator is ignored: an IQM quantum computer has no simulator seed",
                UserWarning,
                stacklevel=2,
            )
        unknown = set(options) - {"shots", "memory", "timeout_seconds"}
        if unknown:
            raise ValueError(f"unknown run options {sorted(unknown)}; known: shots, memory")
        shots = int(options.get("shots", self.options.shots))
        memory = bool(options.get("memory", self.options.memory))
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        converted = []
        for i, qc in enumerate(circuits):
            if not isinstance(qc, QuantumCircuit):
                raise TypeError(
                    f"circuit {i}: expected a qiskit QuantumCircuit, got "
                    f"{type(qc).__module__}.{type(qc).__qualname__}"
                )
            if qc.num_qubits > self.num_qubits:
                raise ValueError(
                    f"circuit {i} ({qc.name!r}) has {qc.num_qubits} qubits but the backend has "
                    f"{self.num_qubits}; transpile it for this backend first"
                )
            converted.append(to_iqm_circuit(qc, qubit_names=self.physical_qubits[: qc.num_qubits]))
        job = self.core.run(converted, shots=shots, timeout_seconds=options.get("timeout_seconds"))
        return IQMQiskitJob(self, job, memory=memory)

    def retrieve_job(self, job_id: str | uuid.UUID) -> IQMQiskitJob:
        """A job of this backend by id (checked with one request); memory is included.

        Raises:
            NotFoundError: no such job on the server.
        """
        return IQMQiskitJob(self, self.core.retrieve_job(job_id), memory=True)


class IQMQiskitJob(JobV1):
    """A Qiskit job over a shotpack :class:`~shotpack.iqm.job.IQMJob`.

    ``result()`` waits for the job and returns a ``qiskit.result.Result``: per circuit, counts
    (and memory when requested) per classical register, formatted by Qiskit from the headers
    ``name``, ``creg_sizes`` and ``memory_slots``. ``iqm_job`` is the shotpack job (its
    ``result().data`` gives the packed ``BitArray`` per register).
    """

    def __init__(self, backend: IQMBackend, job: IQMJob, *, memory: bool = False) -> None:
        super().__init__(backend, job.job_id())
        self.iqm_job = job
        self._memory = memory
        self._result: Result | None = None

    def submit(self) -> None:
        """Not used: ``IQMBackend.run`` submits the job."""
        raise RuntimeError("the job was submitted by IQMBackend.run")

    def status(self) -> QiskitJobStatus:
        """The job's status in Qiskit's ``JobStatus``."""
        return QiskitJobStatus[self.iqm_job.status().name]

    def cancel(self) -> bool:
        """Asks the server to cancel the job; ``True`` if it was cancelled."""
        return bool(self.iqm_job.cancel())

    def result(self, timeout: float | None = None) -> Result:
        """Waits for the job and returns its Qiskit ``Result``.

        Raises:
            JobFailedError: the job failed. JobCancelledError: it was cancelled.
            OperationTimeoutError: ``timeout`` passed.
        """
        if self._result is None:
            res = self.iqm_job.result(timeout)
            self._result = Result.from_dict(_result_dict(self.backend(), res, self._memory))
        return self._result


def _hex_memory(bits: BitArray | None, shots: int) -> list[str]:
    """One ``0x...`` string per shot, Qiskit's raw memory format, built by NumPy without a
    Python loop per shot: the packed rows are big-endian bytes, so their hex is the value."""
    if bits is None or bits.num_bits == 0:
        return ["0x0"] * shots
    rows = np.ascontiguousarray(bits.array).reshape(shots, -1)
    width = 2 * rows.shape[1]
    digits = np.frombuffer(rows.tobytes().hex().encode("ascii"), dtype=f"S{width}")
    out: list[str] = np.char.add("0x", digits.astype(f"U{width}")).tolist()
    return out


def _experiment_dict(r: ExperimentResult, memory: bool) -> dict[str, Any]:
    regs = r.registers
    creg_sizes = [[name, ba.num_bits] for name, ba in regs]
    memory_slots = sum(ba.num_bits for _, ba in regs)
    # Qiskit's raw result data is hex (as its simulators write it): Result.get_counts and
    # get_memory format it by the headers, and Qiskit's BackendSamplerV2 reads it directly.
    # All registers as one value, first register lowest, as Qiskit numbers clbits.
    joined = BitArray.concatenate_bits([ba for _, ba in regs]) if regs else None
    if joined is None or joined.num_bits == 0:
        counts = {"0x0": r.shots}
    else:
        counts = {hex(k): v for k, v in joined.get_int_counts().items()}
    data: dict[str, Any] = {"counts": counts}
    if memory:
        data["memory"] = _hex_memory(joined, r.shots)
    metadata = {
        k: v for k, v in r.metadata.items() if k not in (QISKIT_REGISTERS_KEY, QISKIT_QUBITS_KEY)
    }
    return {
        "shots": r.shots,
        "success": True,
        "status": "DONE",
        "data": data,
        "header": {
            "name": r.name,
            "creg_sizes": creg_sizes,
            "memory_slots": memory_slots,
            "metadata": metadata,
        },
    }


def _result_dict(backend: Any, res: IQMResult, memory: bool) -> dict[str, Any]:
    return {
        "backend_name": backend.name,
        "backend_version": backend.backend_version,
        "job_id": res.job_id,
        "qobj_id": "",
        "success": True,
        "date": res.date,
        "results": [_experiment_dict(r, memory) for r in res.results],
        "calibration_set_id": str(backend.calibration_set_id),
    }

"""IQMBackend: run circuits on an IQM quantum computer and get Qiskit-style jobs back.

Example:
    >>> client = IQMClient("http://127.0.0.1:8000/")  # doctest: +SKIP
    >>> backend = IQMBackend(client)  # doctest: +SKIP
    >>> job = backend.run([circuit], shots=1000)  # doctest: +SKIP
    >>> job.result().get_counts()  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shotpack.iqm.job import IQMJob
from shotpack.iqm.models.architecture import DynamicQuantumArchitecture, StaticQuantumArchitecture
from shotpack.iqm.models.circuit import Circuit, QIRCode
from shotpack.iqm.models.compilation import CircuitCompilationOptions
from shotpack.qiskit.conversion import coerce_circuit

if TYPE_CHECKING:
    from shotpack.iqm.client import IQMClient


class IQMBackend:
    """A quantum computer behind an :class:`~shotpack.iqm.client.IQMClient`.

    The calibration set is resolved once, at construction: with ``calibration_set_id=None`` the
    server's current default is fetched and its id kept, so every job of this backend runs with
    the calibration its circuits were validated against, and ``run`` needs no extra request.

    Args:
        client: the client to use.
        calibration_set_id: calibration set to run with; ``None`` for the current default.

    Example:
        >>> backend = IQMBackend(client)  # doctest: +SKIP
        >>> backend.name, backend.num_qubits  # doctest: +SKIP
        ('garnet', 20)
    """

    def __init__(
        self, client: IQMClient, *, calibration_set_id: uuid.UUID | str | None = None
    ) -> None:
        self.client = client
        self._architecture = client.get_dynamic_quantum_architecture(calibration_set_id)
        self.name = client.quantum_computer_name
        self.max_circuits: int | None = None

    def __repr__(self) -> str:
        return f"IQMBackend(name={self.name!r}, calibration_set_id={self.calibration_set_id!s})"

    @property
    def calibration_set_id(self) -> uuid.UUID:
        """The calibration set every job of this backend uses."""
        return self._architecture.calibration_set_id

    @property
    def architecture(self) -> DynamicQuantumArchitecture:
        """Gates and loci calibrated in the backend's calibration set."""
        return self._architecture

    @property
    def static_architecture(self) -> StaticQuantumArchitecture:
        """The chip's static architecture (fetched once by the client)."""
        return self.client.get_static_quantum_architecture()

    @property
    def qubits(self) -> list[str]:
        """Physical qubit names of the calibration set."""
        return list(self._architecture.qubits)

    @property
    def num_qubits(self) -> int:
        """Number of qubits (computational resonators not included)."""
        return len(self._architecture.qubits)

    def run(
        self,
        circuits: Circuit | QIRCode | Any | Sequence[Circuit | QIRCode | Any],
        shots: int = 1024,
        options: CircuitCompilationOptions | None = None,
        *,
        qubit_mapping: dict[str, str] | None = None,
        use_timeslot: bool = False,
        timeout_seconds: float | None = None,
        memory: bool = True,
    ) -> IQMJob:
        """Validates and submits circuits; returns the job at once.

        Args:
            circuits: one circuit or a list (shotpack ``Circuit``, QIR text, or a Qiskit
                ``QuantumCircuit`` already transpiled to IQM's native gates).
            shots: shots per circuit.
            options: compilation options.
            qubit_mapping: logical -> physical names, if the circuits use logical names.
            use_timeslot: submit to the timeslot queue.
            timeout_seconds: default wait of the job's ``result()``.
            memory: accepted for Qiskit code (``backend.run(qc, memory=True)``); per-shot
                memory is always kept, so ``result().get_memory()`` works either way.

        Returns:
            The submitted job.

        Raises:
            ValueError: ``shots`` < 1 or no circuits.
            TypeError: an unsupported circuit type.
            CircuitValidationError: a circuit fails validation.
        """
        del memory  # memory is always kept
        if isinstance(circuits, (Circuit, str)) or type(circuits).__name__ == "QuantumCircuit":
            batch = [circuits]
        else:
            batch = list(circuits)
        converted = [coerce_circuit(c, f"circuit {i}", allow_qir=True) for i, c in enumerate(batch)]
        request = self.client.create_run_request(
            converted,
            qubit_mapping=qubit_mapping,
            calibration_set_id=self.calibration_set_id,
            shots=shots,
            options=options,
        )
        job = IQMJob(
            self,
            None,
            timeout_seconds,
            run_request=request,
            use_timeslot=use_timeslot,
        )
        job.submit()
        return job

    def retrieve_job(self, job_id: str | uuid.UUID) -> IQMJob:
        """A job handle for an existing job (checked with one request).

        Raises:
            NotFoundError: no such job on the server.
        """
        cj = self.client.get_job(job_id)
        job = IQMJob(self, cj.job_id)
        job._data = cj.data
        return job

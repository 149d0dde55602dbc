"""Job results in Qiskit's formats: classic counts/memory and V2 primitive results.

Classical registers come from the measurement keys, as Qiskit-on-IQM writes them:
``<creg>_<creg_len>_<creg_idx>_<clbit_idx>`` is clbit ``clbit_idx`` of register ``creg``. A
circuit converted by :func:`shotpack.qiskit.to_iqm_circuit` also records its registers in its
metadata, so registers that nothing measured are present (all zeros), as in Qiskit. Circuits
whose keys are not of that form get one "register" per key, in key order.

A memory string lists registers from the highest index to the lowest, separated by spaces, each
register highest clbit first (``'10 1'``). Counts are in first-occurrence order. Both are
produced in Rust from the packed arrays (:func:`shotpack._native.qiskit_memory` /
``qiskit_counts``); no Python code runs per shot. A circuit without measurements has an empty
memory list and empty counts.

Example:
    >>> result = job.result()  # doctest: +SKIP
    >>> result.get_counts(0)  # doctest: +SKIP
    {'00 1': 510, '11 0': 490}
    >>> result.data[0].data.c.get_counts()  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shotpack import _native
from shotpack.containers.bit_array import BitArray
from shotpack.containers.data_bin import DataBin
from shotpack.containers.primitive_result import PrimitiveResult
from shotpack.containers.pub_result import SamplerPubResult


@dataclass
class ExperimentResult:
    """The result of one circuit.

    Attributes:
        name: the circuit's name.
        shots: number of shots returned.
        registers: ``(name, BitArray)`` per classical register (or per key), ascending index.
        metadata: the circuit's metadata.
        calibration_set_id: calibration set the job ran with, when known.
    """

    name: str
    shots: int
    registers: list[tuple[str, BitArray]]
    metadata: dict[str, Any] = field(default_factory=dict)
    calibration_set_id: str | None = None
    _memory: list[str] | None = field(default=None, repr=False)
    _counts: dict[str, int] | None = field(default=None, repr=False)

    @property
    def header(self) -> dict[str, Any]:
        """Qiskit's per-experiment header: ``{"name": circuit name}``, as Qiskit-on-IQM sets it
        (Qiskit's ``Result`` finds experiments by ``header["name"]``)."""
        return {"name": self.name}

    def _native_args(self) -> list[tuple[np.ndarray, int]]:
        out = []
        for _, ba in self.registers:
            arr = np.ascontiguousarray(ba.array, dtype=np.uint8).reshape(
                self.shots, (ba.num_bits + 7) // 8
            )
            out.append((arr, ba.num_bits))
        return out

    def memory(self) -> list[str]:
        """One Qiskit memory string per shot (cached)."""
        if self._memory is None:
            self._memory = _native.qiskit_memory(self._native_args(), self.shots)
        return self._memory

    def counts(self) -> dict[str, int]:
        """Qiskit counts, in first-occurrence order (cached)."""
        if self._counts is None:
            self._counts = _native.qiskit_counts(self._native_args(), self.shots)
        return self._counts

    def data_bin(self) -> DataBin:
        """The registers as a ``DataBin`` (one BitArray per register)."""
        fields: dict[str, Any] = dict(self.registers)
        return DataBin(**fields)


class IQMResult:
    """Results of a job, with Qiskit's ``Result`` accessors and V2 primitive data.

    Args:
        backend_name: name of the backend that ran the job.
        job_id: the job's id.
        results: one :class:`ExperimentResult` per circuit, in submission order.
        metadata: job-level metadata (calibration set, timeline, ...).
    """

    def __init__(
        self,
        backend_name: str,
        job_id: str,
        results: list[ExperimentResult],
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.backend_name = backend_name
        self.backend_version = ""
        self.job_id = job_id
        self.success = True
        self.date = datetime.date.today().isoformat()
        self.results = results
        self.metadata: dict[str, Any] = dict(metadata or {})

    def __repr__(self) -> str:
        return f"IQMResult(job_id={self.job_id!r}, circuits={len(self.results)})"

    def _index(self, experiment: Any) -> int:
        if isinstance(experiment, (int, np.integer)) and not isinstance(experiment, bool):
            i = int(experiment)
            if not -len(self.results) <= i < len(self.results):
                raise IndexError(f"experiment {i} out of range for {len(self.results)} circuit(s)")
            return i % len(self.results)
        name = experiment if isinstance(experiment, str) else getattr(experiment, "name", None)
        if isinstance(name, str):
            for i, r in enumerate(self.results):
                if r.name == name:
                    return i
            raise KeyError(f"no circuit named {name!r} in this result")
        raise TypeError(f"experiment must be an index, a name or a circuit, got {type(experiment)}")

    def _select(self, experiment: Any) -> list[int] | int:
        if experiment is None:
            if len(self.results) == 1:
                return 0
            return list(range(len(self.results)))
        return self._index(experiment)

    def get_counts(self, experiment: Any = None) -> dict[str, int] | list[dict[str, int]]:
        """Counts of one circuit, or of all when ``experiment`` is ``None`` and there are several.

        Args:
            experiment: index, circuit name, or an object with a ``name`` (a circuit).

        Returns:
            ``{memory string: shots}`` in first-occurrence order (a list of them for all).

        Raises:
            IndexError: index out of range. KeyError: unknown name.
        """
        sel = self._select(experiment)
        if isinstance(sel, list):
            return [self.results[i].counts() for i in sel]
        return self.results[sel].counts()

    def get_memory(self, experiment: Any = None) -> list[str] | list[list[str]]:
        """Memory strings (one per shot) of one circuit, or of all (see :meth:`get_counts`)."""
        sel = self._select(experiment)
        if isinstance(sel, list):
            return [self.results[i].memory() for i in sel]
        return self.results[sel].memory()

    @property
    def data(self) -> PrimitiveResult[SamplerPubResult]:
        """The results as Qiskit V2 sampler results: one ``SamplerPubResult`` per circuit, with a
        ``BitArray`` per classical register (per key for circuits not from Qiskit)."""
        pubs = [
            SamplerPubResult(
                r.data_bin(),
                metadata={"shots": r.shots, "circuit_metadata": r.metadata, "name": r.name},
            )
            for r in self.results
        ]
        return PrimitiveResult(pubs, metadata={"job_id": self.job_id, **self.metadata})

    def to_dict(self) -> dict[str, Any]:
        """The result in the dict shape of Qiskit's ``Result.from_dict`` (with memory)."""
        return {
            "backend_name": self.backend_name,
            "backend_version": self.backend_version,
            "qobj_id": "",
            "job_id": self.job_id,
            "success": self.success,
            "date": self.date,
            "results": [
                {
                    "shots": r.shots,
                    "success": True,
                    "data": {"memory": r.memory(), "counts": r.counts(), "metadata": r.metadata},
                    "header": {"name": r.name},
                    "calibration_set_id": r.calibration_set_id,
                }
                for r in self.results
            ],
            **self.metadata,
        }

    def to_qiskit(self) -> Any:
        """This result as a ``qiskit.result.Result`` (needs Qiskit)."""
        from qiskit.result import Result

        return Result.from_dict(self.to_dict())

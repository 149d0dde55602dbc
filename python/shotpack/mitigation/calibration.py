"""Per-qubit readout calibration, measured on a device, and mitigation of samples with it.

:meth:`ReadoutCalibration.measure` runs two circuits on the device: every qubit prepared in 0
and every qubit flipped to 1 (one ``prx(pi)`` each), then measured. The fraction of 1s read in
the first gives ``P(1|0)`` per qubit, the fraction of 0s in the second ``P(0|1)``; the errors
of different qubits are assumed independent (the tensor-product model M3 uses).

:meth:`ReadoutCalibration.apply` mitigates counts or a ``BitArray`` as M3 ("matrix-free
measurement mitigation") does: the assignment matrix restricted to the observed outcomes
(optionally to pairs within a Hamming distance), each column renormalised over them, solved by
Jacobi-preconditioned GMRES in Rust with no ``2**n`` matrix and no stored ``m x m`` one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack import _native
from shotpack.containers.bit_array import BitArray
from shotpack.iqm.models.circuit import Circuit, Instruction
from shotpack.measurements.parse import parse_measurements
from shotpack.mitigation.quasi import QuasiDistribution, _Problem

__all__ = ["ReadoutCalibration"]

#: Key of the calibration circuits' measurement.
_KEY = "cal"


def _client_of(device: Any) -> Any:
    """The IQM client behind a client, a shotpack ``IQMBackend`` or its Qiskit backend."""
    client = getattr(device, "client", device)
    if not hasattr(client, "submit_circuits"):
        raise TypeError(
            f"expected an IQMClient or a backend with a .client, got {type(device).__name__}"
        )
    return client


def _qubit_names(device: Any, qubits: Sequence[str | int]) -> list[str]:
    """Qubit names; integers index the Qiskit backend's qubits (``target.iqm_qubits``)."""
    names: list[str] = []
    for q in qubits:
        if isinstance(q, str):
            names.append(q)
            continue
        target = getattr(device, "target", None)
        order = getattr(target, "iqm_qubits", None)
        if order is None:
            raise TypeError(
                f"qubit {q!r} is an index, which needs a Qiskit IQMBackend; give qubit names"
            )
        names.append(order[int(q)])
    if len(set(names)) != len(names):
        raise ValueError(f"qubits repeat a name: {names}")
    return names


def _rows_from_bitstrings(keys: list[str], num_bits: int) -> NDArray[np.uint8]:
    """Packed rows (BitArray layout) of equal-length ``0``/``1`` strings, vectorized."""
    nbytes = (num_bits + 7) // 8
    raw = np.frombuffer("".join(keys).encode("ascii"), dtype=np.uint8).reshape(len(keys), -1)
    bits = raw - ord("0")
    if bits.size and bits.max() > 1:
        row = int(np.nonzero((bits > 1).any(axis=1))[0][0])
        raise ValueError(f"counts key {keys[row]!r} is not a bitstring of 0s and 1s")
    padded = np.zeros((len(keys), nbytes * 8), dtype=np.uint8)
    padded[:, nbytes * 8 - num_bits :] = bits
    return np.packbits(padded, axis=1)


def _outcomes(
    data: Any,
) -> tuple[list[str] | None, NDArray[np.uint8], NDArray[np.float64], int]:
    """``(keys or None, unique packed rows, counts, num_bits)`` of counts or a BitArray."""
    if isinstance(data, Mapping):
        keys = [str(k).replace(" ", "") for k in data]
        if not keys:
            raise ValueError("no counts to mitigate")
        num_bits = len(keys[0])
        if any(len(k) != num_bits for k in keys):
            raise ValueError("counts keys must be bitstrings of one length")
        if len(set(keys)) != len(keys):
            raise ValueError("counts keys repeat an outcome (after removing spaces)")
        counts = np.fromiter((data[k] for k in data), dtype=np.float64, count=len(keys))
        if (counts < 0).any():
            raise ValueError("counts must be non-negative")
        return keys, _rows_from_bitstrings(keys, num_bits), counts, num_bits
    array = getattr(data, "array", None)
    bits_attr = getattr(data, "num_bits", None)
    if array is None or bits_attr is None:
        raise TypeError(f"expected a counts mapping or a BitArray, got {type(data).__name__}")
    num_bits = int(bits_attr)
    nbytes = (int(num_bits) + 7) // 8
    packed = np.ascontiguousarray(np.asarray(array, dtype=np.uint8).reshape(-1, nbytes))
    if num_bits <= 64:
        int_counts = _native.get_int_counts(packed, int(num_bits))
        values = np.fromiter(int_counts.keys(), dtype=np.uint64, count=len(int_counts))
        counts = np.fromiter(int_counts.values(), dtype=np.float64, count=len(int_counts))
        rows = values.astype(">u8").view(np.uint8).reshape(-1, 8)[:, 8 - nbytes :]
        return None, np.ascontiguousarray(rows), counts, int(num_bits)
    str_counts = _native.get_counts(packed, int(num_bits))
    keys = list(str_counts)
    counts = np.fromiter(str_counts.values(), dtype=np.float64, count=len(keys))
    return keys, _rows_from_bitstrings(keys, int(num_bits)), counts, int(num_bits)


@dataclass(frozen=True)
class ReadoutCalibration:
    """Readout errors of some qubits: ``P(1|0)`` and ``P(0|1)`` per qubit.

    Args:
        qubits: Qubit names, in calibration order.
        p01: ``P(1|0)`` per qubit (a 0 read as 1).
        p10: ``P(0|1)`` per qubit (a 1 read as 0).
        shots: Shots per calibration circuit (``None`` if not measured).

    Example:
        >>> cal = ReadoutCalibration.from_errors(["QB1"], p01=[0.01], p10=[0.03])
        >>> cal.assignment_fidelities.tolist()
        [0.98]
    """

    qubits: tuple[str, ...]
    p01: NDArray[np.float64]
    p10: NDArray[np.float64]
    shots: int | None = None

    @classmethod
    def from_errors(
        cls,
        qubits: Sequence[str],
        p01: Sequence[float] | NDArray[np.float64],
        p10: Sequence[float] | NDArray[np.float64],
        shots: int | None = None,
    ) -> ReadoutCalibration:
        """A calibration from known errors.

        Raises:
            ValueError: Lengths that differ from the qubits', or probabilities outside
                ``[0, 1]`` or summing to 1 or more for a qubit.
        """
        a = np.array(p01, dtype=np.float64).reshape(-1)
        b = np.array(p10, dtype=np.float64).reshape(-1)
        if len(a) != len(qubits) or len(b) != len(qubits):
            raise ValueError(
                f"{len(qubits)} qubits need as many P(1|0) and P(0|1), got {len(a)} and {len(b)}"
            )
        bad = np.nonzero((a < 0) | (b < 0) | (a + b >= 1) | ~np.isfinite(a + b))[0]
        if len(bad):
            q = qubits[int(bad[0])]
            raise ValueError(f"qubit {q}: P(1|0) and P(0|1) must be >= 0 and sum below 1")
        a.flags.writeable = False
        b.flags.writeable = False
        return cls(tuple(qubits), a, b, shots)

    @classmethod
    def measure(
        cls,
        device: Any,
        qubits: Sequence[str | int],
        shots: int = 10_000,
        *,
        timeout: float | None = 300.0,
    ) -> ReadoutCalibration:
        """Measures the calibration on a device (two circuits of ``shots`` shots in one job).

        Args:
            device: A :class:`shotpack.iqm.IQMClient`, a shotpack ``IQMBackend`` or a
                :class:`shotpack.qiskit.IQMBackend` (integer qubits index its target).
            qubits: The qubits to calibrate.
            shots: Shots per circuit.
            timeout: Seconds to wait for the job.

        Returns:
            The calibration (an error estimate of 0 is kept as 0).

        Raises:
            TypeError: A device without a client, or integer qubits without a Qiskit backend.
            ValueError: Repeated qubits or ``shots < 1``.
            shotpack.iqm.errors.IQMClientError: The job failed.

        Example:
            >>> cal = ReadoutCalibration.measure(client, ["QB1", "QB2"])  # doctest: +SKIP
        """
        if shots < 1:
            raise ValueError(f"shots must be >= 1, got {shots}")
        client = _client_of(device)
        names = _qubit_names(device, qubits)
        if not names:
            raise ValueError("no qubits to calibrate")
        measure = Instruction(name="measure", locus=tuple(names), args={"key": _KEY})
        flips = [
            Instruction(name="prx", locus=(q,), args={"angle": float(np.pi), "phase": 0.0})
            for q in names
        ]
        circuits = [
            Circuit(name="readout_cal_0", instructions=[measure]),
            Circuit(name="readout_cal_1", instructions=[*flips, measure]),
        ]
        job = client.submit_circuits(circuits, shots=shots)
        job.wait_for_completion(timeout)
        bins = parse_measurements(client.get_job_measurements_body(job.job_id))
        zeros, ones = (getattr(b, _KEY) for b in bins)
        # The measure's locus order is the bit order: column j is qubit names[j].
        p01 = zeros.to_bool_array(order="little").mean(axis=-2)
        p10 = 1.0 - ones.to_bool_array(order="little").mean(axis=-2)
        return cls.from_errors(names, p01, p10, shots=zeros.num_shots)

    @classmethod
    def from_quality_metrics(cls, device: Any, qubits: Sequence[str | int]) -> ReadoutCalibration:
        """The readout errors the device's calibration set reports (no circuits run).

        Reads ``metrics.ssro.measure.constant.<qubit>.error_0_to_1`` and ``error_1_to_0``;
        where only the ``fidelity`` is reported, both errors are ``1 - fidelity``.

        Args:
            device: An ``IQMClient`` or a backend with a ``.client`` (see :meth:`measure`).
            qubits: The qubits.

        Returns:
            The calibration (``shots`` is ``None``).

        Raises:
            ValueError: A qubit without readout metrics.

        Example:
            >>> cal = ReadoutCalibration.from_quality_metrics(client, ["QB1"])  # doctest: +SKIP
        """
        client = _client_of(device)
        names = _qubit_names(device, qubits)
        metrics = client.get_calibration_quality_metrics()
        p01, p10 = [], []
        for q in names:
            where = f"metrics.ssro.measure.constant.{q}"
            a, b = metrics.get(f"{where}.error_0_to_1"), metrics.get(f"{where}.error_1_to_0")
            if a is None or b is None:
                fidelity = metrics.get(f"{where}.fidelity")
                if fidelity is None:
                    raise ValueError(f"the device reports no readout metrics for {q}")
                a = b = 1.0 - float(fidelity)
            p01.append(float(a))
            p10.append(float(b))
        return cls.from_errors(names, p01, p10)

    @property
    def assignment_fidelities(self) -> NDArray[np.float64]:
        """``1 - (P(1|0) + P(0|1)) / 2`` per qubit."""
        return 1.0 - (self.p01 + self.p10) / 2

    def _bit_errors(
        self, num_bits: int, qubits: Sequence[str | int] | None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if qubits is None:
            if num_bits != len(self.qubits):
                raise ValueError(
                    f"the data has {num_bits} bits but the calibration {len(self.qubits)} "
                    "qubits; say which qubit each bit measured with qubits="
                )
            return self.p01, self.p10
        if len(qubits) != num_bits:
            raise ValueError(f"qubits names {len(qubits)} qubits for {num_bits} bits")
        index = {q: i for i, q in enumerate(self.qubits)}
        where = []
        for q in qubits:
            if isinstance(q, str):
                if q not in index:
                    raise ValueError(f"qubit {q} is not calibrated (have {list(self.qubits)})")
                where.append(index[q])
            else:
                if not 0 <= int(q) < len(self.qubits):
                    raise ValueError(f"qubit index {q} is out of range")
                where.append(int(q))
        return self.p01[where], self.p10[where]

    def apply(
        self,
        data: Mapping[str, int] | BitArray | Any,
        qubits: Sequence[str | int] | None = None,
        *,
        distance: int | None = None,
        tol: float = 1e-10,
        max_iter: int = 200,
    ) -> QuasiDistribution:
        """Mitigates counts or samples: the quasi-probabilities of the observed outcomes.

        Args:
            data: Counts ``{bitstring: count}`` (bit 0 rightmost), or a ``BitArray``
                (shotpack's or Qiskit's; every position's shots together).
            qubits: The calibrated qubit (name or index) that bit ``j`` measured, for each
                bit; default the calibration's qubits in order.
            distance: Only outcomes within this Hamming distance are coupled (``None``: all);
                smaller is faster and less exact.
            tol: Relative residual at which GMRES stops.
            max_iter: Most GMRES iterations.

        Returns:
            The quasi-distribution over the observed outcomes.

        Raises:
            TypeError: Data of another kind.
            ValueError: Empty or malformed counts, a bit count that does not match, an
                uncalibrated qubit, or GMRES not converging.

        Example:
            >>> cal = ReadoutCalibration.from_errors(["QB1"], p01=[0.1], p10=[0.1])
            >>> {k: round(v, 6) for k, v in cal.apply({"0": 900, "1": 100}).items()}
            {'0': 1.0, '1': 0.0}
        """
        keys, rows, counts, num_bits = _outcomes(data)
        p01, p10 = self._bit_errors(num_bits, qubits)
        shots = float(counts.sum())
        if shots <= 0:
            raise ValueError("no shots to mitigate")
        probs = counts / shots
        p01 = np.ascontiguousarray(p01, dtype=np.float64)
        p10 = np.ascontiguousarray(p10, dtype=np.float64)
        quasi, iterations, _ = _native.readout_mitigate(
            rows, num_bits, probs, p01, p10, distance, tol, max_iter
        )
        if keys is None:
            keys = _native.get_bitstrings(rows, num_bits)
        problem = _Problem(rows, p01, p10, distance, max(tol, 1e-8), max_iter)
        return QuasiDistribution(
            keys,
            quasi,
            rows,
            shots=int(shots),
            num_bits=num_bits,
            iterations=iterations,
            problem=problem,
        )

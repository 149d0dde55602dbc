"""The simulated device: qubits, couplers, calibrated gates and calibration data.

The default device has qubits ``QB1..QBn`` on a square lattice (row-major, ``ceil(sqrt(n))``
columns, couplers to the right and lower neighbours). Every qubit has calibrated ``prx``,
``cc_prx`` and ``measure``; every coupler a calibrated ``cz``. ``reset``, ``barrier`` and
``delay`` need no calibration, as on IQM hardware. The documents served for it follow the shapes
of the IQM Server API: static architecture (SQA), dynamic architecture (DQA) for the one
calibration set, the calibration set and its quality metrics, and channel properties.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from shotpack.server.simulator import GateNoise, ReadoutError

__all__ = ["GATES", "Architecture", "square_lattice"]

#: Calibrated gates: name -> (implementation, arity). ``arity`` 2 uses the couplers.
GATES: dict[str, tuple[str, int]] = {
    "prx": ("drag_gaussian", 1),
    "cc_prx": ("prx_composite", 1),
    "cz": ("tgss", 2),
    "measure": ("constant", 1),
}
#: Operations that need no calibration: any existing component is a valid locus.
UNCALIBRATED = frozenset({"barrier", "delay", "reset"})

_NAMESPACE = uuid.UUID("6f1f3c43-51b5-4a77-9b5e-3f1c2a9b7d10")
_CREATED = datetime(2025, 1, 1, tzinfo=timezone.utc)


def square_lattice(num_qubits: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Qubit names and couplers of a square lattice of ``num_qubits`` qubits.

    Args:
        num_qubits: Number of qubits (>= 1).

    Returns:
        ``(qubits, connectivity)`` with qubits ``QB1..QBn`` and sorted coupler pairs.

    Example:
        >>> square_lattice(4)[1]
        [('QB1', 'QB2'), ('QB1', 'QB3'), ('QB2', 'QB4'), ('QB3', 'QB4')]
    """
    if num_qubits < 1:
        raise ValueError(f"num_qubits must be >= 1, got {num_qubits}")
    width = math.ceil(math.sqrt(num_qubits))
    qubits = [f"QB{i + 1}" for i in range(num_qubits)]
    edges: list[tuple[int, int]] = []
    for i in range(num_qubits):
        col = i % width
        if col + 1 < width and i + 1 < num_qubits:
            edges.append((i, i + 1))
        if i + width < num_qubits:
            edges.append((i, i + width))
    edges.sort()
    return qubits, [(qubits[a], qubits[b]) for a, b in edges]


def _pair(value: ReadoutError) -> tuple[float, float]:
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"an asymmetric readout error is (P(1|0), P(0|1)), got {value!r}")
        return float(value[0]), float(value[1])
    return float(value), float(value)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Architecture:
    """A simulated QPU and its single calibration set.

    Args:
        qubits: Qubit names.
        connectivity: Coupled qubit pairs (``cz`` loci).
        readout_error: Per-qubit readout error ``(P(1|0), P(0|1))`` (missing qubits: no error).
        gate_noise: Depolarizing gate error (reported as the gates' fidelities).
        dut_label: Identifier of the simulated chip.
        calibration_set_id: ID of the calibration set (the default one).

    Example:
        >>> arch = Architecture.square(4)
        >>> arch.dqa()["gates"]["cz"]["implementations"]["tgss"]["loci"][0]
        ['QB1', 'QB2']
    """

    qubits: list[str]
    connectivity: list[tuple[str, str]]
    readout_error: dict[str, tuple[float, float]] = field(default_factory=dict)
    gate_noise: GateNoise = field(default_factory=GateNoise)
    dut_label: str = "shotpack-sim"
    calibration_set_id: uuid.UUID = field(default_factory=lambda: uuid.uuid5(_NAMESPACE, "sim"))

    @classmethod
    def square(
        cls,
        num_qubits: int,
        readout_error: ReadoutError | Mapping[str, ReadoutError] = 0.0,
        *,
        random_readout_error: float | None = None,
        noise_seed: int | None = None,
        gate_error: float = 0.0,
        cz_error: float = 0.0,
    ) -> Architecture:
        """The default device: ``num_qubits`` qubits on a square lattice.

        Args:
            num_qubits: Number of qubits.
            readout_error: Readout error, for all qubits or per qubit name: a flip probability
                (symmetric) or a pair ``(P(1|0), P(0|1))``.
            random_readout_error: If given, each qubit's errors are drawn from ``noise_seed``
                instead: ``P(1|0)`` uniform in ``[0.5 m, m]`` and ``P(0|1)`` uniform in
                ``[m, 2 m]`` for ``m = random_readout_error`` (1 decays to 0 more often).
            noise_seed: Seed of those draws (``None``: 0), so a device is reproducible.
            gate_error: Depolarizing probability after every single-qubit gate.
            cz_error: Depolarizing probability after every ``cz``.

        Returns:
            The architecture, with a calibration set ID derived from its size.

        Raises:
            ValueError: An unknown qubit name or a probability out of range.

        Example:
            >>> arch = Architecture.square(2, {"QB1": (0.01, 0.03)})
            >>> arch.readout_error["QB1"], arch.readout_error["QB2"]
            ((0.01, 0.03), (0.0, 0.0))
        """
        qubits, connectivity = square_lattice(num_qubits)
        errors: dict[str, tuple[float, float]]
        if random_readout_error is not None:
            m = float(random_readout_error)
            if not 0.0 <= m <= 0.25:
                raise ValueError(f"random_readout_error must be in [0, 0.25], got {m}")
            rng = np.random.default_rng(0 if noise_seed is None else noise_seed)
            draws = rng.random((num_qubits, 2))
            errors = {
                q: (float(m * (0.5 + 0.5 * a)), float(m * (1.0 + b)))
                for q, (a, b) in zip(qubits, draws.tolist(), strict=True)
            }
        elif isinstance(readout_error, Mapping):
            unknown = set(readout_error) - set(qubits)
            if unknown:
                raise ValueError(f"readout_error names unknown qubits: {sorted(unknown)}")
            errors = {q: _pair(readout_error.get(q, 0.0)) for q in qubits}
        else:
            errors = dict.fromkeys(qubits, _pair(readout_error))
        for q, pair in errors.items():
            for p in pair:
                if not 0.0 <= p <= 0.5:
                    raise ValueError(f"readout error of {q} must be in [0, 0.5], got {p}")
        for name, p in (("gate_error", gate_error), ("cz_error", cz_error)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {p}")
        label = f"shotpack-sim-{num_qubits}q"
        return cls(
            qubits=qubits,
            connectivity=connectivity,
            readout_error=errors,
            gate_noise=GateNoise(float(gate_error), float(cz_error)),
            dut_label=label,
            calibration_set_id=uuid.uuid5(_NAMESPACE, label),
        )

    def gate_loci(self, gate: str) -> list[tuple[str, ...]]:
        """Calibrated loci of a gate in :data:`GATES`."""
        _, arity = GATES[gate]
        if arity == 2:
            return [tuple(pair) for pair in self.connectivity]
        return [(q,) for q in self.qubits]

    def sqa(self) -> dict[str, Any]:
        """Static quantum architecture document."""
        return {
            "dut_label": self.dut_label,
            "qubits": list(self.qubits),
            "computational_resonators": [],
            "connectivity": [list(pair) for pair in self.connectivity],
        }

    def dqa(self) -> dict[str, Any]:
        """Dynamic quantum architecture document of the calibration set."""
        gates = {
            name: {
                "implementations": {
                    impl: {"loci": [list(locus) for locus in self.gate_loci(name)]}
                },
                "default_implementation": impl,
                "override_default_implementation": {},
            }
            for name, (impl, _) in GATES.items()
        }
        return {
            "calibration_set_id": str(self.calibration_set_id),
            "qubits": list(self.qubits),
            "computational_resonators": [],
            "gates": gates,
        }

    def _observation_set(self, kind: str, set_id: uuid.UUID, rows: list[tuple[str, float, str]]):
        observations = [
            {
                "observation_id": i + 1,
                "dut_label": self.dut_label,
                "dut_field": name,
                "value": value,
                "unit": unit,
                "uncertainty": None,
                "invalid": False,
                "source": {"type": "specification_source"},
                "tags": [],
                "created_timestamp": _stamp(_CREATED),
                "modified_timestamp": _stamp(_CREATED),
                "observation_set_ids": [str(set_id)],
            }
            for i, (name, value, unit) in enumerate(rows)
        ]
        return {
            "observation_set_type": kind,
            "observation_set_id": str(set_id),
            "describes_id": str(self.calibration_set_id) if kind == "quality-metric-set" else None,
            "invalid": False,
            "dut_label": self.dut_label,
            "created_timestamp": _stamp(_CREATED),
            "end_timestamp": _stamp(_CREATED),
            "observations": observations,
        }

    def calibration_set(self) -> dict[str, Any]:
        """Calibration set document (gate parameters of the simulated device)."""
        rows: list[tuple[str, float, str]] = []
        for q in self.qubits:
            rows.append((f"gates.prx.drag_gaussian.{q}.duration", 40e-9, "s"))
            rows.append((f"gates.measure.constant.{q}.duration", 1.5e-6, "s"))
        for a, b in self.connectivity:
            rows.append((f"gates.cz.tgss.{a}__{b}.duration", 60e-9, "s"))
        return self._observation_set("calibration-set", self.calibration_set_id, rows)

    def quality_metrics(self) -> dict[str, Any]:
        """Quality metric set of the calibration set: the configured noise.

        Readout: ``fidelity = 1 - (P(1|0) + P(0|1)) / 2`` with ``error_0_to_1 = P(1|0)`` and
        ``error_1_to_0 = P(0|1)``. Gates: the average gate fidelity of the depolarizing channel
        of probability ``p``, ``1 - p (d - 1) / d`` (``d = 2`` for ``prx``, 4 for ``cz``).
        """
        rows: list[tuple[str, float, str]] = []
        noise = self.gate_noise
        for q in self.qubits:
            p01, p10 = self.readout_error.get(q, (0.0, 0.0))
            where = f"metrics.ssro.measure.constant.{q}"
            rows.append((f"{where}.fidelity", 1.0 - (p01 + p10) / 2, ""))
            rows.append((f"{where}.error_0_to_1", p01, ""))
            rows.append((f"{where}.error_1_to_0", p10, ""))
            rows.append((f"metrics.rb.prx.drag_gaussian.{q}.fidelity", 1.0 - noise.prx(q) / 2, ""))
        for a, b in self.connectivity:
            fidelity = 1.0 - 3.0 * noise.cz(a, b) / 4
            rows.append((f"metrics.irb.cz.tgss.{a}__{b}.fidelity", fidelity, ""))
        set_id = uuid.uuid5(_NAMESPACE, f"{self.calibration_set_id}/metrics")
        return self._observation_set("quality-metric-set", set_id, rows)

    def channel_properties(self) -> bytes | None:
        """Channel properties as the IQM protobuf message, or None if protobuf is unavailable.

        Every qubit drive channel may receive fast feedback from every readout line, so the
        whole device is one feedback group (no routing restriction for ``cc_prx``).
        """
        try:
            from iqm.data_definitions.common.v1 import channel_properties_pb2 as pb
        except ImportError:
            return None
        lines = [f"PL-{i + 1}__readout" for i in range(math.ceil(len(self.qubits) / 6))]
        message = pb.ChannelPropertyDictionary()
        for q in self.qubits:
            entry = message.channel_property_mapping[f"{q}__drive.awg"]
            entry.awg.channel_properties.sampling_rate = 2.0e9
            entry.awg.channel_properties.instruction_duration_granularity = 8
            entry.awg.channel_properties.instruction_duration_min = 16
            entry.awg.channel_properties.compatible_instructions.extend(
                ["IQPulse", "VirtualRZ", "Wait", "ConditionalInstruction"]
            )
            entry.awg.fast_feedback_sources.extend(lines)
        for line in lines:
            entry = message.channel_property_mapping[line]
            entry.ro.channel_properties.sampling_rate = 2.0e9
            entry.ro.channel_properties.instruction_duration_granularity = 8
            entry.ro.channel_properties.instruction_duration_min = 16
            entry.ro.channel_properties.compatible_instructions.extend(
                ["ReadoutTrigger", "MultiplexedIQPulse", "Wait"]
            )
        return bytes(message.SerializeToString())

"""Quantum architectures (static and dynamic), quantum computers and their channel properties."""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import Any

from pydantic import Field, field_serializer, field_validator

from shotpack.iqm.models.base import WireModel
from shotpack.iqm.models.circuit import Locus, _component_sort_key, sort_components

# Architectures
# ---------------------------------------------------------------------------------------------


class StaticQuantumArchitecture(WireModel):
    """The chip's fixed topology: qubits, computational resonators and their couplings."""

    dut_label: str | None = None
    qubits: list[str]
    computational_resonators: list[str] = Field(default_factory=list)
    connectivity: list[Locus] = Field(default_factory=list)


class GateImplementationInfo(WireModel):
    """Loci for which one gate implementation is calibrated."""

    loci: tuple[Locus, ...]


class GateInfo(WireModel):
    """Calibrated implementations of one gate.

    ``override_default_implementation`` maps a locus to the implementation used there by default;
    on the wire its keys are comma-joined component names (``"QB1,QB2"``).
    """

    implementations: dict[str, GateImplementationInfo]
    default_implementation: str
    override_default_implementation: dict[Locus, str] = Field(default_factory=dict)

    @field_validator("override_default_implementation", mode="before")
    @classmethod
    def _parse_override_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {
                tuple(k.split(",")) if isinstance(k, str) else tuple(k): i for k, i in v.items()
            }
        return v

    @field_serializer("override_default_implementation")
    def _ser_override_keys(self, v: dict[Locus, str]) -> dict[str, str]:
        return {",".join(k): i for k, i in v.items()}

    @cached_property
    def loci(self) -> tuple[Locus, ...]:
        """Union of the loci of all implementations, sorted by component names."""
        seen = {locus for impl in self.implementations.values() for locus in impl.loci}
        return tuple(sorted(seen, key=lambda lo: tuple(_component_sort_key(c) for c in lo)))

    def implementation_for(self, locus: Locus) -> str:
        """The implementation used at ``locus`` when none is requested."""
        return self.override_default_implementation.get(tuple(locus), self.default_implementation)


class DynamicQuantumArchitecture(WireModel):
    """What a calibration set makes available: qubits, resonators, and calibrated gates."""

    calibration_set_id: uuid.UUID
    qubits: list[str]
    computational_resonators: list[str] = Field(default_factory=list)
    gates: dict[str, GateInfo]

    @cached_property
    def components(self) -> tuple[str, ...]:
        """Qubits and computational resonators, sorted (``QB2`` before ``QB10``)."""
        return sort_components([*self.qubits, *self.computational_resonators])


# ---------------------------------------------------------------------------------------------
# Quantum computers and channel properties
# ---------------------------------------------------------------------------------------------


class QuantumComputer(WireModel):
    """One entry of ``GET quantum-computers``.

    ``proxy_path`` is ``None`` both when the server omits it (then a default applies; see
    ``"proxy_path" in model_fields_set``) and when it sends ``null`` (no station proxy).
    """

    id: uuid.UUID
    alias: str
    display_name: str = ""
    proxy_path: str | None = None


class QuantumComputerList(WireModel):
    """The body of ``GET quantum-computers``."""

    quantum_computers: list[QuantumComputer]


class AWGChannelProperties(WireModel):
    """The part of an AWG channel's properties the client uses: its fast-feedback sources."""

    fast_feedback_sources: list[str] = Field(default_factory=list)


class ChannelPropertyEntry(WireModel):
    """Properties of one channel: an AWG (drive/flux) or a readout channel."""

    awg: AWGChannelProperties | None = None
    ro: dict[str, Any] | None = None


class ChannelPropertyDictionary(WireModel):
    """Channel name (``"QB1__drive.awg"``) -> properties.

    JSON form of the ``channel-properties`` artifact, with protobuf field names; the client also
    decodes the protobuf form (see :mod:`shotpack.iqm.protobuf`).
    """

    channel_property_mapping: dict[str, ChannelPropertyEntry] = Field(default_factory=dict)

"""Compilation options sent with a job: heralding, MOVE-gate checks, dynamical decoupling."""

from __future__ import annotations

from enum import Enum
from typing import TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    model_validator,
)

from shotpack.iqm.models.base import WireModel


class HeraldingMode(str, Enum):
    """Heralding: ``zeros`` keeps only shots whose heralding measurement read all zeros."""

    NONE = "none"
    ZEROS = "zeros"


class MoveGateValidationMode(str, Enum):
    """How strictly MOVE sandwiches are checked."""

    STRICT = "strict"
    ALLOW_PRX = "allow_prx"
    NONE = "none"


class MoveGateFrameTrackingMode(str, Enum):
    """Frame tracking applied to MOVE gates."""

    FULL = "full"
    NO_DETUNING_CORRECTION = "no_detuning_correction"
    NONE = "none"


class DDMode(str, Enum):
    """Dynamical decoupling on or off."""

    DISABLED = "disabled"
    ENABLED = "enabled"


PRXSequence: TypeAlias = list[tuple[float, float]]


class DDStrategy(WireModel):
    """A dynamical decoupling strategy (which gate sequences fill which waits)."""

    merge_contiguous_waits: bool = True
    target_qubits: frozenset[str] | None = None
    skip_leading_wait: bool = True
    skip_trailing_wait: bool = True
    gate_sequences: list[tuple[int, str | PRXSequence, str]] = Field(default_factory=list)

    @field_serializer("target_qubits")
    def _ser_target_qubits(self, v: frozenset[str] | None) -> list[str] | None:
        return None if v is None else sorted(v)


STANDARD_DD_STRATEGY = DDStrategy(
    gate_sequences=[(9, "XYXYYXYX", "asap"), (5, "YXYX", "asap"), (2, "XX", "center")]
)
"""The standard strategy: long waits get XYXYYXYX, shorter ones YXYX, the shortest XX."""


def _check_move_options(
    validation: MoveGateValidationMode, tracking: MoveGateFrameTrackingMode
) -> None:
    if tracking == MoveGateFrameTrackingMode.FULL and validation not in (
        MoveGateValidationMode.STRICT,
        MoveGateValidationMode.ALLOW_PRX,
    ):
        raise ValueError(
            "Unable to perform full MOVE gate frame tracking if MOVE gate validation is not "
            '"strict" or "allow_prx".'
        )


class CircuitCompilationOptions(BaseModel):
    """Discrete options for compiling circuits into instruction schedules (frozen).

    Args:
        max_circuit_duration_over_t2: reject circuits longer than this fraction of T2; ``None``
            uses the server default, ``0.0`` disables the check.
        heralding_mode: :class:`HeraldingMode`; ``ZEROS`` may return fewer shots than asked.
        move_gate_validation: :class:`MoveGateValidationMode`.
        move_gate_frame_tracking: :class:`MoveGateFrameTrackingMode`.
        active_reset_cycles: active reset cycles between shots; ``None`` resets by waiting.
        dd_mode: :class:`DDMode`.
        dd_strategy: the :class:`DDStrategy` used when ``dd_mode`` is enabled.

    Raises:
        ValueError: full frame tracking combined with MOVE validation ``none``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_circuit_duration_over_t2: float | None = None
    heralding_mode: HeraldingMode = HeraldingMode.NONE
    move_gate_validation: MoveGateValidationMode = MoveGateValidationMode.STRICT
    move_gate_frame_tracking: MoveGateFrameTrackingMode = MoveGateFrameTrackingMode.FULL
    active_reset_cycles: int | None = None
    dd_mode: DDMode = DDMode.DISABLED
    dd_strategy: DDStrategy | None = None

    @model_validator(mode="after")
    def _check(self) -> CircuitCompilationOptions:
        _check_move_options(self.move_gate_validation, self.move_gate_frame_tracking)
        return self

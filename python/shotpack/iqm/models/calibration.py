"""Calibration and quality-metric sets (observation sets) and lookups into them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any, TypeAlias

from pydantic import Field, computed_field, model_validator

from shotpack.iqm.models.base import WireModel

# Calibration and quality-metric sets
# ---------------------------------------------------------------------------------------------


class ObservationSetType(str, Enum):
    """Purpose of an observation set."""

    GENERIC_SET = "generic-set"
    CALIBRATION_SET = "calibration-set"
    QUALITY_METRIC_SET = "quality-metric-set"
    CHARACTERIZATION_SET = "characterization-set"


class ObservationData(WireModel):
    """One observed value (a calibration parameter or a quality metric).

    Observations without ``dut_label`` ("lite" ones) are accepted; their set fills it in.
    """

    dut_field: str
    value: Any
    unit: str = ""
    uncertainty: Any = None
    invalid: bool = False
    observation_id: int
    created_timestamp: datetime
    modified_timestamp: datetime
    dut_label: str = ""
    source: dict[str, Any] = Field(default_factory=lambda: {"type": "source_not_loaded"})
    tags: list[str] = Field(default_factory=list)
    observation_set_ids: list[uuid.UUID] = Field(default_factory=list)


class ObservationSet(WireModel):
    """A calibration set or a quality-metric set with its observations."""

    observation_set_type: ObservationSetType
    observation_set_id: uuid.UUID
    describes_id: uuid.UUID | None = None
    invalid: bool = False
    dut_label: str | None = None
    created_timestamp: datetime
    end_timestamp: datetime | None = None
    observations: list[ObservationData] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _upgrade_lite(cls, data: Any) -> Any:
        # Lite observations omit their DUT label; it is the set's.
        if isinstance(data, dict) and data.get("dut_label"):
            label = data["dut_label"]
            obs = data.get("observations")
            if isinstance(obs, list):
                data = {
                    **data,
                    "observations": [
                        {**o, "dut_label": label}
                        if isinstance(o, dict) and not o.get("dut_label")
                        else o
                        for o in obs
                    ],
                }
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def observation_ids(self) -> list[int]:
        """Ids of the observations (deprecated on the wire, kept for compatibility)."""
        return [o.observation_id for o in self.observations]


CalibrationSet: TypeAlias = ObservationSet
QualityMetricSet: TypeAlias = ObservationSet


class ObservationFinder:
    """Observations of a calibration set and its quality metrics, searchable by DUT field.

    Example:
        >>> finder.get("QB1.t1_time")  # doctest: +SKIP
    """

    def __init__(self, observations: Iterable[ObservationData]) -> None:
        self.observations: list[ObservationData] = list(observations)
        self._by_field: dict[str, ObservationData] = {o.dut_field: o for o in self.observations}

    def __len__(self) -> int:
        return len(self.observations)

    def __contains__(self, dut_field: object) -> bool:
        return dut_field in self._by_field

    def get(self, dut_field: str, default: Any = None) -> Any:
        """The value of ``dut_field``, or ``default`` when absent."""
        o = self._by_field.get(dut_field)
        return default if o is None else o.value

    def __getitem__(self, dut_field: str) -> ObservationData:
        return self._by_field[dut_field]

    def find(self, pattern: str) -> dict[str, Any]:
        """All observations whose DUT field matches the regular expression ``pattern``."""
        rx = re.compile(pattern)
        return {f: o.value for f, o in self._by_field.items() if rx.search(f)}

    def __repr__(self) -> str:
        return f"ObservationFinder({len(self.observations)} observations)"


# ---------------------------------------------------------------------------------------------

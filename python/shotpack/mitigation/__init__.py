"""Readout-error mitigation of samples (the matrix-free M3 method) and its calibration.

Example:
    >>> from shotpack.mitigation import ReadoutCalibration
    >>> cal = ReadoutCalibration.from_errors(["QB1", "QB2"], p01=[0.02, 0.01], p10=[0.05, 0.04])
    >>> quasi = cal.apply({"00": 480, "01": 30, "10": 25, "11": 465})
    >>> round(sum(quasi.values()), 12)
    1.0
"""

from __future__ import annotations

from shotpack.mitigation.calibration import ReadoutCalibration
from shotpack.mitigation.quasi import QuasiDistribution

__all__ = ["QuasiDistribution", "ReadoutCalibration"]

"""The Estimator's values and errors from a :class:`~shotpack.expval.plan.MeasurementPlan` and
the measured bits of its groups (the formulas are in :mod:`shotpack.expval.plan`).

All per-shot work is one native call per PUB with the GIL released.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack import _native
from shotpack.containers.data_bin import DataBin
from shotpack.expval.plan import MeasurementPlan

__all__ = ["evaluate_estimator"]


def _flip_rows(flip: Any, num_rand: int, num_bits: int, where: str) -> NDArray[np.uint8]:
    nbytes = (num_bits + 7) // 8
    arr = getattr(flip, "array", flip)
    if getattr(flip, "num_bits", num_bits) != num_bits:
        raise ValueError(f"{where}: flip masks have {flip.num_bits} bits, expected {num_bits}")
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        raise TypeError(f"{where}: flip masks must be packed uint8 rows, got dtype {arr.dtype}")
    if arr.size != num_rand * nbytes:
        raise ValueError(
            f"{where}: flip masks have shape {arr.shape}, expected ({num_rand}, {nbytes}): one "
            "packed row per randomization"
        )
    return np.ascontiguousarray(arr.reshape(num_rand, nbytes))


def evaluate_estimator(
    plan: MeasurementPlan,
    data: Sequence[Any],
    flips: Sequence[Any] | None = None,
) -> Any:
    """Expectation values and standard errors from the measured groups of a plan.

    Args:
        plan: from :func:`plan_measurements`.
        data: one ``BitArray`` per ``plan.groups`` entry, with ``num_bits == len(group.qubits)``
            (bit ``j`` is ``group.qubits[j]``); shape ``()`` for one ensemble, or ``(R,)`` for
            ``R`` randomizations (the same ``R`` for every group).
        flips: for measurement twirling, one entry per group: the bits flipped (by ``prx(pi,
            0)`` before measuring) in each randomization, as packed uint8 rows ``(R, nbytes)``
            or a ``BitArray`` of ``R`` shots; None for a group (or for all) means no flips. The
            flips are XORed out of the measured bits before evaluation.

    Returns:
        ``DataBin(evs, stds, ensemble_standard_error, shape=plan.shape)`` of float64 arrays.

    Raises:
        TypeError: data of the wrong type.
        ValueError: a wrong number of results, a bit-count or shape mismatch, differing numbers
            of randomizations, or a group with zero shots.

    Example:
        >>> from shotpack import BitArray, plan_measurements
        >>> plan = plan_measurements({"ZZ": 1.0, "XX": 1.0})
        >>> bell = BitArray.from_samples(["00", "11", "00", "11"], num_bits=2)
        >>> evaluate_estimator(plan, [bell, bell]).evs
        array(2.)
    """

    if len(data) != len(plan.groups):
        raise ValueError(f"expected {len(plan.groups)} measured groups, got {len(data)}")
    if flips is not None and len(flips) != len(plan.groups):
        raise ValueError(f"expected {len(plan.groups)} flip entries, got {len(flips)}")
    args = []
    for i, (group, ba) in enumerate(zip(plan.groups, data, strict=True)):
        where = f"group {i} (basis {group.basis})"
        if not hasattr(ba, "array") or not hasattr(ba, "num_bits"):
            raise TypeError(f"{where}: expected a BitArray, got {type(ba).__name__}")
        if ba.num_bits != group.num_bits:
            raise ValueError(
                f"{where}: the BitArray has {ba.num_bits} bits, but {group.num_bits} qubits "
                f"{group.qubits} were measured"
            )
        if len(ba.shape) > 1:
            raise ValueError(
                f"{where}: expected a BitArray of shape () or (randomizations,), got {ba.shape}"
            )
        num_rand = ba.shape[0] if ba.shape else 1
        flip = None if flips is None or flips[i] is None else flips[i]
        rows = None if flip is None else _flip_rows(flip, num_rand, group.num_bits, where)
        z, p, v = group._masks
        args.append((np.ascontiguousarray(ba.array), num_rand, group.num_bits, rows, z, p, v))
    part_group, part_cell, part_ptr, part_terms, part_coeffs = plan._parts
    evs, stds, ese = _native.estimator_moments(
        args, part_group, part_cell, part_ptr, part_terms, part_coeffs, plan._offsets
    )
    shape = plan.shape
    return DataBin(
        evs=evs.reshape(shape),
        stds=stds.reshape(shape),
        ensemble_standard_error=ese.reshape(shape),
        shape=shape,
    )

"""The Estimator's values and errors from measured groups held by Dask.

Each block of each group's shots is reduced to the Estimator's exact integer tallies
(:func:`shotpack.stats.estimator.group_tallies`); the tallies are added in a tree and
finalised once, so the result does not depend on the chunking or the scheduler, and equals
:func:`~shotpack.expval.evaluate.evaluate_estimator` (bit for bit up to 16,384 shots per
randomization, to rounding above; see :mod:`shotpack.stats.estimator`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

import dask
from shotpack.containers.data_bin import DataBin
from shotpack.dask._reduce import tree_reduce
from shotpack.dask.bit_array import DaskBitArray
from shotpack.expval.plan import MeasurementPlan
from shotpack.stats.estimator import EstimatorTallies, GroupSpec, group_specs, group_tallies
from shotpack.stats.threads import kernels_on_calling_thread

__all__ = ["estimator_tallies_delayed", "evaluate_estimator"]

_Partial = dict[int, tuple[NDArray[np.int64], NDArray[np.int64]]]


def _block_tallies(
    spec: GroupSpec,
    g: int,
    block: NDArray[np.uint8],
    flip: NDArray[np.uint8] | None,
    r0: int,
    num_rand: int,
) -> _Partial:
    rows = block if block.ndim == 3 else block[None]
    with kernels_on_calling_thread():
        counts, sums = group_tallies(spec, rows, flip, where=f"group {g}")
    full_c = np.zeros(num_rand, dtype=np.int64)
    full_s = np.zeros((num_rand, len(spec.labels)), dtype=np.int64)
    full_c[r0 : r0 + rows.shape[0]] = counts
    full_s[r0 : r0 + rows.shape[0]] = sums
    return {g: (full_c, full_s)}


def _merge(parts: list[_Partial]) -> _Partial:
    out: _Partial = {}
    for part in parts:
        for g, (c, s) in part.items():
            if g in out:
                oc, os_ = out[g]
                out[g] = (oc + c, os_ + s)
            else:
                out[g] = (c, s)
    return out


def estimator_tallies_delayed(
    plan: MeasurementPlan,
    data: Sequence[Any],
    flips: Sequence[Any] | None = None,
) -> Any:
    """A ``Delayed`` of the merged :class:`~shotpack.stats.EstimatorTallies` of every group.

    Args:
        plan: from :func:`~shotpack.expval.plan.plan_measurements`.
        data: per group, a :class:`DaskBitArray` (or an in-memory ``BitArray``) of shape
            ``()`` or ``(R,)``.
        flips: per group, the packed flip rows ``(R, nbytes)`` of measurement twirling, or
            None.

    Raises:
        ValueError: a wrong number of groups, a bit-count mismatch or a shape that is not
            ``()`` or ``(R,)``.
    """
    if len(data) != len(plan.groups):
        raise ValueError(f"expected {len(plan.groups)} measured groups, got {len(data)}")
    if flips is not None and len(flips) != len(plan.groups):
        raise ValueError(f"expected {len(plan.groups)} flip entries, got {len(flips)}")
    specs = group_specs(plan)
    parts = []
    for g, (spec, d) in enumerate(zip(specs, data, strict=True)):
        where = f"group {g} (basis {plan.groups[g].basis})"
        if not isinstance(d, DaskBitArray):
            if not hasattr(d, "array") or not hasattr(d, "num_bits"):
                raise TypeError(f"{where}: expected a DaskBitArray or BitArray, got {type(d)}")
            d = DaskBitArray.from_bit_array(d)
        if d.num_bits != spec.num_bits:
            raise ValueError(
                f"{where}: the BitArray has {d.num_bits} bits, but {spec.num_bits} qubits "
                f"{plan.groups[g].qubits} were measured"
            )
        if d.ndim > 1:
            raise ValueError(
                f"{where}: expected a BitArray of shape () or (randomizations,), got {d.shape}"
            )
        num_rand = d.shape[0] if d.shape else 1
        flip = None
        if flips is not None and flips[g] is not None:
            f = flips[g]
            flip = np.asarray(getattr(f, "array", f), dtype=np.uint8).reshape(num_rand, -1)
        arr = d.array
        r_starts = np.concatenate([[0], np.cumsum(arr.chunks[0])]) if d.ndim else [0, 1]
        for key, block in zip(np.ndindex(*arr.numblocks), arr.to_delayed().ravel(), strict=True):
            r0 = int(r_starts[key[0]]) if d.ndim else 0
            r1 = int(r_starts[key[0] + 1]) if d.ndim else 1
            fl = None if flip is None else flip[r0:r1]
            parts.append(dask.delayed(_block_tallies, pure=True)(spec, g, block, fl, r0, num_rand))
    merged = tree_reduce(parts, _merge) if parts else dask.delayed(dict)()

    def finish(result: _Partial) -> EstimatorTallies:
        counts, sums = [], []
        for g, spec in enumerate(specs):
            num_rand = data[g].shape[0] if data[g].shape else 1
            c, s = result.get(
                g,
                (np.zeros(num_rand, np.int64), np.zeros((num_rand, len(spec.labels)), np.int64)),
            )
            counts.append(c)
            sums.append(s)
        return EstimatorTallies(plan, counts, sums, specs)

    return dask.delayed(finish, pure=True)(merged)


def evaluate_estimator(
    plan: MeasurementPlan,
    data: Sequence[Any],
    flips: Sequence[Any] | None = None,
    **compute_kwargs: Any,
) -> DataBin:
    """``evs``, ``stds`` and ``ensemble_standard_error`` from Dask-held measured groups.

    The Dask counterpart of :func:`shotpack.expval.evaluate.evaluate_estimator`, with the same
    arguments; ``compute_kwargs`` go to ``dask.compute`` (e.g. ``scheduler="threads"``; with a
    ``distributed.Client`` active, its cluster runs the blocks).

    Returns:
        ``DataBin(evs, stds, ensemble_standard_error, shape=plan.shape)``.

    Raises:
        ValueError: as ``evaluate_estimator`` (wrong counts, bit counts, shapes, no shots).

    Example:
        >>> from shotpack import BitArray, plan_measurements
        >>> plan = plan_measurements({"ZZ": 1.0, "XX": 1.0})
        >>> bell = BitArray.from_samples(["00", "11", "00", "11"], num_bits=2)
        >>> group = DaskBitArray.from_bit_array(bell, chunk_shots=3)
        >>> evaluate_estimator(plan, [group, group], scheduler="sync").evs
        array(2.)
    """
    (tallies,) = dask.compute(estimator_tallies_delayed(plan, data, flips), **compute_kwargs)
    return tallies.finalize()

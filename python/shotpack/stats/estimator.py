"""The Estimator's integer tallies per measured group, mergeable across chunks of shots.

:func:`~shotpack.expval.evaluate.evaluate_estimator` reduces each group's shots to exact
integers (per randomization: the shot count, every term's sum ``sum(a_t)``, its square's sum and
``sum(a_t a_u)`` for the term pairs that share an observable part) and derives ``evs``, ``stds``
and ``ensemble_standard_error`` from them. :class:`EstimatorTallies` holds those integers for a
chunk of each group's shots; tallies of disjoint chunks add exactly, and
:meth:`EstimatorTallies.finalize` applies the same float formulas in the same order as the
native evaluator to the merged integers. The result does not depend on the chunking, and equals
``evaluate_estimator`` bit for bit whenever the native call reads each randomization in one
piece (up to 16,384 shots); above that the native call merges its own chunks in floating point
and the two agree to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack.containers.data_bin import DataBin
from shotpack.expval.plan import MeasurementPlan
from shotpack.stats.terms import label_product, masks_to_labels, term_sums

__all__ = ["EstimatorTallies", "GroupSpec", "group_specs", "group_tallies"]


@dataclass(frozen=True)
class GroupSpec:
    """The terms and products to tally on one measured group.

    Attributes:
        num_bits: bits of the group's BitArray.
        labels: distinct labels over ``I Z 0 1`` to sum (terms first, then products).
        lin: label index of each group term (-1 for terms no part uses).
        products: ``{(t, u): (label index, sign)}`` for ``t <= u`` used together in a part.
    """

    num_bits: int
    labels: tuple[str, ...]
    lin: tuple[int, ...]
    products: dict[tuple[int, int], tuple[int, int]] = field(compare=False)


def group_specs(plan: MeasurementPlan) -> list[GroupSpec]:
    """The :class:`GroupSpec` of every group of a plan, in order."""
    part_group, _, part_ptr, part_terms, _ = plan._parts
    specs = []
    for g, group in enumerate(plan.groups):
        terms = masks_to_labels(*group._masks, group.num_bits)
        labels: list[str] = []
        index: dict[str, int] = {}

        def add(label: str, index: dict[str, int] = index, labels: list[str] = labels) -> int:
            if label not in index:
                index[label] = len(labels)
                labels.append(label)
            return index[label]

        used: set[int] = set()
        pairs: set[tuple[int, int]] = set()
        for p in np.flatnonzero(part_group == g).tolist():
            ent = part_terms[part_ptr[p] : part_ptr[p + 1]].tolist()
            used.update(ent)
            for i, t in enumerate(ent):
                for u in ent[i:]:
                    pairs.add((min(t, u), max(t, u)))
        lin = tuple(add(terms[t]) if t in used else -1 for t in range(len(terms)))
        products = {}
        for t, u in sorted(pairs):
            prod, sign = label_product(terms[t], terms[u])
            products[(t, u)] = (add(prod), sign)
        specs.append(GroupSpec(group.num_bits, tuple(labels), lin, products))
    return specs


def _flip_bytes(flip: Any, num_rand: int, num_bits: int) -> NDArray[np.uint8] | None:
    if flip is None:
        return None
    arr = np.asarray(getattr(flip, "array", flip), dtype=np.uint8)
    return arr.reshape(num_rand, (num_bits + 7) // 8)


def group_tallies(
    spec: GroupSpec, data: Any, flip: Any = None, *, where: str = "group"
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Tallies of one group over a chunk of its shots: ``(counts (R,), sums (R, labels))``.

    Args:
        spec: the group's :class:`GroupSpec` (from :func:`group_specs`).
        data: a ``BitArray`` or packed rows ``(R, shots, nbytes)`` / ``(shots, nbytes)``.
        flip: packed flip rows ``(R, nbytes)`` of these randomizations, or None.
        where: names the group in errors.

    Raises:
        ValueError: a bit-count or shape mismatch.
    """
    num_bits = getattr(data, "num_bits", spec.num_bits)
    if num_bits != spec.num_bits:
        raise ValueError(
            f"{where}: the BitArray has {num_bits} bits, but {spec.num_bits} qubits were measured"
        )
    rows = np.asarray(getattr(data, "array", data), dtype=np.uint8)
    nbytes = (spec.num_bits + 7) // 8
    if rows.ndim > 3 or rows.ndim < 2 or rows.shape[-1] != nbytes:
        raise ValueError(
            f"{where}: expected packed rows (R, shots, {nbytes}) or (shots, {nbytes}), "
            f"got {rows.shape}"
        )
    rows = rows if rows.ndim == 3 else rows[None]
    flips = _flip_bytes(flip, rows.shape[0], num_bits)
    if flips is not None:
        # XOR the randomization's flips out of the chunk (vectorised, a chunk-sized copy).
        rows = rows ^ flips[:, None, :]
    counts = np.full(rows.shape[0], rows.shape[1], dtype=np.int64)
    return counts, term_sums(rows, spec.num_bits, spec.labels)


class EstimatorTallies:
    """Exact integer tallies of every group of a plan over a chunk of shots.

    Attributes:
        plan: the :class:`~shotpack.expval.plan.MeasurementPlan`.
        counts: per group, ``int64 (R,)`` shots per randomization.
        sums: per group, ``int64 (R, len(spec.labels))`` exact sums.

    Example:
        >>> from shotpack import BitArray, plan_measurements
        >>> from shotpack.expval.evaluate import evaluate_estimator
        >>> plan = plan_measurements({"ZZ": 1.0, "XX": 1.0})
        >>> bell = BitArray.from_samples(["00", "11", "00", "11"], num_bits=2)
        >>> halves = [[b.slice_shots(s) for b in (bell, bell)] for s in ([0, 1], [2, 3])]
        >>> tallies = EstimatorTallies.merge(EstimatorTallies.from_groups(plan, h) for h in halves)
        >>> tallies.finalize().evs, evaluate_estimator(plan, [bell, bell]).evs
        (array(2.), array(2.))
    """

    __slots__ = ("_specs", "counts", "plan", "sums")

    def __init__(
        self,
        plan: MeasurementPlan,
        counts: Sequence[NDArray[np.int64]],
        sums: Sequence[NDArray[np.int64]],
        specs: list[GroupSpec] | None = None,
    ) -> None:
        self.plan = plan
        self.counts = [np.asarray(c, dtype=np.int64) for c in counts]
        self.sums = [np.asarray(s, dtype=np.int64) for s in sums]
        self._specs = specs if specs is not None else group_specs(plan)

    def __repr__(self) -> str:
        shots = [int(c.sum()) for c in self.counts]
        return f"EstimatorTallies(groups={len(self.counts)}, shots={shots})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (EstimatorTallies, (self.plan, self.counts, self.sums, self._specs))

    @classmethod
    def from_groups(
        cls,
        plan: MeasurementPlan,
        data: Sequence[Any],
        flips: Sequence[Any] | None = None,
        *,
        specs: list[GroupSpec] | None = None,
    ) -> EstimatorTallies:
        """Tallies of one chunk of shots of every group.

        Args:
            plan: from :func:`~shotpack.expval.plan.plan_measurements`.
            data: per group, a ``BitArray`` (or packed ``uint8`` array ``(R, shots, nbytes)``
                / ``(shots, nbytes)``) holding a chunk of that group's shots, the same shots
                range of every randomization; chunks may hold 0 shots.
            flips: as for ``evaluate_estimator``: per group the flipped bits of each
                randomization (packed rows ``(R, nbytes)``), or None.
            specs: the plan's group specs, when already built (saves work per chunk).

        Raises:
            ValueError: a wrong number of groups or a bit-count mismatch.
        """
        if len(data) != len(plan.groups):
            raise ValueError(f"expected {len(plan.groups)} measured groups, got {len(data)}")
        if flips is not None and len(flips) != len(plan.groups):
            raise ValueError(f"expected {len(plan.groups)} flip entries, got {len(flips)}")
        specs = specs if specs is not None else group_specs(plan)
        counts, sums = [], []
        for g, (spec, d) in enumerate(zip(specs, data, strict=True)):
            flip = None if flips is None else flips[g]
            c, t = group_tallies(spec, d, flip, where=f"group {g}")
            counts.append(c)
            sums.append(t)
        return cls(plan, counts, sums, specs)

    @staticmethod
    def merge(parts: Iterable[EstimatorTallies]) -> EstimatorTallies:
        """Tallies of disjoint chunks added together (exact).

        Raises:
            ValueError: no parts, or parts of different plans or randomization counts.
        """
        parts = list(parts)
        if not parts:
            raise ValueError("merge needs at least one EstimatorTallies")
        first = parts[0]
        counts = [c.copy() for c in first.counts]
        sums = [s.copy() for s in first.sums]
        for i, p in enumerate(parts[1:], 1):
            if p.plan is not first.plan and p.plan != first.plan:
                raise ValueError(f"part {i} tallies another plan than part 0")
            for g in range(len(counts)):
                if p.counts[g].shape != counts[g].shape:
                    raise ValueError(f"part {i}, group {g}: a different number of randomizations")
                counts[g] += p.counts[g]
                sums[g] += p.sums[g]
        return EstimatorTallies(first.plan, counts, sums, first._specs)

    def __add__(self, other: EstimatorTallies) -> EstimatorTallies:
        if not isinstance(other, EstimatorTallies):
            return NotImplemented
        return EstimatorTallies.merge([self, other])

    def finalize(self) -> DataBin:
        """``DataBin(evs, stds, ensemble_standard_error)`` of the plan's shape.

        Raises:
            ValueError: a group with zero shots, or groups with different randomization counts.
        """
        plan = self.plan
        part_group, part_cell, part_ptr, part_terms, part_coeffs = plan._parts
        offsets = plan._offsets
        num_cells = offsets.size
        num_rand = self.counts[0].size if self.counts else 1
        for g, c in enumerate(self.counts):
            if c.size != num_rand:
                raise ValueError(
                    f"group {g}: {c.size} randomizations, but group 0 has {num_rand}; every "
                    "group needs the same positive number"
                )
            if int(c.sum()) == 0:
                raise ValueError(f"group {g}: no shots were measured")
        evs = offsets.astype(np.float64).tolist()
        var = [0.0] * num_cells
        rand_evs = [list(evs) for _ in range(num_rand)]
        for p in range(part_group.size):
            g = int(part_group[p])
            spec, sums = self._specs[g], self.sums[g]
            ent = [
                (int(part_terms[k]), float(part_coeffs[k]))
                for k in range(part_ptr[p], part_ptr[p + 1])
            ]
            # Per randomization: count, mean and m2 (the native ``part_moments``), then a
            # Chan merge over randomizations in order (the native fold).
            tn, tmean, tm2 = 0, 0.0, 0.0
            for r in range(num_rand):
                n = int(self.counts[g][r])
                mean, m2 = _part_moments(spec, sums[r], ent, n)
                if n:
                    rand_evs[r][int(part_cell[p])] += mean
                tn, tmean, tm2 = _chan(tn, tmean, tm2, n, mean, m2)
            cell = int(part_cell[p])
            evs[cell] += tmean
            variance = (tm2 / tn) if tn else 0.0
            var[cell] += max(variance, 0.0) / tn
        ese = [math.sqrt(v) for v in var]
        if num_rand > 1:
            stds = []
            rf = float(num_rand)
            for k in range(num_cells):
                acc = -0.0  # Rust's float sum starts from -0.0
                for e in rand_evs:
                    acc += e[k]
                mean = acc / rf
                ss = sum((e[k] - mean) ** 2 for e in rand_evs)
                stds.append(math.sqrt(ss / (rf - 1.0)) / math.sqrt(rf))
        else:
            stds = list(ese)
        shape = plan.shape
        return DataBin(
            evs=np.asarray(evs, dtype=np.float64).reshape(shape),
            stds=np.asarray(stds, dtype=np.float64).reshape(shape),
            ensemble_standard_error=np.asarray(ese, dtype=np.float64).reshape(shape),
            shape=shape,
        )


def _part_moments(
    spec: GroupSpec, sums: NDArray[np.int64], ent: list[tuple[int, float]], n: int
) -> tuple[float, float]:
    """Mean and m2 (sum of squared deviations) of a part's per-shot value, from integers."""
    if n == 0:
        return 0.0, 0.0
    lin = {t: int(sums[spec.lin[t]]) for t, _ in ent}

    def second(t: int, u: int) -> int:
        idx, sign = spec.products[(min(t, u), max(t, u))]
        return sign * int(sums[idx])

    def cov(t: int, u: int) -> float:
        # n**2 * cov(a_t, a_u), exact in Python integers, rounded once.
        return float(n * second(t, u) - lin[t] * lin[u])

    nf = float(n)
    total = -0.0  # Rust's float sum starts from -0.0
    for t, c in ent:
        total += c * float(lin[t])
    mean = total / nf
    n2var = 0.0
    for i, (t, c) in enumerate(ent):
        n2var += c * c * cov(t, t)
        for u, d in ent[i + 1 :]:
            n2var += 2.0 * c * d * cov(t, u)
    return mean, max(n2var / nf, 0.0)


def _chan(
    na: int, ma: float, m2a: float, nb: int, mb: float, m2b: float
) -> tuple[int, float, float]:
    """Merges two (count, mean, m2) summaries as the native ``Moments::merge`` does."""
    if na == 0:
        return nb, mb, m2b
    if nb == 0:
        return na, ma, m2a
    n = na + nb
    fa, fb, fn = float(na), float(nb), float(n)
    delta = mb - ma
    return n, ma + delta * fb / fn, m2a + m2b + delta * delta * fa * fb / fn

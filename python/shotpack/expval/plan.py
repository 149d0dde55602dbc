"""The Estimator's math, usable without any server: a measurement plan, then values and errors.

1. :func:`plan_measurements` takes observables (and the parameter-values shape) and returns a
   :class:`MeasurementPlan`: for every parameter set, the Pauli terms of the observables
   broadcast onto it, split into qubit-wise commuting :class:`MeasurementGroup` s. Each group is
   one circuit to run: the bound circuit, then the group's ``prx`` rotations, then one
   measurement of the group's qubits (bit ``j`` of the result is ``group.qubits[j]``).
2. :func:`evaluate_estimator` takes the plan and one measured ``BitArray`` per group and returns
   a ``DataBin`` with ``evs``, ``stds`` and ``ensemble_standard_error`` of the PUB's shape.

Values and errors (cell with observable ``O = sum_t c_t P_t``; term ``t`` measured in group
``g(t)`` with ``n_g`` shots):

* ``evs = sum_t c_t mean_s P_t(s)``;
* ``ensemble_standard_error = sqrt(sum_g var_g / n_g)``, with ``var_g`` the population variance
  (``ddof=0``) over the group's shots of ``v_g(s) = sum_{t in g} c_t P_t(s)``: terms measured
  together keep their covariance, groups are independent. For a single Pauli term this is
  ``sqrt((1 - ev**2) / n)``, the same as Qiskit's ``BackendEstimatorV2``;
* ``stds``: equal to ``ensemble_standard_error`` without twirling; with ``R > 1``
  randomizations (measurement twirling), the sample standard deviation (``ddof=1``) of the ``R``
  per-randomization estimates divided by ``sqrt(R)``.

Qiskit's ``BackendEstimatorV2`` instead reports ``sum_t |c_t| sqrt(1 - ev_t**2) / sqrt(n)``,
which ignores covariances: an upper bound (triangle inequality), too wide unless the terms are
perfectly correlated.
All per-shot work is one native call per PUB with the GIL released.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack import _native
from shotpack.containers.estimator_pub import EstimatorPub
from shotpack.containers.observables_array import ObservablesArray
from shotpack.expval.term_masks import term_masks
from shotpack.quantum_info.labels import label_codes
from shotpack.quantum_info.term_table import term_table

__all__ = [
    "MeasurementGroup",
    "MeasurementPlan",
    "basis_rotations",
    "plan_measurements",
]

#: ``(angle, phase)`` of the ``prx`` gate that maps each basis onto Z, keeping eigenvalue signs
#: (the +1 eigenstate goes to ``|0>``): X by ``Ry(-pi/2)``, Y by ``Rx(pi/2)``, Z needs nothing.
#: ``prx(angle, phase) = exp(-i angle/2 (cos(phase) X + sin(phase) Y))``.
_ROTATION = {"X": (math.pi / 2, -math.pi / 2), "Y": (math.pi / 2, 0.0)}


def basis_rotations(basis: str) -> tuple[tuple[int, float, float], ...]:
    """``(qubit, angle, phase)`` prx gates that turn a product basis into the Z basis.

    Args:
        basis: a dense label over ``I X Y Z`` (rightmost character on qubit 0).

    Returns:
        One triple per X or Y qubit, in qubit order.

    Example:
        >>> [(q, round(a, 4), round(p, 4)) for q, a, p in basis_rotations("YZX")]
        [(0, 1.5708, -1.5708), (2, 1.5708, 0.0)]
    """
    n = len(basis)
    out = []
    for q in range(n):
        rot = _ROTATION.get(basis[n - 1 - q])
        if rot is not None:
            out.append((q, *rot))
    return tuple(out)


@dataclass(frozen=True)
class MeasurementGroup:
    """One circuit to measure: qubit-wise commuting terms of one parameter set.

    Attributes:
        parameter_index: index of the parameter set in the PUB's parameter-values array.
        qubits: measured qubits in increasing order; bit ``j`` of the group's BitArray must be
            the outcome of ``qubits[j]``.
        basis: dense label over ``I X Y Z`` giving each qubit's measurement basis.
        rotations: ``(qubit, angle, phase)`` ``prx`` gates to append before measuring.
        terms: labels of the terms evaluated on this group's shots.
    """

    parameter_index: tuple[int, ...]
    qubits: tuple[int, ...]
    basis: str
    rotations: tuple[tuple[int, float, float], ...]
    terms: tuple[str, ...]
    _masks: tuple[NDArray[np.uint64], NDArray[np.uint64], NDArray[np.uint64]] = field(
        repr=False, compare=False
    )

    @property
    def num_bits(self) -> int:
        """Number of measured bits."""
        return len(self.qubits)


@dataclass(frozen=True)
class MeasurementPlan:
    """Which circuits to run for an Estimator PUB, and how to combine their results.

    Attributes:
        shape: the output shape, ``broadcast(observables.shape, parameter_shape)``.
        parameter_shape: shape of the parameter-values array.
        num_qubits: qubit count of the observables.
        groups: the circuits to measure, grouped by parameter set (in parameter-index order).
    """

    shape: tuple[int, ...]
    parameter_shape: tuple[int, ...]
    num_qubits: int
    groups: tuple[MeasurementGroup, ...]
    _parts: tuple[NDArray[Any], ...] = field(repr=False, compare=False)
    _offsets: NDArray[np.float64] = field(repr=False, compare=False)

    @property
    def num_groups(self) -> int:
        """Number of circuits to measure."""
        return len(self.groups)


def _broadcast(obs_shape: tuple[int, ...], param_shape: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(obs_shape, param_shape))
    except ValueError:
        raise ValueError(
            f"The observables shape {obs_shape} and the parameter values shape {param_shape} "
            "are not broadcastable."
        ) from None


def _ranges(starts: NDArray[np.int64], counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """Concatenation of ``range(s, s + c)`` for each pair, vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    offsets = np.repeat(starts - (ends - counts), counts)
    return np.arange(total, dtype=np.int64) + offsets


def plan_measurements(
    observables: object, parameter_shape: Sequence[int] | None = None
) -> MeasurementPlan:
    """Groups the terms of an Estimator PUB into circuits to measure.

    For each parameter set, the union of the (non-identity) terms of every observable that
    broadcasts onto it is split greedily (largest terms first) into qubit-wise commuting groups.
    Identity terms need no measurement and are added as constants.

    Args:
        observables: an :class:`~shotpack.EstimatorPub` (its observables and its parameter
            values' shape are used), or anything :class:`ObservablesArray` accepts.
        parameter_shape: the parameter-values shape (``()`` when None); not allowed with a PUB.

    Returns:
        The plan; run ``plan.groups`` and pass the results to :func:`evaluate_estimator`.

    Raises:
        ValueError: the observables and parameter shapes do not broadcast (both are named).
        TypeError: invalid observables, or a ``parameter_shape`` together with a PUB.

    Example:
        >>> plan = plan_measurements([{"ZZ": 0.5, "XX": 0.5}, "ZI"], parameter_shape=(3, 1))
        >>> plan.shape, plan.num_groups, [g.basis for g in plan.groups[:2]]
        ((3, 2), 6, ['ZZ', 'XX'])
    """
    if isinstance(observables, EstimatorPub):
        if parameter_shape is not None:
            raise TypeError("parameter_shape is taken from the PUB; do not pass both")
        obs = observables.observables
        pshape: tuple[int, ...] = observables.parameter_values.shape
    else:
        obs = ObservablesArray.coerce(observables)
        pshape = tuple(int(s) for s in (parameter_shape or ()))
    shape = _broadcast(obs.shape, pshape)
    n = obs.num_qubits
    num_params = int(np.prod(pshape, dtype=np.int64))

    # Global table of distinct labels; each observable is a slice of (label, coeff) entries.
    labels, ptr, obs_lab, obs_coef = term_table(obs.ravel().tolist())
    counts = np.diff(ptr)
    obs_start = ptr[:-1]
    codes = label_codes(labels, n)
    all_masks = term_masks(labels, n)
    is_identity: NDArray[np.bool_] = ~np.asarray((all_masks.x | all_masks.z).any(axis=1))

    # Output cells and their (parameter set, observable) pairs; then one entry per term.
    cell_p = np.broadcast_to(np.arange(num_params).reshape(pshape), shape).reshape(-1)
    cell_o = np.broadcast_to(np.arange(obs.size).reshape(obs.shape), shape).reshape(-1)
    num_cells = cell_p.size
    ent_count = counts[cell_o]
    ent_cell = np.repeat(np.arange(num_cells, dtype=np.int64), ent_count)
    ent = _ranges(obs_start[cell_o], ent_count)
    ent_lab, ent_coef, ent_p = obs_lab[ent], obs_coef[ent], cell_p[ent_cell]

    offsets = np.zeros(num_cells, dtype=np.float64)
    ident = is_identity[ent_lab]
    np.add.at(offsets, ent_cell[ident], ent_coef[ident])
    keep = ~ident
    ent_cell, ent_lab, ent_coef, ent_p = ent_cell[keep], ent_lab[keep], ent_coef[keep], ent_p[keep]

    # Distinct (parameter set, label) pairs, sorted by parameter set: the terms to measure.
    key = ent_p * max(len(labels), 1) + ent_lab
    pair_key, ent_pair = np.unique(key, return_inverse=True)
    pair_p = pair_key // max(len(labels), 1)
    pair_lab = pair_key % max(len(labels), 1)
    seg = np.searchsorted(pair_p, np.arange(num_params + 1)).astype(np.int64)
    local_group = _native.group_qubitwise(
        np.ascontiguousarray(all_masks.x[pair_lab]),
        np.ascontiguousarray(all_masks.z[pair_lab]),
        seg,
    )
    # Global group ids: groups of parameter set p come after those of p - 1.
    groups_per_p = np.zeros(num_params, dtype=np.int64)
    if pair_key.size:
        np.maximum.at(groups_per_p, pair_p, local_group + 1)
    group_base = np.concatenate([[0], np.cumsum(groups_per_p)]).astype(np.int64)
    pair_group = group_base[pair_p] + local_group

    # Order pairs by group; a pair's position within its group is its term index there.
    order = np.argsort(pair_group, kind="stable")
    num_groups = int(group_base[-1])
    group_start = np.searchsorted(pair_group[order], np.arange(num_groups + 1))
    pair_local = np.empty_like(order)
    pair_local[order] = np.arange(order.size) - group_start[pair_group[order]]

    support = (codes != ord("I")) if labels else np.zeros((0, n), bool)
    groups = []
    for g in range(num_groups):
        members = order[group_start[g] : group_start[g + 1]]
        glabs = pair_lab[members]
        qubits = np.flatnonzero(support[glabs].any(axis=0))
        gx = all_masks.x[glabs]
        gz = all_masks.z[glabs]
        basis = ["I"] * n
        for q in qubits.tolist():
            w, b = divmod(q, 64)
            has_x = bool((gx[:, w] >> np.uint64(b) & np.uint64(1)).any())
            has_z = bool((gz[:, w] >> np.uint64(b) & np.uint64(1)).any())
            basis[n - 1 - q] = "Y" if (has_x and has_z) else ("X" if has_x else "Z")
        basis_label = "".join(basis)
        local = term_masks([labels[i] for i in glabs.tolist()], n, qubits)
        groups.append(
            MeasurementGroup(
                parameter_index=tuple(
                    int(i) for i in np.unravel_index(int(pair_p[members[0]]), pshape)
                ),
                qubits=tuple(int(q) for q in qubits),
                basis=basis_label,
                rotations=basis_rotations(basis_label),
                terms=tuple(labels[i] for i in glabs.tolist()),
                _masks=(local.pauli, local.proj, local.value),
            )
        )

    # Parts: entries sharing (group, cell), each a slice of (term index, coeff).
    ent_group = pair_group[ent_pair]
    porder = np.lexsort((ent_cell, ent_group))
    eg, ec = ent_group[porder], ent_cell[porder]
    new_part = np.ones(eg.size, dtype=bool)
    new_part[1:] = (eg[1:] != eg[:-1]) | (ec[1:] != ec[:-1])
    starts = np.flatnonzero(new_part)
    parts = (
        eg[starts].astype(np.int64),
        ec[starts].astype(np.int64),
        np.append(starts, eg.size).astype(np.int64),
        pair_local[ent_pair][porder].astype(np.int64),
        ent_coef[porder].astype(np.float64),
    )
    return MeasurementPlan(
        shape=shape,
        parameter_shape=pshape,
        num_qubits=n,
        groups=tuple(groups),
        _parts=parts,
        _offsets=offsets,
    )

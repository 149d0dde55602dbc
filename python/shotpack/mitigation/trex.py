"""TREX: twirled readout error extinction for the Estimator.

With measurement twirling, every readout error channel becomes, on average, diagonal in the
Pauli-Z basis: measuring ``Z_S`` (the product of ``Z`` over the qubits ``S``) returns
``f_S <Z_S>`` for a factor ``f_S`` that depends only on ``S`` (``prod (1 - P(1|0) - P(0|1))``
for independent errors). Twirled calibration circuits (random ``prx(pi)`` flips of the
measured qubits from ``|0...0>``, then the same measurement) estimate ``f_S`` for every support
the observables need, and each term is divided by its factor.

Errors: the mitigated value ``sum_t c_t r_t / f_t`` has the circuits' shot noise (the Estimator
kernel's standard error with coefficients ``c_t / f_t``) and the calibration's: to first order
``sum_S d_S (f_S - E f_S)`` with ``d_S = -sum_{t: S_t = S} c_t r_t / f_S**2``, whose variance
is ``d^T C d`` for the covariance ``C`` of the factor estimates over the randomizations.
The two are independent (different shots) and add in quadrature.

All per-shot work is two calls of the native estimator kernel: the calibration factors per
randomization (their mean is ``f_S``, their spread over the randomizations gives the factors'
covariance); and one pass over the circuits' shots for the mitigated values and, as extra
cells, each value split by support. The calibration's error of each value is then a quadratic
form of the derivatives in that covariance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack import _native
from shotpack.containers.bit_array import BitArray
from shotpack.containers.data_bin import DataBin
from shotpack.expval.plan import MeasurementPlan

__all__ = ["TrexCalibration", "evaluate_mitigated", "random_flips"]


def random_flips(rng: np.random.Generator, num_rand: int, num_bits: int) -> NDArray[np.uint8]:
    """``(num_rand, num_bits)`` random 0/1 flips of the measured qubits."""
    return rng.integers(0, 2, size=(num_rand, num_bits), dtype=np.uint8)


def _pack_words(bits: NDArray[np.bool_]) -> NDArray[np.uint64]:
    rows, n = bits.shape
    words = max((n + 63) // 64, 1)
    packed = np.packbits(bits, axis=1, bitorder="little")
    out = np.zeros((rows, words * 8), dtype=np.uint8)
    out[:, : packed.shape[1]] = packed
    return out.view("<u8").reshape(rows, words).astype(np.uint64, copy=False)


def _ptr(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


@dataclass
class TrexCalibration:
    """Twirled readout calibration of some qubits: the data of the calibration circuits.

    Args:
        qubits: The calibrated qubits, bit ``j`` of the data being ``qubits[j]``.
        bits: Measured bits, shape ``(num_randomizations,)``, ``shots`` each.
        flips: Packed rows ``(num_randomizations, nbytes)`` of the flipped qubits.
    """

    qubits: tuple[str, ...]
    bits: BitArray
    flips: NDArray[np.uint8]
    _supports: dict[frozenset[str], int] = field(default_factory=dict, repr=False)
    _factors: NDArray[np.float64] | None = field(default=None, repr=False)

    def _group_args(self, supports: Sequence[frozenset[str]]) -> tuple[Any, ...]:
        index = {q: j for j, q in enumerate(self.qubits)}
        table = np.zeros((len(supports), len(self.qubits)), dtype=bool)
        for k, s in enumerate(supports):
            table[k, [index[q] for q in s]] = True
        z = _pack_words(table)
        zero = np.zeros_like(z)
        num_rand = self.bits.shape[0] if self.bits.shape else 1
        return (
            np.ascontiguousarray(self.bits.array),
            num_rand,
            self.bits.num_bits,
            np.ascontiguousarray(self.flips),
            z,
            zero,
            zero,
        )

    def factor_samples(self, supports: Sequence[frozenset[str]]) -> NDArray[np.float64]:
        """Per-randomization estimates of the factors ``f_S`` (twirled ``<Z_S>`` from
        ``|0...0>``), shape ``(num_randomizations, len(supports))``: one native pass.

        Raises:
            ValueError: A support with a qubit that was not calibrated.
        """
        missing = set().union(*supports) - set(self.qubits) if supports else set()
        if missing:
            raise ValueError(f"qubits {sorted(missing)} were not calibrated")
        k = len(supports)
        num_rand = self.bits.shape[0] if self.bits.shape else 1
        if k == 0:
            return np.zeros((num_rand, 0))
        _, _, nbits, _, z, zero, _ = self._group_args(supports)
        array = np.ascontiguousarray(self.bits.array).reshape(num_rand, -1, self.flips.shape[-1])
        # Each randomization is its own group, so each (randomization, support) its own cell.
        args: list[Any] = [
            (array[r], 1, nbits, self.flips[r : r + 1], z, zero, zero) for r in range(num_rand)
        ]
        cells = num_rand * k
        evs, _, _ = _native.estimator_moments(
            args,
            np.repeat(np.arange(num_rand, dtype=np.int64), k),
            np.arange(cells, dtype=np.int64),
            np.arange(cells + 1, dtype=np.int64),
            np.tile(np.arange(k, dtype=np.int64), num_rand),
            np.ones(cells),
            np.zeros(cells),
        )
        return np.asarray(evs, dtype=np.float64).reshape(num_rand, k)


def _check_factors(f: NDArray[np.float64], supports: Sequence[frozenset[str]]) -> None:
    bad = np.nonzero(~(f > 0))[0]
    if len(bad):
        s = sorted(supports[int(bad[0])])
        raise ValueError(
            f"the twirled calibration of {s} gives a factor {f[bad[0]]:.3g}: readout is "
            "too noisy (or the calibration too short) to mitigate"
        )


def evaluate_mitigated(
    plan: MeasurementPlan,
    data: Sequence[Any],
    flips: Sequence[NDArray[np.uint8]],
    loci: Sequence[tuple[str, ...]],
    calibration: TrexCalibration,
) -> tuple[DataBin, dict[str, Any]]:
    """TREX-mitigated ``evs``, ``stds`` and ``ensemble_standard_error`` of a plan.

    Args:
        plan: The PUB's measurement plan.
        data: One ``BitArray`` of shape ``(R,)`` per group (twirled shots).
        flips: One packed ``(R, nbytes)`` flip table per group.
        loci: The physical qubits of each group (bit ``j`` is ``loci[g][j]``).
        calibration: The twirled calibration of (at least) those qubits.

    Returns:
        The data bin and a dict of the calibration factors used (``{"ZZ@QB1,QB2": f}``).

    Raises:
        ValueError: A term with a projector (TREX mitigates Pauli terms), or a calibration
            that does not cover the qubits.
    """
    part_group, part_cell, part_ptr, part_terms, part_coeffs = plan._parts
    num_cells = len(plan._offsets)
    # The support of every (group, term): its Pauli positions, as physical qubits.
    support_ids: list[NDArray[np.int64]] = []
    supports: dict[frozenset[str], int] = {}
    known: dict[tuple[tuple[str, ...], bytes], NDArray[np.int64]] = {}
    args = []
    for g, (group, ba) in enumerate(zip(plan.groups, data, strict=True)):
        pauli, proj, value = group._masks
        if proj.any():
            raise ValueError(
                f"group {g} (basis {group.basis}): measure_mitigation mitigates Pauli terms; "
                "projector terms (0, 1, +, -, r, l) are not supported"
            )
        nbits = group.num_bits
        locus = loci[g]
        # Groups repeat across parameter sets: look supports up by (locus, masks) first.
        key = (locus, pauli.tobytes())
        ids = known.get(key)
        if ids is None:
            words = pauli.view(np.uint8).reshape(len(pauli), -1)
            bits = np.unpackbits(words, axis=1, bitorder="little")[:, :nbits].astype(bool)
            ids = np.empty(len(pauli), dtype=np.int64)
            for t in range(len(pauli)):
                s = frozenset(locus[j] for j in np.flatnonzero(bits[t]).tolist())
                ids[t] = supports.setdefault(s, len(supports))
            known[key] = ids
        support_ids.append(ids)
        num_rand = ba.shape[0] if ba.shape else 1
        args.append(
            (
                np.ascontiguousarray(ba.array),
                num_rand,
                nbits,
                np.ascontiguousarray(flips[g]),
                pauli,
                proj,
                value,
            )
        )
    args_: list[Any] = args
    support_list = list(supports)
    samples = calibration.factor_samples(support_list)
    num_rand = len(samples)
    if num_rand < 2:
        raise ValueError("TREX needs at least 2 calibration randomizations for its errors")
    f = samples.mean(axis=0)
    _check_factors(f, support_list)
    # Covariance of the factor estimates: the spread over the randomizations.
    cov = np.atleast_2d(np.cov(samples, rowvar=False, ddof=1)) / num_rand
    # Per term entry of the part table: its group, cell, term, coefficient and support.
    counts = np.diff(part_ptr).astype(np.int64)
    entry_group = np.repeat(part_group, counts)
    entry_cell = np.repeat(part_cell, counts)
    first_term = _ptr(np.array([len(ids) for ids in support_ids], dtype=np.int64))
    flat_ids = np.concatenate(support_ids) if support_ids else np.zeros(0, dtype=np.int64)
    entry_sid = flat_ids[first_term[entry_group] + part_terms]
    scaled = part_coeffs / f[entry_sid] if len(entry_sid) else part_coeffs

    # One pass over the shots gives both the mitigated values with the circuits' shot noise
    # (the plan's parts, coefficients c_t / f_t) and each cell's value split by support (for
    # the calibration derivatives). A cell whose terms share one support is its own split
    # (its value less its constant); only the other cells' splits become extra cells.
    stride = max(len(support_list), 1)
    pair_key = entry_cell * stride + entry_sid
    pairs, pair_of_entry = np.unique(pair_key, return_inverse=True)
    pair_cell = pairs // stride
    pair_sid = pairs % stride
    supports_per_cell = np.bincount(pair_cell, minlength=num_cells)
    mixed = supports_per_cell[entry_cell] > 1
    sel = np.flatnonzero(mixed)
    order = sel[np.lexsort((pair_of_entry[sel], entry_group[sel]))]
    keys = entry_group[order] * max(len(pairs), 1) + pair_of_entry[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else sel
    sizes = np.diff(np.concatenate((starts, [len(keys)])))
    split_ptr = _ptr(sizes)[1:] + part_ptr[-1]
    all_evs, all_stds, all_ese = _native.estimator_moments(
        args_,
        np.concatenate((part_group, entry_group[order][starts])).astype(np.int64),
        np.concatenate((part_cell, num_cells + pair_of_entry[order][starts])).astype(np.int64),
        np.concatenate((part_ptr, split_ptr)).astype(np.int64),
        np.concatenate((part_terms, part_terms[order])).astype(np.int64),
        np.concatenate((scaled, scaled[order])),
        np.concatenate((plan._offsets, np.zeros(len(pairs)))),
    )
    evs, stds, ese = all_evs[:num_cells], all_stds[:num_cells], all_ese[:num_cells]
    split = all_evs[num_cells:]
    single = supports_per_cell[pair_cell] == 1
    split[single] = evs[pair_cell[single]] - plan._offsets[pair_cell[single]]
    # The calibration's error of each cell: sum_S d_S (f_S - E f_S), a quadratic form in the
    # factors' covariance.
    derivative = -split / f[pair_sid] if len(pairs) else np.zeros(0)
    d = np.zeros((num_cells, max(len(support_list), 1)))
    d[pair_cell, pair_sid] = derivative
    cov_full = np.zeros((d.shape[1], d.shape[1]))
    cov_full[: len(support_list), : len(support_list)] = cov if len(support_list) else 0.0
    cal_stds = np.sqrt(np.clip(np.einsum("ck,kl,cl->c", d, cov_full, d), 0.0, None))
    cal_ese = cal_stds
    stds = np.sqrt(stds**2 + cal_stds**2)
    ese = np.sqrt(ese**2 + cal_ese**2)
    shape = plan.shape
    factors = {",".join(sorted(s)): float(v) for s, v in zip(support_list, f, strict=True)}
    bin_ = DataBin(
        evs=evs.reshape(shape),
        stds=stds.reshape(shape),
        ensemble_standard_error=ese.reshape(shape),
        shape=shape,
    )
    return bin_, factors

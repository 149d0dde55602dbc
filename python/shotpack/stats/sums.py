"""Per-observable sums of diagonal observables, mergeable across chunks of shots, exactly.

For an observable ``O = sum_k c_k P_k`` over ``I Z 0 1`` the per-shot value is ``v = sum_k c_k
a_k`` with ``a_k`` in ``{-1, 0, +1}``. :class:`ObservableSums` keeps exact integers per cell: the
shot count ``n``, every term's sum ``sum(a_k)`` and every product ``sum(a_k a_l)`` that the
observables' second moments need. Integers add exactly, so the sums of any chunking of the shots
merge to the sums of the whole array, and ``n``, ``sum v``, ``sum v**2``, the means and the
standard errors derived from them are bit-identical whatever the chunking.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack.containers.observables_array import ObservablesArray
from shotpack.expval.diagonal import diagonal_observables
from shotpack.quantum_info.term_table import term_table
from shotpack.stats.terms import label_product, term_sums

__all__ = ["ObservableSums", "SumsSpec"]


@dataclass(frozen=True)
class SumsSpec:
    """What to tally for a set of diagonal observables: the distinct terms and products.

    Build one with :meth:`SumsSpec.from_observables`; it is small, picklable and shared by every
    chunk's :class:`ObservableSums`.

    Attributes:
        shape: the observables' array shape.
        num_bits: bits per shot.
        labels: the distinct terms and term products to sum (labels over ``I Z 0 1``).
        ptr, entries, coeffs: observable ``i`` is ``sum(coeffs[k] * term(entries[k]))`` for
            ``k`` in ``ptr[i]:ptr[i + 1]``; ``entries`` index ``labels``.
        pair_index, pair_sign: for entries ``k <= l`` of one observable, the label index and
            sign of ``term_k * term_l`` (flattened per observable, ``k`` major).
    """

    shape: tuple[int, ...]
    num_bits: int
    labels: tuple[str, ...]
    ptr: NDArray[np.int64] = field(repr=False, compare=False)
    entries: NDArray[np.int64] = field(repr=False, compare=False)
    coeffs: NDArray[np.float64] = field(repr=False, compare=False)
    pair_ptr: NDArray[np.int64] = field(repr=False, compare=False)
    pair_index: NDArray[np.int64] = field(repr=False, compare=False)
    pair_sign: NDArray[np.int64] = field(repr=False, compare=False)

    @classmethod
    def from_observables(cls, observables: Any, num_bits: int) -> SumsSpec:
        """The spec of diagonal observables on shots of ``num_bits`` bits.

        Raises:
            ValueError: an observable that is not diagonal or has a different qubit count.
        """
        obs = ObservablesArray.coerce(observables)
        flat = diagonal_observables(obs, num_bits)
        labels, ptr, entries, coeffs = term_table(flat)
        index = {lab: i for i, lab in enumerate(labels)}
        all_labels = list(labels)
        pair_ptr = [0]
        pair_index: list[int] = []
        pair_sign: list[int] = []
        # Per observable, not per shot: the products its second moment needs.
        for o in range(len(flat)):
            ent = entries[ptr[o] : ptr[o + 1]].tolist()
            for i, t in enumerate(ent):
                for u in ent[i:]:
                    prod, sign = label_product(labels[t], labels[u])
                    if prod not in index:
                        index[prod] = len(all_labels)
                        all_labels.append(prod)
                    pair_index.append(index[prod])
                    pair_sign.append(sign)
            pair_ptr.append(len(pair_index))
        return cls(
            shape=obs.shape,
            num_bits=num_bits,
            labels=tuple(all_labels),
            ptr=ptr,
            entries=entries,
            coeffs=np.asarray(coeffs, dtype=np.float64),
            pair_ptr=np.asarray(pair_ptr, dtype=np.int64),
            pair_index=np.asarray(pair_index, dtype=np.int64),
            pair_sign=np.asarray(pair_sign, dtype=np.int64),
        )

    @property
    def size(self) -> int:
        """Number of observables."""
        return len(self.ptr) - 1


class ObservableSums:
    """Exact, mergeable sums of diagonal observables over a set of shots, per cell.

    Attributes:
        spec: the :class:`SumsSpec` (observables and terms).
        cell_shape: shape of the BitArray the shots came from.
        num_shots: shots per cell.
        sums: ``int64 (cells, len(spec.labels))``: each term's or product's exact sum.

    Example:
        >>> from shotpack import BitArray
        >>> ba = BitArray.from_samples(["00", "01", "11", "11"], num_bits=2)
        >>> spec = SumsSpec.from_observables(["ZZ", {"IZ": 2.0, "ZI": 1.0}], 2)
        >>> halves = [ba.slice_shots([0, 1]), ba.slice_shots([2, 3])]
        >>> parts = [ObservableSums.from_bit_array(h, spec) for h in halves]
        >>> total = ObservableSums.merge(parts)
        >>> total.expectation_values(), ba.expectation_values(["ZZ", {"IZ": 2.0, "ZI": 1.0}])
        (array([ 0.5, -1. ]), array([ 0.5, -1. ]))
    """

    __slots__ = ("cell_shape", "num_shots", "spec", "sums")

    def __init__(
        self, spec: SumsSpec, cell_shape: tuple[int, ...], num_shots: int, sums: NDArray[np.int64]
    ) -> None:
        self.spec = spec
        self.cell_shape = tuple(cell_shape)
        self.num_shots = int(num_shots)
        self.sums = np.asarray(sums, dtype=np.int64)

    def __repr__(self) -> str:
        return (
            f"ObservableSums(observables={self.spec.size}, cells={self.cell_shape}, "
            f"shots={self.num_shots})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (ObservableSums, (self.spec, self.cell_shape, self.num_shots, self.sums))

    @classmethod
    def from_rows(cls, rows: NDArray[np.uint8], spec: SumsSpec) -> ObservableSums:
        """Sums over packed rows ``uint8 (*cell_shape, shots, nbytes)``."""
        rows = np.asarray(rows)
        cell_shape = rows.shape[:-2]
        shots = rows.shape[-2]
        cells = int(np.prod(cell_shape, dtype=np.int64))
        flat = rows.reshape(cells, shots, rows.shape[-1])
        return cls(spec, cell_shape, shots, term_sums(flat, spec.num_bits, spec.labels))

    @classmethod
    def from_bit_array(cls, bit_array: Any, spec: SumsSpec) -> ObservableSums:
        """Sums over every shot of a ``BitArray``.

        Raises:
            ValueError: the BitArray's ``num_bits`` differs from the spec's.
        """
        if bit_array.num_bits != spec.num_bits:
            raise ValueError(
                f"the BitArray has {bit_array.num_bits} bits, the observables {spec.num_bits}"
            )
        return cls.from_rows(np.asarray(bit_array.array), spec)

    @staticmethod
    def merge(parts: Iterable[ObservableSums]) -> ObservableSums:
        """Sums of disjoint sets of shots added together (exact integer addition).

        Raises:
            ValueError: no parts, or parts of different specs or cell shapes.
        """
        parts = list(parts)
        if not parts:
            raise ValueError("merge needs at least one ObservableSums")
        first = parts[0]
        for i, p in enumerate(parts):
            if p.spec != first.spec or p.cell_shape != first.cell_shape:
                raise ValueError(f"part {i} tallies other observables or cells than part 0")
        total = np.zeros_like(first.sums)
        for p in parts:
            total += p.sums
        return ObservableSums(first.spec, first.cell_shape, sum(p.num_shots for p in parts), total)

    def __add__(self, other: ObservableSums) -> ObservableSums:
        if not isinstance(other, ObservableSums):
            return NotImplemented
        return ObservableSums.merge([self, other])

    # ---- derived statistics, all of shape broadcast(cell_shape, observables shape) ----------

    def _pairs(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        shape = np.broadcast_shapes(self.cell_shape, self.spec.shape)
        cells = int(np.prod(self.cell_shape, dtype=np.int64))
        cell = np.broadcast_to(np.arange(cells).reshape(self.cell_shape), shape).reshape(-1)
        obs = np.broadcast_to(np.arange(self.spec.size).reshape(self.spec.shape), shape).reshape(-1)
        return cell, obs

    def _shape(self) -> tuple[int, ...]:
        return tuple(np.broadcast_shapes(self.cell_shape, self.spec.shape))

    def count(self) -> NDArray[np.int64]:
        """``n``: shots per output cell."""
        return np.full(self._shape(), self.num_shots, dtype=np.int64)

    def sum_values(self) -> NDArray[np.float64]:
        """``sum v`` per output cell (``sum_k c_k * sum(a_k)``)."""
        cell, obs = self._pairs()
        out = [self._lin(c, o) for c, o in zip(cell.tolist(), obs.tolist(), strict=True)]
        return np.asarray(out, dtype=np.float64).reshape(self._shape())

    def sum_squares(self) -> NDArray[np.float64]:
        """``sum v**2`` per output cell (``sum_kl c_k c_l sum(a_k a_l)``)."""
        cell, obs = self._pairs()
        out = []
        for c, o in zip(cell.tolist(), obs.tolist(), strict=True):
            out.append(sum(cc * s for cc, s, _ in self._second(c, o)))
        return np.asarray(out, dtype=np.float64).reshape(self._shape())

    def _lin(self, c: int, o: int) -> float:
        s, spec = self.sums[c], self.spec
        return sum(
            float(spec.coeffs[k]) * float(s[spec.entries[k]])
            for k in range(spec.ptr[o], spec.ptr[o + 1])
        )

    def _second(self, c: int, o: int) -> list[tuple[float, int, tuple[int, int]]]:
        """``(c_k c_l (x2 off the diagonal), sum(a_k a_l), (t_k, t_l))`` per entry pair."""
        s, spec = self.sums[c], self.spec
        k0, k1 = int(spec.ptr[o]), int(spec.ptr[o + 1])
        out = []
        q = int(spec.pair_ptr[o])
        for i in range(k0, k1):
            for j in range(i, k1):
                w = float(spec.coeffs[i]) * float(spec.coeffs[j]) * (1.0 if i == j else 2.0)
                total = int(spec.pair_sign[q]) * int(s[spec.pair_index[q]])
                out.append((w, total, (int(spec.entries[i]), int(spec.entries[j]))))
                q += 1
        return out

    def expectation_values(self) -> NDArray[np.float64]:
        """Means, bit-identical to ``BitArray.expectation_values`` on the whole array.

        Raises:
            ValueError: no shots.
        """
        shape = self._shape()
        if self.num_shots == 0 and int(np.prod(shape, dtype=np.int64)):
            raise ValueError("cannot compute expectation values of a BitArray with 0 shots")
        cell, obs = self._pairs()
        spec, n = self.spec, float(self.num_shots)
        # The same operations in the same order as the native kernel: sum_k c_k * (s_k / n).
        # Rust's float sum starts from -0.0, which keeps the sign of an all-negative-zero sum.
        out = np.full(cell.size, -0.0, dtype=np.float64)
        counts = spec.ptr[1:] - spec.ptr[:-1]
        width = int(counts.max()) if counts.size else 0
        for k in range(width):
            has = counts[obs] > k
            idx = spec.ptr[obs[has]] + k
            terms = spec.entries[idx]
            out[has] += spec.coeffs[idx] * (self.sums[cell[has], terms] / n)
        return out.reshape(shape)

    def variances(self) -> NDArray[np.float64]:
        """Population variance (``ddof=0``) of the per-shot value ``v``, from exact integers:
        ``sum_kl c_k c_l (n sum(a_k a_l) - sum(a_k) sum(a_l)) / n**2`` (zero for no shots)."""
        cell, obs = self._pairs()
        n = self.num_shots
        out = np.zeros(cell.size, dtype=np.float64)
        if n == 0:
            return out.reshape(self._shape())
        for x, (c, o) in enumerate(zip(cell.tolist(), obs.tolist(), strict=True)):
            s = self.sums[c]
            n2var = 0.0
            for w, prod, (t, u) in self._second(c, o):
                n2var += w * float(n * prod - int(s[t]) * int(s[u]))
            out[x] = max(n2var / n / n, 0.0)
        return out.reshape(self._shape())

    def standard_errors(self) -> NDArray[np.float64]:
        """``sqrt(variance / n)``: the standard error of each mean."""
        n = self.num_shots
        if n == 0:
            return np.zeros(self._shape(), dtype=np.float64)
        return np.sqrt(self.variances() / n)

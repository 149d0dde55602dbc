"""``PauliSum``: a real sum of Pauli terms (and projectors), an immutable ``{label: coeff}``.

A term is a dense label over ``I X Y Z`` plus the projectors ``0 1`` (Z basis), ``+ -`` (X basis)
and ``r l`` (Y basis), Qiskit's ``SparseObservable`` alphabet. The **rightmost character acts on
qubit 0**, as in Qiskit. Coefficients are real: the observables are Hermitian.

Qiskit's ``Pauli``, ``PauliList``, ``SparsePauliOp`` and ``SparseObservable`` are accepted when
Qiskit is installed; nothing here needs Qiskit otherwise.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeGuard

import numpy as np
from numpy.typing import NDArray

from shotpack.quantum_info.labels import DIAGONAL, SIMPLIFY_TOL, check_labels
from shotpack.quantum_info.layout import _normalise_layout, _relabel

__all__ = ["PauliSum"]


def _is_real_number(x: object) -> TypeGuard[numbers.Real]:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _qiskit_types() -> dict[str, Any] | None:
    """Qiskit's observable types, or None when Qiskit is not installed (imported lazily)."""
    if "qiskit" not in sys.modules:
        return None  # no Qiskit object can exist yet, and importing Qiskit costs ~0.8 s
    try:
        from qiskit.quantum_info import Pauli, PauliList, SparseObservable, SparsePauliOp
    except ImportError:  # pragma: no cover - exercised only without qiskit
        return None
    return {
        "Pauli": Pauli,
        "PauliList": PauliList,
        "SparsePauliOp": SparsePauliOp,
        "SparseObservable": SparseObservable,
    }


def _qiskit_terms(obj: Any) -> tuple[list[str], list[complex], int] | None:
    """Dense labels, coefficients and qubit count of a Qiskit observable, or None if ``obj``
    is not one."""
    qk = _qiskit_types()
    if qk is None:
        return None
    if isinstance(obj, qk["Pauli"]):
        obj = qk["SparseObservable"].from_pauli(obj)
    elif isinstance(obj, qk["SparsePauliOp"]):
        obj = qk["SparseObservable"].from_sparse_pauli_op(obj)
    if not isinstance(obj, qk["SparseObservable"]):
        return None
    n = obj.num_qubits
    labels, coeffs = [], []
    for letters, qubits, coeff in obj.to_sparse_list():
        dense = ["I"] * n
        for ch, q in zip(letters, qubits, strict=True):
            dense[n - 1 - q] = ch
        labels.append("".join(dense))
        coeffs.append(complex(coeff))
    return labels, coeffs, n


class PauliSum(Mapping[str, float]):
    """A real linear combination of Pauli terms (and projectors) on ``num_qubits`` qubits.

    It is an immutable mapping ``{label: coeff}`` (labels dense, rightmost character on qubit 0),
    so ``dict(obs)``, ``obs["ZZ"]`` and comparison with a dict work. Duplicate labels are merged
    on construction, keeping first-occurrence order; terms with zero coefficient are kept until
    :meth:`simplify`.

    Args:
        data: a label (``"XZ"``, coefficient 1), a ``{label: coeff}`` mapping, an iterable of
            ``(label, coeff)`` pairs, another ``PauliSum``, or (with Qiskit installed) a
            ``Pauli``, ``SparsePauliOp`` or ``SparseObservable``.
        num_qubits: the qubit count; needed only for an empty sum, checked otherwise.

    Raises:
        TypeError: ``data`` or a label or coefficient has the wrong type.
        ValueError: a label uses a letter outside ``IXYZ01+-rl``, labels differ in length, or a
            coefficient is not real.

    Example:
        >>> h = PauliSum({"ZZ": 0.5, "XX": 0.5}) + 0.25 * PauliSum("IZ")
        >>> h.num_qubits, dict(h)
        (2, {'ZZ': 0.5, 'XX': 0.5, 'IZ': 0.25})
    """

    __slots__ = ("_coeffs", "_index", "_labels", "_num_qubits")

    # NumPy must not treat a PauliSum (a Mapping) as an array operand: this makes
    # ``np.float64(2) * obs`` defer to ``__rmul__`` instead of failing inside a ufunc.
    __array_ufunc__ = None

    _labels: tuple[str, ...]
    _coeffs: NDArray[np.float64]
    _num_qubits: int
    _index: dict[str, int]

    def __init__(self, data: object = None, num_qubits: int | None = None) -> None:
        labels, coeffs, n = self._parse(data, num_qubits)
        if num_qubits is not None:
            if n is not None and n != num_qubits:
                raise ValueError(f"the observable has {n} qubits, not num_qubits={num_qubits}")
            n = int(num_qubits)
        self._init_from(labels, coeffs, n, drop_tol=None)

    # -- construction -----------------------------------------------------------------------

    @staticmethod
    def _parse(data: object, num_qubits: int | None) -> tuple[list[str], list[Any], int | None]:
        if num_qubits is not None and (
            not isinstance(num_qubits, numbers.Integral) or num_qubits < 0
        ):
            raise ValueError(f"num_qubits must be a non-negative integer, got {num_qubits!r}")
        if isinstance(data, PauliSum):
            return list(data._labels), list(data._coeffs), data._num_qubits
        if data is None:
            return [], [], num_qubits
        if isinstance(data, str):
            return [data], [1.0], len(data)
        qk = _qiskit_terms(data)
        if qk is not None:
            return qk[0], list(qk[1]), qk[2]
        if isinstance(data, Mapping):
            labels, coeffs = [], []
            for key, coeff in data.items():
                if isinstance(key, str):
                    labels.append(key)
                    coeffs.append(coeff)
                    continue
                sub = _qiskit_terms(key) if _is_qiskit_pauli(key) else None
                if sub is None:
                    raise TypeError(f"Invalid observable basis type: {type(key)}")
                labels.extend(sub[0])
                coeffs.extend(c * coeff for c in sub[1])
            return labels, coeffs, None
        if isinstance(data, Iterable) and not isinstance(data, (bytes, bytearray)):
            labels, coeffs = [], []
            for i, item in enumerate(data):
                if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                    raise TypeError(
                        f"expected (label, coeff) pairs, item {i} is {type(item).__name__}"
                    )
                labels.append(item[0])
                coeffs.append(item[1])
            return labels, coeffs, None
        raise TypeError(f"Invalid observable type: {type(data)}")

    def _init_from(
        self,
        labels: list[str],
        coeffs: list[Any] | NDArray[Any],
        num_qubits: int | None,
        *,
        drop_tol: float | None,
    ) -> None:
        if num_qubits is None:
            if not labels:
                raise ValueError("num_qubits is required for an empty PauliSum")
            num_qubits = len(labels[0]) if isinstance(labels[0], str) else 0
        check_labels(labels, int(num_qubits))
        for i, c in enumerate(coeffs):
            if not isinstance(c, (numbers.Number, np.number)) or isinstance(c, bool):
                raise TypeError(f"coefficient of term {i} must be a number, got {type(c)}")
        index: dict[str, int] = {}
        merged: list[complex] = []
        for label, c in zip(labels, coeffs, strict=True):
            at = index.get(label)
            if at is None:
                index[label] = len(merged)
                merged.append(complex(c))
            else:
                merged[at] += complex(c)
        arr = np.array(merged, dtype=complex)
        kept = list(index)
        if drop_tol is not None:
            # Written as "not small" so that NaN coefficients are kept and propagate, as in Qiskit.
            keep = ~(np.abs(arr) <= drop_tol)
            arr = arr[keep]
            kept = [label for label, k in zip(kept, keep, strict=True) if k]
        real = np.real_if_close(arr, tol=100)
        if np.iscomplexobj(real):
            raise ValueError(
                "Non-Hermitian input observable: the coefficients must be real "
                f"(got {arr[np.abs(arr.imag) > 0][0]!r})"
            )
        self._labels = tuple(kept)
        self._coeffs = np.ascontiguousarray(real, dtype=np.float64)
        self._coeffs.flags.writeable = False
        self._num_qubits = int(num_qubits)
        self._index = {label: i for i, label in enumerate(self._labels)}

    @classmethod
    def _new(
        cls,
        labels: list[str],
        coeffs: list[Any] | NDArray[Any],
        num_qubits: int | None,
        drop_tol: float | None = None,
    ) -> PauliSum:
        obj = cls.__new__(cls)
        obj._init_from(labels, coeffs, num_qubits, drop_tol=drop_tol)
        return obj

    @classmethod
    def from_label(cls, label: str) -> PauliSum:
        """One term with coefficient 1, e.g. ``PauliSum.from_label("XIZ")``."""
        return cls(label)

    @classmethod
    def from_list(
        cls, pairs: Iterable[tuple[str, complex]], num_qubits: int | None = None
    ) -> PauliSum:
        """A sum from ``(label, coeff)`` pairs (duplicates are added)."""
        return cls(list(pairs), num_qubits)

    @classmethod
    def from_qiskit(cls, obj: object) -> PauliSum:
        """Converts a Qiskit ``Pauli``, ``SparsePauliOp`` or ``SparseObservable``.

        Raises:
            TypeError: ``obj`` is not one of these (or Qiskit is not installed).
            ValueError: a coefficient is not real.
        """
        terms = _qiskit_terms(obj)
        if terms is None:
            raise TypeError(f"not a Qiskit observable: {type(obj)}")
        return cls._new(terms[0], terms[1], terms[2])

    def to_qiskit(self) -> Any:
        """This sum as a Qiskit ``SparseObservable`` (requires Qiskit)."""
        from qiskit.quantum_info import SparseObservable

        return SparseObservable.from_list(
            [(label, float(c)) for label, c in self.items()], num_qubits=self._num_qubits
        )

    # -- properties -------------------------------------------------------------------------

    @property
    def num_qubits(self) -> int:
        """Number of qubits the terms act on."""
        return self._num_qubits

    @property
    def labels(self) -> tuple[str, ...]:
        """Term labels in order."""
        return self._labels

    @property
    def coeffs(self) -> NDArray[np.float64]:
        """Coefficients in term order (a read-only float64 array)."""
        return self._coeffs

    @property
    def is_diagonal(self) -> bool:
        """True when every term uses only ``I Z 0 1``."""
        return all(set(label) <= set(DIAGONAL) for label in self._labels)

    # -- mapping ----------------------------------------------------------------------------

    def __getitem__(self, label: str) -> float:
        return float(self._coeffs[self._index[label]])

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def __eq__(self, other: object) -> bool:
        """Term-by-term equality with a ``PauliSum``, a ``{label: coeff}`` mapping or (with
        Qiskit) a ``Pauli``, ``SparsePauliOp`` or ``SparseObservable``.

        A Qiskit observable is compared after merging its duplicate terms and dropping zero
        ones (a ``PauliSum`` from :func:`~shotpack.containers.observables_array.coerce_observable`
        is simplified that way), so ``coerce_observable(op) == op`` holds as it does in Qiskit.
        """
        if not isinstance(other, (PauliSum, Mapping)):
            terms = _qiskit_terms(other)
            if terms is None:
                return NotImplemented
            try:
                other = PauliSum._new(terms[0], terms[1], terms[2], drop_tol=SIMPLIFY_TOL)
            except ValueError:  # complex coefficients: never equal to a real sum
                return False
            mine = self.simplify()
            return mine._num_qubits == other._num_qubits and Mapping.__eq__(mine, other)
        if isinstance(other, PauliSum) and other._num_qubits != self._num_qubits:
            return False
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    # -- algebra ----------------------------------------------------------------------------

    def simplify(self, tol: float = SIMPLIFY_TOL) -> PauliSum:
        """A copy without terms whose ``|coeff| <= tol`` (duplicates are already merged).

        A NaN coefficient is kept (it is not small), so it propagates into expectation values.
        """
        return PauliSum._new(list(self._labels), self._coeffs, self._num_qubits, drop_tol=tol)

    def apply_layout(self, layout: Any, num_qubits: int | None = None) -> PauliSum:
        """This sum with qubit ``q`` moved to qubit ``layout[q]``, on ``num_qubits`` qubits.

        The semantics are :meth:`ObservablesArray.apply_layout`'s, for one observable.

        Example:
            >>> PauliSum("XZ").apply_layout([2, 0], 3)
            PauliSum({'ZIX': 1.0}, num_qubits=3)
        """
        mapping, width = _normalise_layout(layout, num_qubits, self._num_qubits)
        if mapping is None and width == self._num_qubits:
            return self
        labels = _relabel(self._labels, self._num_qubits, mapping, width)
        return PauliSum._new(labels, self._coeffs, width)

    def _coerce_other(self, other: object) -> PauliSum | None:
        if isinstance(other, PauliSum):
            result = other
        else:
            try:
                result = PauliSum(other)
            except (TypeError, ValueError):
                return None
        if result._num_qubits != self._num_qubits:
            raise ValueError(
                f"cannot add observables on {self._num_qubits} and {result._num_qubits} qubits"
            )
        return result

    def __add__(self, other: object) -> PauliSum:
        o = self._coerce_other(other)
        if o is None:
            return NotImplemented
        return PauliSum._new(
            [*self._labels, *o._labels], [*self._coeffs, *o._coeffs], self._num_qubits
        )

    def __radd__(self, other: object) -> PauliSum:
        if isinstance(other, numbers.Number) and other == 0:  # so that sum([...]) works
            return self
        o = self._coerce_other(other)
        if o is None:
            return NotImplemented
        return o + self

    def __sub__(self, other: object) -> PauliSum:
        o = self._coerce_other(other)
        if o is None:
            return NotImplemented
        return self + (-1.0) * o

    def __rsub__(self, other: object) -> PauliSum:
        o = self._coerce_other(other)
        if o is None:
            return NotImplemented
        return o + (-1.0) * self

    def __mul__(self, scalar: object) -> PauliSum:
        if not _is_real_number(scalar):
            return NotImplemented
        return PauliSum._new(
            list(self._labels),
            self._coeffs * float(scalar),
            self._num_qubits,
        )

    __rmul__ = __mul__

    def __truediv__(self, scalar: object) -> PauliSum:
        if not _is_real_number(scalar):
            return NotImplemented
        return self * (1.0 / float(scalar))

    def __neg__(self) -> PauliSum:
        return self * -1.0

    def __repr__(self) -> str:
        body = ", ".join(f"{label!r}: {float(c)!r}" for label, c in self.items())
        return f"PauliSum({{{body}}}, num_qubits={self._num_qubits})"


def _is_qiskit_pauli(obj: object) -> bool:
    qk = _qiskit_types()
    return qk is not None and isinstance(obj, qk["Pauli"])

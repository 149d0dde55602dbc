"""Observables: :class:`PauliSum` (a real sum of Pauli terms) and :class:`ObservablesArray`.

A term is a dense label over ``I X Y Z`` plus the projectors ``0 1`` (Z basis), ``+ -`` (X basis)
and ``r l`` (Y basis), Qiskit's ``SparseObservable`` alphabet. The **rightmost character acts on
qubit 0**, as in Qiskit. Coefficients are real: the observables are Hermitian.

``ObservablesArray`` follows Qiskit's ``ObservablesArray`` rules for coercion and shape
inference: a ``list`` is an array axis, an ``ndarray`` contributes its own shape, and anything
else (a label, a dict, one multi-term observable) is one element. One shotpack extension: a list
whose items are all ``(label, coeff)`` pairs is one observable (Qiskit rejects tuples).

Qiskit's ``Pauli``, ``PauliList``, ``SparsePauliOp`` and ``SparseObservable`` are accepted when
Qiskit is installed; nothing here needs Qiskit otherwise.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeGuard, Union

import numpy as np
from numpy.typing import NDArray

from shotpack.shape import ShapedMixin

__all__ = [
    "ObservablesArray",
    "ObservablesArrayLike",
    "PauliSum",
    "TermMasks",
    "term_masks",
    "term_table",
]

#: Every letter a term label may use.
ALPHABET = "IXYZ01+-rl"
#: Letters that are diagonal in the computational basis.
DIAGONAL = "IZ01"
#: Qiskit's default tolerance of ``simplify`` (coefficients at or below it are dropped).
SIMPLIFY_TOL = 1e-8

_VALID = np.zeros(256, dtype=bool)
_VALID[np.frombuffer(ALPHABET.encode(), dtype=np.uint8)] = True


def _letters(chars: str) -> NDArray[np.uint8]:
    return np.frombuffer(chars.encode(), dtype=np.uint8)


# Per-letter properties, indexed by the letter's byte.
_X_BASIS = np.isin(np.arange(256), _letters("XY+-rl"))  # measured after an X or Y rotation
_Z_BASIS = np.isin(np.arange(256), _letters("YZ01rl"))  # (x, z) = (1, 0) X, (1, 1) Y, (0, 1) Z
_PAULI = np.isin(np.arange(256), _letters("XYZ"))
_PROJ = np.isin(np.arange(256), _letters("01+-rl"))
_PROJ_ONE = np.isin(np.arange(256), _letters("1-l"))


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


def _check_labels(labels: list[str], num_qubits: int) -> None:
    for i, label in enumerate(labels):
        if not isinstance(label, str):
            raise TypeError(f"Invalid observable basis type: {type(label)} (term {i})")
        if len(label) != num_qubits:
            raise ValueError(
                f"term {i} label {label!r} has {len(label)} qubits, expected {num_qubits}"
            )
    if not labels or num_qubits == 0:
        return
    try:
        codes = np.frombuffer("".join(labels).encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        codes = None
    if codes is None or not _VALID[codes].all():
        for i, label in enumerate(labels):
            bad = [c for c in label if c not in ALPHABET]
            if bad:
                raise ValueError(
                    f"labels must only contain letters from the alphabet {ALPHABET!r}: "
                    f"term {i} label {label!r} has {bad[0]!r}"
                )


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
        _check_labels(labels, int(num_qubits))
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


def _transpile_layout_type() -> Any:
    """Qiskit's ``TranspileLayout`` class, or None when Qiskit's transpiler is not loaded (then
    no such object can exist, and importing it would cost a second)."""
    if "qiskit.transpiler" not in sys.modules:
        return None
    try:
        from qiskit.transpiler import TranspileLayout
    except ImportError:  # pragma: no cover - a broken Qiskit install
        return None
    return TranspileLayout


def _normalise_layout(
    layout: Any, num_qubits: Any, current: int, check_entries: bool = True
) -> tuple[NDArray[np.intp] | None, int]:
    """``(mapping, width)`` for :meth:`ObservablesArray.apply_layout` on observables of
    ``current`` qubits: ``mapping[q]`` is the new index of qubit ``q`` (None: unchanged).
    ``check_entries=False`` skips the layout's own checks (for an array with no elements)."""
    if num_qubits is not None:
        if not isinstance(num_qubits, numbers.Integral) or isinstance(num_qubits, bool):
            raise TypeError(f"num_qubits must be an integer, got {type(num_qubits).__name__}")
        num_qubits = int(num_qubits)
        if num_qubits < 0:
            raise ValueError(f"num_qubits must be non-negative, got {num_qubits}")
    tl = _transpile_layout_type()
    if tl is not None and isinstance(layout, tl):
        # Qiskit's rule: the observables follow the virtual qubits to where they are at the end
        # of the transpiled circuit, which is as wide as its output qubits (the private list
        # below is what Qiskit's own apply_layout reads; there is no public width).
        width = len(layout._output_qubit_list)
        if num_qubits is not None:
            if num_qubits < width:
                raise ValueError(
                    f"num_qubits={num_qubits} is smaller than the {width} qubits of the "
                    "transpiled circuit"
                )
            width = num_qubits
        layout = layout.final_index_layout()
    else:
        width = current if num_qubits is None else num_qubits
    if width < current:
        raise ValueError(f"cannot shrink observables on {current} qubits to num_qubits={width}")
    if layout is None or not check_entries:
        return None, width
    if isinstance(layout, (str, bytes)) or not isinstance(layout, Iterable):
        raise TypeError(
            f"layout must be a list of ints or a Qiskit TranspileLayout, got {type(layout)}"
        )
    entries = []
    for i, v in enumerate(layout):
        if not isinstance(v, (numbers.Integral, np.integer)):
            raise TypeError(f"layout entry {i} must be an int, got {type(v).__name__}")
        entries.append(int(v))
    mapping = np.asarray(entries, dtype=np.intp)
    if mapping.size < current:
        raise ValueError(
            f"the layout has {mapping.size} entries but the observables act on {current} qubits"
        )
    bad = (mapping < 0) | (mapping >= width)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"layout entry {i} is {entries[i]}, outside the {width} qubits of the output"
        )
    uniq, counts = np.unique(mapping, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"the layout maps several qubits to qubit {int(uniq[counts > 1][0])}")
    return mapping[:current], width


def _relabel(
    labels: Sequence[str], num_qubits: int, mapping: NDArray[np.intp] | None, width: int
) -> list[str]:
    """Dense labels with qubit ``q`` moved to ``mapping[q]`` (identity when None), padded with
    ``I`` to ``width`` qubits."""
    codes = label_codes(labels, num_qubits)
    out = np.full((len(labels), width), ord("I"), dtype=np.uint8)
    out[:, np.arange(num_qubits) if mapping is None else mapping] = codes
    if width == 0:
        return [""] * len(labels)
    text = np.ascontiguousarray(out[:, ::-1]).tobytes().decode("ascii")
    return [text[i : i + width] for i in range(0, len(text), width)]


def term_table(
    observables: Sequence[PauliSum],
) -> tuple[list[str], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The distinct terms of several observables, and each observable as rows of that table.

    Args:
        observables: the observables, in order.

    Returns:
        ``(labels, ptr, entries, coeffs)``: ``labels`` are the distinct term labels in order of
        first appearance; observable ``i`` is the sum over ``k`` in ``ptr[i]:ptr[i + 1]`` of
        ``coeffs[k]`` times term ``labels[entries[k]]``.

    Example:
        >>> labels, ptr, entries, coeffs = term_table([PauliSum({"ZZ": 2.0}), PauliSum("ZZ")])
        >>> labels, ptr.tolist(), entries.tolist(), coeffs.tolist()
        (['ZZ'], [0, 1, 2], [0, 0], [2.0, 1.0])
    """
    index: dict[str, int] = {}
    ptr = np.zeros(len(observables) + 1, dtype=np.int64)
    entries: list[int] = []
    coeffs: list[NDArray[np.float64]] = []
    for i, o in enumerate(observables):
        entries.extend(index.setdefault(label, len(index)) for label in o.labels)
        coeffs.append(o.coeffs)
        ptr[i + 1] = len(entries)
    return (
        list(index),
        ptr,
        np.asarray(entries, dtype=np.int64),
        np.concatenate(coeffs) if coeffs else np.zeros(0, dtype=np.float64),
    )


def _is_qiskit_pauli(obj: object) -> bool:
    qk = _qiskit_types()
    return qk is not None and isinstance(obj, qk["Pauli"])


def coerce_observable(obj: object) -> PauliSum:
    """One observable as a simplified :class:`PauliSum`, with Qiskit's errors.

    Raises:
        TypeError: ``Invalid observable type`` (e.g. a tuple or an int) or an invalid key type.
        ValueError: an invalid label, a non-real coefficient, or ``Empty observable was
            detected.`` when every coefficient simplifies to zero.
    """
    n: int | None
    if isinstance(obj, PauliSum):
        labels, coeffs, n = list(obj.labels), list(obj.coeffs), obj.num_qubits
    elif isinstance(obj, (str, np.str_)):
        labels, coeffs, n = [str(obj)], [1.0], len(obj)
    elif isinstance(obj, Mapping) or _qiskit_terms(obj) is not None or _is_pair_list(obj):
        labels, coeffs, n = PauliSum._parse(obj, None)
    else:
        raise TypeError(f"Invalid observable type: {type(obj)}")
    if n is None:
        n = len(labels[0]) if labels else 0
    result = PauliSum._new(labels, coeffs, n, drop_tol=SIMPLIFY_TOL)
    if len(result) == 0:
        raise ValueError("Empty observable was detected.")
    return result


def _is_pair_list(obj: object) -> bool:
    """A non-empty list of ``(label, coeff)`` pairs: shotpack's one-observable list form."""
    return (
        isinstance(obj, list)
        and len(obj) > 0
        and all(
            isinstance(x, tuple)
            and len(x) == 2
            and isinstance(x[0], str)
            and isinstance(x[1], (numbers.Number, np.number))
            for x in obj
        )
    )


def _is_axis(obj: object) -> bool:
    if isinstance(obj, list):
        return not _is_pair_list(obj)
    qk = _qiskit_types()
    return qk is not None and isinstance(obj, qk["PauliList"])


ObservablesArrayLike = Union["ObservablesArray", PauliSum, str, Mapping[Any, Any], Iterable[Any]]


class ObservablesArray(ShapedMixin):
    """An N-dimensional array of observables (each a :class:`PauliSum`), Qiskit-compatible.

    Args:
        observables: anything :func:`ObservablesArray.coerce` accepts: a label, a mapping, a
            ``PauliSum``, a Qiskit observable, or (nested) lists / ndarrays of those.
        num_qubits: the qubit count every observable must have (inferred when None).
        copy: kept for Qiskit compatibility; elements are immutable, so nothing is shared
            mutably either way.
        validate: check that all observables have the same qubit count.

    Raises:
        TypeError: an element has an invalid type (``Invalid observable type: ...``).
        ValueError: ragged nesting, bad labels, non-real coefficients, an all-zero observable,
            or differing qubit counts.

    Example:
        >>> obs = ObservablesArray([["ZZ"], [{"XX": 0.5, "YY": 0.5}]])
        >>> obs.shape, obs.num_qubits
        ((2, 1), 2)
    """

    __slots__ = ("_array", "_num_qubits")

    def __init__(
        self,
        observables: object,
        num_qubits: int | None = None,
        copy: bool = True,
        validate: bool = True,
    ) -> None:
        del copy  # elements are immutable PauliSums
        if isinstance(observables, ObservablesArray):
            array = observables._array
        else:
            array = _object_array(observables)
        self._array: NDArray[np.object_] = array
        if num_qubits is None and array.size:
            num_qubits = next(iter(array.flat)).num_qubits
        self._num_qubits = 0 if num_qubits is None else int(num_qubits)
        if validate:
            self.validate()

    @classmethod
    def coerce(cls, observables: object) -> ObservablesArray:
        """Returns ``observables`` itself if it is an ObservablesArray, else a new one."""
        if isinstance(observables, ObservablesArray):
            return observables
        return cls(observables)

    def validate(self) -> None:
        """Checks that every observable acts on ``num_qubits`` qubits.

        Raises:
            ValueError: ``The number of qubits must be the same for all observables ...``.
        """
        for idx, obs in np.ndenumerate(self._array):
            if obs.num_qubits != self._num_qubits:
                raise ValueError(
                    "The number of qubits must be the same for all observables: "
                    f"observable at {idx} has {obs.num_qubits}, expected {self._num_qubits}"
                )

    @property
    def shape(self) -> tuple[int, ...]:
        """The array shape."""
        return self._array.shape

    @property
    def num_qubits(self) -> int:
        """The qubit count shared by every observable (0 for an empty array)."""
        return self._num_qubits

    def __len__(self) -> int:
        return len(self._array)

    def __getitem__(self, args: Any) -> PauliSum | ObservablesArray:
        item = self._array[args]
        if isinstance(item, PauliSum):
            return item
        return self._wrap(np.asarray(item, dtype=object))

    def slice(self, args: Any) -> PauliSum | ObservablesArray:
        """The observables at ``args`` (any NumPy index), without copying.

        Returns:
            The :class:`PauliSum` when ``args`` picks one element (Qiskit returns a
            ``SparseObservable`` there), else an ObservablesArray view.

        Example:
            >>> ObservablesArray([["ZZ", "XX"]]).slice((0, 1))
            PauliSum({'XX': 1.0}, num_qubits=2)
        """
        return self[args]

    def apply_layout(self, layout: Any, num_qubits: int | None = None) -> ObservablesArray:
        """The observables rewritten for a transpiled circuit: qubit ``q`` becomes qubit
        ``layout[q]`` of a ``num_qubits``-qubit register (Qiskit's rules).

        Args:
            layout: a list of distinct ints in ``[0, num_qubits)`` with at least
                :attr:`num_qubits` entries (entry ``q`` is where qubit ``q`` goes); a Qiskit
                ``TranspileLayout`` (e.g. ``transpiled.layout``), whose final index layout
                is used; or None to keep the qubits where they are.
            num_qubits: the qubit count of the result: at least :attr:`num_qubits`. Defaults
                to the current count, or with a ``TranspileLayout`` to the transpiled
                circuit's width.

        Returns:
            A new ObservablesArray of the same shape (``self`` as a copy when both arguments are
            None).

        Raises:
            TypeError: ``layout`` is not a sequence of ints or a ``TranspileLayout``, or
                ``num_qubits`` is not an int.
            ValueError: a layout entry outside ``[0, num_qubits)`` or repeated, a layout shorter
                than :attr:`num_qubits`, or ``num_qubits`` smaller than the current count (or
                than the transpiled circuit's width).

        Example:
            >>> ObservablesArray(["XZ", "ZZ"]).apply_layout([2, 0], 3).tolist()
            [PauliSum({'ZIX': 1.0}, num_qubits=3), PauliSum({'ZIZ': 1.0}, num_qubits=3)]
        """
        if layout is None and num_qubits is None:
            return self.copy()
        # Qiskit checks the layout against each element, so an empty array accepts any layout.
        mapping, width = _normalise_layout(
            layout, num_qubits, self._num_qubits, check_entries=self.size > 0
        )
        flat = self.ravel().tolist()
        labels, ptr, entries, coeffs = term_table(flat)
        moved = _relabel(labels, self._num_qubits, mapping, width)
        out = np.empty(self.size, dtype=object)
        for i in range(self.size):
            rows = entries[ptr[i] : ptr[i + 1]]
            out[i] = PauliSum._new(
                [moved[k] for k in rows.tolist()], coeffs[ptr[i] : ptr[i + 1]], width
            )
        result = self._wrap(out.reshape(self.shape))
        result._num_qubits = width
        return result

    def sparse_observables_array(self, copy: bool = False) -> NDArray[np.object_]:
        """The observables as an object array of Qiskit ``SparseObservable`` s (needs Qiskit).

        Args:
            copy: kept for Qiskit compatibility; the elements are always new Qiskit objects
                (converted from the immutable ``PauliSum`` s), so changing them never changes
                this array.

        Returns:
            An ndarray of :attr:`shape` with ``dtype=object``.

        Raises:
            ImportError: Qiskit is not installed.
        """
        del copy
        try:
            import qiskit.quantum_info  # noqa: F401
        except ImportError:
            raise ImportError(
                "ObservablesArray.sparse_observables_array() returns Qiskit SparseObservables "
                "and needs Qiskit: pip install 'shotpack[qiskit]'"
            ) from None
        out = np.empty(self.shape, dtype=object)
        for idx, obs in np.ndenumerate(self._array):
            out[idx] = obs.to_qiskit()
        return out

    def _wrap(self, array: NDArray[np.object_]) -> ObservablesArray:
        obj = ObservablesArray.__new__(ObservablesArray)
        obj._array = array
        obj._num_qubits = self._num_qubits
        return obj

    def reshape(self, *shape: Any) -> ObservablesArray:
        """A reshaped view (``-1`` allowed)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return self._wrap(self._array.reshape(shape))

    def ravel(self) -> ObservablesArray:
        """A flattened view."""
        return self._wrap(self._array.reshape(-1))

    def copy(self) -> ObservablesArray:
        """A copy of the array (the immutable elements are shared)."""
        return self._wrap(self._array.copy())

    def tolist(self) -> Any:
        """Nested lists of :class:`PauliSum` (a single PauliSum for a 0-d array)."""
        return self._array.tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray[np.object_]:
        if dtype not in (None, object, np.object_):
            raise ValueError(f"ObservablesArray can only be converted to dtype=object, not {dtype}")
        return self._array.copy() if copy else self._array

    def __iter__(self) -> Iterator[PauliSum | ObservablesArray]:
        for i in range(len(self)):
            yield self[i]

    def equivalent(self, other: object, tol: float = 1e-8) -> bool:
        """True when ``other`` has the same shape and each difference simplifies to zero."""
        other = ObservablesArray.coerce(other)
        if self.shape != other.shape or self.num_qubits != other.num_qubits:
            return False
        for a, b in zip(self._array.flat, other._array.flat, strict=True):
            if len((a - b).simplify(tol)) != 0:
                return False
        return True

    def __repr__(self) -> str:
        body = np.array2string(self._array, separator=" ", formatter=_DICT_FORMATTER)
        return f"ObservablesArray({body}, shape={self.shape})"


#: Formats elements as plain dicts in reprs, as Qiskit does.
_DICT_FORMATTER: Any = {"object": lambda o: repr(dict(o))}


def _object_array(obj: object) -> NDArray[np.object_]:
    """Qiskit's shape inference: lists (and PauliLists) are axes, ndarrays bring their shape,
    everything else is one element, coerced with :func:`coerce_observable`."""
    shape: list[int] = []
    cur = obj
    while True:
        if _is_axis(cur):
            seq = list(cur)  # type: ignore[call-overload]
            shape.append(len(seq))
            if not seq:
                break
            cur = seq[0]
        elif isinstance(cur, np.ndarray):
            shape.extend(cur.shape)
            break
        else:
            break
    out = np.empty(tuple(shape), dtype=object)

    def fill(x: object, index: tuple[int, ...]) -> None:
        depth = len(index)
        if depth == len(shape):
            if _is_axis(x) or (isinstance(x, np.ndarray) and x.ndim > 0):
                raise ValueError(
                    "Input object size does not match the inferred array shape "
                    f"{tuple(shape)} at index {index}"
                )
            out[index] = coerce_observable(x.item() if isinstance(x, np.ndarray) else x)
            return
        if isinstance(x, np.ndarray):
            if x.shape != tuple(shape[depth:]):
                raise ValueError(
                    "Input object size does not match the inferred array shape "
                    f"{tuple(shape)} at index {index}"
                )
            for sub, val in np.ndenumerate(x):
                out[index + sub] = coerce_observable(val)
            return
        if not _is_axis(x):
            raise ValueError(
                "Input object size does not match the inferred array shape "
                f"{tuple(shape)} at index {index}"
            )
        seq = list(x)  # type: ignore[call-overload]
        if len(seq) != shape[depth]:
            raise ValueError(
                "Input object size does not match the inferred array shape "
                f"{tuple(shape)} at index {index}"
            )
        for i, item in enumerate(seq):
            fill(item, (*index, i))

    fill(obj, ())
    return out


class TermMasks:
    """Bit masks of a list of terms over selected qubits (bit ``j`` is ``qubits[j]``), as
    ``(num_terms, words)`` little-endian uint64 tables.

    Attributes:
        x, z: measurement basis (X: x, Y: x and z, Z: z; projectors use their basis).
        pauli: positions of ``X Y Z``; after rotating each qubit's basis to Z these act as Z.
        proj: positions of projectors ``0 1 + - r l``.
        value: projector positions that project onto the rotated ``1`` (``1 - l``).
    """

    __slots__ = ("pauli", "proj", "value", "x", "z")

    def __init__(self, codes: NDArray[np.uint8]) -> None:
        self.x = _pack(_X_BASIS[codes])
        self.z = _pack(_Z_BASIS[codes])
        self.pauli = _pack(_PAULI[codes])
        self.proj = _pack(_PROJ[codes])
        self.value = _pack(_PROJ_ONE[codes])


def label_codes(labels: Sequence[str], num_qubits: int) -> NDArray[np.uint8]:
    """Letter bytes of dense labels as a ``(num_terms, num_qubits)`` array, column ``q`` being
    qubit ``q`` (labels must already be valid)."""
    if not labels or num_qubits == 0:
        return np.zeros((len(labels), num_qubits), dtype=np.uint8)
    buf = np.frombuffer("".join(labels).encode("ascii"), dtype=np.uint8)
    return buf.reshape(len(labels), num_qubits)[:, ::-1]


def term_masks(
    labels: list[str] | tuple[str, ...], num_qubits: int, qubits: Any = None
) -> TermMasks:
    """:class:`TermMasks` of ``labels`` restricted to ``qubits`` (all qubits when None)."""
    codes = label_codes(labels, num_qubits)
    if qubits is not None:
        codes = codes[:, np.asarray(qubits, dtype=np.intp)]
    return TermMasks(codes)


def _pack(bits: NDArray[np.bool_]) -> NDArray[np.uint64]:
    """``(rows, n)`` bools to ``(rows, ceil(n / 64))`` words, column ``k`` at bit ``k % 64``
    of word ``k // 64``."""
    rows, n = bits.shape
    words = (n + 63) // 64
    packed = np.packbits(bits, axis=1, bitorder="little")
    out = np.zeros((rows, words * 8), dtype=np.uint8)
    out[:, : packed.shape[1]] = packed
    return out.view("<u8").reshape(rows, words).astype(np.uint64, copy=False)

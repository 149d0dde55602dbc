"""``ObservablesArray``: an N-dimensional array of observables, Qiskit-compatible.

It follows Qiskit's ``ObservablesArray`` rules for coercion and shape inference: a ``list`` is an
array axis, an ``ndarray`` contributes its own shape, and anything else (a label, a dict, one
multi-term observable) is one element. One shotpack extension: a list whose items are all
``(label, coeff)`` pairs is one observable (Qiskit rejects tuples).
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Union

import numpy as np
from numpy.typing import NDArray

from shotpack.containers.shape import ShapedMixin, shape_tuple
from shotpack.quantum_info.labels import SIMPLIFY_TOL
from shotpack.quantum_info.layout import _normalise_layout, _relabel
from shotpack.quantum_info.pauli_sum import PauliSum, _qiskit_terms, _qiskit_types
from shotpack.quantum_info.term_table import term_table

__all__ = ["ObservablesArray", "ObservablesArrayLike", "coerce_observable"]


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
        validate: coerce every element to a :class:`PauliSum` and check that all observables
            have the same qubit count. With ``validate=False`` the elements are stored as given
            (as in Qiskit, they should already be observables with a ``num_qubits``) and only
            the shape is inferred.

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
        _register_with_qiskit()
        if isinstance(observables, ObservablesArray):
            array = observables._array
        else:
            array = _object_array(observables, coerce=validate)
        self._array: NDArray[np.object_] = array
        if num_qubits is None and array.size:
            first = next(iter(array.flat))
            num_qubits = getattr(first, "num_qubits", None)
            if num_qubits is None:
                num_qubits = coerce_observable(first).num_qubits
        self._num_qubits = 0 if num_qubits is None else int(num_qubits)
        if validate:
            self.validate()

    @staticmethod
    def coerce_observable(observable: object) -> PauliSum:
        """One observable in the array's element format: a simplified :class:`PauliSum`.

        Qiskit's method of the same name returns a ``SparseObservable``; the ``PauliSum``
        compares equal to it (``coerce_observable(op) == op``).

        Args:
            observable: a label (``"XZ"``, projectors ``01+-rl`` allowed), a ``{label: coeff}``
                mapping (keys may be Qiskit ``Pauli`` s), a ``PauliSum``, a Qiskit ``Pauli``,
                ``SparsePauliOp`` or ``SparseObservable``.

        Returns:
            The observable with duplicate terms merged and zero terms dropped.

        Raises:
            TypeError: an unsupported type (``Invalid observable type: ...``) or mapping key.
            ValueError: a bad label, a non-real coefficient after simplification, or an
                observable whose terms all cancel (``Empty observable was detected.``).

        Example:
            >>> ObservablesArray.coerce_observable({"XX": 2.0, "ZZ": 0.0})
            PauliSum({'XX': 2.0}, num_qubits=2)
        """
        return coerce_observable(observable)

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
            n = getattr(obs, "num_qubits", None)
            if n is None:  # a raw element kept by validate=False
                n = coerce_observable(obs).num_qubits
            if n != self._num_qubits:
                raise ValueError(
                    "The number of qubits must be the same for all observables: "
                    f"observable at {idx} has {n}, expected {self._num_qubits}"
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
        """A reshaped view (``-1`` allowed).

        Args:
            shape: the new shape, as separate ints or one sequence (tuple, list or ndarray;
                NumPy integers allowed).

        Example:
            >>> ObservablesArray(["X", "Y", "Z", "I"]).reshape(2, -1).shape
            (2, 2)
        """
        return self._wrap(self._array.reshape(shape_tuple(*shape)))

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


_registered = False


def _register_with_qiskit() -> None:
    """Lets Qiskit's primitives take a shotpack ``ObservablesArray`` as their own.

    Qiskit's ``ObservablesArray.coerce`` keeps any instance of its class and reads elements
    through ``__array__`` as ``{label: coeff}`` mappings, which a :class:`PauliSum` is; any
    other object becomes a 0-d array whose one element it rejects ("Invalid observable
    type"). Registering this class as a virtual subclass (Qiskit's class derives from a
    ``Protocol``, so it is an ABC) makes ``BackendEstimatorV2`` and ``StatevectorEstimator``
    accept it. Done once, only when Qiskit is already imported (importing it costs ~0.8 s).
    """
    global _registered
    if _registered or "qiskit" not in sys.modules:
        return
    _registered = True
    try:
        from qiskit.primitives.containers.observables_array import (
            ObservablesArray as QiskitObservablesArray,
        )
    except ImportError:  # pragma: no cover - a Qiskit without the V2 containers
        return
    register = getattr(QiskitObservablesArray, "register", None)
    if register is not None:
        register(ObservablesArray)


def _object_array(obj: object, coerce: bool = True) -> NDArray[np.object_]:
    """Qiskit's shape inference: lists (and PauliLists) are axes, ndarrays bring their shape,
    everything else is one element, coerced with :func:`coerce_observable` (or kept as it is
    when ``coerce`` is False)."""
    convert = coerce_observable if coerce else _keep
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
            out[index] = convert(x.item() if isinstance(x, np.ndarray) else x)
            return
        if isinstance(x, np.ndarray):
            if x.shape != tuple(shape[depth:]):
                raise ValueError(
                    "Input object size does not match the inferred array shape "
                    f"{tuple(shape)} at index {index}"
                )
            for sub, val in np.ndenumerate(x):
                out[index + sub] = convert(val)
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


def _keep(obj: object) -> object:
    return obj

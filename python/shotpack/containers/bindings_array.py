"""``BindingsArray``: an N-dimensional array of parameter-value sets, Qiskit-compatible.

Values are stored per key, where a key is a tuple of parameter names and its array has shape
``(*shape, len(key))``. The array's shape is all axes but the last, and broadcasts against the
observables' shape in an Estimator PUB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shotpack.circuit.binding import bind_circuit_array
from shotpack.containers.shape import ShapedMixin, shape_tuple

__all__ = ["BindingsArray", "BindingsArrayLike"]


def _name(p: object) -> str:
    """A parameter's name: a str, or any object with a ``name`` (shotpack or Qiskit
    ``Parameter``)."""
    if isinstance(p, str):
        return p
    name = getattr(p, "name", None)
    if isinstance(name, str):
        return name
    raise TypeError(f"parameter keys must be str, Parameter or tuples of them, got {type(p)}")


def _key(key: object) -> tuple[str, ...]:
    """A data key as a tuple of names, as Qiskit reads it: a str or a ``Parameter`` is one
    parameter; any other iterable (a tuple, a ``ParameterVector``, a generator, a frozenset)
    is one parameter per item, in iteration order."""
    if isinstance(key, str):
        return (key,)
    if isinstance(key, Iterable):
        return tuple(_name(p) for p in key)
    return (_name(key),)


def _values(val: ArrayLike, key: tuple[str, ...]) -> NDArray[np.float64]:
    raw = np.asarray(val)
    if np.iscomplexobj(raw):
        raise TypeError(f"parameter values for {key} must be real, got complex values")
    try:
        return np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"parameter values for {key} must be real numbers: {exc}") from None


class BindingsArray(ShapedMixin):
    """Parameter values for a circuit, as an N-dimensional array of value sets.

    Args:
        data: a mapping from a parameter (a name or a ``Parameter``) or an iterable of them (a
            tuple, a Qiskit ``ParameterVector``, ...) to an array-like of values; an iterable
            key's values have a last axis of its length.
        shape: the array shape (an int or an iterable of ints); inferred from ``data`` when
            None (see Raises).

    Raises:
        TypeError: a key of the wrong type or complex values.
        ValueError: ``Could not find any consistent shape.`` when inference fails; a value
            whose shape does not fit ``shape`` or whose last axis does not match its key.

    Example:
        >>> import numpy as np
        >>> b = BindingsArray({("a", "b"): np.zeros((10, 2)), "c": np.ones(10)})
        >>> b.shape, b.num_parameters
        ((10,), 3)
    """

    __slots__ = ("_data", "_shape")

    def __init__(
        self,
        data: Mapping[Any, ArrayLike] | None = None,
        shape: int | Iterable[int] | None = None,
    ) -> None:
        self._data: dict[tuple[str, ...], NDArray[np.float64]] = {}
        for key, val in (data or {}).items():
            k = _key(key)
            self._data[k] = _values(val, k)
        if shape is None:
            self._shape = self._infer_shape()
        else:
            self._shape = shape_tuple(shape)
        self.validate()

    def _infer_shape(self) -> tuple[int, ...]:
        # Each key proposes one shape; they must agree.
        shapes: set[tuple[int, ...]] = set()
        for key, val in self._data.items():
            if len(key) == 1 and (val.ndim == 0 or val.shape[-1] != 1):
                shapes.add(val.shape)
            else:
                shapes.add(val.shape[:-1])
        if not shapes:
            return ()
        if len(shapes) != 1:
            raise ValueError("Could not find any consistent shape.")
        return shapes.pop()

    def validate(self) -> None:
        """Brings every value to shape ``(*shape, len(key))``.

        Raises:
            ValueError: ``Array with shape ... inconsistent with ...`` or ``Length of ...
                inconsistent with last dimension of ...``.
        """
        for key, val in self._data.items():
            if val.shape == self._shape:
                val = val[..., np.newaxis]
            if val.shape[: len(self._shape)] != self._shape or val.ndim != len(self._shape) + 1:
                raise ValueError(
                    f"Array with shape {val.shape} inconsistent with {self._shape} for {key}"
                )
            if val.shape[-1] != len(key):
                raise ValueError(f"Length of {key} inconsistent with last dimension of {val.shape}")
            self._data[key] = val

    @classmethod
    def coerce(cls, bindings: object) -> BindingsArray:
        """None gives an empty array, a mapping a new one, a BindingsArray itself.

        Raises:
            TypeError: ``Unsupported type ... is given.`` for anything else.
        """
        if isinstance(bindings, BindingsArray):
            return bindings
        if bindings is None:
            return cls()
        if isinstance(bindings, Mapping):
            return cls(bindings)
        raise TypeError(f"Unsupported type {type(bindings)} is given.")

    @property
    def data(self) -> dict[tuple[str, ...], NDArray[np.float64]]:
        """The values per key (tuple of names), each of shape ``(*shape, len(key))``."""
        return dict(self._data)

    @property
    def num_parameters(self) -> int:
        """Total number of parameters over all keys."""
        return sum(len(k) for k in self._data)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """All parameter names in key order."""
        return tuple(name for key in self._data for name in key)

    def as_array(self, parameters: Sequence[Any] | None = None) -> NDArray[np.float64]:
        """Values as one float array of shape ``(*shape, num_parameters)``.

        Args:
            parameters: the order of the last axis (names or ``Parameter`` objects); key order when
                None.

        Raises:
            ValueError: ``Expected N parameters but M received.`` or ``Could not find
                placement for parameter 'a'.`` (a parameter of this array missing from
                ``parameters``), as in Qiskit.
        """
        parts = list(self._data.values())
        flat = np.concatenate(parts, axis=-1) if parts else np.zeros((*self._shape, 0), dtype=float)
        if parameters is None:
            return flat
        names = [_name(p) for p in parameters]
        if len(names) != self.num_parameters:
            raise ValueError(
                f"Expected {self.num_parameters} parameters but {len(names)} received."
            )
        wanted = {name: i for i, name in enumerate(names)}
        for name in self.parameter_names:
            if name not in wanted:
                raise ValueError(f"Could not find placement for parameter '{name}'.")
        position = {name: i for i, name in enumerate(self.parameter_names)}
        return flat[..., [position[n] for n in names]]

    def values_at(self, index: int | tuple[int, ...]) -> dict[str, float]:
        """The ``{name: value}`` set at one index of the array (for binding a circuit).

        Raises:
            ValueError: ``index`` does not address one value set.
        """
        loc = (index,) if isinstance(index, int) else tuple(index)
        if len(loc) != self.ndim:
            raise ValueError(f"index {loc} does not address one set of a {self._shape} array")
        out: dict[str, float] = {}
        for key, val in self._data.items():
            row = val[loc]
            out.update(zip(key, row.tolist(), strict=True))
        return out

    def bind(self, circuit: Any, loc: tuple[int, ...]) -> Any:
        """The circuit with its parameters bound to the value set at ``loc``.

        Args:
            circuit: a Qiskit ``QuantumCircuit`` (bound with its ``assign_parameters``) or a
                shotpack / IQM ``Circuit``.
            loc: one index per axis of the array (``()`` for a 0-d array).

        Returns:
            A new circuit of the same type with every parameter replaced by its value.

        Raises:
            ValueError: ``loc`` does not index every axis, or the names do not match the
                circuit's parameters.

        Example:
            >>> from shotpack.iqm.models import Circuit, Instruction
            >>> from shotpack.circuit.parameters import Parameter
            >>> prx = Instruction(
            ...     name="prx", locus=("QB1",), args={"angle": Parameter("t"), "phase": 0.0}
            ... )
            >>> c = Circuit(name="c", instructions=[prx])
            >>> BindingsArray({"t": [0.5, 1.5]}).bind(c, (1,)).instructions[0].args["angle"]
            1.5
        """
        loc = tuple(loc)
        if len(loc) != self.ndim:
            raise ValueError(f"Expected {loc} to index all dimensions of {self._shape}.")
        return self._bind_rows(circuit, [self.values_at(loc)])[0]

    def bind_all(self, circuit: Any) -> NDArray[np.object_]:
        """One bound circuit per value set, as an object array of this array's shape.

        Args:
            circuit: as for :meth:`bind`.

        Returns:
            An ndarray with ``dtype=object`` and shape :attr:`shape`.

        Raises:
            ValueError: the names do not match the circuit's parameters.
        """
        out = np.empty(self._shape, dtype=object)
        if out.size:
            names = self.parameter_names
            rows = self.as_array().reshape(out.size, len(names))
            if hasattr(circuit, "assign_parameters"):
                bound = [circuit.assign_parameters(dict(zip(names, r, strict=True))) for r in rows]
            else:
                bound = bind_circuit_array(circuit, names, rows)
            out.reshape(-1)[:] = bound
        return out

    @staticmethod
    def _bind_rows(circuit: Any, rows: list[dict[str, float]]) -> list[Any]:
        if hasattr(circuit, "assign_parameters"):  # Qiskit: names are accepted as keys
            return [circuit.assign_parameters(row) for row in rows]
        names = list(rows[0])
        return bind_circuit_array(circuit, names, [[row[n] for n in names] for row in rows])

    def __getitem__(self, args: Any) -> BindingsArray:
        if not isinstance(args, tuple):
            args = (args,)
        if not self._shape and all(a is Ellipsis or a == slice(None) for a in args):
            # Qiskit: a full slice of a 0-d array is the array itself (NumPy would refuse it).
            return BindingsArray(self._data, ())
        index = (*args, slice(None))  # keep each value's parameter axis
        data = {key: val[index] for key, val in self._data.items()}
        shape = np.empty(self._shape, dtype=np.int8)[args].shape
        return BindingsArray(data, shape)

    def reshape(self, *shape: Any) -> BindingsArray:
        """A reshaped copy (``-1`` allowed).

        Args:
            shape: the new shape, as separate ints or one iterable (tuple, list, ndarray;
                NumPy integers allowed).

        Raises:
            ValueError: ``Reshaping cannot change the total number of elements.``

        Example:
            >>> BindingsArray({"a": range(6)}).reshape(2, 3).shape
            (2, 3)
        """
        try:
            new = np.empty(self._shape, dtype=np.int8).reshape(shape_tuple(*shape)).shape
        except ValueError:
            raise ValueError("Reshaping cannot change the total number of elements.") from None
        data = {k: v.reshape((*new, v.shape[-1])) for k, v in self._data.items()}
        return BindingsArray(data, new)

    def ravel(self) -> BindingsArray:
        """A flattened copy."""
        return self.reshape(-1)

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d BindingsArray")
        return self._shape[0]

    def __repr__(self) -> str:
        names = ", ".join(repr(k) for k in self._data)
        return (
            f"BindingsArray(<shape={self._shape}, num_parameters={self.num_parameters}, "
            f"keys=[{names}]>)"
        )


BindingsArrayLike = BindingsArray | Mapping[Any, ArrayLike] | None

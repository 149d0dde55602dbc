"""Result containers with the API of Qiskit's V2 primitives.

``DataBin`` holds the named arrays of one pub, ``PubResult`` (and ``SamplerPubResult``) pairs a
``DataBin`` with metadata, and ``PrimitiveResult`` holds the pub results of a whole job.

Differences from Qiskit 2.6 (on purpose, listed in ``docs/compatibility.md``):

* ``DataBin`` is immutable for real: setting or deleting any attribute raises ``AttributeError``
  (Qiskit lets ``d.x = ...`` through, after which ``d.x`` and ``d["x"]`` disagree).
* ``DataBin(shape=3)`` and ``DataBin(shape=[3])`` mean ``shape=(3,)`` in the shape check too
  (Qiskit compares values against the raw argument, so those spellings always fail).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, ValuesView
from types import MappingProxyType
from typing import Any

import numpy as np

from shotpack.containers.shape import ShapedMixin

__all__ = ["DataBin"]

ShapeInput = int | Iterable[Any]

_RESTRICTED_NAMES = frozenset(
    {
        "_RESTRICTED_NAMES",
        "_SHAPE",
        "_FIELDS",
        "_FIELD_TYPES",
        "_data",
        "_shape",
        "keys",
        "values",
        "items",
        "shape",
        "ndim",
        "size",
    }
)


def _flatten_ints(value: Any) -> Iterator[int]:
    """Yields the integers of a possibly nested shape specification, depth first."""
    if isinstance(value, str | bytes):
        raise ValueError(f"Expected {value!r} to be iterable or an integer.")
    if isinstance(value, Iterable):
        for item in value:
            yield from _flatten_ints(item)
        return
    try:
        as_int = int(value)
        ok = as_int == value
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"Expected {value!r} to be iterable or an integer.")
    yield as_int


def shape_tuple(shape: ShapeInput) -> tuple[int, ...]:
    """Normalises a shape given as an int or a (nested) iterable of ints to a tuple.

    Raises:
        ValueError: If an entry is neither an integer nor an iterable.
    """
    return tuple(_flatten_ints(shape))


def _value_repr(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"np.ndarray(<shape={value.shape}, dtype={value.dtype}>)"
    return repr(value)


def _rebuild_data_bin(cls: type[DataBin], shape: tuple[int, ...], data: dict[str, Any]) -> DataBin:
    return cls(shape=shape, **data)


class DataBin(ShapedMixin):
    """Named data of one pub: attribute and read-only mapping access to the same values.

    Every value with a ``shape`` must lead with the bin's ``shape`` (a sampler's ``BitArray`` per
    classical register, or an estimator's ``evs``/``stds`` arrays). Fields keep insertion order.
    The bin is immutable: setting or deleting an attribute raises ``AttributeError``. Equality is
    identity, as in Qiskit (values are arrays, so there is no single obvious meaning of ``==``).

    Args:
        shape: The leading shape shared by every shaped value: an int or an iterable of ints.
        **data: The fields. A field named like a dunder attribute (``__len__``) is reachable
            only through ``bin["__len__"]``.

    Raises:
        TypeError: If a field is passed positionally.
        ValueError: If a field name is reserved (``keys``, ``values``, ``items``, ``shape``,
            ``ndim``, ``size``, ``_data``, ``_shape``, ``_FIELDS``, ``_FIELD_TYPES``, ``_SHAPE``,
            ``_RESTRICTED_NAMES``), if ``shape`` is not a shape, or if a value does not lead
            with ``shape``.

    Example:
        >>> import numpy as np
        >>> d = DataBin(evs=np.zeros(3), shape=(3,))
        >>> d.evs is d["evs"], list(d), d.shape
        (True, ['evs'], (3,))
    """

    __slots__ = ("_data", "_shape")

    _data: MappingProxyType[str, Any]
    _shape: tuple[int, ...]

    def __init__(self, *, shape: ShapeInput = (), **data: Any) -> None:
        if not _RESTRICTED_NAMES.isdisjoint(data):
            bad = sorted(_RESTRICTED_NAMES.intersection(data))
            raise ValueError(f"Cannot assign with these field names: {bad}")
        norm = shape_tuple(shape)
        ndim = len(norm)
        for name, value in data.items():
            value_shape = getattr(value, "shape", None)
            if value_shape is not None and tuple(value_shape)[:ndim] != norm:
                raise ValueError(f"The value of '{name}' does not lead with the shape {norm}.")
        object.__setattr__(self, "_shape", norm)
        object.__setattr__(self, "_data", MappingProxyType(data))

    # -- attribute access -------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails. The slot may be empty while unpickling.
        try:
            data = object.__getattribute__(self, "_data")
        except AttributeError:
            raise AttributeError(name) from None
        try:
            return data[name]
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute {name!r}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name!r}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {k for k in self._data if k.isidentifier()})

    # -- mapping ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError as ex:
            raise KeyError(f"Key ({key}) does not exist in this data bin.") from ex

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def keys(self) -> KeysView[str]:
        """Field names, in insertion order."""
        return self._data.keys()

    def values(self) -> ValuesView[Any]:
        """Field values, in insertion order."""
        return self._data.values()

    def items(self) -> ItemsView[str, Any]:
        """``(name, value)`` pairs, in insertion order."""
        return self._data.items()

    # Legacy private names that downstream code still reads from Qiskit's DataBin.
    @property
    def _FIELDS(self) -> tuple[str, ...]:
        return tuple(self._data)

    @property
    def _FIELD_TYPES(self) -> tuple[type, ...]:
        return tuple(type(v) for v in self._data.values())

    @property
    def _SHAPE(self) -> tuple[int, ...]:
        return self._shape

    # -- misc -------------------------------------------------------------------------------
    def __repr__(self) -> str:
        parts = [f"{name}={_value_repr(value)}" for name, value in self._data.items()]
        if self._shape:
            parts.append(f"shape={self._shape}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_data_bin, (type(self), self._shape, dict(self._data)))

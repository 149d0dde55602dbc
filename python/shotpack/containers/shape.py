"""``ShapedMixin``: the ``shape`` / ``ndim`` / ``size`` trio shared by every array-like class.

``BitArray``, ``DataBin``, ``BindingsArray``, ``ObservablesArray`` and the PUBs all describe an
N-dimensional array of cells by a shape tuple; the mixin derives ``ndim`` and ``size`` from it so
the rule (``size`` is the product of the axes, 1 for shape ``()``) lives in one place.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable
from typing import Any

__all__ = ["ShapedMixin", "shape_tuple"]


def shape_tuple(*shapes: Any) -> tuple[int, ...]:
    """A shape as a flat tuple of ints, from ints and (nested) iterables of ints.

    ``reshape(2, 3)``, ``reshape((2, 3))``, ``reshape([2, 3])`` and ``reshape(np.array([2, 3]))``
    all mean the same shape; NumPy integers count as ints.

    Raises:
        ValueError: an item is neither an integer nor an iterable of integers.

    Example:
        >>> import numpy as np
        >>> shape_tuple(2, (3, np.int64(4)), np.array([5]))
        (2, 3, 4, 5)
    """
    out: list[int] = []
    for item in shapes:
        if isinstance(item, numbers.Integral):
            out.append(operator.index(item))
        elif isinstance(item, Iterable) and not isinstance(item, (str, bytes)):
            out.extend(shape_tuple(*item))
        else:
            raise ValueError(f"Expected an integer or an iterable of integers, got {item!r}")
    return tuple(out)


class ShapedMixin:
    """Adds ``shape``, ``ndim`` and ``size`` to a class that stores its shape in ``_shape``.

    A class whose shape is derived from something else overrides :attr:`shape` only; ``ndim``
    and ``size`` follow from it.

    Example:
        >>> class Grid(ShapedMixin):
        ...     def __init__(self) -> None:
        ...         self._shape = (2, 3)
        >>> g = Grid()
        >>> g.shape, g.ndim, g.size
        ((2, 3), 2, 6)
    """

    # No slots of its own, so subclasses with __slots__ stay dict-free.
    __slots__ = ()

    _shape: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        """The array shape."""
        return self._shape

    @property
    def ndim(self) -> int:
        """Number of axes of :attr:`shape`."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of cells: the product of :attr:`shape` (1 for ``()``)."""
        return math.prod(self.shape)

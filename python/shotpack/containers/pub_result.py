"""``PubResult`` and ``SamplerPubResult``: one PUB's ``DataBin`` with its metadata, as in
Qiskit's V2 primitives."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from shotpack.containers.bit_array import BitArray
from shotpack.containers.data_bin import DataBin

__all__ = ["PubResult", "SamplerPubResult"]


class PubResult:
    """The result of one pub: a ``DataBin`` and free-form metadata.

    Args:
        data: The pub's data.
        metadata: Metadata of this pub; ``None`` (or an empty dict) becomes a new empty dict.

    Example:
        >>> r = PubResult(DataBin(), {"shots": 10})
        >>> r
        PubResult(data=DataBin(), metadata={'shots': 10})
    """

    __slots__ = ("_data", "_metadata")

    def __init__(self, data: DataBin, metadata: dict[str, Any] | None = None) -> None:
        self._data = data
        self._metadata: dict[str, Any] = metadata or {}

    @property
    def data(self) -> DataBin:
        """The pub's data."""
        return self._data

    @property
    def metadata(self) -> dict[str, Any]:
        """The pub's metadata."""
        return self._metadata

    def __repr__(self) -> str:
        metadata = f", metadata={self._metadata}" if self._metadata else ""
        return f"{type(self).__name__}(data={self._data}{metadata})"


class SamplerPubResult(PubResult):
    """A sampler's pub result; adds :meth:`join_data`."""

    __slots__ = ()

    def join_data(self, names: Iterable[str] | None = None) -> BitArray | np.ndarray:
        """Joins several fields along the bits axis (the last axis for ndarrays).

        For ``BitArray`` fields the **first** name ends up in the **lowest** bits (the rightmost
        characters of each bitstring), as in Qiskit: joining a circuit's registers in circuit
        order gives the full clbit string.

        Args:
            names: Fields to join, in order; ``None`` means all fields in bin order.

        Returns:
            A ``BitArray`` if every selected field is one, else an ``ndarray``.

        Raises:
            ValueError: If the bin is empty, ``names`` is empty, or a name is missing.
            TypeError: If the fields are not all ``BitArray`` or all ``ndarray``.

        Example:
            >>> import numpy as np
            >>> a = BitArray(np.array([[1]], np.uint8), 1)
            >>> b = BitArray(np.array([[2]], np.uint8), 2)
            >>> SamplerPubResult(DataBin(a=a, b=b)).join_data().get_bitstrings()
            ['101']
        """
        if names is None:
            selected = list(self._data)
            if not selected:
                raise ValueError("No entry exists in the data bin.")
        else:
            selected = list(names)
            if not selected:
                raise ValueError("An empty name list is given.")
            for name in selected:
                if name not in self._data:
                    raise ValueError(f"Name '{name}' does not exist.")
        values = [self._data[name] for name in selected]
        if all(isinstance(v, BitArray) for v in values):
            return BitArray.concatenate_bits(values)
        if all(isinstance(v, np.ndarray) for v in values):
            return np.concatenate(values, axis=-1)
        raise TypeError("Data comes from incompatible types.")

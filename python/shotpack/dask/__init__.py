"""Dask scale-out for shotpack (install ``shotpack[dask]``).

* :class:`DaskBitArray`: packed shots in a dask array chunked along shots, with BitArray's
  per-chunk methods; reductions merge exact per-chunk statistics (:mod:`shotpack.stats`), so
  results equal the in-memory ``BitArray``'s on any scheduler.
* :func:`open_zarr`: a store written by :func:`shotpack.io.to_zarr` or
  :func:`shotpack.io.measurements_to_zarr`, with every BitArray a lazy ``DaskBitArray``.
* :func:`evaluate_estimator`: the Estimator's values and errors from Dask-held groups.
* :func:`read_artifacts`: many measurements bodies parsed and reduced in parallel, one task
  each, into per-parameter-set results (``.to_xarray()``).

See ``docs/scale-out.md`` for when to use what, chunk sizes and a cluster example.
"""

from __future__ import annotations

from typing import Any

from shotpack.dask.batch import ArtifactBatch, read_artifacts
from shotpack.dask.bit_array import DaskBitArray
from shotpack.dask.estimator import estimator_tallies_delayed, evaluate_estimator
from shotpack.io import StoreLike
from shotpack.io import open_zarr as _open_zarr

__all__ = [
    "ArtifactBatch",
    "DaskBitArray",
    "estimator_tallies_delayed",
    "evaluate_estimator",
    "open_zarr",
    "read_artifacts",
]


def open_zarr(store: StoreLike) -> Any:
    """Opens a shotpack Zarr store lazily: what :func:`shotpack.io.open_zarr` returns, with
    every BitArray a :class:`DaskBitArray` reading its chunks on demand.

    Raises:
        ValueError: not a shotpack store, or a newer format.
        FileNotFoundError: nothing at ``store``.

    Example:
        >>> bits = open_zarr("big.zarr")  # doctest: +SKIP
        >>> bits.expectation_values(["ZZ" + "I" * 62])  # doctest: +SKIP
    """
    return _open_zarr(store, bit_array_reader=lambda z, n: DaskBitArray.from_zarr(z, n))

"""Many measurement artifacts at once: one task per artifact, per-parameter-set results.

A characterisation campaign yields thousands of ``measurements`` bodies, one per job or per
parameter set. :func:`read_artifacts` parses each in its own task (natively, GIL released),
reduces each circuit to exact statistics right there, and returns only those small results:
no artifact's bits travel to the client. The result converts to an ``xarray.Dataset``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

import dask
from shotpack.measurements.parse import parse_measurements
from shotpack.stats.counts import ChunkCounts
from shotpack.stats.sums import ObservableSums, SumsSpec
from shotpack.stats.threads import kernels_on_calling_thread

__all__ = ["ArtifactBatch", "read_artifacts"]

Source = Any  # a path to a measurements body, or the body as bytes


def _read(source: Source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    with open(source, "rb") as f:
        return f.read()


def _one_artifact(
    source: Source, index: int, key: str | None, registers: bool, spec: SumsSpec | None,
    counts: bool,
) -> tuple[NDArray[np.int64], NDArray[np.float64] | None, NDArray[np.float64] | None,
           list[ChunkCounts] | None]:  # fmt: skip
    where = f"artifact {index} ({source if isinstance(source, (str, os.PathLike)) else 'bytes'})"
    try:
        bins = parse_measurements(_read(source), registers=registers)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    shots = np.zeros(len(bins), dtype=np.int64)
    evs = stds = None
    if spec is not None:
        evs = np.zeros((len(bins), spec.size), dtype=np.float64)
        stds = np.zeros_like(evs)
    out_counts: list[ChunkCounts] | None = [] if counts else None
    for c, dbin in enumerate(bins):
        names = list(dbin.keys())
        name = key if key is not None else (names[0] if len(names) == 1 else None)
        if name is None or name not in names:
            raise ValueError(
                f"{where}, circuit {c}: choose the measurement key (found {names}, key={key!r})"
            )
        ba = dbin[name]
        shots[c] = ba.num_shots
        if spec is not None and evs is not None and stds is not None:
            with kernels_on_calling_thread():
                sums = ObservableSums.from_bit_array(ba, spec)
            evs[c] = sums.expectation_values().reshape(-1)
            stds[c] = sums.standard_errors().reshape(-1)
        if out_counts is not None:
            out_counts.append(ChunkCounts.from_bit_array(ba))
    return shots, evs, stds, out_counts


@dataclass(frozen=True)
class ArtifactBatch:
    """Per-artifact, per-circuit results of :func:`read_artifacts`.

    Attributes:
        shots: ``int64 (artifacts, circuits)``.
        evs, stds: ``float64 (artifacts, circuits, observables)`` (None without observables);
            ``stds`` is the standard error of each mean, ``sqrt(var / n)``.
        counts: per artifact, per circuit, :class:`~shotpack.stats.ChunkCounts` (None unless
            asked for).
        sources: the artifacts' names (paths, or ``"artifact <i>"`` for bytes).
        parameters: ``(artifacts, P)`` parameter values given by the caller, or None.
        observables: the observable labels (their ``str``), in order.
    """

    shots: NDArray[np.int64]
    evs: NDArray[np.float64] | None
    stds: NDArray[np.float64] | None
    counts: list[list[ChunkCounts]] | None
    sources: list[str]
    parameters: NDArray[np.float64] | None = None
    observables: list[str] = field(default_factory=list)

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset`` with dimensions ``artifact``, ``circuit``, ``observable`` (and
        ``parameter`` when parameters were given).

        Raises:
            ImportError: xarray is not installed.
        """
        import xarray as xr

        data: dict[str, Any] = {"shots": (("artifact", "circuit"), self.shots)}
        if self.evs is not None and self.stds is not None:
            data["evs"] = (("artifact", "circuit", "observable"), self.evs)
            data["stds"] = (("artifact", "circuit", "observable"), self.stds)
        coords: dict[str, Any] = {"artifact": self.sources}
        if self.observables:
            coords["observable"] = self.observables
        if self.parameters is not None:
            data["parameter_values"] = (("artifact", "parameter"), self.parameters)
        return xr.Dataset(data, coords=coords)


def read_artifacts(
    sources: Sequence[Source],
    observables: Any = None,
    *,
    key: str | None = None,
    registers: bool = False,
    counts: bool = False,
    parameters: Any = None,
    **compute_kwargs: Any,
) -> ArtifactBatch:
    """Parses and reduces many measurements bodies in parallel, one task per artifact.

    Args:
        sources: paths of saved ``measurements`` bodies, or the bodies as bytes.
        observables: diagonal observables evaluated on the chosen key of every circuit (their
            qubit count must equal the key's bits), or None.
        key: the measurement key (or, with ``registers``, register) to evaluate; may be None
            when each circuit has exactly one.
        registers: group Qiskit-on-IQM keys into registers, as ``parse_measurements``.
        counts: also return mergeable counts per artifact and circuit.
        parameters: per artifact, its parameter values (``(artifacts, P)``), kept alongside.
        compute_kwargs: passed to ``dask.compute`` (``scheduler=...``; a ``distributed``
            client, when active, runs the tasks on its workers).

    Returns:
        An :class:`ArtifactBatch` (``.to_xarray()`` for a Dataset).

    Raises:
        ValueError: a malformed body (naming the artifact), a missing key, artifacts with
            different numbers of circuits, or parameters of the wrong length.

    Example:
        >>> bodies = [b'[{"m": [[0], [1]]}]', b'[{"m": [[1], [1]]}]']
        >>> batch = read_artifacts(bodies, ["Z"], scheduler="sync")
        >>> batch.evs[:, 0, 0], batch.shots.tolist()
        (array([ 0., -1.]), [[2], [2]])
    """
    spec = None
    labels: list[str] = []
    if observables is not None:
        from shotpack.containers.observables_array import ObservablesArray

        obs = ObservablesArray.coerce(observables)
        spec = SumsSpec.from_observables(obs.reshape(obs.size), obs.num_qubits)
        labels = [str(o) for o in obs.ravel().tolist()]
    params = None
    if parameters is not None:
        params = np.asarray(parameters, dtype=np.float64)
        params = params.reshape(len(sources), -1) if params.size else params
        if params.shape[0] != len(sources):
            raise ValueError(f"{params.shape[0]} parameter sets for {len(sources)} artifacts")
    task = dask.delayed(_one_artifact, pure=True)
    results = dask.compute(
        *[task(s, i, key, registers, spec, counts) for i, s in enumerate(sources)],
        **compute_kwargs,
    )
    names = [
        os.fspath(s) if isinstance(s, (str, os.PathLike)) else f"artifact {i}"
        for i, s in enumerate(sources)
    ]
    num_circuits = {len(r[0]) for r in results}
    if len(num_circuits) > 1:
        raise ValueError(f"artifacts hold different numbers of circuits: {sorted(num_circuits)}")
    nc = num_circuits.pop() if num_circuits else 0
    nobs = spec.size if spec is not None else 0
    shots = np.stack([r[0] for r in results]) if results else np.zeros((0, nc), np.int64)
    evs = stds = None
    if spec is not None:
        evs = np.stack([r[1] for r in results]) if results else np.zeros((0, nc, nobs))
        stds = np.stack([r[2] for r in results]) if results else np.zeros((0, nc, nobs))
    return ArtifactBatch(
        shots=shots,
        evs=evs,
        stds=stds,
        counts=[r[3] for r in results] if counts else None,
        sources=names,
        parameters=params,
        observables=labels,
    )

"""Chunk-additive statistics: counts, observable sums and Estimator tallies that merge exactly.

Every statistic here is computed per chunk of shots and merged by exact addition, so the result
over any chunking (per file, per Dask block, per worker) is bit-identical to the result over the
whole array. :mod:`shotpack.dask` and :func:`shotpack.io.open_zarr` build on these.
"""

from shotpack.stats.counts import ChunkCounts
from shotpack.stats.estimator import EstimatorTallies, GroupSpec
from shotpack.stats.sums import ObservableSums, SumsSpec
from shotpack.stats.threads import kernels_on_calling_thread

__all__ = [
    "ChunkCounts",
    "EstimatorTallies",
    "GroupSpec",
    "ObservableSums",
    "SumsSpec",
    "kernels_on_calling_thread",
]

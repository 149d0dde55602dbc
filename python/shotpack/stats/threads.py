"""Where the native kernels run when the caller is itself one of several parallel workers.

The expectation-value and Estimator kernels split large calls over rayon's thread pool (sized by
``SHOTPACK_NUM_THREADS``, all cores by default). That is right for one call on data in memory,
and wrong inside a task of a parallel scheduler: several threads handing their chunks to one
shared pool queue behind each other there (with ``SHOTPACK_NUM_THREADS=1`` they serialise
completely), and a pool per worker would run more threads than cores.
:func:`kernels_on_calling_thread` keeps the kernels on the thread that calls them, so the
scheduler's threads or processes are the only parallelism. ``shotpack.dask`` uses it in every
per-chunk task.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from shotpack import _native

__all__ = ["kernels_on_calling_thread"]


@contextmanager
def kernels_on_calling_thread() -> Iterator[None]:
    """Within the block, this thread's expectation-value and Estimator kernels use no pool.

    The setting is per thread (other threads are unaffected) and restored on exit, also when
    the block raises. Results are identical either way; only where the work runs changes.

    Example:
        >>> from shotpack import BitArray
        >>> ba = BitArray.from_samples(["01", "11", "01"], num_bits=2)
        >>> with kernels_on_calling_thread():
        ...     ba.expectation_values(["IZ"])
        array([-1.])
    """
    previous = _native.set_kernels_on_calling_thread(True)
    try:
        yield
    finally:
        _native.set_kernels_on_calling_thread(previous)

"""Thread control for the numba kernels: how many threads, dynamic row scheduling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba

from ..errors import ConfigError


def max_threads() -> int:
    """Threads numba may use in this process (``NUMBA_NUM_THREADS``, default: all cores)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def resolve_threads(num_threads: int | None) -> int:
    """``None`` means the calling thread's numba setting: all cores unless a caller lowered
    it (``odc-stats run --threads``, or a loader thread that is itself one of several
    workers: nesting parallel kernels there oversubscribes the cores). More than available
    is clipped (not an error)."""
    if num_threads is None:
        return numba.get_num_threads()
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ConfigError(f"num_threads must be a positive integer or None, got {num_threads!r}")
    return min(num_threads, max_threads())


@contextmanager
def threads(num_threads: int | None) -> Iterator[int]:
    """Run numba parallel loops launched inside on ``num_threads`` threads.

    Rows are handed out one at a time (chunk size 1) so cloudy and clear rows balance
    between threads; settings are thread-local in numba and restored on exit.
    """
    n = resolve_threads(num_threads)
    old_n = numba.get_num_threads()
    old_chunk = numba.get_parallel_chunksize()
    numba.set_num_threads(n)
    numba.set_parallel_chunksize(1)
    try:
        yield n
    finally:
        numba.set_parallel_chunksize(old_chunk)
        numba.set_num_threads(old_n)


def one_kernel_thread() -> None:
    """Make the calling thread's kernels (those given no ``num_threads``) run on it alone:
    for worker threads that are themselves the parallelism, such as the group loaders."""
    numba.set_num_threads(1)

"""Where a task's time goes: seconds per stage, printed at exit when ``STATSCORE_PROFILE`` is set.

The loader, kernel and encoder code wraps each stage in :func:`stage`; the seconds add up
per stage name. Stages that run on several threads at once (reads, masking, fusing and
reprojection on the loader threads; band encoding) are summed over the threads: thread-
seconds, which can exceed the wall time. ``load`` and ``reduce`` are the wall time of
the strips' loading and reducing as a whole, ``write`` that of encoding and writing.

With ``STATSCORE_PROFILE=1`` the process prints one line at exit to standard error:
``statscore-profile {"read": s, ..., "first-stage-at": unix time}`` (``python -m
benchmarks run`` reads it, and takes the start-up time as the first stage's start less
the process's). Without it, the timers still run (a ``perf_counter`` pair per call) and
nothing is printed.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["stage", "totals", "PROFILE_ENV"]

#: The environment variable that turns the report at exit on.
PROFILE_ENV = "STATSCORE_PROFILE"

_lock = threading.Lock()
_totals: dict[str, float] = {}
_first: list[float] = []  # wall clock (time.time) of the first stage


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the seconds spent inside the block to stage ``name``."""
    if not _first:
        _first.append(time.time())
    t0 = time.perf_counter()
    try:
        yield
    finally:
        dt = time.perf_counter() - t0
        with _lock:
            _totals[name] = _totals.get(name, 0.0) + dt


def totals() -> dict[str, float]:
    """Seconds per stage so far, and ``first-stage-at``: when the first stage began (Unix
    time), from which a caller that started the process tells its start-up time."""
    with _lock:
        out = dict(_totals)
    if _first:
        out["first-stage-at"] = _first[0]
    return out


def _report() -> None:
    if _totals:
        print("statscore-profile " + json.dumps(totals()),
              file=sys.stderr, flush=True)


if os.environ.get(PROFILE_ENV):
    atexit.register(_report)

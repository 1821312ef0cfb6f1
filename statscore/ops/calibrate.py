"""Timing real tasks for the runtime model (``odc-stats calibrate``).

A task is timed as a worker runs it: load, reduce and write (to a scratch folder,
overwritten), in this process, after one untimed warm-up task (a worker's task process
lives across tasks: imports and compiled kernels are paid once, not per task). Each task
may be run several times; the median counts. Timed rows of a finished run (their
``wall_seconds``) can stand in for timing.
"""

from __future__ import annotations

import platform
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..errors import InputError
from ..task import TileIdx, parse_task
from .estimate import task_sizes
from .runtime import TimedTask

__all__ = ["time_tasks", "timed_rows", "machine"]


def machine() -> dict[str, Any]:
    """Where a calibration ran: host, CPU model and count, date."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from ..run import cpu_and_memory

    cpus, mem = cpu_and_memory()
    return {"host": socket.gethostname(), "cpu": cpu, "cpus": cpus,
            "memory_gib": round(mem / 2**30, 1) if mem else None,
            "date": time.strftime("%Y-%m-%d", time.gmtime())}


def time_tasks(cache: str, tiles: Sequence[TileIdx], cfg: RunConfig, *, threads: int, repeat: int = 1,
               warm_up: bool = True, log: Callable[[str], None] | None = None) -> list[TimedTask]:
    """Run ``tiles`` of ``cache`` with ``cfg``'s plugin on ``threads`` threads and time each
    (median of ``repeat`` runs); a task that fails is an :class:`InputError` naming it."""
    from ..plugins import resolve_plugin
    from ..run import TaskReader, run_tasks

    reader = TaskReader(cache)
    plugin = resolve_plugin(cfg.plugin or "", cfg.plugin_config)
    sizes, _ = task_sizes(reader, tiles, cfg.resolution)
    with tempfile.TemporaryDirectory(prefix="statscore-calibrate-") as scratch:
        location = Path(scratch).as_uri()
        run_cfg = cfg.merged(overwrite=True, threads=threads, output_location=location, max_processing_time=0,
                             heartbeat_filepath=None)

        def once(tile: TileIdx) -> float:
            (oc,) = run_tasks(reader, [tile], plugin, run_cfg, location=location, plugin_name=cfg.plugin or "")
            if oc.status != "done":
                raise InputError(f"calibration task {oc.tile}: {oc.status} ({oc.reason})")
            return oc.seconds

        if warm_up and tiles:
            once(tiles[0])
        out = []
        for tile, size in zip(tiles, sizes):
            secs = [once(tile) for _ in range(max(1, repeat))]
            out.append(TimedTask(pixels=size.pixels, observations=size.observations,
                                 seconds=round(statistics.median(secs), 3), task=size.task, datasets=size.datasets))
            if log:
                log(f"{size.task}: {size.pixels} pixels, {size.observations} pixel-observations, "
                    f"{', '.join(f'{s:.2f}' for s in secs)} s")
    return out


def timed_rows(cache: str, rows: Iterable[Any], resolution: float | None = None) -> list[TimedTask]:
    """Timed tasks from DONE task-table rows (their ``wall_seconds``), sized from ``cache``."""
    from ..run import TaskReader

    reader = TaskReader(cache)
    picked = [(parse_task(r.task_id), float(r.usage["wall_seconds"])) for r in rows
              if getattr(r, "usage", None) and r.usage.get("wall_seconds") is not None
              and str(getattr(r, "state", "")) == "DONE" and parse_task(r.task_id) in reader.tasks]
    sizes, _ = task_sizes(reader, [t for t, _ in picked], resolution)
    return [TimedTask(pixels=s.pixels, observations=s.observations, seconds=round(secs, 3), task=s.task,
                      datasets=s.datasets) for s, (_, secs) in zip(sizes, picked)]

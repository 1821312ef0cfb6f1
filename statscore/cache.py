"""The task cache: odc-dscache's LMDB format, so odc-stats and statscore share caches.

Layout (as odc-stats writes it): the grid under ``grids/``, the save-tasks settings in
info ``stats/config``, every dataset document, and one group per task named
``<grid>/<period>/<+x>/<+y>`` listing its dataset ids.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from datacube.model import Dataset
from odc.dscache import DatasetCache
from odc.geo.gridspec import GridSpec

from .errors import InputError
from .task import TileIdx, parse_task

__all__ = ["CacheWriter", "open_cache", "close_cache", "cache_tasks", "cache_tiles", "cache_config", "cache_exists"]


def cache_exists(path: str) -> bool:
    return DatasetCache.exists(path)


class CacheWriter:
    """Writes a cache at ``path`` (normally a temporary name renamed into place later).

    odc-dscache commits one LMDB transaction per task group, and LMDB syncs the file on
    every commit: ~20-190 s for a continent's 30,000 tasks, depending on the disk. The
    writer opens LMDB without per-commit syncs and syncs the file once when it closes, so
    the file is as durable when :meth:`close` returns and its format is unchanged.
    """

    def __init__(self, path: str, grid_name: str, gs: GridSpec, config: dict[str, Any],
                 first: Sequence[Dataset], complevel: int = 6) -> None:
        zdict = None
        if len(first) >= 100:  # as odc-stats: train a zstd dictionary on a sample
            sample = list(first)
            random.Random(0).shuffle(sample)
            zdict = DatasetCache.train_dictionary(sample, 8 * 1024)
        self.path = path
        self.grid_name = grid_name
        self._closed = False
        self._cache = DatasetCache.create(path, zdict=zdict, complevel=complevel, truncate=True,
                                          sync=False, metasync=False)  # lmdb.open options; see close()
        self._cache.add_grid(gs, grid_name)
        self._cache.append_info_dict("stats/", {"config": config})

    def save(self, datasets: Iterable[Dataset]) -> None:
        self._cache.bulk_save(datasets)

    def add_tasks(self, tasks: dict[TileIdx, list[UUID]]) -> None:
        self._cache.add_grid_tiles(self.grid_name, {tuple(k): v for k, v in tasks.items()})

    def close(self) -> None:
        """Close and flush the file to disk (the one sync the writes skipped)."""
        if self._closed:
            return
        self._closed = True
        self._cache.close()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def discard(self) -> None:
        self._closed = True
        self._cache.close()
        for p in (self.path, self.path + "-lock"):
            if os.path.exists(p):
                os.remove(p)


_OPEN: dict[str, tuple[tuple[int, int], DatasetCache]] = {}


def open_cache(path: str) -> DatasetCache:
    """Open a cache read-only, once per process.

    LMDB refuses a second open of the same file in one process, so callers share one
    handle; a file replaced since (new inode or mtime) gets a fresh one.
    """
    if not DatasetCache.exists(path):
        raise InputError(f"{path}: no such task cache")
    real = os.path.realpath(path)
    st = os.stat(real)
    stamp = (st.st_ino, st.st_mtime_ns)
    held = _OPEN.get(real)
    if held is not None:
        if held[0] == stamp:
            return held[1]
        held[1].close()
    try:
        cache = DatasetCache.open_ro(path)
    except Exception as e:
        raise InputError(f"{path}: not a readable task cache ({e})") from None
    _OPEN[real] = (stamp, cache)
    return cache


def close_cache(path: str) -> None:
    """Close the handle :func:`open_cache` keeps for ``path`` (before the file is removed)."""
    held = _OPEN.pop(os.path.realpath(path), None)
    if held is not None:
        held[1].close()


def cache_config(cache: DatasetCache) -> dict[str, Any]:
    cfg = cache.get_info_dict("stats/config")
    if not cfg or "grid" not in cfg:
        raise InputError(f"{cache.path}: task cache has no stats/config (was it written by save-tasks?)")
    return cfg


def cache_tasks(cache: DatasetCache) -> dict[TileIdx, list[UUID]]:
    """Every task of the cache's grid with its dataset ids, in odc-stats order."""
    grid = cache_config(cache)["grid"]
    out = {}
    for name, _ in cache.groups(prefix=f"{grid}/"):
        out[parse_task(name)] = cache.get_group(name)
    return dict(sorted(out.items()))


def cache_tiles(cache: DatasetCache) -> list[TileIdx]:
    """Every task of the cache's grid, sorted, without reading the dataset ids (fast for 30,000)."""
    grid = cache_config(cache)["grid"]
    return sorted(parse_task(name) for name, _ in cache.groups(prefix=f"{grid}/"))

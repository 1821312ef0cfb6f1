"""What a run will take before it starts: tiles, datasets, pixel-observations, seconds, worker-hours, cost.

A task's size is measured from the cache alone (no pixel is read): its tile's pixels, and
its pixel-observations, the tile pixels each solar day's datasets cover (footprints
reprojected to the grid, a day's united, since they are fused, intersected with the tile). A dataset whose document is not in the cache counts as covering
the whole tile (an upper bound). Seconds come from the plugin's
:class:`~statscore.ops.runtime.PluginModel`, cost from a :class:`~statscore.ops.prices.WorkerPrice`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..task import TileIdx, parse_task, render_task
from .prices import WorkerPrice
from .runtime import PluginModel

__all__ = ["TaskSize", "Estimate", "task_sizes", "cache_task_sizes", "estimate"]


@dataclass(frozen=True)
class TaskSize:
    """The size of one task, from its tile and its datasets' footprints."""

    task: str
    pixels: int
    datasets: int
    observations: int
    """Pixel-observations: tile pixels covered, summed over solar days."""


@dataclass
class Estimate:
    """Predicted seconds per task and their totals; ``cost_usd`` is None without a price."""

    plugin: str
    threads: int
    tasks: list[TaskSize]
    seconds: list[float]
    model: PluginModel | None = None
    price: WorkerPrice | None = None
    missing_footprints: int = 0
    """Datasets counted as covering the whole tile (no document in the cache)."""
    notes: list[str] = field(default_factory=list)

    @property
    def datasets(self) -> int:
        return sum(t.datasets for t in self.tasks)

    @property
    def observations(self) -> int:
        return sum(t.observations for t in self.tasks)

    @property
    def worker_hours(self) -> float:
        return float(sum(self.seconds)) / 3600.0

    @property
    def cost_usd(self) -> float | None:
        return None if self.price is None else self.worker_hours * self.price.usd_per_hour

    def totals(self) -> dict[str, Any]:
        """The figures without the per-task list (what Enumerate's state carries)."""
        out: dict[str, Any] = {
            "tiles": len(self.tasks), "datasets": self.datasets, "observations": self.observations,
            "pixels": sum(t.pixels for t in self.tasks), "plugin": self.plugin, "threads": self.threads,
            "seconds_per_task": round(float(np.mean(self.seconds)), 2) if self.seconds else 0.0,
            "seconds_max": round(float(max(self.seconds)), 2) if self.seconds else 0.0,
            "worker_hours": round(self.worker_hours, 6),
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
        }
        if self.model is not None:
            out["model"] = {"plugin": self.model.plugin, "threads": self.model.threads,
                            "intercept": self.model.intercept, "per_observation": self.model.per_observation,
                            "per_pixel": self.model.per_pixel}
        if self.price is not None:
            out["prices"] = self.price.to_dict()
        if self.missing_footprints:
            out["missing_footprints"] = self.missing_footprints
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Totals and one entry per task (key ``seconds``), for ``--json``."""
        return dict(self.totals(), tasks=[dict(asdict(t), seconds=round(float(s), 2))
                                          for t, s in zip(self.tasks, self.seconds)])


def task_sizes(reader: Any, tiles: Sequence[TileIdx], resolution: float | None = None) -> tuple[list[TaskSize], int]:
    """Sizes of ``tiles`` of ``reader`` (a :class:`statscore.run.TaskReader`), and how many
    datasets had no footprint (no document in the cache)."""
    import shapely
    from datacube.api.query import solar_day

    gs = reader.with_resolution(resolution)
    pixel_area = abs(float(gs.resolution.x) * float(gs.resolution.y))
    feet: dict[Any, tuple[Any, np.datetime64 | None]] = {}
    missing = 0

    def footprint(u: Any) -> tuple[Any, np.datetime64 | None]:
        nonlocal missing
        hit = feet.get(u)
        if hit is None:
            ds = reader.cache.get(u)
            if ds is None or ds.extent is None:
                missing += 1
                hit = (None, None)
            else:
                geom = ds.extent.to_crs(gs.crs, resolution="auto").geom
                hit = (geom, np.datetime64(solar_day(ds), "D"))
            feet[u] = hit
        return hit

    ny, nx = gs.tile_shape.yx
    pixels = int(ny) * int(nx)  # every tile of a grid has the tile shape
    out: list[TaskSize] = []
    for tile in tiles:
        ids = reader.tasks.get(tile, [])
        got = [footprint(u) for u in ids]
        known = [(g, d) for g, d in got if g is not None]
        obs = pixels * (len(got) - len(known))
        if known:
            box = shapely.box(*gs.tile_geobox((tile.x, tile.y)).boundingbox)
            by_day: dict[Any, list[Any]] = {}
            for g, d in known:
                by_day.setdefault(d, []).append(g)
            # a day's datasets are fused: the union of their footprints (one alone: itself)
            covers = np.array([g[0] if len(g) == 1 else shapely.union_all(g) for g in by_day.values()], dtype=object)
            per_day = np.minimum(shapely.area(shapely.intersection(covers, box)) / pixel_area, pixels)
            obs += int(round(float(per_day.sum())))
        out.append(TaskSize(task=render_task(tile), pixels=pixels, datasets=len(ids), observations=obs))
    return out, missing


def cache_task_sizes(cache_path: str, tiles: Sequence[TileIdx] | None = None,
                     resolution: float | None = None) -> tuple[list[TaskSize], int]:
    """:func:`task_sizes` of ``tiles`` (None: all) of the cache at ``cache_path``. A cache that
    holds task lists but no dataset documents (a plan shipped without them) is sized from its
    groups' dataset counts alone, each dataset covering its tile."""
    from ..cache import cache_config, open_cache
    from ..run import TaskReader

    cache = open_cache(cache_path)
    if cache.count:
        reader = TaskReader(cache_path)
        return task_sizes(reader, list(reader.all_tiles) if tiles is None else tiles, resolution)
    grid = cache_config(cache)["grid"]
    counts = {parse_task(name): int(n) for name, n in cache.groups(prefix=f"{grid}/")}
    gs = cache.grids[grid]
    ny, nx = gs.tile_shape.yx
    if resolution:
        ny, nx = round(ny * abs(gs.resolution.y) / resolution), round(nx * abs(gs.resolution.x) / resolution)
    pixels = int(ny) * int(nx)
    chosen = sorted(counts) if tiles is None else tiles
    sizes = [TaskSize(task=render_task(t), pixels=pixels, datasets=counts.get(t, 0),
                      observations=pixels * counts.get(t, 0)) for t in chosen]
    return sizes, sum(s.datasets for s in sizes)


def estimate(sizes: Sequence[TaskSize], plugin: str, threads: int, model: PluginModel | None,
             price: WorkerPrice | None = None, missing_footprints: int = 0) -> Estimate:
    """Seconds per task from ``model`` (None: no runtime model, no seconds or cost)."""
    notes: list[str] = []
    if model is None:
        secs = [0.0 for _ in sizes]
        notes.append(f"no runtime model for plugin {plugin!r}: seconds and cost unknown (odc-stats calibrate)")
        price = None
    else:
        secs = [float(s) for s in model.seconds([t.pixels for t in sizes], [t.observations for t in sizes])] \
            if sizes else []
        if model.threads != threads:
            notes.append(f"the {plugin} model was calibrated at {model.threads} threads, the run uses {threads}: "
                         f"calibrate at {threads} for a closer estimate")
    if missing_footprints:
        notes.append(f"{missing_footprints} datasets have no document in the cache: counted as covering their tiles")
    return Estimate(plugin=plugin, threads=threads, tasks=list(sizes), seconds=secs, model=model, price=price,
                    missing_footprints=missing_footprints, notes=notes)

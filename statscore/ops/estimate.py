"""What a run will take before it starts: tiles, datasets, pixel-observations, seconds, worker-hours, cost.

A task's size is measured from the cache alone (no pixel is read): its tile's pixels, and
its pixel-observations, the tile pixels each solar day's datasets cover (footprints
reprojected to the grid, intersected with the tile, capped at the tile per day, since a
day's datasets are fused). A dataset whose document is not in the cache counts as covering
the whole tile (an upper bound). Seconds come from the plugin's
:class:`~statscore.ops.runtime.PluginModel`, cost from a :class:`~statscore.ops.prices.WorkerPrice`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..task import TileIdx, render_task
from .prices import WorkerPrice
from .runtime import PluginModel

__all__ = ["TaskSize", "Estimate", "task_sizes", "estimate"]


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
            "worker_hours": round(self.worker_hours, 4),
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 4),
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

    out: list[TaskSize] = []
    for tile in tiles:
        ids = reader.tasks.get(tile, [])
        gbox = gs.tile_geobox((tile.x, tile.y))
        pixels = int(gbox.shape[0]) * int(gbox.shape[1])
        box = gbox.extent.geom
        got = [footprint(u) for u in ids]
        known = [(g, d) for g, d in got if g is not None]
        obs = pixels * (len(got) - len(known))
        if known:
            areas = shapely.area(shapely.intersection(np.array([g for g, _ in known], dtype=object), box)) / pixel_area
            days = np.array([d for _, d in known])
            _, day_idx = np.unique(days, return_inverse=True)
            per_day = np.minimum(np.bincount(day_idx, weights=areas), pixels)
            obs += int(round(float(per_day.sum())))
        out.append(TaskSize(task=render_task(tile), pixels=pixels, datasets=len(ids), observations=obs))
    return out, missing


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

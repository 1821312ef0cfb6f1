"""Human-readable companions of a task cache: ``<name>.csv`` and one GeoJSON per period.

Both exactly as odc-stats writes them, so existing notebooks and QGIS styles keep working.
"""

from __future__ import annotations

import json

from collections import defaultdict
from pathlib import Path

import numpy as np
from odc.geo.gridspec import GridSpec

from .binning import TaskPlan

__all__ = ["write_csv", "write_geojson", "period_geojson", "task_days", "tile_outline"]


def task_days(times: np.ndarray, offset_hours: int = 0) -> int:
    """Distinct days among ``times`` (UTC datetime64) after adding ``offset_hours``."""
    t = times.astype("datetime64[us]") + np.timedelta64(int(offset_hours), "h")
    return int(np.unique(t.astype("datetime64[D]")).size)


def write_csv(path: str | Path, plan: TaskPlan, times: np.ndarray) -> None:
    """``"T","X","Y","datasets","days"``; days count distinct UTC dates, as odc-stats."""
    with open(path, "w", encoding="utf8") as f:
        f.write('"T","X","Y","datasets","days"\n')
        for (p, x, y), m in zip(plan.tasks, plan.members):
            f.write(f'"{p}", {x:+05d}, {y:+05d}, {len(m):4d}, {task_days(times[m]):4d}\n')


def tile_outline(gs: GridSpec, xy: tuple[int, int], utc_offset: int) -> dict:
    """A tile's outline as a GeoJSON geometry in EPSG:4326, densified to a quarter of a tile;
    split at the antimeridian for tiles there (``|utc_offset| >= 11`` h)."""
    resolution = max(gs.tile_size.xy) / 4
    ext = gs.tile_geobox(xy).extent
    return ext.to_crs("epsg:4326", resolution=resolution, wrapdateline=abs(utc_offset) >= 11).json


def period_geojson(gs: GridSpec, plan: TaskPlan, times: np.ndarray) -> dict[str, dict]:
    """Period -> FeatureCollection of its tiles (outline in EPSG:4326, counts, UTC offset)."""
    if not plan.tile_totals:
        return {}
    width = len(str(max(max(abs(x), abs(y)) for x, y in plan.tile_totals)))
    outlines: dict[tuple[int, int], dict] = {}
    out: dict[str, list] = defaultdict(list)
    for (p, x, y), m in zip(plan.tasks, plan.members):
        off = plan.utc_offset[(x, y)]
        if (x, y) not in outlines:
            outlines[(x, y)] = tile_outline(gs, (x, y), off)
        out[p].append({
            "type": "Feature",
            "geometry": outlines[(x, y)],
            "properties": {
                "title": f"{x:0{width}d},{y:0{width}d}",
                "region_code": f"x{x:0{width}d}y{y:0{width}d}",
                "ix": x,
                "iy": y,
                "utc_offset": float(off),
                "total": len(m),
                "days": task_days(times[m], off),
            },
        })
    return {p: {"type": "FeatureCollection", "features": feats} for p, feats in out.items()}


def write_geojson(path: str | Path, collection: dict) -> None:
    with open(path, "w", encoding="utf8") as f:
        json.dump(collection, f)



"""Loading a task's inputs: native-CRS load, plugin masking, solar-day fusing, reprojection.

Uses datacube's loader on the cache's dataset documents (no database at run time). Each
(solar day, CRS) group is read on a native-resolution grid covering the tile, masked
there by ``plugin.native_transform`` (so morphology works on native pixels, as in
odc-stats), fused by ``plugin.fuser``, then reprojected to the tile with
``odc.geo.xr.xr_reproject``; groups of the same day from other CRSs are fused again on
the tile grid. Everything stays dask-backed: pixels are read when the plugin's reduction
asks for them, block by block.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from affine import Affine
from datacube import Datacube
from datacube.api.query import solar_day
from datacube.model import Dataset
from odc.geo import xy_
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_reproject

from .errors import InputError
from .model import Task

__all__ = ["load_task_data", "native_geobox"]


def _grid_of(ds: Dataset, bands: Sequence[str]) -> tuple[str, Any]:
    """The dataset grid with the finest pixels among those the bands live on."""
    doc = ds.metadata_doc
    grids = doc.get("grids") or {}
    names = {doc["measurements"][b].get("grid", "default") for b in bands if b in doc.get("measurements", {})} or {"default"}
    best = min(names, key=lambda g: abs(grids[g]["transform"][0]) if g in grids else np.inf)
    if best not in grids:
        raise InputError(f"dataset {ds.id}: no grid {best!r} in its document")
    return best, grids[best]


def native_geobox(ds: Dataset, bands: Sequence[str], tile: GeoBox, pad_px: int = 2) -> GeoBox:
    """A grid aligned with the dataset's pixels, covering the tile (padded), at native resolution."""
    _, g = _grid_of(ds, bands)
    t = Affine(*g["transform"][:6])
    res = abs(t.a)
    crs = ds.crs
    poly = tile.extent.to_crs(crs, resolution=res * 64).buffer(pad_px * res)
    anchor = xy_((t.c % res) / res, (t.f % res) / res)
    return GeoBox.from_geopolygon(poly, resolution=res, crs=crs, anchor=anchor)


def _measurements(ds: Dataset, bands: Sequence[str]):
    try:
        found = ds.product.lookup_measurements(list(bands))
    except KeyError as e:
        raise InputError(f"product {ds.product.name}: no band {e.args[0]!r} (has {', '.join(ds.product.measurements)})") from None
    return found


def _solar_key(ds: Dataset) -> np.datetime64:
    return np.datetime64(solar_day(ds), "D")


def load_task_data(task: Task, plugin: Any, *, chunks: dict[str, int] | None = None) -> xr.Dataset:
    """The (time, y, x) Dataset on ``task.geobox`` that ``plugin.reduce`` takes."""
    bands = list(plugin.input_bands)
    if not task.datasets:
        raise InputError(f"task {task.tile_index}: no datasets")
    chunks = chunks or {"y": 1024, "x": 1024}
    groups: dict[tuple[np.datetime64, str], list[Dataset]] = defaultdict(list)
    for ds in task.datasets:
        groups[(_solar_key(ds) if plugin.group_by == "solar_day" else np.datetime64(ds.center_time.replace(tzinfo=None), "us"),
                str(ds.crs))].append(ds)

    per_day: dict[np.datetime64, list[xr.Dataset]] = defaultdict(list)
    for (day, _crs), dss in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        present = [b for b in bands if all(b in _names(ds) for ds in dss)]
        optional = [b for b in getattr(plugin, "optional_bands", ()) if all(b in _names(ds) for ds in dss)]
        missing = [b for b in bands if b not in present]
        if missing:
            raise InputError(f"dataset {dss[0].id} ({dss[0].product.name}): missing band(s) {', '.join(missing)}")
        want = present + optional
        gbox = native_geobox(dss[0], want, task.geobox)
        meas = _measurements(dss[0], want)
        sources = Datacube.group_datasets(dss, "time")
        try:
            xx = Datacube.load_data(sources, gbox, list(meas.values()),
                                    dask_chunks={"time": 1, "y": chunks["y"], "x": chunks["x"]})
        except Exception as e:  # noqa: BLE001 - rasterio/datacube raise many types; name the inputs
            raise InputError(f"cannot read datasets {', '.join(str(d.id) for d in dss)}: {e}") from None
        xx = xx.rename({m.name: b for b, m in zip(want, meas.values()) if m.name != b})
        xx = plugin.native_transform(xx)
        xx = plugin.fuser(xx)
        per_day[day].append(_reproject(xx, task.geobox, plugin, chunks))

    slices = []
    for day in sorted(per_day):
        parts = per_day[day]
        one = plugin.fuser(xr.concat(parts, "time")) if len(parts) > 1 else parts[0]
        slices.append(one.assign_coords(time=[day.astype("datetime64[ns]")]))
    return xr.concat(slices, "time")


def _names(ds: Dataset) -> set[str]:
    names = set(ds.product.measurements)
    for m in ds.product.measurements.values():
        names.update(m.get("aliases", ()) or ())
    return names


def _reproject(xx: xr.Dataset, dst: GeoBox, plugin: Any, chunks: dict[str, int]) -> xr.Dataset:
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    # odc-geo warps dask blocks through in-memory arrays that GDAL calls "not georeferenced"
    warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
    out = {}
    for name, band in xx.data_vars.items():
        resampling = plugin.resampling_for(str(name), band.dtype) if hasattr(plugin, "resampling_for") else "nearest"
        nodata = band.attrs.get("nodata")
        r = xr_reproject(band, dst, resampling=resampling, dst_nodata=nodata,
                         chunks=(chunks["y"], chunks["x"]))
        r.attrs.update(band.attrs)
        out[name] = r
    res = xr.Dataset(out)
    res.attrs.update({k: v for k, v in xx.attrs.items() if k not in ("crs", "grid_mapping")})
    return res

"""Earth-Search-style Sentinel-2 items: what Element 84's ``sentinel-2-l2a`` serves.

Real collections differ from our ``s2_l2a`` sample documents: item ids are scene names
(``S2B_55HBU_20220130_0_L2A``, not UUIDs), asset keys are common names (``blue``, ``scl``),
the CRS is ``proj:code`` on the item and each asset has its own ``proj:shape`` /
``proj:transform``, and properties carry ``s2:processing_baseline``, ``s2:mgrs_tile``,
``earthsearch:boa_offset_applied``. Processing baseline 04.00 (from 2022-01-25) writes
``DN = 10000 * reflectance + 1000``: :func:`earth_search_scenes` writes such scenes after that
date (the same surface, offset), unless the collection is harmonised (``sentinel-2-c1-l2a``)
or ``offset_applied`` says the offset was removed.

:func:`earth_search_footprint_items` builds many such items from synthetic footprints
(no pixels) for planning benchmarks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from statscore.sampledata.products import S2_L2A
from statscore.sampledata.regions import DEFAULT_REGION, Region
from statscore.sampledata.scenes import SceneRecord, generate_scenes

__all__ = ["EARTH_SEARCH_ASSETS", "BASELINE_04_START", "EarthSearchScene", "earth_search_scenes",
           "earth_search_item", "earth_search_footprint_items"]

EARTH_SEARCH_ASSETS = {"B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1", "B06": "rededge2",
                       "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B11": "swir16", "B12": "swir22", "SCL": "scl"}
"""Our sample band names -> Earth Search v1 asset keys."""

BASELINE_04_START = date(2022, 1, 25)
"""First day of Sentinel-2 processing baseline 04.00 (BOA_ADD_OFFSET = -1000)."""
BOA_ADD_OFFSET = -1000

_EXTENSIONS = ["https://stac-extensions.github.io/eo/v1.1.0/schema.json",
               "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
               "https://stac-extensions.github.io/raster/v1.1.0/schema.json"]
_COG = "image/tiff; application=geotiff; profile=cloud-optimized"


@dataclass(frozen=True)
class EarthSearchScene:
    """A generated scene and its Earth-Search-style item."""

    record: SceneRecord
    item_path: Path
    item: dict[str, Any]
    offset_in_pixels: bool
    """Reflectances carry the baseline offset (+1000 DN)."""


def _baseline(day: date) -> str:
    return "04.00" if day >= BASELINE_04_START else "03.01"


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def earth_search_item(rec: SceneRecord, *, collection: str, href: Callable[[Path], str],
                      offset_applied: bool | None) -> dict[str, Any]:
    """The item Earth Search would serve for a sample ``s2_l2a`` scene (hrefs by ``href``)."""
    wgs84 = shapely.set_precision(rec.footprint_wgs84, 1e-6)
    baseline = _baseline(rec.datetime.date())
    tile = rec.region_code
    props: dict[str, Any] = {
        "datetime": _iso(rec.datetime),
        "created": _iso(rec.datetime + timedelta(hours=6)),
        "platform": rec.platform,
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": rec.cloud_cover,
        "proj:code": rec.crs,
        "mgrs:utm_zone": int(tile[:2]),
        "mgrs:latitude_band": tile[2],
        "mgrs:grid_square": tile[3:],
        "grid:code": f"MGRS-{tile}",
        "s2:mgrs_tile": tile,
        "s2:processing_baseline": baseline,
        "s2:product_type": "S2MSI2A",
    }
    if offset_applied is not None:
        props["earthsearch:boa_offset_applied"] = offset_applied
    post = baseline >= "04.00"
    assets: dict[str, Any] = {}
    for band in S2_L2A.bands:
        key = EARTH_SEARCH_ASSETS[band.name]
        g = rec.grids["default" if band.resolution == S2_L2A.finest_resolution else f"g{band.resolution:g}m"]
        rb: dict[str, Any] = {"nodata": band.nodata, "data_type": band.dtype,
                              "spatial_resolution": float(abs(g.resolution.x))}
        if band.role == "reflectance":
            rb.update(scale=0.0001, offset=-0.1 if post and not offset_applied else 0.0)
        assets[key] = {
            "href": href(rec.band_paths[band.name]), "type": _COG, "title": key,
            "proj:shape": list(g.shape.yx), "proj:transform": list(g.transform)[:6],
            "raster:bands": [rb], "roles": ["data", "reflectance" if band.role == "reflectance" else "mask"],
        }
    return {
        "type": "Feature", "stac_version": "1.0.0", "stac_extensions": list(_EXTENSIONS),
        "id": rec.label, "collection": collection,
        "geometry": shapely.geometry.mapping(wgs84), "bbox": list(wgs84.bounds),
        "properties": props, "assets": assets, "links": [],
    }


def _add_offset(rec: SceneRecord) -> None:
    """Rewrite the scene's reflectance COGs as baseline 04.00 stores them: DN + 1000 where valid."""
    import rasterio

    from statscore.sampledata._cog import write_cog

    for band in S2_L2A.bands:
        if band.role != "reflectance":
            continue
        path = rec.band_paths[band.name]
        with rasterio.open(path) as src:
            a = src.read(1)
            crs, transform = src.crs.to_string(), src.transform
        valid = a != band.nodata
        out = np.where(valid, np.minimum(a.astype(np.int64) - BOA_ADD_OFFSET, 65535), a).astype(a.dtype)
        write_cog(path, out, crs=crs, transform=transform, nodata=band.nodata, categorical=False)


def earth_search_scenes(
    out_dir: str | Path,
    *,
    collection: str = "sentinel-2-l2a",
    region: Region = DEFAULT_REGION,
    start: str | date = "2020-01-01",
    end: str | date = "2020-12-31",
    seed: int = 0,
    size_px: int = 256,
    native: bool = False,
    cloudiness: float = 0.33,
    offset_applied: bool = False,
    href: Callable[[Path], str] | None = None,
    limit: int | None = None,
) -> list[EarthSearchScene]:
    """Sample ``s2_l2a`` scenes written as Earth Search serves them: COGs and one item JSON per
    scene (``<label>.json``, hrefs absolute: ``href(path)``, default the file path).

    Scenes from 2022-01-25 on get the +1000 DN offset in their reflectances, except in
    ``sentinel-2-c1-l2a`` (harmonised) or with ``offset_applied`` (the offset was removed, and
    ``earthsearch:boa_offset_applied`` says so).
    """
    href = href or (lambda p: str(Path(p).absolute()))
    c1 = "c1" in collection
    recs = generate_scenes(out_dir, product="s2_l2a", region=region, start=start, end=end, seed=seed,
                           size_px=size_px, native=native, cloudiness=cloudiness, formats=(), limit=limit)
    out = []
    for rec in recs:
        post = rec.datetime.date() >= BASELINE_04_START
        offset = post and not c1 and not offset_applied
        if offset:
            _add_offset(rec)
        flag = None if c1 else (offset_applied if post else False)
        item = earth_search_item(rec, collection=collection, href=href, offset_applied=flag)
        path = rec.folder / f"{rec.label}.json"
        path.write_text(json.dumps(item, indent=1))
        out.append(EarthSearchScene(rec, path, item, offset))
    return out


def earth_search_footprint_items(n: int, *, collection: str = "sentinel-2-l2a", start: str = "2021-01-01",
                                 region: Region = "australia", seed: int = 0,
                                 bucket_url: str = "s3://sentinel-cogs/sentinel-s2-l2a-cogs") -> Iterator[dict[str, Any]]:
    """``n`` Earth-Search-style items over ``region`` from synthetic footprints (no pixels): what a
    continent-year of ``sentinel-2-l2a`` looks like to a planner. Fast: a few seconds per 100,000."""
    from statscore.sampledata.footprints import synthetic_footprints

    fs = synthetic_footprints(n, product="s2_l2a", region=region, start=start, seed=seed)
    wgs = fs.to_wgs84()
    bounds = shapely.bounds(fs.geometry)
    times = fs.datetime.astype("datetime64[ms]").astype(str)
    ids = fs.ids
    for i in range(len(fs)):
        tile = str(fs.region_code[i])
        day = times[i][:10].replace("-", "")
        x0, y0, x1, y1 = (float(v) for v in bounds[i])
        t = times[i] + "Z"
        name = f"S2A_{tile}_{day}_{ids[i][:4]}_L2A"
        # Earth Search footprints have tens of vertices, not the hundreds of a densified outline
        geom = shapely.set_precision(shapely.simplify(wgs[i], 2e-4), 1e-6)
        post = times[i][:10] >= BASELINE_04_START.isoformat()
        assets = {}
        for b in S2_L2A.bands:
            r = float(b.resolution)
            shape = [int(np.ceil((y1 - y0) / r)), int(np.ceil((x1 - x0) / r))]
            key = EARTH_SEARCH_ASSETS[b.name]
            assets[key] = {"href": f"{bucket_url}/{tile[:2]}/{tile[2]}/{tile[3:]}/{day[:4]}/{int(day[4:6])}/{name}/{key}.tif",
                           "type": _COG, "proj:shape": shape, "proj:transform": [r, 0.0, x0, 0.0, -r, y1],
                           "raster:bands": [{"nodata": b.nodata, "data_type": b.dtype}], "roles": ["data"]}
        yield {
            "type": "Feature", "stac_version": "1.0.0", "stac_extensions": list(_EXTENSIONS),
            "id": name, "collection": collection,
            "geometry": shapely.geometry.mapping(geom), "bbox": list(geom.bounds),
            "properties": {"datetime": t, "platform": "sentinel-2a", "constellation": "sentinel-2",
                           "eo:cloud_cover": float(i % 100), "proj:code": f"EPSG:{int(fs.epsg[i])}",
                           "s2:mgrs_tile": tile, "s2:processing_baseline": "04.00" if post else "03.01",
                           "earthsearch:boa_offset_applied": bool(post)},
            "assets": assets, "links": [],
        }

"""Polygons from a vector file, burnt onto the grid of a band: the extent and mask
inputs of the mangrove and land-cover plugins (odc-stats' ``rasterize_vector_mask``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import ConfigError, InputError

__all__ = ["read_polygons", "burn"]


def read_polygons(path: str | Path, what: str, where: str | None = None) -> Any:
    """The union of the polygons in vector file ``path`` (only the features matching the
    SQL ``where``) as an odc-geo Geometry; errors name ``what`` (the config key) and the file.
    geopandas reads it when installed (any OGR format); otherwise GeoJSON is read directly."""
    from odc.geo.geom import Geometry

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{what} {str(path)!r}: no such file")
    try:
        import geopandas as gpd
    except ImportError:
        gpd = None
    if gpd is None and where:
        raise ConfigError(f"{what} {str(path)!r}: a filter expression needs geopandas (pip install geopandas)")
    try:
        if gpd is None:
            return read_geojson(path)
        gdf = gpd.read_file(path, where=where) if where else gpd.read_file(path)
        if gdf.crs is None:
            raise ConfigError(f"{what} {str(path)!r}: the file has no CRS")
        if gdf.empty:
            raise ConfigError(f"{what} {str(path)!r}: no features" + (f" match {where!r}" if where else ""))
        return Geometry(gdf.union_all(), crs=str(gdf.crs))
    except ConfigError:
        raise
    except Exception as e:  # noqa: BLE001 - readers raise many types; name the file
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"{what} {str(path)!r}: cannot read polygons ({msg})") from None


def read_geojson(path: Path) -> Any:
    """A GeoJSON file's geometries (FeatureCollection, Feature or geometry) as one Geometry."""
    from odc.geo.geom import Geometry
    from shapely.geometry import shape
    from shapely.ops import unary_union

    doc = json.loads(Path(path).read_text())
    feats = doc.get("features", []) if doc.get("type") == "FeatureCollection" else [doc]
    geoms = [shape(f["geometry"] if f.get("type") == "Feature" else f) for f in feats]
    crs = ((doc.get("crs") or {}).get("properties") or {}).get("name", "EPSG:4326")
    return Geometry(unary_union(geoms), crs=crs)


def burn(geom: Any, like: xr.DataArray, plugin: str) -> np.ndarray:
    """True where a pixel of ``like``'s grid has its centre inside ``geom``."""
    from odc.geo.xr import rasterize

    try:
        gbox = like.odc.geobox
    except Exception:  # noqa: BLE001 - odc-geo raises different errors for missing coords
        gbox = None
    if gbox is None or gbox.crs is None:
        raise InputError(f"plugin {plugin!r}: input bands have no CRS/geobox to place the polygons on")
    return np.asarray(rasterize(geom, gbox).values).astype(bool)

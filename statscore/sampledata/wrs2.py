"""Landsat tiling: WRS-2 style path/row scenes as rotated 185 x 180 km footprints.

Paths are 360/233 degrees apart, rows 1.44 degrees of latitude apart (row 60 at the
equator), anchored on path 89 row 89 of the real DEA archive (centre 149.22 E,
41.76 S). A scene is a rectangle aligned with the descending ground track, so in its
UTM grid (the zone of the scene centre) it is rotated by about 13 degrees and its
north-up image has nodata triangles in every corner, as real Landsat scenes do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from statscore.sampledata.mgrs import project, to_utm, utm_epsg, utm_zone

PATHS = 233
PATH_SPACING_DEG = 360.0 / PATHS
ROW_SPACING_DEG = 1.44
EQUATOR_ROW = 60
TRACK_SLOPE = 0.25
"""Degrees of longitude the ground track moves east per degree of latitude northward."""
ALONG_TRACK_M = 180_000.0
ACROSS_TRACK_M = 185_000.0
_ANCHOR = (89, 149.22, -41.76)  # path, centre lon, centre lat of 089089


def row_lat(row: int) -> float:
    """Latitude of the centre of a descending daytime row."""
    return -(row - EQUATOR_ROW) * ROW_SPACING_DEG


def path_lon(path: int, lat: float) -> float:
    """Longitude of the centre line of ``path`` at a latitude (paths count westward)."""
    p0, lon0, lat0 = _ANCHOR
    lon = lon0 - (path - p0) * PATH_SPACING_DEG + TRACK_SLOPE * (lat - lat0)
    return (lon + 180.0) % 360.0 - 180.0


@dataclass(frozen=True)
class WrsScene:
    """A Landsat scene: path/row, UTM CRS, image bounds and valid footprint."""

    path: int
    row: int
    epsg: int
    bounds: tuple[float, float, float, float]
    """North-up image extent, on the 30 m grid with pixel edges at 15 m offsets."""
    footprint: Polygon
    centre: tuple[float, float]
    """Scene centre (lon, lat)."""

    @property
    def code(self) -> str:
        return f"{self.path:03d}{self.row:03d}"


def scene(path: int, row: int) -> WrsScene:
    """The footprint of one path/row."""
    lat = row_lat(row)
    lon = path_lon(path, lat)
    # Like USGS and DEA, always the northern UTM zone (negative northings south of the
    # equator: EPSG:32655 for south-east Australia).
    epsg = utm_epsg(utm_zone(lon), south=False)
    tr = to_utm(epsg)
    cx, cy = tr.transform(lon, lat)
    (nx, sx), (ny, sy) = tr.transform(
        [lon + TRACK_SLOPE * 0.1, lon - TRACK_SLOPE * 0.1], [lat + 0.1, lat - 0.1]
    )
    u = np.array([nx - sx, ny - sy])
    u /= np.hypot(*u)
    v = np.array([u[1], -u[0]])
    a, b = ALONG_TRACK_M / 2, ACROSS_TRACK_M / 2
    c = np.array([cx, cy])
    corners = [c + a * u - b * v, c + a * u + b * v, c - a * u + b * v, c - a * u - b * v]
    footprint = shapely.normalize(Polygon(np.round(corners)))
    x0, y0, x1, y1 = footprint.bounds
    bounds = (
        math.floor((x0 - 15) / 30) * 30 + 15.0,
        math.floor((y0 - 15) / 30) * 30 + 15.0,
        math.ceil((x1 - 15) / 30) * 30 + 15.0,
        math.ceil((y1 - 15) / 30) * 30 + 15.0,
    )
    return WrsScene(path, row, epsg, bounds, footprint, (lon, lat))


def scenes_for_region(region: shapely.Geometry) -> list[WrsScene]:
    """Every path/row whose footprint intersects the region (lon/lat)."""
    lon_min, lat_min, lon_max, lat_max = region.bounds
    rows = range(
        math.floor(EQUATOR_ROW - (lat_max + 1.5) / ROW_SPACING_DEG),
        math.ceil(EQUATOR_ROW - (lat_min - 1.5) / ROW_SPACING_DEG) + 1,
    )
    out = []
    region_utm: dict[int, shapely.Geometry] = {}
    for row in rows:
        lat = row_lat(row)
        width = 2.0 / max(math.cos(math.radians(lat)), 0.1)
        p_east = _ANCHOR[0] + (path_lon(_ANCHOR[0], lat) - (lon_max + width)) / PATH_SPACING_DEG
        p_west = _ANCHOR[0] + (path_lon(_ANCHOR[0], lat) - (lon_min - width)) / PATH_SPACING_DEG
        for p in range(math.floor(p_east), math.ceil(p_west) + 1):
            path = (p - 1) % PATHS + 1
            s = scene(path, row)
            if s.epsg not in region_utm:
                region_utm[s.epsg] = project(region, to_utm(s.epsg), 0.05)
            if region_utm[s.epsg].intersects(s.footprint):
                out.append(s)
    return sorted(out, key=lambda s: s.code)

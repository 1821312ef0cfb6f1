"""Sentinel-2 tiling: MGRS 100 km squares as 109.8 km tiles, and the MSI swaths.

Tiles are named like ESA's (``55HBU``: UTM zone, latitude band, column and row letters
of the 100 km square) and cover 109.8 km from the square's north-west corner, as
Sentinel-2 tiles do, so neighbours overlap by 9.8 km. Swaths are 290 km wide around
ground tracks spaced 360/143 degrees apart, so most tiles see one full and some a
second, partial acquisition with a nodata wedge along the swath edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon, box

TILE_SIZE_M = 109_800.0
SQUARE_M = 100_000.0
RELATIVE_ORBITS = 143
ORBIT_SPACING_DEG = 360.0 / RELATIVE_ORBITS
SWATH_HALF_WIDTH_KM = 145.0
TRACK_SLOPE = 0.22
"""Degrees of longitude the ground track moves east per degree of latitude northward."""
_TRACK_LON0 = 0.9

_LAT_BANDS = "CDEFGHJKLMNPQRSTUVWX"
_COL_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"


def utm_zone(lon: float) -> int:
    """UTM zone number of a longitude (no Norway/Svalbard exceptions)."""
    return int(math.floor((lon + 180.0) / 6.0)) % 60 + 1


def utm_epsg(zone: int, south: bool) -> int:
    """EPSG code of WGS 84 / UTM ``zone`` north (326xx) or south (327xx)."""
    return (32700 if south else 32600) + zone


@lru_cache(maxsize=256)
def to_utm(epsg: int) -> Transformer:
    """lon/lat -> UTM transformer (cached: building one costs milliseconds)."""
    return Transformer.from_crs(4326, epsg, always_xy=True)


@lru_cache(maxsize=256)
def from_utm(epsg: int) -> Transformer:
    """UTM -> lon/lat transformer."""
    return Transformer.from_crs(epsg, 4326, always_xy=True)


def project(geom: shapely.Geometry, transformer: Transformer, densify: float) -> shapely.Geometry:
    """Reproject a geometry after densifying its edges to ``densify`` source units."""
    geom = shapely.segmentize(geom, densify)
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def square_letters(zone: int, easting: float, northing: float) -> str:
    """Column and row letters of the MGRS 100 km square holding a UTM point (AA scheme)."""
    col = int(easting // SQUARE_M)  # 1..8
    col_letter = _COL_LETTERS[((zone - 1) % 3) * 8 + col - 1]
    row = int(northing // SQUARE_M) % 20
    row_letter = _ROW_LETTERS[(row + (5 if zone % 2 == 0 else 0)) % 20]
    return col_letter + row_letter


def lat_band(lat: float) -> str:
    """MGRS latitude band letter (8 degree bands from 80 S)."""
    return _LAT_BANDS[min(max(int((lat + 80.0) // 8.0), 0), len(_LAT_BANDS) - 1)]


@dataclass(frozen=True)
class MgrsTile:
    """A Sentinel-2 tile: code, UTM CRS and bounds in that CRS."""

    code: str
    epsg: int
    bounds: tuple[float, float, float, float]

    @property
    def polygon(self) -> Polygon:
        return box(*self.bounds)

    @property
    def path(self) -> str:
        """Folder form used by S2 archives: ``55/H/BU``."""
        return f"{self.code[:-3]}/{self.code[-3]}/{self.code[-2:]}"


def tiles_for_region(region: shapely.Geometry) -> list[MgrsTile]:
    """Every tile whose 100 km square lies in a UTM zone that the region touches and
    whose 109.8 km extent intersects the region."""
    lon_min, lat_min, lon_max, lat_max = region.bounds
    tiles = []
    for zone in range(utm_zone(lon_min), utm_zone(lon_max - 1e-9) + 1):
        zone_west = -180.0 + (zone - 1) * 6.0
        for south in (True, False):
            band = box(zone_west, -80.0 if south else 0.0, zone_west + 6.0, 0.0 if south else 84.0)
            part = shapely.intersection(region, shapely.buffer(band, 1.5))
            if part.is_empty:
                continue
            epsg = utm_epsg(zone, south)
            region_utm = project(region, to_utm(epsg), 0.05)
            band_utm = project(band, to_utm(epsg), 0.25)
            x0, y0, x1, y1 = project(part, to_utm(epsg), 0.05).bounds
            for e in np.arange(math.floor(x0 / SQUARE_M) - 1, math.ceil(x1 / SQUARE_M) + 1) * SQUARE_M:
                if not 100_000 <= e < 900_000:
                    continue
                for n in np.arange(math.floor(y0 / SQUARE_M) - 1, math.ceil(y1 / SQUARE_M) + 1) * SQUARE_M:
                    square = box(e, n, e + SQUARE_M, n + SQUARE_M)
                    bounds = (e, n + SQUARE_M - TILE_SIZE_M, e + TILE_SIZE_M, n + SQUARE_M)
                    if not square.intersects(band_utm) or not region_utm.intersects(box(*bounds)):
                        continue
                    lat = from_utm(epsg).transform(e + SQUARE_M / 2, n + SQUARE_M / 2)[1]
                    code = f"{zone:02d}{lat_band(lat)}{square_letters(zone, e, n)}"
                    tiles.append(MgrsTile(code, epsg, tuple(float(v) for v in bounds)))
    return sorted(tiles, key=lambda t: t.code)


def track_lon(k: int, lat: float | np.ndarray) -> float | np.ndarray:
    """Longitude of ground track ``k`` (counted eastward) at a latitude."""
    return _TRACK_LON0 + k * ORBIT_SPACING_DEG + TRACK_SLOPE * lat


def relative_orbit(k: int) -> int:
    """Relative orbit number (1..143) of track ``k``: the track to the west is flown
    43 orbits (about 3 days) later."""
    return (30 - 43 * k) % RELATIVE_ORBITS + 1


def swath_polygon(k: int, lat_min: float, lat_max: float) -> Polygon:
    """The 290 km swath of track ``k`` between two latitudes, in lon/lat."""
    lats = np.linspace(lat_min, lat_max, max(2, int((lat_max - lat_min) / 0.1) + 1))
    half = SWATH_HALF_WIDTH_KM / (111.32 * np.cos(np.radians(lats)))
    centre = track_lon(k, lats)
    west = np.column_stack([centre - half, lats])
    east = np.column_stack([centre + half, lats])[::-1]
    return Polygon(np.vstack([west, east]))


def tracks_for_region(region: shapely.Geometry) -> list[int]:
    """Track numbers whose swath may touch the region."""
    lon_min, lat_min, lon_max, lat_max = region.bounds
    lo = min(track_lon(0, lat_min), track_lon(0, lat_max))
    hi = max(track_lon(0, lat_min), track_lon(0, lat_max))
    margin = 4.0 / max(math.cos(math.radians(max(abs(lat_min), abs(lat_max)))), 0.1)
    k0 = math.floor((lon_min - margin - hi) / ORBIT_SPACING_DEG)
    k1 = math.ceil((lon_max + margin - lo) / ORBIT_SPACING_DEG)
    return list(range(k0, k1 + 1))


def tile_coverage(tile: MgrsTile, tracks: list[int]) -> list[tuple[int, Polygon, float]]:
    """``(track, valid footprint, covered fraction)`` for each swath that covers more
    than 1 % of the tile."""
    lat_lo, lat_hi = _tile_lat_range(tile)
    x0, y0, x1, y1 = tile.bounds
    lon_c, lat_c = from_utm(tile.epsg).transform((x0 + x1) / 2, (y0 + y1) / 2)
    reach = (SWATH_HALF_WIDTH_KM + 80.0) / (111.32 * math.cos(math.radians(lat_c)))
    out = []
    for k in tracks:
        if abs(track_lon(k, lat_c) - lon_c) > reach:
            continue
        swath = project(swath_polygon(k, lat_lo - 1.0, lat_hi + 1.0), to_utm(tile.epsg), 0.05)
        valid = shapely.intersection(tile.polygon, swath)
        frac = valid.area / tile.polygon.area
        if frac > 0.01:
            # Sub-pixel simplification: the swath edge is nearly straight in UTM.
            valid = shapely.simplify(valid, 5.0) if frac < 0.999 else tile.polygon
            out.append((k, shapely.normalize(valid), float(frac)))
    return out


def _tile_lat_range(tile: MgrsTile) -> tuple[float, float]:
    x0, y0, x1, y1 = tile.bounds
    lons, lats = from_utm(tile.epsg).transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    return min(lats), max(lats)

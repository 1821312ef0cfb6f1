"""When and where each sample scene is acquired: revisit cycles and solar time.

Sentinel-2: each ground track is flown every 10 days by S2A and, 5 days later, by
S2B (S2B from July 2017), so a tile on one track is seen every 5 days; the track to
the west is flown about 3 days later. Landsat 8: each path every 16 days, the path
to the west 7 days later, anchored on path 89 flown on 2015-02-13 (local date).

Both are sun-synchronous descending orbits: the local solar time of a pass is about
10:30 (S2) / 10:12 (Landsat 8) at the equator and earlier toward the poles
(about 09:45 at 40 S). The UTC time is that solar time minus the track longitude / 15
h, so east of about 150 E the UTC date is the day before the solar date, as in real
DEA Landsat data over eastern Australia (``2015-02-12T23:45Z``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import shapely
from shapely.geometry import Polygon

from statscore.sampledata import mgrs, wrs2
from statscore.sampledata.products import Product

S2_EPOCH = date(2015, 6, 27)
S2B_START = date(2017, 7, 6)
S2_REVISIT_DAYS = 5
LANDSAT_EPOCH = date(2015, 2, 13)
LANDSAT_ANCHOR_PATH = 89
LANDSAT_REVISIT_DAYS = 16
L8_START = date(2013, 4, 11)

_EQUATOR_SOLAR_HOURS = {"s2": 10.5, "landsat": 10.2}
_SOLAR_HOURS_PER_DEG_LAT = 0.013


@dataclass(frozen=True)
class Acquisition:
    """One scene before any pixel exists: where, when, by which satellite."""

    product: Product
    region_code: str
    """MGRS tile (``55HBU``) or WRS-2 path/row (``090084``)."""
    region_path: str
    """Archive folder for the region code: ``55/H/BU`` or ``090/084``."""
    epsg: int
    bounds: tuple[float, float, float, float]
    """Full image extent in the scene CRS."""
    footprint: Polygon
    """Valid-data polygon of the full scene in the scene CRS."""
    datetime: datetime
    """Acquisition time (UTC, timezone-aware)."""
    solar_date: date
    """Local solar date of the pass."""
    platform: str
    orbit: int
    """Sentinel-2 relative orbit, or Landsat path."""
    coverage: float
    """Fraction of the tile/scene extent with data."""


def solar_hours(family: str, lat: float) -> float:
    """Local solar time (hours) of a descending daytime pass at a latitude."""
    return _EQUATOR_SOLAR_HOURS[family] + _SOLAR_HOURS_PER_DEG_LAT * lat


def utc_time(family: str, solar_date: date, lon: float, lat: float) -> datetime:
    """UTC time of a pass over (lon, lat) on a local solar date."""
    hours = solar_hours(family, lat) - lon / 15.0
    start = datetime(solar_date.year, solar_date.month, solar_date.day, tzinfo=timezone.utc)
    return start + timedelta(hours=hours)


def _dates(first: date, step: int, start: date, end: date) -> list[date]:
    offset = (start - first).days % step
    d = start + timedelta(days=(step - offset) % step)
    out = []
    while d <= end:
        out.append(d)
        d += timedelta(days=step)
    return out


def s2_track_first_date(k: int) -> date:
    """A local solar date on which track ``k`` is flown (by S2A)."""
    return S2_EPOCH + timedelta(days=((mgrs.relative_orbit(k) - 1) * 10) // mgrs.RELATIVE_ORBITS)


def landsat_path_first_date(path: int) -> date:
    """A local solar date on which ``path`` is flown by Landsat 8."""
    return LANDSAT_EPOCH + timedelta(days=(7 * (path - LANDSAT_ANCHOR_PATH)) % LANDSAT_REVISIT_DAYS)


def acquisitions(
    product: Product, region: shapely.Geometry, start: date, end: date
) -> list[Acquisition]:
    """Every acquisition of ``product`` over ``region`` with a solar date in
    ``[start, end]``, sorted by time then region code."""
    out: list[Acquisition] = []
    if product.family == "s2":
        tracks = mgrs.tracks_for_region(region)
        for tile in mgrs.tiles_for_region(region):
            cx, cy = tile.polygon.centroid.coords[0]
            lon, lat = mgrs.from_utm(tile.epsg).transform(cx, cy)
            for k, footprint, frac in mgrs.tile_coverage(tile, tracks):
                first = s2_track_first_date(k)
                for d in _dates(first, S2_REVISIT_DAYS, max(start, S2_EPOCH), end):
                    s2b = ((d - first).days // S2_REVISIT_DAYS) % 2 == 1
                    if s2b and d < S2B_START:
                        continue
                    out.append(
                        Acquisition(
                            product=product,
                            region_code=tile.code,
                            region_path=tile.path,
                            epsg=tile.epsg,
                            bounds=tile.bounds,
                            footprint=footprint,
                            datetime=utc_time("s2", d, float(mgrs.track_lon(k, lat)), lat),
                            solar_date=d,
                            platform="sentinel-2b" if s2b else "sentinel-2a",
                            orbit=mgrs.relative_orbit(k),
                            coverage=frac,
                        )
                    )
    else:
        for s in wrs2.scenes_for_region(region):
            lon, lat = s.centre
            first = landsat_path_first_date(s.path)
            for d in _dates(first, LANDSAT_REVISIT_DAYS, max(start, L8_START), end):
                out.append(
                    Acquisition(
                        product=product,
                        region_code=s.code,
                        region_path=f"{s.path:03d}/{s.row:03d}",
                        epsg=s.epsg,
                        bounds=s.bounds,
                        footprint=s.footprint,
                        datetime=utc_time("landsat", d, lon, lat),
                        solar_date=d,
                        platform="landsat-8",
                        orbit=s.path,
                        coverage=s.footprint.area / shapely.box(*s.bounds).area,
                    )
                )
    return sorted(out, key=lambda a: (a.datetime, a.region_code))

"""Many dataset footprints in memory, for binning benchmarks: no pixels, no files.

The same tiling and revisit model as the scenes (MGRS tiles x swaths for S2, WRS-2
path/rows for Landsat, over all of Australia by default), repeated through time until
``n`` acquisitions exist, each footprint shifted by up to one 10 m / 30 m pixel so no
two are the same object. Built with numpy and shapely 2's array functions: a million
footprints take a few seconds.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import shapely

from statscore.errors import ConfigError
from statscore.sampledata import acquisitions as acq
from statscore.sampledata import mgrs, wrs2
from statscore.sampledata.products import get_product
from statscore.sampledata.regions import Region, region_geometry

_HEX = np.array(list("0123456789abcdef"))


@dataclass(frozen=True)
class FootprintSet:
    """``n`` synthetic datasets as parallel arrays, sorted by time."""

    product: str
    geometry: np.ndarray
    """shapely Polygons, each in the UTM CRS given by ``epsg`` at the same index."""
    epsg: np.ndarray
    """int32 EPSG code of each footprint's CRS."""
    id_bytes: np.ndarray
    """(n, 16) uint8: the 16 bytes of each dataset's UUID (version 4)."""
    datetime: np.ndarray
    """datetime64[ms], UTC acquisition times."""
    region_code: np.ndarray
    """MGRS tile or WRS-2 path/row of each dataset."""

    def __len__(self) -> int:
        return len(self.geometry)

    @property
    def ids(self) -> np.ndarray:
        """Dataset ids as canonical UUID strings (``<U36``), built without a Python loop."""
        b = self.id_bytes
        chars = np.empty((len(b), 32), "<U1")
        chars[:, 0::2] = _HEX[b >> 4]
        chars[:, 1::2] = _HEX[b & 15]
        dashed = np.insert(chars, [8, 12, 16, 20], "-", axis=1)
        return dashed.view("<U36").ravel()

    def uuids(self) -> list[uuid.UUID]:
        """Dataset ids as ``uuid.UUID`` objects (a Python loop: ~1 s per million)."""
        return [uuid.UUID(bytes=bytes(row)) for row in self.id_bytes]

    def by_crs(self) -> dict[int, np.ndarray]:
        """Indices of the footprints in each CRS."""
        return {int(e): np.flatnonzero(self.epsg == e) for e in np.unique(self.epsg)}

    def to_wgs84(self) -> np.ndarray:
        """All footprints in lon/lat (one pyproj call per CRS; densified to 5 km)."""
        out = np.empty(len(self), object)
        for epsg, idx in self.by_crs().items():
            tr = mgrs.from_utm(epsg)
            geoms = shapely.segmentize(self.geometry[idx], 5000.0)
            out[idx] = shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        return out


@lru_cache(maxsize=8)
def _units(product: str, region: shapely.Geometry):
    """Per tile x track (S2) or path/row (Landsat): polygon, epsg, code, first solar
    date, revisit days, and hours from solar midnight to the UTC pass time."""
    p = get_product(product)
    polys, epsgs, codes, firsts, hours, steps = [], [], [], [], [], []
    if p.family == "s2":
        tracks = mgrs.tracks_for_region(region)
        for tile in mgrs.tiles_for_region(region):
            x0, y0, x1, y1 = tile.bounds
            lon, lat = mgrs.from_utm(tile.epsg).transform((x0 + x1) / 2, (y0 + y1) / 2)
            for k, footprint, _ in mgrs.tile_coverage(tile, tracks):
                polys.append(footprint)
                epsgs.append(tile.epsg)
                codes.append(tile.code)
                firsts.append(acq.s2_track_first_date(k))
                hours.append(acq.solar_hours("s2", lat) - float(mgrs.track_lon(k, lat)) / 15.0)
                steps.append(acq.S2_REVISIT_DAYS)
    else:
        for s in wrs2.scenes_for_region(region):
            polys.append(s.footprint)
            epsgs.append(s.epsg)
            codes.append(s.code)
            firsts.append(acq.landsat_path_first_date(s.path))
            hours.append(acq.solar_hours("landsat", s.centre[1]) - s.centre[0] / 15.0)
            steps.append(acq.LANDSAT_REVISIT_DAYS)
    return (np.array(polys, object), np.array(epsgs, np.int32), np.array(codes),
            np.array(firsts, "datetime64[D]"), np.array(hours), np.array(steps), p)


def synthetic_footprints(
    n: int,
    *,
    product: str = "s2_l2a",
    region: Region = "australia",
    start: str | date = "2018-01-01",
    seed: int = 0,
) -> FootprintSet:
    """The first ``n`` acquisitions of ``product`` over ``region`` from the solar date
    ``start`` on, as arrays (see ``FootprintSet``). Deterministic by seed."""
    if n < 0:
        raise ConfigError(f"n must be >= 0, not {n}")
    geom = region_geometry(region)
    polys, epsgs, codes, firsts, hours, steps, p = _units(product, geom)
    if len(polys) == 0:
        raise ConfigError(f"no {product} acquisitions over region {region!r}")
    d0 = np.datetime64(date.fromisoformat(start) if isinstance(start, str) else start, "D")
    u = len(polys)
    cycles = -(-max(n, 1) // u) + 1
    unit = np.tile(np.arange(u), cycles)
    cycle = np.repeat(np.arange(cycles), u)
    # First pass of each unit on or after the start date.
    lag = (firsts - d0).astype(np.int64) % steps
    solar = d0 + (lag[unit] + cycle * steps[unit]).astype("timedelta64[D]")
    when = solar.astype("datetime64[ms]") + np.rint(hours[unit] * 3_600_000).astype("timedelta64[ms]")
    order = np.argsort(when, kind="stable")[:n]
    unit, when = unit[order], when[order]

    rng = np.random.default_rng(seed)
    res = p.finest_resolution
    # Gather each unit's exterior ring coordinates, shift them, and build all
    # polygons in one shapely call (faster than transforming a million geometries).
    rings = [np.asarray(poly.exterior.coords) for poly in polys]
    counts = np.array([len(r) for r in rings])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = np.vstack(rings)
    per = counts[unit]
    first_coord = np.repeat(starts[unit] - np.concatenate([[0], np.cumsum(per)[:-1]]), per)
    coords = flat[first_coord + np.arange(per.sum())]
    coords += np.repeat(rng.integers(-1, 2, size=(n, 2)) * res, per, axis=0)
    geoms = shapely.polygons(shapely.linearrings(coords, indices=np.repeat(np.arange(n), per)))

    id_bytes = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    id_bytes[:, 6] = (id_bytes[:, 6] & 0x0F) | 0x40  # version 4
    id_bytes[:, 8] = (id_bytes[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    return FootprintSet(
        product=p.name,
        geometry=geoms,
        epsg=epsgs[unit],
        id_bytes=id_bytes,
        datetime=when,
        region_code=codes[unit],
    )


def as_datetimes(values: np.ndarray) -> list[datetime]:
    """datetime64 values as timezone-aware UTC datetimes (for spot checks)."""
    from datetime import timezone

    return [v.astype("datetime64[us]").item().replace(tzinfo=timezone.utc) for v in values]

"""Named areas of interest for sample data, as lon/lat polygons (EPSG:4326).

The default, ``au-se``, is a box west of Sydney that straddles the 150 E boundary
between UTM zones 55 and 56 and lies inside the ``au_10``/``au_30`` grids, so one
year of scenes exercises multi-zone binning. ``nz`` lies east of 157.5 E where a
10:30 solar-time acquisition falls on the previous UTC day. ``australia`` is a coarse
continental outline for bulk footprints.
"""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from shapely.geometry import Polygon, box

from statscore.errors import ConfigError, suggest

Region = str | tuple[float, float, float, float] | Polygon
"""A region name, a ``(lon_min, lat_min, lon_max, lat_max)`` box or a lon/lat polygon."""

DEFAULT_REGION = "au-se"

# A coarse outline of mainland Australia and Tasmania (about 30 km accuracy is
# plenty for choosing which MGRS tiles and WRS-2 scenes to acquire).
_AUSTRALIA: Sequence[tuple[float, float]] = (
    (113.4, -22.0), (114.0, -26.5), (115.0, -30.5), (115.0, -34.3), (117.9, -35.1),
    (122.0, -34.0), (124.0, -33.0), (126.0, -32.3), (129.0, -31.7), (131.2, -31.5),
    (134.2, -32.8), (135.9, -34.9), (137.8, -33.0), (137.9, -35.8), (140.0, -37.4),
    (141.0, -38.4), (143.5, -38.8), (144.9, -37.9), (146.4, -39.1), (148.2, -37.8),
    (149.9, -37.5), (150.2, -35.7), (151.3, -33.9), (152.6, -32.1), (153.6, -28.2),
    (153.1, -25.0), (150.9, -23.0), (149.3, -21.0), (146.3, -18.9), (145.3, -15.0),
    (143.5, -14.0), (142.5, -10.7), (141.5, -13.0), (141.5, -17.0), (139.3, -17.4),
    (136.0, -15.6), (136.9, -12.3), (135.0, -12.0), (132.0, -11.3), (130.0, -12.5),
    (129.0, -14.9), (126.0, -14.0), (123.0, -16.5), (121.0, -19.5), (117.0, -20.6),
)
_TASMANIA: Sequence[tuple[float, float]] = (
    (144.6, -40.7), (148.3, -40.9), (148.3, -43.2), (146.8, -43.6), (145.2, -42.3),
)

REGIONS: dict[str, shapely.Geometry] = {
    "au-se": box(149.3, -34.3, 150.7, -33.6),
    "au-se-small": box(149.85, -34.05, 150.15, -33.85),
    "nz": box(174.4, -37.4, 175.8, -36.6),
    "africa": box(23.5, -26.2, 24.5, -25.4),
    "australia": shapely.union(Polygon(_AUSTRALIA), Polygon(_TASMANIA)),
}
"""Named regions; ``au-se-small`` is a few tiles either side of 150 E for quick tests."""


def region_geometry(region: Region) -> shapely.Geometry:
    """The lon/lat geometry of a region name, a bounding box tuple or a polygon."""
    if isinstance(region, str):
        try:
            return REGIONS[region]
        except KeyError:
            raise ConfigError(
                f"unknown region {region!r}{suggest(region, list(REGIONS))}; "
                f"valid names: {', '.join(REGIONS)}"
            ) from None
    if isinstance(region, shapely.Geometry):
        return region
    lon_min, lat_min, lon_max, lat_max = (float(v) for v in region)
    if not (-180 <= lon_min < lon_max <= 180 and -80 <= lat_min < lat_max <= 84):
        raise ConfigError(f"region box {region!r} is not (lon_min, lat_min, lon_max, lat_max)")
    return box(lon_min, lat_min, lon_max, lat_max)

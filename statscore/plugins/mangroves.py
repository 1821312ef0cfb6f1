"""Mangrove canopy cover classes (``mangroves``, odc-stats' ``Mangroves``).

Inputs are one year's summaries: ``pv_pc_10`` and ``qa`` of ``fc-percentiles`` and
``wet_pc_10`` of ``tcw-percentiles``. Inside the mangrove extent (polygons in
``mangroves_extent``, a vector file), where ``wet_pc_10 > tcw_threshold`` (-1850) and
either ``qa`` is 2 with ``pv_pc_10`` above the first of ``pv_thresholds`` ([14, 38, 60])
or ``qa`` is 1, ``canopy_cover_class`` (uint8, nodata 255) is the number of thresholds
``pv_pc_10`` exceeds (1 woodland, 2 open forest, 3 closed forest), 0 where ``qa`` is 1
(not enough observations to say); 255 elsewhere.

The extent is read once, with geopandas when it is installed (any format it reads,
shapefiles included), else as GeoJSON; pixels are inside when their centre is
(odc-geo's ``rasterize``, as odc-stats).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import ConfigError
from ._base import StatsPlugin
from ._masking import fuse_first_valid
from ._vector import burn, read_polygons
from .registry import register

__all__ = ["Mangroves", "read_extent"]

NODATA = 255
_INPUTS = ("pv_pc_10", "qa", "wet_pc_10")


def read_extent(path: str | Path) -> Any:
    """The union of the polygons in the vector file ``path`` as an odc-geo Geometry."""
    return read_polygons(path, "mangroves_extent")


class Mangroves(StatsPlugin):
    NAME = "mangroves"
    SHORT_NAME = NAME
    VERSION = "0.0.2"
    PRODUCT_FAMILY = "mangroves"
    CATEGORICAL = ("canopy_cover_class",)

    def __init__(self, *, mangroves_extent: str, pv_thresholds: Sequence[int] | None = None,
                 tcw_threshold: int = -1850, resampling: str = "nearest", **kwargs: Any):
        super().__init__(resampling=resampling, **kwargs)
        if not mangroves_extent:
            raise ConfigError("mangroves needs plugin_config key 'mangroves_extent' (a vector file of the extent)")
        self.mangroves_extent = str(mangroves_extent)
        self.extent = read_extent(self.mangroves_extent)
        self.pv_thresholds = tuple(int(t) for t in (pv_thresholds if pv_thresholds is not None else (14, 38, 60)))
        if not self.pv_thresholds or list(self.pv_thresholds) != sorted(self.pv_thresholds):
            raise ConfigError(f"pv_thresholds must be increasing numbers, got {pv_thresholds!r}")
        self.tcw_threshold = tcw_threshold

    @property
    def input_bands(self) -> tuple[str, ...]:
        return _INPUTS

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return ("qa",)

    @property
    def measurements(self) -> tuple[str, ...]:
        return ("canopy_cover_class",)

    def output_dtypes(self) -> dict[str, np.dtype]:
        return {"canopy_cover_class": np.dtype("uint8")}

    def output_nodata(self) -> dict[str, float | int | None]:
        return {"canopy_cover_class": NODATA}

    def extent_mask(self, like: xr.DataArray) -> np.ndarray:
        """True where a pixel of ``like``'s grid has its centre inside the extent."""
        return burn(self.extent, like, "mangroves")

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        """One year's summary per pixel (with several observations, the first valid)."""
        self._require(xx, _INPUTS)
        first = fuse_first_valid(xx[list(_INPUTS)])
        tdim = first["qa"].dims[0]
        first = first.isel({tdim: 0}, drop=True)
        pv, qa, wet = (np.asarray(first[b].data) for b in _INPUTS)
        good = self.extent_mask(first["pv_pc_10"])
        good &= wet > self.tcw_threshold
        good &= ((pv > self.pv_thresholds[0]) & (qa == 2)) | (qa == 1)
        cover = np.zeros(pv.shape, dtype=np.uint8)
        for t in self.pv_thresholds:
            cover += pv > t
        cover[qa == 1] = 0
        cover[~good] = NODATA
        return self._finish({"canopy_cover_class": first["pv_pc_10"].copy(data=cover)})


register("mangroves", Mangroves)

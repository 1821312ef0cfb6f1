"""Sentinel-2 pixel quality counts (``pq``, odc-stats' ``StatsPQ``).

Per pixel: ``total`` valid SCL observations (class not "no data"), ``clear`` ones not in
the cloud classes, and one ``clear_*`` band per filter, counting observations clear of
the cloud mask after that filter's ordered morphology (done per same-day group in the
native CRS, after OR-fusing, as odc-stats does).

Counts are uint16 and declare no nodata: odc-stats writes them with nodata 0, so a
true count of 0 (a pixel never seen clear) reads as missing; here 0 is a count, and
"never observed" is ``total == 0``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..algo import mask_cleanup
from ..errors import ConfigError
from ._base import CountPlugin
from ._masking import check_class_names, check_filter_map, enum_mask, fuse_or
from .gm import SCL_CLASSES
from .registry import register

__all__ = ["StatsPQ", "CLOUD_CLASSES", "DEFAULT_FILTERS"]

CLOUD_CLASSES = ("cloud shadows", "cloud medium probability", "cloud high probability", "thin cirrus")
DEFAULT_FILTERS = {
    "clear_2_5": [("opening", 2), ("dilation", 5)],
    "clear_0_5": [("opening", 0), ("dilation", 5)],
}


class StatsPQ(CountPlugin):
    NAME = "pc_s2_annual"
    SHORT_NAME = NAME
    VERSION = "0.0.1"
    PRODUCT_FAMILY = "pixel_quality_statistics"

    def __init__(
        self,
        *,
        filters: Mapping[str, Iterable[Sequence[Any]]] | None = None,
        cloud_classes: Sequence[str | int] = CLOUD_CLASSES,
        mask_band: str = "SCL",
        resampling: str | Mapping[str, str] = "nearest",
        **kwargs: Any,
    ):
        super().__init__(resampling=resampling, **kwargs)
        self.filters = check_filter_map(DEFAULT_FILTERS if filters is None else filters, "filters") or {}
        for name in self.filters:
            if not isinstance(name, str) or not name.startswith("clear") or name == "clear":
                raise ConfigError(f"filter names must start with 'clear_' (they name output bands), got {name!r}")
        self.cloud_classes = tuple(cloud_classes)
        check_class_names(self.cloud_classes, SCL_CLASSES, mask_band)
        self.mask_band = mask_band

    @property
    def input_bands(self) -> tuple[str, ...]:
        return (self.mask_band,)

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return (self.mask_band,)

    @property
    def measurements(self) -> tuple[str, ...]:
        return ("total", "clear", *self.filters)

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        """SCL -> ``valid`` (not "no data") and ``erased`` (cloud classes)."""
        self._require(xx, self.input_bands)
        scl = xx[self.mask_band]
        nodata = scl.attrs.get("nodata", 0)
        valid = scl != nodata
        erased = enum_mask(scl, self.cloud_classes, SCL_CLASSES)
        return xr.Dataset({"valid": valid, "erased": erased}, attrs=xx.attrs)

    def _filtered(self, xx: xr.Dataset) -> xr.Dataset:
        for name, filters in self.filters.items():
            key = "erased" + name[len("clear"):]
            if key not in xx.data_vars:
                xx[key] = mask_cleanup(xx["erased"], filters)
        return xx

    def fuser(self, xx: xr.Dataset) -> xr.Dataset:
        """OR the group's masks, then each filter's morphology on the fused cloud mask."""
        return self._filtered(fuse_or(xx[["valid", "erased"]]))

    SUM_INPUTS = ("valid", "erased")

    def day_sums(self, xx: xr.Dataset) -> dict[str, xr.DataArray]:
        xx = self._filtered(xx.copy())  # if the fuser was not called
        keys = {"clear": "erased", **{name: "erased" + name[len("clear"):] for name in self.filters}}
        bands = [xx[k] for k in ("valid", *keys.values())]
        if all(isinstance(b.data, np.ndarray) and b.ndim == 3 for b in bands):
            return self._day_sums_np(xx, keys)
        return self._day_sums_xr(xx, keys)

    @staticmethod
    def _day_sums_xr(xx: xr.Dataset, keys: Mapping[str, str]) -> dict[str, xr.DataArray]:
        valid = xx["valid"].astype(bool)
        tdim = valid.dims[0]
        out = {"total": valid.sum(dim=tdim, dtype="uint16")}
        for name, key in keys.items():
            out[name] = (valid & ~xx[key].astype(bool)).sum(dim=tdim, dtype="uint16")
        return out

    @classmethod
    def _day_sums_np(cls, xx: xr.Dataset, keys: Mapping[str, str]) -> dict[str, xr.DataArray]:
        """``_day_sums_xr`` of numpy bands, the counts in numpy: xarray's alignment around every
        operation cost more than the counting. Names and attributes are what xarray gives,
        taken from the same operations on one pixel."""
        band = xx["valid"]
        tdim, ydim, xdim = band.dims
        like = cls._day_sums_xr(xx.isel({ydim: slice(0, 1), xdim: slice(0, 1)}), keys)
        coords = {k: v for k, v in band.coords.items() if tdim not in v.dims}
        valid = np.asarray(band.data, dtype=bool)

        def count(name: str, ok: np.ndarray) -> xr.DataArray:
            n = ok[0].astype(np.uint16) if ok.shape[0] == 1 else ok.sum(axis=0, dtype=np.uint16)
            return xr.DataArray(n, dims=(ydim, xdim), coords=coords, attrs=like[name].attrs, name=like[name].name)

        out = {"total": count("total", valid)}
        for name, key in keys.items():
            out[name] = count(name, valid & ~np.asarray(xx[key].data, dtype=bool))
        return out


register("pq", StatsPQ)

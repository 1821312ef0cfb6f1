"""Fractional cover percentiles (``fc-percentiles``, odc-stats' ``StatsFCP``).

Inputs: fractional cover ``pv``, ``bs``, ``npv``, ``ue`` (uint8, nodata 255) and the WOfS
``water`` flags. An observation is valid when WOfS says clear and dry (the high-slope
bit ignored), optionally also ``ue < ue_threshold``, ``pv + bs + npv < max_sum_limit``;
``clip_range`` clips the fractions. Outputs: ``{pv,bs,npv}_pc_{10,50,90}`` uint8
(nearest-rank percentiles of valid observations, 255 with fewer than 3), ``qa`` uint8
(0: not all percentiles and ever wet, 1: not all percentiles, never wet, 2: all
percentiles) and, with ``count_valid: true``, ``count_valid`` int16.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import product
from typing import Any

import numpy as np
import xarray as xr

from ..algo import mask_cleanup, xr_quantile_bands
from ..errors import ConfigError, suggest
from ._base import StatsPlugin
from ._masking import check_filter_map, erase, fuse_mean, fuse_or
from .registry import register

__all__ = ["StatsFCP"]

NODATA = 255
_FC = ("pv", "bs", "npv")
_BAD_BITS = {"cloud": 1 << 6, "cloud_shadow": 1 << 5, "terrain_shadow": 1 << 3}
_HIGH_SLOPE = np.uint8(1 << 4)


class StatsFCP(StatsPlugin):
    NAME = "ga_fc_percentiles"
    SHORT_NAME = NAME
    VERSION = "0.0.3"
    PRODUCT_FAMILY = "fc_percentiles"
    CATEGORICAL = ("qa", "count_valid")

    def __init__(
        self,
        *,
        max_sum_limit: int | None = None,
        clip_range: Sequence[int] | None = None,
        ue_threshold: int | None = None,
        count_valid: bool = False,
        cloud_filters: Mapping[str, Iterable[Sequence[Any]]] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.max_sum_limit = max_sum_limit
        if clip_range is not None and (len(clip_range) != 2 or clip_range[0] > clip_range[1]):
            raise ConfigError(f"clip_range must be [low, high], got {clip_range!r}")
        self.clip_range = tuple(clip_range) if clip_range is not None else None
        self.ue_threshold = ue_threshold
        self.count_valid = bool(count_valid)
        self.cloud_filters = check_filter_map(cloud_filters, "cloud_filters") or {}
        for key in self.cloud_filters:
            if key not in _BAD_BITS:
                raise ConfigError(f"unknown cloud_filters key {key!r}{suggest(str(key), list(_BAD_BITS))};"
                                  f" valid: {', '.join(_BAD_BITS)}")

    @property
    def input_bands(self) -> tuple[str, ...]:
        return ("water", "pv", "bs", "npv", "ue")

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return ("water", "wet", "valid")

    @property
    def measurements(self) -> tuple[str, ...]:
        out = [f"{b}_pc_{p}" for b, p in product(_FC, ("10", "50", "90"))] + ["qa"]
        if self.count_valid:
            out.append("count_valid")
        return tuple(out)

    def output_dtypes(self) -> dict[str, np.dtype]:
        out = {b: np.dtype("uint8") for b in self.measurements}
        if self.count_valid:
            out["count_valid"] = np.dtype("int16")
        return out

    def output_nodata(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {b: NODATA for b in self.measurements}
        if self.count_valid:
            out["count_valid"] = None
        return out

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        self._require(xx, self.input_bands)
        water = xx["water"].astype(np.uint8) & ~_HIGH_SLOPE
        valid = water == 0
        wet = water == 128
        for key, filters in self.cloud_filters.items():
            grown = mask_cleanup((xx["water"].astype(np.uint8) & _BAD_BITS[key]) > 0, filters)
            valid = valid & ~grown
            wet = wet & ~grown
        if self.ue_threshold is not None:
            valid = valid & (xx["ue"] < self.ue_threshold)
        bands = {}
        total = None
        for b in _FC:
            band = xx[b]
            missing = band == NODATA
            if self.max_sum_limit is not None:
                part = band.where(~missing, 0).astype(np.int32)
                total = part if total is None else total + part
            if self.clip_range is not None:
                band = band.clip(*self.clip_range).where(~missing, NODATA).astype(xx[b].dtype)
                band = band.assign_attrs(xx[b].attrs)
            bands[b] = band
        if total is not None:
            valid = valid & (total < self.max_sum_limit)
        out = {b: erase(bands[b], ~valid, NODATA) for b in _FC}
        out["wet"] = wet
        out["valid"] = valid
        return xr.Dataset(out, attrs=xx.attrs)

    def fuser(self, xx: xr.Dataset) -> xr.Dataset:
        fused = fuse_mean(xx[list(_FC)], NODATA)
        fused["wet"] = fuse_or(xx["wet"])
        fused["valid"] = fuse_or(xx["valid"])
        return fused

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        self._require(xx, (*_FC, "wet", "valid"))
        valid = xx["valid"].astype(bool)
        wet = xx["wet"].astype(bool) & ~valid
        tdim = valid.dims[0]
        yy = xr_quantile_bands(xx[list(_FC)], [0.1, 0.5, 0.9], nodata=NODATA)
        all_ok = None
        for name in yy.data_vars:
            ok = yy[name] != NODATA
            all_ok = ok if all_ok is None else all_ok & ok
        ever_wet = wet.any(dim=tdim).data
        all_ok_np = np.asarray(all_ok.data)
        qa = np.where(all_ok_np, 2, np.where(np.asarray(ever_wet), 0, 1)).astype(np.uint8)
        out = {n: yy[n] for n in yy.data_vars}
        out["qa"] = xr.DataArray(qa, dims=all_ok.dims, coords=all_ok.coords)
        if self.count_valid:
            out["count_valid"] = valid.sum(dim=tdim, dtype="int16")
        return self._finish(out)


register("fc-percentiles", StatsFCP)

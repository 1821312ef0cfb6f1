"""Water Observations summary (``wofs-summary``, odc-stats' ``StatsWofs``).

From the WOfS ``water`` bit flags: ``count_wet`` and ``count_clear`` (int16, -999 where
no observation had data at all) and ``frequency`` = wet / clear (float32, NaN where
never clearly observed). A pixel is clear when only the water or no flag is set;
``cloud_filters`` ({"cloud" | "cloud_shadow" | "terrain_shadow": [[op, radius], ...]})
grow those flags' masks first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..algo import mask_cleanup
from ..errors import ConfigError, suggest
from ._base import DaySumPlugin
from ._masking import check_filter_map, fuse_or
from .registry import register

__all__ = ["StatsWofs", "WOFS_BITS"]

WOFS_BITS = {"nodata": 1, "noncontiguous": 2, "low_solar_angle": 4, "terrain_shadow": 8,
             "high_slope": 16, "cloud_shadow": 32, "cloud": 64, "water": 128}
"""WOfS feature layer bits."""

_FILTERABLE = ("cloud", "cloud_shadow", "terrain_shadow")
NODATA = -999


SUMMARY_BANDS = ("count_wet", "count_clear", "frequency")
"""The bands of a WOfS summary (wofs-summary, and wofs-summary-fh which adds summaries up)."""
SUMMARY_DTYPES = {"count_wet": np.dtype("int16"), "count_clear": np.dtype("int16"), "frequency": np.dtype("float32")}


def summary_nodata(nodata: int) -> dict[str, float | int | None]:
    """A WOfS summary's nodata: ``nodata`` for the counts, NaN for the frequency."""
    return {"count_wet": nodata, "count_clear": nodata, "frequency": float("nan")}


class StatsWofs(DaySumPlugin):
    NAME = "ga_ls_wo_summary"
    SHORT_NAME = NAME
    VERSION = "1.6.1"
    PRODUCT_FAMILY = "wo_summary"
    CATEGORICAL = ("count_wet", "count_clear")

    def __init__(self, *, cloud_filters: Mapping[str, Iterable[Sequence[Any]]] | None = None,
                 water_band: str = "water", resampling: str | Mapping[str, str] = "nearest",
                 **kwargs: Any):
        super().__init__(resampling=resampling, **kwargs)
        self.cloud_filters = check_filter_map(cloud_filters, "cloud_filters") or {}
        for key in self.cloud_filters:
            if key not in _FILTERABLE:
                raise ConfigError(f"unknown cloud_filters key {key!r}{suggest(str(key), _FILTERABLE)};"
                                  f" valid: {', '.join(_FILTERABLE)}")
        self.water_band = water_band

    @property
    def input_bands(self) -> tuple[str, ...]:
        return (self.water_band,)

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return (self.water_band,)

    @property
    def measurements(self) -> tuple[str, ...]:
        return SUMMARY_BANDS

    def output_dtypes(self) -> dict[str, np.dtype]:
        return dict(SUMMARY_DTYPES)

    def output_nodata(self) -> dict[str, float | int | None]:
        return summary_nodata(NODATA)

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        """water -> ``bad`` (has data, some non-water flag set), ``dry``, ``wet``."""
        self._require(xx, self.input_bands)
        water = xx[self.water_band].astype(np.uint8)
        has_data = (water & WOFS_BITS["nodata"]) == 0
        bad = has_data & ((water & ~np.uint8(WOFS_BITS["water"] | WOFS_BITS["nodata"])) > 0)
        for key, filters in self.cloud_filters.items():
            bad = bad | mask_cleanup((water & WOFS_BITS[key]) > 0, filters)
        dry = (water == 0) & ~bad
        wet = (water == WOFS_BITS["water"]) & ~bad
        return xr.Dataset({"bad": bad, "dry": dry, "wet": wet}, attrs=xx.attrs)

    def fuser(self, xx: xr.Dataset) -> xr.Dataset:
        return fuse_or(xx)

    SUM_INPUTS = ("bad", "dry", "wet")

    def reduce_sums(self, counts: Mapping[str, xr.DataArray]) -> xr.Dataset:
        count_wet, count_dry = counts["wet"], counts["dry"]
        count_clear = count_wet + count_dry
        seen = (counts["bad"] + count_clear) > 0
        frequency = (count_wet.astype("float32") / count_clear.astype("float32")).where(count_clear > 0)
        return self._finish({
            "count_wet": count_wet.where(seen, NODATA),
            "count_clear": count_clear.where(seen, NODATA),
            "frequency": frequency,
        })

    @staticmethod
    def day_sums(xx: xr.Dataset) -> dict[str, xr.DataArray]:
        bad, dry, wet = (xx[b].astype(bool) for b in ("bad", "dry", "wet"))
        tdim = bad.dims[0]
        return {"wet": (wet & ~dry & ~bad).sum(dim=tdim, dtype="int16"),
                "dry": (dry & ~wet & ~bad).sum(dim=tdim, dtype="int16"),
                "bad": bad.sum(dim=tdim, dtype="int16")}


register("wofs-summary", StatsWofs)

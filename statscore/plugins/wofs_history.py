"""Water Observations summary of summaries (``wofs-summary-fh``, odc-stats'
``StatsWofsFullHistory``).

Turns per-period WOfS summaries (``count_wet``, ``count_clear``, as ``wofs-summary``
writes them) into one summary over all of them: the counts added up (a period whose
count is nodata adds nothing), ``frequency`` = wet / clear (float32, NaN where never
clear), and the counts nodata only where ``count_clear`` was nodata in every period.

The sums are taken day by day as the summaries load (a :class:`DaySumPlugin`), in 32-bit
integers, and saturate at 32767 when cast to int16 (odc-stats sums in int16 and wraps
negative past 32767 clear observations).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ..errors import ConfigError
from ._base import DaySumPlugin
from .registry import register
from .wofs import SUMMARY_BANDS, SUMMARY_DTYPES, summary_nodata

__all__ = ["StatsWofsFullHistory"]

_COUNTS = ("count_wet", "count_clear")


class StatsWofsFullHistory(DaySumPlugin):
    NAME = "ga_ls_wo_fq_myear_3"
    SHORT_NAME = NAME
    VERSION = "1.6.0"
    PRODUCT_FAMILY = "wo_summary"
    CATEGORICAL = _COUNTS

    def __init__(self, *, nodata: int = -999, resampling: str | Mapping[str, str] = "nearest", **kwargs: Any):
        super().__init__(resampling=resampling, **kwargs)
        if isinstance(nodata, bool) or not isinstance(nodata, (int, np.integer)) \
                or not -32768 <= int(nodata) <= 32767:
            raise ConfigError(f"nodata must be an int16 integer, got {nodata!r}")
        self.nodata = int(nodata)

    @property
    def input_bands(self) -> tuple[str, ...]:
        return _COUNTS

    @property
    def measurements(self) -> tuple[str, ...]:
        return SUMMARY_BANDS

    def output_dtypes(self) -> dict[str, np.dtype]:
        return dict(SUMMARY_DTYPES)

    def output_nodata(self) -> dict[str, float | int | None]:
        return summary_nodata(self.nodata)

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        """The two counts as int16 with the configured ``nodata`` (the input's own nodata,
        from its attributes, is translated)."""
        self._require(xx, _COUNTS)
        out = {}
        for name in _COUNTS:
            band = xx[name]
            src_nd = band.attrs.get("nodata", self.nodata)
            data = np.asarray(band.data)
            missing = data == src_nd if src_nd is not None else np.zeros(data.shape, bool)
            if data.dtype.kind == "f":
                missing |= np.isnan(data)
            vals = np.where(missing, self.nodata, data).astype(np.int16)
            out[name] = band.copy(data=vals).assign_attrs(nodata=self.nodata)
        return xr.Dataset(out, attrs=xx.attrs)

    SUM_INPUTS = _COUNTS

    def day_sums(self, xx: xr.Dataset) -> dict[str, xr.DataArray]:
        wet, clear = xx["count_wet"], xx["count_clear"]
        tdim = clear.dims[0]
        nd = self.nodata
        return {"wet": wet.where(wet != nd, 0).sum(dim=tdim, dtype="int32"),
                "clear": clear.where(clear != nd, 0).sum(dim=tdim, dtype="int32"),
                "seen": (clear != nd).sum(dim=tdim, dtype="int32")}

    def reduce_sums(self, sums: Mapping[str, xr.DataArray]) -> xr.Dataset:
        wet, clear = (np.asarray(sums[k].data) for k in ("wet", "clear"))
        missing = np.asarray(sums["seen"].data) == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            freq = np.where(clear == 0, np.float32(np.nan),
                            wet.astype(np.float32) / clear.astype(np.float32)).astype(np.float32)
        template = sums["clear"]

        def count(v: np.ndarray) -> xr.DataArray:
            v = np.where(missing, self.nodata, np.clip(v, -32768, 32767)).astype(np.int16)
            return template.copy(data=v)

        return self._finish({"count_wet": count(wet), "count_clear": count(clear),
                             "frequency": template.copy(data=freq)})


register("wofs-summary-fh", StatsWofsFullHistory)

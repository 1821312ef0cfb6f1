"""Long-term percentiles of s2cloudless cloud probability
(``s2_gm_tools.S2Cloudless_percentiles``, odc-stats' ``S2Cloudless_percentiles``).

Where a region is persistently called cloudy, s2cloudless is probably wrong there (it
has a high false-positive rate): low percentiles of its probability over years find
such places. Per band of ``bands`` (default ``oa_s2cloudless_prob``, float 0..1) the
nearest-rank percentiles of the valid observations (NaN where fewer than 3), named
``{band}_pc_{N}``: ``output_bands`` lists them and so chooses the percentiles (default
5, 10 and 25, odc-stats' fixed set). Observations whose ``mask_band`` class is one of
``nodata_classes`` are erased first; the mask band is loaded when the product has it.
Outputs keep the input dtype (float32), nodata NaN; resampling defaults to cubic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ..algo.percentile import percentile
from ..errors import ConfigError
from ._base import StatsPlugin
from ._masking import enum_mask, erase_bands, nodata_of
from .registry import register

__all__ = ["S2CloudlessPercentiles", "S2CLOUDLESS_CLASSES"]

S2CLOUDLESS_CLASSES: dict[int, str] = {0: "nodata", 1: "valid", 2: "cloud"}
"""DEA s2cloudless mask classes (used when the band carries no ``flags_definition``)."""


class S2CloudlessPercentiles(StatsPlugin):
    NAME = "S2Cloudless_percentiles"
    SHORT_NAME = NAME
    VERSION = "0.0.1"
    PRODUCT_FAMILY = "percentiles"
    #: odc-stats dates these outputs at the middle of the period, not its start.
    CENTER_TIMERANGE: ClassVar[bool] = True

    def __init__(
        self,
        *,
        bands: Sequence[str] = ("oa_s2cloudless_prob",),
        output_bands: Sequence[str] | None = None,
        mask_band: str | None = "oa_s2cloudless_mask",
        nodata_classes: Sequence[str | int] = ("nodata",),
        output_dtype: str = "float32",
        resampling: str | Mapping[str, str] = "cubic",
        chunks: Mapping[str, int] | None = None,
        **kwargs: Any,
    ):
        super().__init__(resampling=resampling, chunks=chunks or {"y": 512, "x": 512}, **kwargs)
        if isinstance(bands, str) or not bands:
            raise ConfigError(f"bands must list the probability band(s), got {bands!r}")
        self.bands = tuple(bands)
        if output_bands is None:
            output_bands = [f"{b}_pc_{p}" for b in self.bands for p in (5, 10, 25)]
        self.output_bands = tuple(output_bands)
        self.quantiles = self._quantiles(self.output_bands)
        self.mask_band = mask_band
        self.nodata_classes = tuple(nodata_classes)
        if np.dtype(output_dtype) != np.dtype("float32"):
            # odc-stats accepts the key but always writes the input's float type
            raise ConfigError(f"output_dtype must be float32 (the probabilities' type), got {output_dtype!r}")

    def _quantiles(self, names: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
        """Band -> (output name, quantile), from output names ``{band}_pc_{N}``; each band needs one."""
        out: dict[str, list[tuple[str, float]]] = {b: [] for b in self.bands}
        for name in names:
            m = re.fullmatch(r"(.+)_pc_(\d{1,2})", str(name))
            if not m or m.group(1) not in out:
                raise ConfigError(f"output band {name!r} is not named {{band}}_pc_{{N}} for a band of"
                                  f" {list(self.bands)} and a percentile N in 0..99")
            out[m.group(1)].append((str(name), int(m.group(2)) / 100))
        empty = [b for b, q in out.items() if not q]
        if empty:
            raise ConfigError(f"output_bands has no percentile of band(s) {', '.join(map(repr, empty))}")
        return out

    @property
    def input_bands(self) -> tuple[str, ...]:
        return self.bands

    @property
    def optional_bands(self) -> tuple[str, ...]:
        return (self.mask_band,) if self.mask_band and self.mask_band not in self.bands else ()

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return (self.mask_band,) if self.mask_band else ()

    @property
    def measurements(self) -> tuple[str, ...]:
        return self.output_bands

    def output_dtypes(self) -> dict[str, np.dtype]:
        return {b: np.dtype("float32") for b in self.measurements}

    def output_nodata(self) -> dict[str, float | int | None]:
        return {b: float("nan") for b in self.measurements}

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        """NaN where the mask says ``nodata_classes``; the mask band dropped."""
        self._require(xx, self.bands)
        xx = super().native_transform(xx)
        if not self.mask_band or self.mask_band not in xx.data_vars:
            return xx[list(self.bands)]
        bad = enum_mask(xx[self.mask_band], self.nodata_classes, S2CLOUDLESS_CLASSES)
        return erase_bands(xx, self.bands, bad)

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        self._require(xx, self.bands)
        out: dict[str, xr.DataArray] = {}
        for band, wanted in self.quantiles.items():
            src = xx[band]
            data = np.asarray(src.data)
            if data.dtype.kind != "f":  # integer probabilities: nodata becomes NaN
                nodata = nodata_of(src)
                missing = data == nodata if nodata is not None else np.zeros(data.shape, bool)
                data = np.where(missing, np.nan, data).astype(np.float32)
            values = percentile(data, [q for _, q in wanted], nodata=float("nan"))
            coords = {k: c for k, c in src.coords.items() if src.dims[0] not in c.dims}
            for (name, _), v in zip(wanted, values):
                out[name] = xr.DataArray(v, dims=src.dims[1:], coords=coords)
        return self._finish(out)


register("s2_gm_tools.S2Cloudless_percentiles", S2CloudlessPercentiles)

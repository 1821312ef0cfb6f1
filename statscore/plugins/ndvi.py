"""Median NDVI over time (``ndvi-median``, odc-stats' ``StatsNDVI``).

Per observation, in the native CRS, the red and near-infrared bands are erased where
the fmask band says nodata, cloud or shadow, or the contiguity band is 0; ``reduce``
computes ``(nir - red) / (nir + red)`` on the valid values (float32) and takes the
per-pixel median over time (the mean of the two middle values for an even count; NaN
where no observation is valid). The output band is named by ``output_bands``.

odc-stats hard-codes the bands ``nbart_red`` and ``nbart_nir`` and needs every key in
its config; here ``red_band``/``nir_band`` name them (the same defaults) and every key
has the default a DEA Landsat user writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..algo.median import nanmedian
from ..errors import ConfigError
from ._base import StatsPlugin
from ._masking import enum_mask, erase_bands, nodata_of
from .gm import FMASK_CLASSES
from .registry import register

__all__ = ["StatsNDVI"]


class StatsNDVI(StatsPlugin):
    NAME = "ndvi_median"
    SHORT_NAME = NAME
    VERSION = "1.0"
    PRODUCT_FAMILY = "ndvi"

    #: fmask classes erased before the median (odc-stats' choice, not configurable there).
    BAD_CLASSES = ("nodata", "cloud", "shadow")

    def __init__(
        self,
        *,
        input_bands: Sequence[str] | None = None,
        output_bands: str | Sequence[str] = "ndvi_median",
        mask_band: str = "fmask",
        contiguity_band: str | None = "nbart_contiguity",
        red_band: str = "nbart_red",
        nir_band: str = "nbart_nir",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.red_band, self.nir_band = red_band, nir_band
        self._inputs = tuple(input_bands) if input_bands is not None else (red_band, nir_band)
        absent = [b for b in (red_band, nir_band) if b not in self._inputs]
        if absent:
            raise ConfigError(f"input_bands {list(self._inputs)} lacks {', '.join(map(repr, absent))}"
                              " (red_band/nir_band name the bands NDVI is made of)")
        if not isinstance(output_bands, str):
            names = list(output_bands)
            if len(names) != 1 or not isinstance(names[0], str):
                raise ConfigError(f"output_bands must name one band (the median NDVI), got {output_bands!r}")
            output_bands = names[0]
        self.output_band = output_bands
        self.mask_band = mask_band
        self.contiguity_band = contiguity_band

    @property
    def input_bands(self) -> tuple[str, ...]:
        extra = (self.mask_band,) + ((self.contiguity_band,) if self.contiguity_band else ())
        return self._inputs + tuple(b for b in extra if b not in self._inputs)

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return (self.mask_band,) + ((self.contiguity_band,) if self.contiguity_band else ())

    @property
    def measurements(self) -> tuple[str, ...]:
        return (self.output_band,)

    def output_dtypes(self) -> dict[str, np.dtype]:
        return {self.output_band: np.dtype("float32")}

    def output_nodata(self) -> dict[str, float | int | None]:
        return {self.output_band: float("nan")}

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        """Erase nodata/cloud/shadow and non-contiguous pixels; drop the mask bands."""
        self._require(xx, self.input_bands)
        bad = enum_mask(xx[self.mask_band], self.BAD_CLASSES, FMASK_CLASSES)
        if self.contiguity_band:
            bad = bad | (xx[self.contiguity_band] == 0)
        return erase_bands(xx, self._inputs, bad)

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        self._require(xx, (self.red_band, self.nir_band))
        red, nir = (_as_float(xx[b]) for b in (self.red_band, self.nir_band))
        with np.errstate(divide="ignore", invalid="ignore"):
            ndvi = (nir - red) / (nir + red)
        band = xx[self.red_band]
        median = nanmedian(ndvi)
        out = xr.DataArray(median, dims=band.dims[1:],
                           coords={k: v for k, v in band.coords.items() if band.dims[0] not in v.dims})
        return self._finish({self.output_band: out})


def _as_float(band: xr.DataArray) -> np.ndarray:
    """float32 values, NaN where nodata (datacube's ``mask_invalid_data``)."""
    data = np.asarray(band.data)
    out = data.astype(np.float32)
    nodata = nodata_of(band)
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        out[data == nodata] = np.nan
    return out


register("ndvi-median", StatsNDVI)

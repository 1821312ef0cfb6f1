"""Tasseled cap percentiles (``tcw-percentiles``, odc-stats' ``StatsTCWPC``).

Per observation, in the native CRS, the tasseled cap indices (Crist 1985 coefficients
on DEA NBART reflectance, int16 DN) wet, bright and green, rounded to int16 (nodata
-9999) where fmask is not nodata/cloud/shadow (``cloud_filters`` by class name, else
cloud and shadow unbuffered), contiguity is set and no band is -999. Outputs
``{index}_pc_{10,50,90}`` int16: nearest-rank percentiles, -9999 with fewer than 3
valid observations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..algo import mask_cleanup, xr_quantile_bands
from ..errors import ConfigError, suggest
from ._base import StatsPlugin
from ._masking import check_class_names, check_filter_map, enum_mask, erase, fuse_mean
from .gm import FMASK_CLASSES
from .registry import register

__all__ = ["StatsTCWPC", "COEFFICIENTS"]

NODATA = -9999
COEFFICIENTS: dict[str, dict[str, float]] = {
    "wet": {"blue": 0.0315, "green": 0.2021, "red": 0.3102, "nir": 0.1594,
            "swir1": -0.6806, "swir2": -0.6109},
    "bright": {"blue": 0.2043, "green": 0.4158, "red": 0.5524, "nir": 0.5741,
               "swir1": 0.3124, "swir2": 0.2303},
    "green": {"blue": -0.1603, "green": -0.2819, "red": -0.4934, "nir": 0.7940,
              "swir1": -0.0002, "swir2": -0.1446},
}
"""Index -> {band: coefficient} (odc-stats' defaults)."""

_DEFAULT_INPUTS = ("blue", "green", "red", "nir", "swir1", "swir2", "fmask", "nbart_contiguity")


class StatsTCWPC(StatsPlugin):
    NAME = "ga_tc_percentiles"
    SHORT_NAME = NAME
    VERSION = "1.0.1"
    PRODUCT_FAMILY = "tci"

    def __init__(
        self,
        *,
        coefficients: Mapping[str, Mapping[str, float]] | None = None,
        input_bands: Sequence[str] | None = None,
        output_bands: Sequence[str] | None = None,
        cloud_filters: Mapping[str, Iterable[Sequence[Any]]] | None = None,
        mask_band: str = "fmask",
        contiguity_band: str = "nbart_contiguity",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.coefficients = {k: dict(v) for k, v in (coefficients or COEFFICIENTS).items()}
        self.output_bands = tuple(output_bands) if output_bands is not None else ("wet", "bright", "green")
        for name in self.output_bands:
            if name not in self.coefficients:
                raise ConfigError(f"output band {name!r} has no coefficients"
                                  f"{suggest(name, list(self.coefficients))}; have: {', '.join(self.coefficients)}")
        self.mask_band = mask_band
        self.contiguity_band = contiguity_band
        self._inputs = tuple(input_bands) if input_bands is not None else _DEFAULT_INPUTS
        needed = {b for m in self.output_bands for b in self.coefficients[m]} | {mask_band, contiguity_band}
        absent = sorted(needed - set(self._inputs))
        if absent:
            raise ConfigError(f"input_bands lacks {', '.join(map(repr, absent))} (needed by the coefficients/masks)")
        self.cloud_filters = check_filter_map(cloud_filters, "cloud_filters")
        if self.cloud_filters:
            check_class_names(list(self.cloud_filters), FMASK_CLASSES, mask_band)

    @property
    def input_bands(self) -> tuple[str, ...]:
        return self._inputs

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return (self.mask_band, self.contiguity_band)

    @property
    def measurements(self) -> tuple[str, ...]:
        return tuple(f"{b}_pc_{p}" for b in self.output_bands for p in ("10", "50", "90"))

    def output_dtypes(self) -> dict[str, np.dtype]:
        return {b: np.dtype("int16") for b in self.measurements}

    def output_nodata(self) -> dict[str, float | int | None]:
        return {b: NODATA for b in self.measurements}

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        self._require(xx, self.input_bands)
        mask = xx[self.mask_band]
        bad = enum_mask(mask, ("nodata",), FMASK_CLASSES) | (xx[self.contiguity_band] == 0)
        if self.cloud_filters is None:
            bad = bad | enum_mask(mask, ("cloud", "shadow"), FMASK_CLASSES)
        else:
            for cls, filters in self.cloud_filters.items():
                bad = bad | mask_cleanup(enum_mask(mask, (cls,), FMASK_CLASSES), filters)
        for name in self.input_bands:
            bad = bad | (xx[name] == -999)
        out = {}
        for index in self.output_bands:
            value = sum(c * xx[b].astype(np.float64) for b, c in self.coefficients[index].items())
            value = np.rint(value).clip(-32768, 32767).astype(np.int16).assign_attrs(nodata=NODATA)
            out[index] = erase(value, bad, NODATA)
        return xr.Dataset(out, attrs=xx.attrs)

    def fuser(self, xx: xr.Dataset) -> xr.Dataset:
        return fuse_mean(xx, NODATA)

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        self._require(xx, self.output_bands)
        yy = xr_quantile_bands(xx[list(self.output_bands)], [0.1, 0.5, 0.9], nodata=NODATA)
        return self._finish({n: yy[n] for n in yy.data_vars})


register("tcw-percentiles", StatsTCWPC)

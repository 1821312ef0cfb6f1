"""USGS Collection 2 Landsat geomedian (``gm-ls-bitmask``, odc-stats' ``StatsGMLSBitmask``).

Native CRS: pixels whose fill bit is set, or where any band is at or below reflectance 0
(``DN <= -offset / scale``), become nodata (0); ``cloud_mask`` = any of ``flags`` set
(default high-confidence cloud or cirrus). On the tile: ``filters`` morphology on the
cloud mask, clouds erased, geomedian with scale 2.75e-5 and offset -0.2, then bands and
emad rescaled to ``reflectance * output_scale`` (default 10,000, like Sentinel-2),
rounded, uint16 with nodata 0; smad and bcmad float32 (NaN), count uint16.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..algo import DEFAULT_BLOCK_BYTES, geomedian_with_mads, mask_cleanup
from ..algo.morphology import check_filters
from ..errors import ConfigError
from ._base import StatsPlugin
from ._masking import bit_flags_mask, erase_bands, fuse_first_valid, fuse_or
from .pq_bitmask import DEFAULT_FLAGS, DEFAULT_NODATA_FLAGS, QA_PIXEL_FLAGS, check_flags
from .registry import register

__all__ = ["StatsGMLSBitmask"]

_AUX = ("smad", "emad", "bcmad", "count")


class StatsGMLSBitmask(StatsPlugin):
    NAME = "gm_ls_bitmask"
    SHORT_NAME = NAME
    VERSION = "0.0.1"
    PRODUCT_FAMILY = "geomedian"

    DEFAULT_BANDS = ("red", "green", "blue", "nir", "swir_1", "swir_2")

    def __init__(
        self,
        *,
        bands: Sequence[str] | None = None,
        mask_band: str = "QA_PIXEL",
        flags: Mapping[str, Any] | None = None,
        nodata_flags: Mapping[str, Any] | None = None,
        filters: Iterable[Sequence[Any]] | None = None,
        aux_names: Mapping[str, str] | None = None,
        scale: float = 0.0000275,
        offset: float = -0.2,
        output_scale: int = 10_000,
        output_dtype: str = "uint16",
        eps: float | None = None,
        maxiters: int = 1000,
        num_threads: int | None = None,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
        work_chunks: Sequence[int] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.bands = tuple(self.DEFAULT_BANDS if bands is None else bands)
        if not self.bands:
            raise ConfigError("bands must name at least one band")
        self.mask_band = mask_band
        self.flags = check_flags(DEFAULT_FLAGS if flags is None else flags, "flags")
        self.nodata_flags = check_flags(DEFAULT_NODATA_FLAGS if nodata_flags is None else nodata_flags,
                                        "nodata_flags")
        self.filters = None if filters is None else check_filters(filters)
        names = dict(zip(_AUX, _AUX))
        names.update(aux_names or {})
        self.aux_names = names
        self.scale, self.offset = float(scale), float(offset)
        if not np.isfinite(self.scale) or self.scale == 0 or not np.isfinite(self.offset):
            raise ConfigError(f"scale/offset must be finite and scale non-zero, got {scale!r}/{offset!r}")
        self.output_scale = output_scale
        self.output_dtype = np.dtype(output_dtype)
        if self.output_dtype.kind not in "iu":
            raise ConfigError(f"output_dtype must be an integer dtype, got {output_dtype!r}")
        self.eps, self.maxiters, self.num_threads = eps, int(maxiters), num_threads
        self.block_bytes = int(block_bytes)
        self.work_chunks = work_chunks  # odc-stats' dask layout knob: accepted, not needed

    @property
    def input_bands(self) -> tuple[str, ...]:
        return self.bands + (self.mask_band,)

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return (self.mask_band, "cloud_mask")

    @property
    def measurements(self) -> tuple[str, ...]:
        return self.bands + tuple(self.aux_names[k] for k in _AUX)

    @property
    def categorical_bands(self) -> tuple[str, ...]:
        return (self.aux_names["count"],)

    def output_dtypes(self) -> dict[str, np.dtype]:
        out = {b: self.output_dtype for b in self.bands}
        out[self.aux_names["smad"]] = np.dtype("float32")
        out[self.aux_names["emad"]] = self.output_dtype
        out[self.aux_names["bcmad"]] = np.dtype("float32")
        out[self.aux_names["count"]] = np.dtype("uint16")
        return out

    def output_nodata(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {b: 0 for b in self.bands}
        out[self.aux_names["smad"]] = float("nan")
        out[self.aux_names["emad"]] = 0
        out[self.aux_names["bcmad"]] = float("nan")
        out[self.aux_names["count"]] = None
        return out

    @property
    def reduce_margin(self) -> int:
        """``filters`` run in ``reduce``, on the tile (as odc-stats does)."""
        return self.morphology_reach

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        self._require(xx, self.input_bands)
        qa = xx[self.mask_band]
        floor = -self.offset / self.scale  # DN of reflectance 0
        positive = None
        for b in self.bands:
            ok = xx[b] > floor
            positive = ok if positive is None else positive & ok
        keeps = bit_flags_mask(qa, self.nodata_flags, QA_PIXEL_FLAGS, any_of=False)
        bad = ~(positive & keeps)
        out = erase_bands(xx, self.bands, bad, 0)
        out["cloud_mask"] = bit_flags_mask(qa, self.flags, QA_PIXEL_FLAGS, any_of=True)
        return out

    def fuser(self, xx: xr.Dataset) -> xr.Dataset:
        fused = fuse_first_valid(xx[list(self.bands)])
        fused["cloud_mask"] = fuse_or(xx["cloud_mask"])
        return fused

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        self._require(xx, self.bands + ("cloud_mask",))
        cloud = xx["cloud_mask"].astype(bool)
        if self.filters is not None:
            cloud = mask_cleanup(cloud, self.filters)
        src = erase_bands(xx, self.bands, cloud, 0)
        gm = geomedian_with_mads(src, scale=self.scale, offset=self.offset, eps=self.eps,
                                 maxiters=self.maxiters, num_threads=self.num_threads,
                                 block_bytes=self.block_bytes, nodata=0)
        info = np.iinfo(self.output_dtype)
        out: dict[str, xr.DataArray] = {}
        missing = gm["count"] == 0
        for b in self.bands:
            refl = gm[b].astype(np.float64) * self.scale + self.offset
            v = np.rint(refl * self.output_scale).clip(info.min, info.max)
            out[b] = v.where(~missing, 0)
        emad = np.rint(gm["emad"].astype(np.float64) * self.scale * self.output_scale)
        out[self.aux_names["emad"]] = emad.where(~missing & emad.notnull(), 0).clip(info.min, info.max)
        out[self.aux_names["smad"]] = gm["smad"]
        out[self.aux_names["bcmad"]] = gm["bcmad"]
        out[self.aux_names["count"]] = gm["count"]
        return self._finish(out)


register("gm-ls-bitmask", StatsGMLSBitmask)

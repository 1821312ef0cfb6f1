"""Medoid composite (``medoid-generic``, new in statscore): per pixel the clear
observation closest (sum of Euclidean distances over all bands, in DN) to the other
clear observations, so the composite is a real observation and band ratios are kept.

Masking is gm-generic's (``mask_band``, ``nodata_classes``, ``cloud_filters``,
``contiguity_band``); outputs are the bands (input dtype, nodata where no clear
observation) and ``count`` (uint16, clear observations). ``reduce`` works on blocks of
rows holding at most ``block_bytes`` of input, so memory follows the block budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..algo import count_valid, medoid
from .gm import StatsGM
from .registry import register

__all__ = ["StatsMedoid"]


class StatsMedoid(StatsGM):
    NAME = "medoid"
    SHORT_NAME = NAME
    VERSION = "0.0.1"
    PRODUCT_FAMILY = "medoid"

    def __init__(self, bands: Any, mask_band: str, *, count_name: str = "count", **kwargs: Any):
        super().__init__(bands, mask_band, **kwargs)
        self.count_name = count_name

    @property
    def aux_bands(self) -> tuple[str, ...]:
        return (self.count_name,)

    @property
    def categorical_bands(self) -> tuple[str, ...]:
        return (self.count_name,)

    def output_dtypes(self) -> dict[str, np.dtype]:
        return {**{b: self.dtype for b in self.bands}, self.count_name: np.dtype("uint16")}

    def output_nodata(self) -> dict[str, float | int | None]:
        return {**{b: self.nodata for b in self.bands}, self.count_name: None}

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        src = self._stack(xx)
        first = src[self.bands[0]]
        nt, ny, nx = first.shape
        nodata = self._input_nodata(src)
        row_bytes = max(1, len(self.bands) * nt * nx * self.dtype.itemsize)
        rows = int(max(1, min(ny, self.block_bytes // row_bytes)))
        out = np.empty((ny, nx, len(self.bands)), dtype=self.dtype)
        count = np.empty((ny, nx), dtype=np.uint16)
        ydim = first.dims[1]
        for r0 in range(0, ny, rows):
            block = src.isel({ydim: slice(r0, r0 + rows)})
            X = np.stack([np.asarray(block[b].data) for b in self.bands], axis=-1)  # t, y, x, b
            X = np.ascontiguousarray(X.transpose(1, 2, 3, 0))
            comp, _ = medoid(X, nodata=nodata, num_threads=self.num_threads)
            out[r0:r0 + X.shape[0]] = comp
            count[r0:r0 + X.shape[0]] = count_valid(X, nodata=nodata)
        dims = first.dims[1:]
        coords = {k: v for k, v in first.coords.items() if first.dims[0] not in v.dims}
        res = {b: xr.DataArray(out[..., j], dims=dims, coords=coords, attrs=src[b].attrs)
               for j, b in enumerate(self.bands)}
        res[self.count_name] = xr.DataArray(count, dims=dims, coords=coords)
        return self._finish(res)


register("medoid-generic", StatsMedoid)

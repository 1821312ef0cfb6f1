"""Previews: the RGBA preview COG's pixels and the small JPEG thumbnail."""

from __future__ import annotations

import warnings

import numpy as np
import rasterio
import rasterio.errors
import xarray as xr

from ..errors import InputError

__all__ = ["rgba_pixels", "grey_preview", "thumbnail_jpeg"]

THUMBNAIL_SCALE = 10
"""The thumbnail is the tile decimated by this factor, as odc-stats' ``out_scale``."""


def rgba_pixels(rgba: xr.DataArray, shape: tuple[int, int]) -> np.ndarray:
    """A plugin's RGBA image (``(y, x, band)`` as odc-algo's ``to_rgba``, or ``(band, y, x)``)
    -> uint8 ``(4, y, x)``; a missing alpha band means every pixel is valid."""
    if rgba.ndim != 3:
        raise InputError(f"rgba preview: expected 3 dimensions (y, x, band), got {rgba.dims}")
    other = [d for d in rgba.dims if d not in ("y", "x")]
    arr = rgba.transpose(*other, "y", "x").values if len(other) == 1 else np.asarray(rgba.values)
    if arr.shape[1:] != tuple(shape) and arr.shape[:2] == tuple(shape):
        arr = np.moveaxis(arr, -1, 0)
    if arr.shape[1:] != tuple(shape) or arr.shape[0] not in (3, 4):
        raise InputError(f"rgba preview: shape {rgba.shape} is not 3 or 4 bands on the tile {tuple(shape)}")
    if arr.dtype != np.uint8:
        raise InputError(f"rgba preview: dtype {arr.dtype}, expected uint8")
    if arr.shape[0] == 3:
        arr = np.concatenate([arr, np.full((1, *arr.shape[1:]), 255, np.uint8)])
    return arr


def grey_preview(band: np.ndarray, nodata: float | int | None) -> np.ndarray:
    """A band stretched to uint8 between its 2nd and 98th percentiles; nodata transparent."""
    data = np.asarray(band)
    valid = np.ones(data.shape, bool) if data.dtype.kind == "b" else np.isfinite(data.astype("float64"))
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        valid &= data != nodata
    out = np.zeros((4, *data.shape), np.uint8)
    if valid.any():
        vals = data[valid].astype("float64")
        lo, hi = np.percentile(vals, [2, 98])
        scaled = np.clip((data.astype("float64") - lo) / max(hi - lo, 1e-12) * 255, 0, 255)
        grey = np.where(valid, np.nan_to_num(scaled), 0).astype(np.uint8)
        out[:3] = grey
    out[3] = np.where(valid, 255, 0)
    return out


def thumbnail_jpeg(rgba: np.ndarray, scale: int = THUMBNAIL_SCALE, quality: int = 85) -> bytes:
    """JPEG bytes of ``rgba`` (``(4, y, x)`` uint8) decimated by ``scale``; transparent -> black."""
    step = max(1, int(scale))
    small = rgba[:, ::step, ::step]
    rgb = np.where(small[3] > 0, small[:3], 0).astype(np.uint8)
    with warnings.catch_warnings(), rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.MemoryFile() as mem:
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with mem.open(driver="JPEG", width=rgb.shape[2], height=rgb.shape[1], count=3, dtype="uint8",
                      quality=quality) as dst:
            dst.write(rgb)
        return bytes(mem.getbuffer())

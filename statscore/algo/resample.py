"""Bilinear resampling of integer planes at given source coordinates, as GDAL's warper does it.

GDAL's general warp kernel (bilinear with source nodata, kernel radius 1) costs ~35 ms a
band for a 1 Mpx target here, 40 % of the CPU of a Sentinel-2 tile warped onto Albers.
Given the source pixel coordinates GDAL computes for every target pixel (see
``statscore._read``, which takes them from GDAL itself), this kernel applies the same
rules at a tenth of the cost:

- a target pixel is left as it is when its coordinates are not finite, fall outside the
  source, or the source pixel they fall in is nodata (GDAL's validity check);
- otherwise the valid ones of the 2 x 2 source pixels around the point are weighted
  bilinearly (upper left, upper right, lower right, lower left, in GDAL's order), the sum
  divided by the weights of the valid ones (nothing written below 1e-5 of weight);
- integers are clamped to the dtype's range and rounded half up.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..errors import InputError

__all__ = ["bilinear_at"]


@njit(cache=True, nogil=True, parallel=True)
def _bilinear(stack, sx, sy, nodata, has_nodata, lo, hi, out):
    P, ny, nx = stack.shape
    my, mx = sx.shape
    for i in prange(my):
        for j in range(mx):
            x = sx[i, j]
            y = sy[i, j]
            if not (x >= 0.0 and y >= 0.0 and x < nx and y < ny):
                continue
            cx = min(int(math.floor(x + 1e-10)), nx - 1)
            cy = min(int(math.floor(y + 1e-10)), ny - 1)
            x0 = int(math.floor(x - 0.5))
            y0 = int(math.floor(y - 0.5))
            rx = 1.5 - (x - x0)
            ry = 1.5 - (y - y0)
            if x0 == -1:
                x0 = 0
                rx = 1.0
            if y0 == -1:
                y0 = 0
                ry = 1.0
            right = x0 + 1 < nx
            below = y0 + 1 < ny
            for p in range(P):
                if has_nodata and stack[p, cy, cx] == nodata:
                    continue
                acc = 0.0
                div = 0.0
                v = stack[p, y0, x0]
                if not (has_nodata and v == nodata):
                    w = rx * ry
                    div += w
                    acc += v * w
                if right:
                    v = stack[p, y0, x0 + 1]
                    if not (has_nodata and v == nodata):
                        w = (1.0 - rx) * ry
                        div += w
                        acc += v * w
                if right and below:
                    v = stack[p, y0 + 1, x0 + 1]
                    if not (has_nodata and v == nodata):
                        w = (1.0 - rx) * (1.0 - ry)
                        div += w
                        acc += v * w
                if below:
                    v = stack[p, y0 + 1, x0]
                    if not (has_nodata and v == nodata):
                        w = rx * (1.0 - ry)
                        div += w
                        acc += v * w
                if div < 0.00001:
                    continue
                val = acc if div == 1.0 else acc / div
                if val < lo:
                    val = lo
                elif val > hi:
                    val = hi
                out[p, i, j] = math.floor(val + 0.5)


def bilinear_at(stack: np.ndarray, sx: np.ndarray, sy: np.ndarray, nodata: float | int | None,
                out: np.ndarray) -> np.ndarray:
    """Resample each (y, x) plane of the integer ``stack`` at source pixel coordinates
    ``(sx, sy)`` (continuous: pixel ``(c, r)`` spans ``[c, c + 1)``; one pair per pixel of
    ``out``) into ``out`` (plane, y, x), with ``nodata`` pixels of the source excluded. Pixels
    of ``out`` that get no value are left as they are (fill them first)."""
    if stack.ndim != 3 or out.ndim != 3 or len(stack) != len(out) or sx.shape != out.shape[1:] \
            or sy.shape != sx.shape:
        raise InputError(f"bilinear_at: shapes stack {stack.shape}, sx {sx.shape}, sy {sy.shape}, out {out.shape}")
    if stack.dtype.kind not in "iu" or out.dtype != stack.dtype:
        raise InputError(f"bilinear_at: integer planes of one dtype expected, got {stack.dtype} -> {out.dtype}")
    info = np.iinfo(stack.dtype)
    _bilinear(stack, np.asarray(sx, np.float64), np.asarray(sy, np.float64),
              0.0 if nodata is None else float(nodata), nodata is not None, float(info.min), float(info.max), out)
    return out

"""Per-pixel median over time that skips NaN, as odc-stats' land-cover ``median_ds``
and xarray's ``median(skipna=True)`` compute it: the middle value of the sorted valid
values, or the mean of the two middle ones (in the data's own float type) for an even
count; NaN where no value is valid.

One pass per pixel over its time series (an insertion sort of the few valid values in
a small buffer), rows in parallel: sorting the (time, y, x) stack along its first axis
instead strides through memory and is several times slower.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..errors import InputError
from ._parallel import threads

__all__ = ["nanmedian"]


@njit(cache=True, nogil=True, parallel=True)
def _median_rows(data, out):
    """data (t, y, x) float -> out (y, x)."""
    nt, ny, nx = data.shape
    two = data.dtype.type(2)
    for r in prange(ny):
        buf = np.empty(max(nt, 1), dtype=data.dtype)
        for c in range(nx):
            m = 0
            for t in range(nt):
                v = data[t, r, c]
                if v != v:  # NaN
                    continue
                j = m  # insertion sort: time series are short
                while j > 0 and buf[j - 1] > v:
                    buf[j] = buf[j - 1]
                    j -= 1
                buf[j] = v
                m += 1
            if m == 0:
                out[r, c] = np.nan
            elif m % 2 == 1:
                out[r, c] = buf[m // 2]
            else:
                out[r, c] = (buf[m // 2 - 1] + buf[m // 2]) / two


def nanmedian(data: np.ndarray, num_threads: int | None = None) -> np.ndarray:
    """Median over the first axis of float ``data`` (time, ...), NaN skipped."""
    data = np.asarray(data)
    if data.dtype.kind != "f":
        raise InputError(f"nanmedian needs float data (NaN for missing), got dtype {data.dtype}")
    if data.ndim < 1 or data.shape[0] == 0:
        raise InputError(f"nanmedian needs a non-empty time axis, got shape {data.shape}")
    spatial = data.shape[1:]
    d3 = data.reshape(data.shape[0], -1, spatial[-1] if spatial else 1) if len(spatial) != 2 else data
    out = np.empty(d3.shape[1:], dtype=data.dtype)
    with threads(num_threads):
        _median_rows(d3, out)
    return out.reshape(spatial)

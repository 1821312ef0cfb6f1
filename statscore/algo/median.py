"""Per-pixel median over time that skips NaN, as odc-stats' land-cover ``median_ds``
and xarray's ``median(skipna=True)`` compute it: the middle value of the sorted valid
values, or the mean of the two middle ones (in the data's own float type) for an even
count; NaN where no value is valid."""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["nanmedian"]


def nanmedian(data: np.ndarray) -> np.ndarray:
    """Median over the first axis of float ``data`` (time, ...), NaN skipped."""
    data = np.asarray(data)
    if data.dtype.kind != "f":
        raise InputError(f"nanmedian needs float data (NaN for missing), got dtype {data.dtype}")
    if data.ndim < 1 or data.shape[0] == 0:
        raise InputError(f"nanmedian needs a non-empty time axis, got shape {data.shape}")
    ordered = np.sort(data, axis=0)  # NaN sort last
    n = data.shape[0] - np.isnan(ordered).sum(axis=0)
    hi = np.minimum(n // 2, data.shape[0] - 1)
    lo = np.maximum(n // 2 - (1 - n % 2), 0)
    a = np.take_along_axis(ordered, lo[None], axis=0)[0]
    b = np.take_along_axis(ordered, hi[None], axis=0)[0]
    out = (a + b) / data.dtype.type(2)
    out[n == 0] = np.nan
    return out.astype(data.dtype, copy=False)

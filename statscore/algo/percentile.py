"""Nearest-rank percentiles over time, as odc-stats' fc/tcw percentile plugins use them.

Per pixel, the valid values (not ``nodata``; NaN is always missing in float data) are
sorted and the value at rank ``round(q * (n - 1))`` is taken (``round`` half to even,
like ``np.round`` in odc-algo's ``np_percentile``); pixels with fewer than
``min_count`` (3) valid values get ``nodata``. Unlike odc-algo, ``nodata`` need not
be the smallest or largest value, and all quantiles come from one sort per pixel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit, prange

from ..errors import ConfigError, InputError
from ._parallel import threads

__all__ = ["percentile", "xr_quantile_bands", "xr_quantile"]


@njit(cache=True, nogil=True, parallel=True)
def _percentile_rows(data, qs, nodata, has_nodata, min_count, out):
    """data (t, y, x) -> out (q, y, x)."""
    nt, ny, nx = data.shape
    nq = qs.shape[0]
    for r in prange(ny):
        buf = np.empty(max(nt, 1), dtype=data.dtype)
        for c in range(nx):
            m = 0
            for t in range(nt):
                v = data[t, r, c]
                if has_nodata and v == nodata:
                    continue
                if v != v:  # NaN
                    continue
                buf[m] = v
                m += 1
            if m < min_count or m == 0:
                for k in range(nq):
                    out[k, r, c] = nodata
                continue
            buf[:m].sort()
            for k in range(nq):
                idx = int(np.rint(qs[k] * (m - 1)))  # half to even, as np.round
                out[k, r, c] = buf[idx]


def _check_quantiles(quantiles: Any) -> np.ndarray:
    qs = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
    if qs.ndim != 1 or qs.size == 0 or not np.all((qs >= 0) & (qs <= 1)):
        raise ConfigError(f"quantiles must be numbers in [0, 1], got {quantiles!r}")
    return qs


def percentile(
    data: np.ndarray,
    quantiles: float | Sequence[float],
    nodata: float,
    min_count: int = 3,
    num_threads: int | None = None,
) -> np.ndarray:
    """Nearest-rank quantiles over the first axis of ``data`` (time, ...).

    Returns ``data.dtype`` values shaped (len(quantiles), ...) or (...) for a single
    number; ``nodata`` where fewer than ``min_count`` values are valid.
    """
    data = np.asarray(data)
    if data.ndim < 1:
        raise InputError(f"data must have a time axis, got shape {data.shape}")
    if data.dtype.kind not in "fiub":
        raise InputError(f"data must be numeric, got dtype {data.dtype}")
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 0:
        raise ConfigError(f"min_count must be a non-negative integer, got {min_count!r}")
    scalar = np.ndim(quantiles) == 0
    qs = _check_quantiles(quantiles)
    if data.dtype == bool:
        data = data.view(np.uint8)
    nan_nodata = nodata is None or (isinstance(nodata, float) and math.isnan(nodata))
    if nan_nodata and data.dtype.kind != "f":
        raise ConfigError(f"nodata must be a number for {data.dtype} data, got {nodata!r}")
    nd = data.dtype.type(0 if nan_nodata else nodata)
    if not nan_nodata and nd != nodata:
        raise ConfigError(f"nodata {nodata!r} does not fit dtype {data.dtype}")
    fill = data.dtype.type(np.nan) if nan_nodata else nd
    spatial = data.shape[1:]
    d3 = data.reshape(data.shape[0], -1, spatial[-1] if spatial else 1) if len(spatial) != 2 else data
    out = np.empty((len(qs), d3.shape[1], d3.shape[2]), dtype=data.dtype)
    with threads(num_threads):
        _percentile_rows(d3, qs, fill, not nan_nodata, int(min_count), out)
    out = out.reshape((len(qs), *spatial))
    return out[0] if scalar else out


def xr_quantile_bands(src: Any, quantiles: Sequence[float], nodata: float,
                      min_count: int = 3, num_threads: int | None = None) -> Any:
    """Per band and quantile a variable ``{band}_pc_{int(100 * q)}`` (y, x), as
    odc-algo's function of that name; bands are (time, y, x)."""
    import xarray as xr

    qs = _check_quantiles(quantiles)
    data_vars = {}
    for band, xx in src.data_vars.items():
        yy = percentile(np.asarray(xx.data), qs, nodata, min_count, num_threads)
        for q, y in zip(qs, yy):
            data_vars[f"{band}_pc_{int(100 * q)}"] = xr.DataArray(y, dims=xx.dims[1:], attrs=xx.attrs)
    coords = {d: src.coords[d] for d in xx.dims[1:] if d in src.coords}
    return xr.Dataset(data_vars, coords=coords, attrs=src.attrs)


def xr_quantile(src: Any, quantiles: Sequence[float], nodata: float,
                min_count: int = 3, num_threads: int | None = None) -> Any:
    """Per band one variable (quantile, y, x), as odc-algo's ``xr_quantile``."""
    import xarray as xr

    qs = _check_quantiles(quantiles)
    data_vars = {}
    for band, xx in src.data_vars.items():
        yy = percentile(np.asarray(xx.data), qs, nodata, min_count, num_threads)
        data_vars[band] = (("quantile", *xx.dims[1:]), yy)
    coords = {d: src.coords[d] for d in xx.dims[1:] if d in src.coords}
    coords["quantile"] = qs
    return xr.Dataset(data_vars, coords=coords, attrs=src.attrs)

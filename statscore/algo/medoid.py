"""Medoid composite: per pixel, the observation closest to all the others.

The medoid (Flood 2013, Remote Sensing 5:6481) is the valid observation minimising the
sum of Euclidean distances to the other valid observations (all bands, in the data's
units). Unlike the geomedian it is an actual observation, so band relationships are
kept exactly. Ties go to the earliest observation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from ..errors import InputError
from ._parallel import threads
from .geomedian import _check_stack, _nodata_for

__all__ = ["medoid", "medoid_composite"]


@njit(cache=True, nogil=True, parallel=True, fastmath={"contract", "reassoc", "nsz"})
def _medoid_rows(X, nodata, has_nodata, out, index):
    ny, nx, p, n = X.shape
    for r in prange(ny):
        xs = np.empty((max(n, 1), p), dtype=np.float64)
        ts = np.empty(max(n, 1), dtype=np.int64)
        for c in range(nx):
            nv = 0
            for t in range(n):
                ok = True
                for j in range(p):
                    v = X[r, c, j, t]
                    if (has_nodata and v == nodata) or not math.isfinite(np.float64(v)):
                        ok = False
                        break
                if ok:
                    for j in range(p):
                        xs[nv, j] = np.float64(X[r, c, j, t])
                    ts[nv] = t
                    nv += 1
            best = -1
            best_cost = np.inf
            for a in range(nv):
                cost = 0.0
                for b in range(nv):
                    s = 0.0
                    for j in range(p):
                        e = xs[a, j] - xs[b, j]
                        s += e * e
                    cost += math.sqrt(s)
                if cost < best_cost:
                    best_cost = cost
                    best = a
            if best < 0:
                index[r, c] = -1
                for j in range(p):
                    out[r, c, j] = nodata
            else:
                index[r, c] = ts[best]
                for j in range(p):
                    out[r, c, j] = X[r, c, j, ts[best]]


def medoid(X: np.ndarray, nodata: float | None = None,
           num_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Medoid of ``X`` (y, x, band, time) -> (composite (y, x, band), time index (y, x)).

    Missing values as in :func:`statscore.algo.nangeomedian_pcm` (NaN; -999 int16, 0
    uint16 by default); the composite keeps X's dtype, with ``nodata`` (NaN for float)
    and index -1 where no observation is valid.
    """
    X = _check_stack(X)
    nd, has_nd = _nodata_for(X, nodata)
    fill = nd if has_nd else X.dtype.type(np.nan if X.dtype.kind == "f" else 0)
    ny, nx, p, _ = X.shape
    out = np.empty((ny, nx, p), dtype=X.dtype)
    index = np.empty((ny, nx), dtype=np.int32)
    with threads(num_threads):
        _medoid_rows(X, fill, has_nd, out, index)
    return out, index


def medoid_composite(ds: Any, nodata: float | None = None,
                     num_threads: int | None = None) -> Any:
    """Medoid composite of a Dataset of (time, y, x) bands -> Dataset of (y, x) bands
    plus ``index`` (time index chosen, -1 where none)."""
    import xarray as xr

    names = list(ds.data_vars)
    if not names:
        raise InputError("ds has no bands")
    first = ds[names[0]]
    if first.ndim != 3 or any(ds[n].dims != first.dims or ds[n].dtype != first.dtype for n in names):
        raise InputError("medoid_composite needs bands with the same (time, y, x) dims and dtype")
    if nodata is None:
        nodata = first.attrs.get("nodata")
    X = np.stack([np.asarray(ds[n].data) for n in names], axis=-1)  # (t, y, x, b)
    X = X.transpose(1, 2, 3, 0)
    out, index = medoid(np.ascontiguousarray(X), nodata=nodata, num_threads=num_threads)
    _, ydim, xdim = first.dims
    coords = {k: v for k, v in first.coords.items() if first.dims[0] not in v.dims}
    data_vars = {n: xr.DataArray(out[..., j], dims=(ydim, xdim), coords=coords, attrs=ds[n].attrs)
                 for j, n in enumerate(names)}
    data_vars["index"] = xr.DataArray(index, dims=(ydim, xdim), coords=coords)
    return xr.Dataset(data_vars, coords=coords)

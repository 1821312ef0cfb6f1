"""Clear-observation counts: how many dates contributed to each output pixel."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .geomedian import _check_stack, _nodata_for

__all__ = ["clear_count", "count_valid"]


def clear_count(clear: Any, axis: int = 0) -> Any:
    """Number of True values along ``axis`` (time) of a boolean mask, as uint16.

    Works on numpy arrays and xarray DataArrays (where ``axis`` may be a dim name).
    """
    try:
        import xarray as xr

        if isinstance(clear, xr.DataArray):
            dim = axis if isinstance(axis, str) else clear.dims[axis]
            return clear.astype(bool).sum(dim=dim, dtype=np.uint16).rename("count")
    except ImportError:  # pragma: no cover - xarray is a dependency
        pass
    m = np.asarray(clear)
    if m.ndim == 0:
        raise InputError("clear must have a time axis")
    if m.dtype != bool:
        m = m.astype(bool)
    n = np.count_nonzero(m, axis=axis)
    return np.minimum(n, np.iinfo(np.uint16).max).astype(np.uint16)


def count_valid(X: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """Observations with every band valid per pixel of ``X`` (y, x, band, time), uint16.

    Missing as in :func:`statscore.algo.nangeomedian_pcm`: NaN/inf for float, else
    ``nodata`` (default -999 int16, 0 uint16); equals the geomedian's count.
    """
    X = _check_stack(X)
    nd, has_nd = _nodata_for(X, nodata)
    ok = np.ones(X.shape[:2] + X.shape[3:], dtype=bool)
    for j in range(X.shape[2]):
        band = X[:, :, j, :]
        if X.dtype.kind == "f":
            ok &= np.isfinite(band)
        if has_nd:
            ok &= band != nd
    return clear_count(ok, axis=-1)

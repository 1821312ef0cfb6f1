"""Run a plugin the way each tool's loader does, on in-memory (time, y, x) Datasets:
per solar day, ``native_transform`` then ``fuser``, then ``reduce`` on the stack.

odc-stats' loader hands ``reduce`` a stack whose first dimension is ``spec`` with a
``time``/``solar_day`` MultiIndex; ours hands a ``time`` dimension. Both get the same
observations in the same order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr


def solar_days(xx: xr.Dataset) -> np.ndarray:
    """The day of each time step (the inputs here are at longitude ~0: UTC day = solar day)."""
    return xx["time"].values.astype("datetime64[D]")


def by_day(xx: xr.Dataset) -> list[xr.Dataset]:
    days = solar_days(xx)
    return [xx.isel(time=np.flatnonzero(days == d)) for d in np.unique(days)]


def run_ours(plugin, xx: xr.Dataset) -> xr.Dataset:
    """Our loader's order: per day native_transform then fuser; reduce on the stack."""
    fused = [plugin.fuser(plugin.native_transform(day.copy())) for day in by_day(xx)]
    out = plugin.reduce(xr.concat(fused, "time"))
    return out.compute() if hasattr(out, "compute") else out


def run_odc(plugin, xx: xr.Dataset, native: Callable[[xr.Dataset], xr.Dataset] | None = None) -> xr.Dataset:
    """odc-stats' ``load_with_native_transform`` order: native_transform per dataset,
    concatenated along ``spec`` (time and solar_day), grouped by solar_day and fused,
    then ``reduce``; computed."""
    native = native or plugin.native_transform
    parts = [native(xx.isel(time=[i]).copy(deep=True)) for i in range(xx.sizes["time"])]
    stack = xr.concat(parts, "time")
    index = pd.MultiIndex.from_arrays([stack["time"].values, solar_days(stack)], names=["time", "solar_day"])
    stack = stack.rename(time="spec").drop_vars("spec")
    stack = stack.assign_coords(xr.Coordinates.from_pandas_multiindex(index, "spec"))
    fused = stack.groupby("solar_day").map(plugin.fuser)
    if "solar_day" in fused.dims:  # a fuser that returns its group unchanged
        fused = fused.rename(solar_day="spec")
    out = plugin.reduce(fused)
    return out.compute() if hasattr(out, "compute") else out


def assert_same_band(ours: xr.DataArray, theirs: xr.DataArray, *, atol: float = 0) -> None:
    """Same shape and values (NaN where NaN), within ``atol``; dtypes checked by callers."""
    a = np.asarray(ours.values)
    b = np.asarray(theirs.values).reshape(a.shape)
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        nan_a, nan_b = np.isnan(a.astype(float)), np.isnan(b.astype(float))
        assert (nan_a == nan_b).all(), f"{ours.name}: NaN at {np.argwhere(nan_a != nan_b)[:5].tolist()}"
        a, b = a[~nan_a], b[~nan_b]
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    assert diff.size == 0 or diff.max() <= atol, \
        f"{ours.name}: {int((diff > atol).sum())} values differ, up to {diff.max()}"

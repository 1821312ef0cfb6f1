"""Tiny (time, y, x) Datasets shaped like loaded bands, with the attributes datacube sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from statscore.plugins.gm import FMASK_CLASSES, SCL_CLASSES


def stack(data: dict[str, np.ndarray], attrs: dict[str, dict] | None = None) -> xr.Dataset:
    """Dataset of (time, y, x) bands on a 10 m grid, one date per 10 days."""
    first = next(iter(data.values()))
    t, ny, nx = np.shape(first)
    coords = {"time": pd.date_range("2020-01-01", periods=t, freq="10D"),
              "y": 1000.0 - 10 * np.arange(ny), "x": 500.0 + 10 * np.arange(nx)}
    attrs = attrs or {}
    return xr.Dataset({k: xr.DataArray(np.asarray(v), dims=("time", "y", "x"), coords=coords,
                                       attrs=dict(attrs.get(k, {})))
                       for k, v in data.items()})


def class_flags(classes: dict[int, str], name: str = "qa") -> dict:
    return {name: {"bits": list(range(8)), "values": {str(k): v for k, v in classes.items()}}}


SCL_ATTRS = {"nodata": 0, "flags_definition": class_flags(SCL_CLASSES)}
FMASK_ATTRS = {"nodata": 0, "flags_definition": class_flags(FMASK_CLASSES, "fmask")}
S2_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")


def s2_scene(rng: np.random.Generator, t: int, ny: int, nx: int, cloud: float = 0.3) -> xr.Dataset:
    """Random S2 L2A-like stack: surface reflectance DN around per-pixel means and an SCL
    band with clouds, shadows, cirrus and no-data."""
    base = rng.integers(300, 4000, size=(len(S2_BANDS), 1, ny, nx))
    data = {b: (base[i] + rng.normal(0, 250, size=(t, ny, nx))).clip(1, 10000).astype("uint16")
            for i, b in enumerate(S2_BANDS)}
    p_clear = 1 - cloud
    scl = rng.choice([4, 5, 6, 3, 8, 9, 10, 0], size=(t, ny, nx),
                     p=[p_clear * .6, p_clear * .3, p_clear * .1, cloud * .2, cloud * .3, cloud * .3,
                        cloud * .1, cloud * .1]).astype("uint8")
    data["SCL"] = scl
    attrs = {b: {"nodata": 0, "units": "1"} for b in S2_BANDS}
    attrs["SCL"] = SCL_ATTRS
    return stack(data, attrs)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)

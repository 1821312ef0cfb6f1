"""dem_in_stats: parity with odc-stats 1.9.14's StatsDem (elevation passed through as
float32, NaN at or below nodata, renamed), and where we differ on purpose: the output
is one (y, x) band, not odc-stats' (spec, y, x) stack of length 1.

The sample-data generator writes no DEM product: the parity test on xarray inputs
stands in for an ``odc-stats run``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from statscore.errors import ConfigError, InputError
from statscore.plugins import resolve_plugin

from .conftest import stack
from .odc_reference import assert_same_band, run_odc, run_ours


def dem(rng: np.random.Generator, nodata: float = -9999.0, dtype: str = "float32"):
    h = rng.normal(200, 150, (1, 12, 13)).astype(dtype)
    h[0, :2, :3] = nodata
    h[0, 5, 5] = nodata - 1  # below nodata: also missing (odc-stats keeps only values above it)
    h[0, 6, 6] = np.nan if np.dtype(dtype).kind == "f" else nodata
    return stack({"dem_h": h}, {"dem_h": {"nodata": nodata, "units": "metre"}})


@pytest.mark.parametrize("dtype,nodata", [("float32", -9999.0), ("int16", -999)])
def test_matches_odc_stats_exactly(rng, dtype, nodata):
    from odc.stats.plugins.lc_veg_class_a1 import StatsDem

    xx = dem(rng, nodata, dtype)
    cfg = {"input_bands": ["dem_h"], "measurements": ["dem"]}
    p = resolve_plugin("dem_in_stats", cfg)
    ours, theirs = run_ours(p, xx), run_odc(StatsDem(**cfg), xx.chunk())  # its expressions need dask
    assert list(ours.data_vars) == list(theirs.data_vars) == ["dem"]
    assert ours["dem"].dtype == theirs["dem"].dtype == np.float32
    assert math.isnan(ours["dem"].attrs["nodata"]) and math.isnan(theirs["dem"].attrs["nodata"])
    # deliberate difference: odc-stats keeps the time dimension (length 1) in its output
    assert theirs["dem"].dims == ("spec", "y", "x") and ours["dem"].dims == ("y", "x")
    assert_same_band(ours["dem"], theirs["dem"].squeeze("spec"))
    v = ours["dem"].values
    assert np.isnan(v[:2, :3]).all() and np.isnan(v[5, 5]) and np.isfinite(v).sum() == v.size - 8


def test_several_observations_take_the_first_valid(rng):
    a, b = dem(rng), dem(rng)
    xx = stack({"dem_h": np.concatenate([a["dem_h"].values, b["dem_h"].values])},
               {"dem_h": {"nodata": -9999.0}})
    out = run_ours(resolve_plugin("dem_in_stats", input_bands=["dem_h"]), xx)["dem_h"].values
    first = np.where(a["dem_h"].values[0] > -9999, a["dem_h"].values[0], np.nan)
    ok = np.isfinite(first)
    assert (out[ok] == first[ok]).all() and np.isnan(out[~ok]).all()  # b has the same gaps


def test_config_and_inputs_are_checked(rng):
    with pytest.raises(ConfigError, match="needs plugin_config key"):
        resolve_plugin("dem_in_stats")
    with pytest.raises(ConfigError, match="one output per input"):
        resolve_plugin("dem_in_stats", input_bands=["a", "b"], measurements=["x"])
    xx = stack({"dem_h": np.zeros((1, 2, 2), "float32")})
    with pytest.raises(InputError, match="no nodata"):
        resolve_plugin("dem_in_stats", input_bands=["dem_h"]).native_transform(xx)

"""veg_count (land-cover module A0): parity with odc-stats 1.9.14's StatsVegCount on
fractional cover + WOfS stacks, the run/percentage rules exhaustively, and an
``odc-stats run`` on generated ``ga_ls_fc_3+ga_ls_wo_3``."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

from statscore.errors import ConfigError
from statscore.plugins import resolve_plugin
from statscore.plugins.landcover import NODATA, max_consecutive, valid_percent

from .conftest import stack
from .odc_reference import assert_same_band, run_odc, run_ours

MEASUREMENTS = ["veg_frequency", "water_frequency", "wet_percentage"]
# clear dry, wet, low-sun dry/wet, terrain shadow, high slope, cloud, shadow, nodata,
# non-contiguous, wet on terrain shadow
WATER = [0, 0, 0, 128, 128, 4, 132, 8, 16, 64, 32, 1, 2, 136]


def fc_wo(rng: np.random.Generator, times: list[str], ny: int = 9, nx: int = 10) -> xr.Dataset:
    t = len(times)
    shape = (t, ny, nx)
    cover = {b: rng.integers(0, 101, shape).astype("uint8") for b in ("pv", "bs", "npv")}
    for band in cover.values():
        band[rng.random(shape) < 0.03] = 255
    ue = rng.integers(0, 45, shape).astype("uint8")
    water = rng.choice(WATER, size=shape).astype("uint8")
    ds = stack({"water": water, **cover, "ue": ue},
               {"water": {"nodata": 1}, **{b: {"nodata": 255} for b in ("pv", "bs", "npv", "ue")}})
    return ds.assign_coords(time=pd.to_datetime(times).values)


# 2 years, months 1-10 with gaps, two passes on one day (fused), January in both years
TIMES = ["2020-01-03T00", "2020-01-19T00", "2020-02-04T00", "2020-02-04T02", "2020-03-08T00",
         "2020-03-24T00", "2020-04-09T00", "2020-05-11T00", "2020-05-27T00", "2020-07-14T00",
         "2020-08-15T00", "2020-10-02T00", "2020-10-18T00", "2021-01-05T00", "2021-03-10T00"]


def _odc(**config):
    from odc.stats.plugins.lc_fc_wo_a0 import StatsVegCount

    return StatsVegCount(measurements=MEASUREMENTS, **config)


@pytest.mark.parametrize("config", [{}, {"cloud_filters": {"cloud": [["dilation", 1]],
                                                            "cloud_shadow": [["opening", 1], ["dilation", 2]]},
                                         "ue_threshold": 20, "veg_threshold": 4}])
def test_matches_odc_stats_exactly(rng, config):
    xx = fc_wo(rng, TIMES)
    p = resolve_plugin("veg_count", config)
    ours = run_ours(p, xx)
    theirs = run_odc(_odc(**config), xx.chunk())  # odc-stats' expressions need dask arrays
    assert list(ours.data_vars) == list(theirs.data_vars) == MEASUREMENTS == list(p.measurements)
    for band in MEASUREMENTS:
        assert ours[band].dtype == theirs[band].dtype == np.uint8, band
        assert ours[band].attrs["nodata"] == theirs[band].attrs["nodata"] == NODATA
        assert_same_band(ours[band], theirs[band])  # counts exact
        values = ours[band].values
        assert (values != NODATA).any(), band
        if not config:  # random cover makes short runs: a veg_threshold of 4 raises them all to 4
            assert len(np.unique(values)) > 2, band  # not a degenerate case


def test_runs_and_percentages_match_odc_stats_for_every_sequence():
    """Every 5-month sequence of (0, 1, no answer), with and without scaling to 12 months."""
    from odc.stats.plugins.lc_fc_wo_a0 import StatsVegCount

    seqs = np.array(list(itertools.product([0, 1, NODATA], repeat=5)), dtype="uint8")  # (243, 5)
    flags = seqs.T[:, :, None]  # (month, pixel, 1)
    import dask.array as da

    odc = StatsVegCount(measurements=MEASUREMENTS)
    d = da.from_array(flags, chunks=-1)
    for normalize in (False, True):
        want = odc._max_consecutive_months(d, NODATA, normalize=normalize).compute()
        assert (max_consecutive(flags, normalize=normalize) == want).all()
    assert (valid_percent(flags) == odc._wet_valid_percent(d, NODATA).compute()).all()
    # by hand: 1 1 - 0 1 -> run 2 over 4 answered months -> 12 * 2 / 4 = 6; 2 of 3 wet -> 67 %
    one = np.array([1, 1, NODATA, 0, 1], "uint8")[:, None]
    assert max_consecutive(one).tolist() == [2] and max_consecutive(one, normalize=True).tolist() == [6]
    assert valid_percent(np.array([1, 0, 1], "uint8")[:, None]).tolist() == [67]


def test_config_is_checked():
    with pytest.raises(ConfigError, match="did you mean 'cloud'"):
        resolve_plugin("veg_count", cloud_filters={"clouds": [["dilation", 1]]})
    with pytest.raises(ConfigError, match="3 distinct"):
        resolve_plugin("veg_count", measurements=["a", "b"])
    p = resolve_plugin("veg_count")
    assert (p.ue_threshold, p.veg_threshold, p.measurements) == (30, 2, tuple(MEASUREMENTS))
    assert p.input_bands == ("water", "pv", "bs", "npv", "ue")


def test_odc_stats_run_on_generated_fc_and_wofs(tmp_path_factory, tmp_path):
    """``odc-stats run --plugin veg_count`` on generated ``ga_ls_fc_3+ga_ls_wo_3`` (three
    months, one pass a day): valid COGs equal to the rules applied to the input COGs."""
    from benchmarks._runscene import make_ls_task
    from datacube.storage import BandInfo
    from rio_cogeo.cogeo import cog_validate

    from statscore.run import TaskReader

    from .test_ndvi_median import _on_tile

    db = make_ls_task(tmp_path_factory.mktemp("veg"), 64, "ga_ls_fc_3+ga_ls_wo_3")
    out = tmp_path / "out"
    r = subprocess.run([str(Path(sys.executable).parent / "odc-stats"), "run", str(db), "0", "--plugin",
                        "veg_count", "--plugin-config", json.dumps({"resampling": "nearest"}),
                        "--location", out.as_uri()], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    (item,) = out.rglob("*.stac-item.json")
    prefix = str(item)[: -len(".stac-item.json")]
    got = {}
    for band in MEASUREMENTS:
        assert cog_validate(f"{prefix}_{band}.tif", strict=True) == (True, [], [])
        with rasterio.open(f"{prefix}_{band}.tif") as src:
            assert src.dtypes[0] == "uint8" and src.nodata == NODATA
            got[band] = src.read(1)

    reader = TaskReader(str(db))
    (tile, ids), = reader.tasks.items()
    gbox = reader.gridspec.tile_geobox((tile.x, tile.y))
    dss = sorted((reader.cache.get(u) for u in ids), key=lambda ds: ds.center_time)
    days = [ds.center_time for ds in dss]
    x = {b: np.stack([_on_tile(BandInfo(ds, b).uri, gbox) for ds in dss])
         for b in ("water", "pv", "bs", "npv", "ue")}
    xx = stack(x, {"water": {"nodata": 1}, **{b: {"nodata": 255} for b in ("pv", "bs", "npv", "ue")}})
    xx = xx.assign_coords(time=pd.to_datetime([d.replace(tzinfo=None) for d in days]).values)
    # the same rules, evaluated by odc-stats' own class on the tile-aligned input stack
    want = run_odc(_odc(), xx.chunk())
    for band in MEASUREMENTS:
        np.testing.assert_array_equal(got[band], want[band].values, err_msg=band)
    assert (got["veg_frequency"] != NODATA).any() and (got["wet_percentage"] != NODATA).any()

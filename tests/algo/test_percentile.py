"""Nearest-rank percentiles: hand-computed cases and odc-algo's np_percentile."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import xarray as xr

from statscore.algo import percentile, xr_quantile, xr_quantile_bands
from statscore.errors import ConfigError


def test_hand_computed_ranks():
    # valid values 10..50 (5 values, nodata 255 anywhere): rank round(q * 4)
    col = np.array([30, 255, 10, 50, 20, 255, 40], dtype=np.uint8)[:, None, None]
    got = percentile(col, [0.0, 0.1, 0.5, 0.9, 1.0], nodata=255)[:, 0, 0]
    # q*4 = 0, 0.4, 2, 3.6, 4 -> ranks 0, 0, 2, 4, 4
    np.testing.assert_array_equal(got, [10, 10, 30, 50, 50])


def test_half_rank_rounds_to_even():
    col = np.array([1, 2, 3, 4, 5, 6], dtype=np.int16)[:, None, None]  # n - 1 = 5
    # 0.1 * 5 = 0.5 -> 0; 0.5 * 5 = 2.5 -> 2; 0.9 * 5 = 4.5 -> 4 (half to even)
    np.testing.assert_array_equal(percentile(col, [0.1, 0.5, 0.9], nodata=-1)[:, 0, 0], [1, 3, 5])


def test_fewer_than_three_valid_is_nodata():
    col = np.array([[5, 7, -9, -9], [5, 7, 6, -9]], dtype=np.int16).T[:, None, :]
    got = percentile(col, 0.5, nodata=-9)
    np.testing.assert_array_equal(got, [[-9, 6]])
    np.testing.assert_array_equal(percentile(col, 0.5, nodata=-9, min_count=1), [[5, 6]])


def test_float_nan_missing():
    col = np.array([0.3, np.nan, 0.1, 0.2], dtype=np.float32)[:, None, None]
    assert percentile(col, 0.5, nodata=np.nan)[0, 0] == np.float32(0.2)
    allnan = np.full((4, 1, 1), np.nan, dtype=np.float32)
    assert np.isnan(percentile(allnan, 0.5, nodata=np.nan)[0, 0])


@pytest.mark.parametrize("nodata", [255, 0])
def test_matches_odc_algo(nodata):
    odc = importlib.import_module("odc.algo._percentile")
    rng = np.random.default_rng(0)
    data = rng.integers(1, 255, size=(23, 13, 17), dtype=np.uint8)
    data[rng.random(data.shape) < 0.4] = nodata
    data[:21, 0, 0] = nodata  # fewer than 3 valid
    for q in (0.1, 0.25, 0.5, 0.9):
        np.testing.assert_array_equal(percentile(data, q, nodata=nodata),
                                      odc.np_percentile(data, q, nodata))


def test_matches_odc_algo_float_nan():
    odc = importlib.import_module("odc.algo._percentile")
    rng = np.random.default_rng(1)
    data = rng.random((19, 8, 9)).astype(np.float32)
    data[rng.random(data.shape) < 0.3] = np.nan
    np.testing.assert_array_equal(percentile(data, 0.9, nodata=np.nan),
                                  odc.np_percentile(data, 0.9, np.nan))


def test_xr_quantile_bands_names_like_odc_stats():
    rng = np.random.default_rng(2)
    ds = xr.Dataset({b: (("time", "y", "x"), rng.integers(0, 100, (7, 3, 4)).astype(np.uint8))
                     for b in ("pv", "bs")})
    out = xr_quantile_bands(ds, [0.1, 0.5, 0.9], nodata=255)
    assert sorted(out.data_vars) == sorted(f"{b}_pc_{p}" for b in ("pv", "bs") for p in (10, 50, 90))
    np.testing.assert_array_equal(out["pv_pc_50"].values, percentile(ds.pv.values, 0.5, nodata=255))
    q = xr_quantile(ds, [0.1, 0.9], nodata=255)
    assert q["bs"].dims == ("quantile", "y", "x")
    np.testing.assert_array_equal(q["bs"].sel(quantile=0.9).values, out["bs_pc_90"].values)


def test_bad_quantile():
    with pytest.raises(ConfigError, match="quantiles"):
        percentile(np.zeros((3, 2, 2)), 1.5, nodata=0)

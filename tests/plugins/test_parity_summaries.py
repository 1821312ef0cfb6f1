"""wofs-summary, fc-percentiles and tcw-percentiles against odc-stats 1.9.14's own plugin
classes (StatsWofs, StatsFCP, StatsTCWPC) on the same random inputs: counts and percentiles
exact; tcw's one documented difference (indices rounded, odc-stats truncates) pinned."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from statscore.plugins import resolve_plugin

from .conftest import FMASK_ATTRS, stack
from .test_summaries import TC, per_date


def ours(plugin, ds: xr.Dataset) -> xr.Dataset:
    return plugin.reduce(per_date(plugin.fuser, plugin.native_transform(ds.copy(deep=True))))


def theirs(ref, ds: xr.Dataset) -> xr.Dataset:
    """odc-stats' pipeline: native_transform per dataset, fuser per day, reduce (dask as it runs it)."""
    nt = ref.native_transform(ds.copy(deep=True))
    return ref.reduce(per_date(ref.fuser, nt).chunk({"time": 1})).compute()


def assert_same(a: xr.Dataset, b: xr.Dataset, bands=None) -> None:
    assert list(a.data_vars) == list(b.data_vars)
    for band in bands or a.data_vars:
        x, y = a[band].values, b[band].values
        assert x.dtype == y.dtype, (band, x.dtype, y.dtype)
        np.testing.assert_array_equal(x, y, err_msg=band)


# a water flag per observation: dry, wet, nodata, non-contiguous, low sun, terrain shadow,
# high slope (alone and with water), cloud shadow, cloud
WATER_FLAGS = np.array([0, 0, 0, 128, 128, 1, 2, 4, 8, 16, 144, 32, 64, 64 | 128], dtype="uint8")


def water(rng, t: int, ny: int, nx: int) -> np.ndarray:
    w = rng.choice(WATER_FLAGS, size=(t, ny, nx))
    w[:, 5:9, 5:9] = 64  # a cloud for the filters to grow
    w[:, 0, 0] = 1  # never observed
    w[:, 0, 1] = 64  # observed, never clear
    return w


@pytest.mark.parametrize("cloud_filters", [None, {"cloud": [["dilation", 2]], "cloud_shadow": [["opening", 1]]}])
def test_wofs_summary_matches_odc_stats(rng, cloud_filters):
    from odc.stats.plugins.wofs import StatsWofs

    ds = stack({"water": water(rng, 12, 24, 24)}, {"water": {"nodata": 1}})
    kw = {"cloud_filters": cloud_filters} if cloud_filters else {}
    a = ours(resolve_plugin("wofs-summary", **kw), ds)
    b = theirs(StatsWofs(**kw), ds)
    assert_same(a, b, ["count_wet", "count_clear"])
    np.testing.assert_array_equal(np.isnan(a["frequency"].values), np.isnan(b["frequency"].values))
    np.testing.assert_allclose(a["frequency"].values, b["frequency"].values, rtol=0, atol=1e-7)
    assert (a["count_clear"].values == 0).any()  # observed, never clear
    if not cloud_filters:  # (a grown cloud makes the never-observed corner observed and bad)
        assert a["count_clear"].values[0, 0] == -999


def fc_stack(rng, t: int, ny: int, nx: int) -> xr.Dataset:
    pv = rng.integers(0, 101, (t, ny, nx)).astype("uint8")
    bs = rng.integers(0, 101, (t, ny, nx)).astype("uint8")
    npv = rng.integers(0, 101, (t, ny, nx)).astype("uint8")
    for band in (pv, bs, npv):
        band[rng.random(band.shape) < 0.03] = 255
    ue = rng.integers(0, 60, (t, ny, nx)).astype("uint8")
    attrs = {b: {"nodata": 255} for b in ("pv", "bs", "npv", "ue")}
    attrs["water"] = {"nodata": 1}
    return stack({"water": water(rng, t, ny, nx), "pv": pv, "bs": bs, "npv": npv, "ue": ue}, attrs)


@pytest.mark.parametrize("config", [
    {},
    {"count_valid": True, "ue_threshold": 30},
    {"count_valid": True, "cloud_filters": {"cloud": [["dilation", 1]], "terrain_shadow": [["closing", 1]]}},
])
def test_fc_percentiles_match_odc_stats(rng, config):
    from odc.stats.plugins.fc_percentiles import StatsFCP

    ds = fc_stack(rng, 15, 20, 20)
    a = ours(resolve_plugin("fc-percentiles", **config), ds)
    b = theirs(StatsFCP(**config), ds)
    assert_same(a, b)
    assert set(np.unique(a["qa"].values)) == {0, 1, 2}  # every qa case occurs


def tc_inputs(rng, t: int, ny: int, nx: int) -> xr.Dataset:
    base = rng.integers(100, 4000, size=(len(TC), 1, ny, nx))
    data = {b: (base[i] + rng.normal(0, 300, (t, ny, nx))).clip(-500, 9000).astype("int16") for i, b in enumerate(TC)}
    data["blue"][rng.random((t, ny, nx)) < 0.02] = -999
    data["fmask"] = rng.choice([1, 1, 1, 1, 2, 3, 0, 4, 5], size=(t, ny, nx)).astype("uint8")
    data["nbart_contiguity"] = rng.choice([1, 1, 1, 1, 1, 0], size=(t, ny, nx)).astype("uint8")
    attrs = {b: {"nodata": -999} for b in TC}
    attrs["fmask"] = FMASK_ATTRS
    attrs["nbart_contiguity"] = {"nodata": 255}
    return stack(data, attrs)


@pytest.mark.parametrize("cloud_filters", [None, {"cloud": [["opening", 1], ["dilation", 2]], "shadow": [["dilation", 1]]}])
def test_tcw_percentiles_match_odc_stats_but_for_rounding(rng, cloud_filters):
    """odc-stats casts the tasseled cap indices to int16 by truncation (towards zero); we
    round them (README, tcw-percentiles). Masks are the same; given the same indices, the
    percentiles are exactly odc-stats'; each index differs from odc-stats' by at most 1, and
    exactly where rounding and truncation of the float index differ."""
    from odc.stats.plugins.tcw_percentiles import StatsTCWPC

    ds = tc_inputs(rng, 14, 16, 16)
    kw = {"cloud_filters": cloud_filters} if cloud_filters else {}
    mine, ref = resolve_plugin("tcw-percentiles", **kw), StatsTCWPC(**kw)
    nt_a = mine.native_transform(ds.copy(deep=True))
    nt_b = ref.native_transform(ds.copy(deep=True))
    coeffs = ref.coefficients
    for index in ("wet", "bright", "green"):
        x, y = nt_a[index].values.astype(int), nt_b[index].values.astype(int)
        differ = (x == -9999) != (y == -9999)
        if cloud_filters:
            # odc-algo 1.2.2's dilation of an all-empty mask (here: a date whose cloud the
            # opening removed) marks a disk at the array's top-left corner (README): odc-stats
            # masks those pixels, we do not; nothing else differs
            _, yy, xx = np.nonzero(differ)
            assert differ.any() and not (differ & (x == -9999)).any()
            assert (yy**2 + xx**2 <= 2**2).all(), index
        else:
            assert not differ.any(), index
        exact = sum(c * ds[b].values.astype("float64") for b, c in coeffs[index].items())
        valid = (y != -9999) & (x != -9999)
        np.testing.assert_array_equal(x[valid], np.round(exact[valid]).astype(int), err_msg=index)
        np.testing.assert_array_equal(y[valid], np.trunc(exact[valid]).astype(int), err_msg=index)
        assert (x != y).any()  # the documented difference shows on these inputs
    # the same indices in, the same percentiles out
    a = mine.reduce(per_date(mine.fuser, nt_a))
    b = ref.reduce(per_date(ref.fuser, nt_a.copy(deep=True)).chunk({"time": 1})).compute()
    assert_same(a, b)
    if not cloud_filters:
        full_a, full_b = ours(mine, ds), theirs(ref, ds)
        for band in a.data_vars:
            d = np.abs(full_a[band].values.astype(int) - full_b[band].values.astype(int))
            assert d.max() <= 1, band


def test_odc_algo_dilates_an_empty_mask_into_a_corner_we_do_not():
    """The reference bug behind the pinned corner difference above (and in every plugin with
    cloud filters): scipy's distance transform of a mask with no pixel set."""
    from odc.algo._masking import mask_cleanup_np

    from statscore.algo import mask_cleanup

    empty = np.zeros((12, 12), dtype=bool)
    theirs_ = mask_cleanup_np(empty, [("dilation", 2)])
    assert theirs_.sum() == 3 and theirs_[0, 0] and theirs_[0, 1] and theirs_[1, 0]
    speck = empty.copy()
    speck[6, 6] = True  # removed by the opening, and then the same corner appears
    assert mask_cleanup_np(speck, [("opening", 1), ("dilation", 2)])[0, 0]
    assert not mask_cleanup(np.stack([empty, speck]), [("opening", 1), ("dilation", 2)]).any()

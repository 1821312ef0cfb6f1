"""Base behaviour: first-valid fuser, RGBA preview, resampling per band, counts by days,
morphology reach and reduce margins."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from statscore.plugins import _base, resolve_plugin

from .conftest import SCL_ATTRS, stack


def test_default_fuser_takes_first_valid_numpy_and_dask():
    v = np.array([[[0, 5, 0]], [[7, 6, 0]], [[8, 0, 9]]], dtype="uint16")
    ds = stack({"a": v, "b": v}, {"a": {"nodata": 0}, "b": {"nodata": 0}})
    p = resolve_plugin("gm-generic", bands=["a", "b"], mask_band="m")
    for xx in (ds, ds.chunk({"time": 1})):
        fused = p.fuser(xx)
        assert fused.sizes["time"] == 1
        assert fused["a"].values.tolist() == [[[7, 5, 9]]]
        assert fused["time"].values[0] == ds["time"].values[0]


def test_rgba_preview_scales_rounds_and_sets_alpha():
    p = resolve_plugin("gm-s2", rgb_clamp=[0, 100])
    res = stack({"B04": [[[0, 51, 200]]], "B03": [[[10, 1, 100]]], "B02": [[[0, 0, 0]]]},
                {b: {"nodata": 0} for b in ("B04", "B03", "B02")}).isel(time=0)
    img = p.rgba(res)
    assert img.dtype == np.uint8 and img.dims == ("y", "x", "band")
    assert list(img["band"].values) == ["r", "g", "b", "a"]
    assert img.values[0, :, 0].tolist() == [0, 130, 255]   # 51 -> 130.05
    assert img.values[0, :, 1].tolist() == [26, 3, 255]    # 10 -> 25.5 -> 26
    assert img.values[0, :, 3].tolist() == [0, 255, 255]   # red nodata -> transparent
    assert resolve_plugin("pq").rgba(res) is None


def test_resampling_masks_nearest_data_bilinear():
    p = resolve_plugin("gm-s2")
    assert p.resampling_for("B02") == "bilinear"
    assert p.resampling_for("SCL") == "nearest"
    assert p.resampling_for("anything", dtype=bool) == "nearest"
    assert resolve_plugin("pq").resampling_for("valid") == "nearest"
    q = resolve_plugin("gm-s2", resampling={"*": "cubic", "B11": "average"})
    assert q.resampling_for("B11") == "average" and q.resampling_for("B02") == "cubic"


def test_categorical_bands_are_counts_and_classes():
    assert resolve_plugin("gm-s2").categorical_bands == ("COUNT",)
    assert resolve_plugin("pq").categorical_bands == ("total", "clear", "clear_2_5", "clear_0_5")
    assert resolve_plugin("fc-percentiles", count_valid=True).categorical_bands == ("qa", "count_valid")


@pytest.mark.parametrize("name", ["gm-s2", "gm-ls", "pq", "wofs-summary", "tcw-percentiles"])
def test_class_attributes_are_odc_stats_ones(name):
    from odc.stats.plugins._registry import import_all, resolve

    import_all()
    ours = type(resolve_plugin(name))
    ref = resolve(name).args[0]
    for attr in ("NAME", "SHORT_NAME", "VERSION", "PRODUCT_FAMILY"):
        assert getattr(ours, attr) == getattr(ref, attr), attr


def _native_stack(plugin, ds):
    """What a load hands ``reduce``: each date transformed and fused on its own."""
    nt = plugin.native_transform(ds)
    return xr.concat([plugin.fuser(nt.isel(time=[i])) for i in range(nt.sizes["time"])], "time")


COUNTING = {  # plugin, config, band -> random values of it (a few flags each)
    "pq": ({}, {"SCL": lambda r, s: r.choice([0, 4, 5, 8, 9, 10], size=s).astype("uint8")}),
    "pq-ls-bitmask": ({"aerosol_band": "SR_QA_AEROSOL", "filters": {"clear_1": [["opening", 1], ["dilation", 1]]},
                       "aerosol_filters": {"clear_2_aerosol": [["dilation", 2]]}},
                      {"QA_PIXEL": lambda r, s: r.choice([0, 1, 1 << 2, 1 << 3], size=s).astype("uint16"),
                       "SR_QA_AEROSOL": lambda r, s: r.choice([0, 0b0100_0000, 0b1100_0000], size=s).astype("uint8")}),
    "wofs-summary": ({"cloud_filters": {"cloud": [["dilation", 1]]}},
                     {"water": lambda r, s: r.choice([0, 0, 128, 1, 64, 32, 144], size=s).astype("uint8")}),
}


@pytest.mark.parametrize("name", sorted(COUNTING))
def test_counts_by_days_equal_counts_of_the_whole_stack(rng, monkeypatch, name):
    config, bands = COUNTING[name]
    plugin = resolve_plugin(name, config)
    ds = stack({b: make(rng, (7, 12, 13)) for b, make in bands.items()},
               {"SCL": SCL_ATTRS} if "SCL" in bands else None)
    xx = _native_stack(plugin, ds)
    whole = plugin.reduce(xx.chunk({"time": -1})).compute()  # dask: one expression over the stack
    monkeypatch.setattr(_base, "COUNT_BLOCK_BYTES", 2 * 12 * 13)  # numpy: 2 days at a time, a last one alone
    by_days = plugin.reduce(xx)
    assert list(by_days.data_vars) == list(plugin.measurements)
    xr.testing.assert_identical(whole, by_days)


def test_morphology_reach_counts_opening_and_closing_twice():
    assert _base.filters_reach([("opening", 2), ("dilation", 5)]) == 9
    assert _base.filters_reach([("closing", 1.5), ("erosion", 0.5)]) == 5
    assert resolve_plugin("pq").morphology_reach == 9  # clear_2_5: the larger of its two filters
    assert resolve_plugin("pq", filters={}).morphology_reach == 0


@pytest.mark.parametrize("name", ["gm-s2", "gm-ls", "pq", "wofs-summary", "fc-percentiles", "tcw-percentiles"])
def test_plugins_whose_reduce_is_per_pixel_need_no_margin(name):
    # their morphology (if any) runs in native_transform/fuser, on the native grid
    assert resolve_plugin(name).reduce_margin == 0


def test_reduce_time_filters_set_the_margin():
    assert resolve_plugin("gm-ls-bitmask").reduce_margin == 0  # no filters
    assert resolve_plugin("gm-ls-bitmask", filters=[["opening", 2], ["dilation", 5]]).reduce_margin == 9
    p = resolve_plugin("pq-ls-bitmask", aerosol_band="SR_QA_AEROSOL", filters={"clear_1": [["dilation", 1]]},
                       aerosol_filters={"clear_3_aerosol": [["closing", 3]]})
    assert p.reduce_margin == 6

"""wofs-summary, fc-percentiles, tcw-percentiles: hand-computed counts and percentiles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from statscore.errors import ConfigError
from statscore.plugins import resolve_plugin

from .conftest import FMASK_ATTRS, stack


def per_date(fuser, xx):
    return xr.concat([fuser(xx.isel(time=[i])) for i in range(xx.sizes["time"])], "time")


def run(plugin, ds):
    return plugin.reduce(per_date(plugin.fuser, plugin.native_transform(ds)))


# ---- wofs-summary ---------------------------------------------------------------------


def test_wofs_counts_and_frequency_by_hand():
    # water flags: 0 dry, 128 wet, 1 nodata, 64 cloud, 128|16 wet on high slope (bad)
    water = np.array([[[128, 1, 64, 0]],
                      [[0, 1, 0, 0]],
                      [[128, 1, 144, 0]]], dtype="uint8")
    out = run(resolve_plugin("wofs-summary"), stack({"water": water}))
    assert out["count_wet"].values.tolist() == [[2, -999, 0, 0]]
    assert out["count_clear"].values.tolist() == [[3, -999, 1, 3]]
    freq = out["frequency"].values[0]
    assert freq[0] == pytest.approx(2 / 3) and math.isnan(freq[1]) and freq[2] == 0 and freq[3] == 0
    assert out["count_wet"].dtype == np.int16 and out["frequency"].dtype == np.float32
    assert out["count_wet"].attrs["nodata"] == -999 and math.isnan(out["frequency"].attrs["nodata"])


def test_wofs_never_clear_but_observed_is_zero_not_nodata():
    water = np.array([[[64]], [[32]]], dtype="uint8")  # cloud, cloud shadow
    out = run(resolve_plugin("wofs-summary"), stack({"water": water}))
    assert out["count_clear"].item() == 0 and out["count_wet"].item() == 0
    assert math.isnan(out["frequency"].item())


def test_wofs_cloud_filter_dilates_cloud():
    water = np.zeros((1, 1, 5), dtype="uint8")
    water[0, 0, 2] = 64
    out = run(resolve_plugin("wofs-summary", cloud_filters={"cloud": [["dilation", 1]]}),
              stack({"water": water}))
    assert out["count_clear"].values.tolist() == [[1, 0, 0, 0, 1]]
    with pytest.raises(ConfigError, match="did you mean 'cloud_shadow'"):
        resolve_plugin("wofs-summary", cloud_filters={"cloud_shadows": []})


# ---- fc-percentiles -------------------------------------------------------------------


def fc(pv, water, ue=None):
    pv = np.asarray(pv, dtype="uint8")
    attrs = {b: {"nodata": 255} for b in ("pv", "bs", "npv", "ue")}
    return stack({"water": np.asarray(water, dtype="uint8"), "pv": pv, "bs": pv // 2,
                  "npv": 100 - pv, "ue": np.zeros_like(pv) if ue is None else np.asarray(ue, "uint8")},
                 attrs)


def test_fc_percentiles_and_qa_by_hand():
    # pixel 0: 5 dry obs pv 10..50 -> p10 rank round(0.4)=0 -> 10, p50 rank 2 -> 30,
    # p90 rank round(3.6)=4 -> 50; pixel 1: 2 dry + wet -> < 3 valid, ever wet -> qa 0;
    # pixel 2: 2 dry, never wet -> qa 1; the high-slope bit (16) is ignored
    pv = [[[10, 5, 5]], [[20, 5, 5]], [[30, 5, 5]], [[40, 5, 5]], [[50, 5, 5]]]
    water = [[[0, 0, 0]], [[16, 0, 0]], [[0, 128, 64]], [[0, 64, 64]], [[0, 64, 64]]]
    p = resolve_plugin("fc-percentiles", count_valid=True)
    out = run(p, fc(pv, water))
    assert list(out.data_vars) == list(p.measurements)
    assert out["pv_pc_10"].values.tolist() == [[10, 255, 255]]
    assert out["pv_pc_50"].values.tolist() == [[30, 255, 255]]
    assert out["pv_pc_90"].values.tolist() == [[50, 255, 255]]
    assert out["npv_pc_90"].values.tolist() == [[90, 255, 255]]
    assert out["bs_pc_50"].values.tolist() == [[15, 255, 255]]
    assert out["qa"].values.tolist() == [[2, 0, 1]]
    assert out["count_valid"].values.tolist() == [[5, 2, 2]]
    for band, dtype in p.output_dtypes().items():
        assert out[band].dtype == dtype


def test_fc_ue_threshold_and_default_outputs():
    pv = np.full((3, 1, 2), 40)
    ue = np.array([[[5, 30]]] * 3)
    p = resolve_plugin("fc-percentiles", ue_threshold=30)
    out = run(p, fc(pv, np.zeros((3, 1, 2)), ue))
    assert "count_valid" not in out.data_vars  # odc-stats' default
    assert out["pv_pc_50"].values.tolist() == [[40, 255]]


def test_fc_same_day_mean_fuser_rounds():
    p = resolve_plugin("fc-percentiles")
    nt = p.native_transform(fc([[[10]], [[13]]], [[[0]], [[0]]]))
    fused = p.fuser(nt)
    assert fused["pv"].values.tolist() == [[[12]]]  # mean 11.5 -> 12 (half to even)


# ---- tcw-percentiles ------------------------------------------------------------------


TC = ("blue", "green", "red", "nir", "swir1", "swir2")


def tc_stack(values: dict[str, list], fmask, contiguity):
    data = {b: np.asarray(values[b], dtype="int16") for b in TC}
    data["fmask"] = np.asarray(fmask, dtype="uint8")
    data["nbart_contiguity"] = np.asarray(contiguity, dtype="uint8")
    attrs = {b: {"nodata": -999} for b in TC}
    attrs["fmask"] = FMASK_ATTRS
    return stack(data, attrs)


def test_tcw_indices_rounded_and_masked():
    # 3 dates x 1x3: blue = 1000..., only blue varies; wet = 0.0315 * blue + ...
    blue = [[[1000, 1000, 1000]], [[1100, 1100, 1100]], [[1200, 1200, -999]]]
    vals = {b: blue if b == "blue" else np.zeros((3, 1, 3)) for b in TC}
    fmask = [[[1, 2, 1]], [[1, 1, 1]], [[1, 1, 1]]]
    contig = [[[1, 1, 1]], [[1, 1, 0]], [[1, 1, 1]]]
    p = resolve_plugin("tcw-percentiles")
    nt = p.native_transform(tc_stack(vals, fmask, contig))
    # 0.0315 * 1100 = 34.65 -> 35 (odc-stats truncates to 34)
    assert nt["wet"].values[:, 0, 0].tolist() == [32, 35, 38]
    assert nt["wet"].values[:, 0, 1].tolist() == [-9999, 35, 38]   # cloud
    assert nt["wet"].values[:, 0, 2].tolist() == [32, -9999, -9999]  # non-contiguous, -999
    out = p.reduce(nt)
    assert list(out.data_vars) == list(p.measurements)
    assert out["wet_pc_50"].values.tolist() == [[35, -9999, -9999]]  # < 3 valid -> nodata
    assert out["bright_pc_90"].values[0, 0] == round(0.2043 * 1200)
    assert out["green_pc_10"].values[0, 0] == round(-0.1603 * 1200)
    assert all(out[b].dtype == np.int16 and out[b].attrs["nodata"] == -9999 for b in out.data_vars)


def test_tcw_cloud_filters_need_known_classes():
    with pytest.raises(ConfigError, match="did you mean 'shadow'"):
        resolve_plugin("tcw-percentiles", cloud_filters={"shadw": [["dilation", 1]]})

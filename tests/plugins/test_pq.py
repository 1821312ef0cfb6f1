"""Pixel-quality counts: pq (SCL) and pq-ls-bitmask (QA_PIXEL), hand-computed and
against odc-stats 1.9.14's StatsPQ."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from statscore.errors import ConfigError
from statscore.plugins import resolve_plugin

from .conftest import SCL_ATTRS, s2_scene, stack


def per_date(fuser, xx):
    """The fuser on each date on its own (each date is its own same-day group)."""
    return xr.concat([fuser(xx.isel(time=[i])) for i in range(xx.sizes["time"])], "time")


def run(plugin, ds):
    return plugin.reduce(per_date(plugin.fuser, plugin.native_transform(ds)))


def test_pq_counts_by_hand():
    # 3 dates x 2x2; clouds: 3 shadows, 8/9 cloud, 10 cirrus; 0 no data; others clear
    scl = np.array([[[4, 0], [8, 6]],
                    [[4, 0], [3, 11]],
                    [[9, 0], [10, 5]]], dtype="uint8")
    p = resolve_plugin("pq", filters={"clear_0_0": []})
    out = run(p, stack({"SCL": scl}, {"SCL": SCL_ATTRS}))
    assert list(out.data_vars) == ["total", "clear", "clear_0_0"]
    assert out["total"].values.tolist() == [[3, 0], [3, 3]]
    assert out["clear"].values.tolist() == [[2, 0], [0, 3]]
    assert out["clear_0_0"].values.tolist() == out["clear"].values.tolist()
    for band in out.data_vars:
        assert out[band].dtype == np.uint16
        assert "nodata" not in out[band].attrs  # 0 is a count, not missing


def test_pq_default_filters_grow_clouds_after_fusing():
    scl = np.full((1, 15, 15), 4, dtype="uint8")
    scl[0, 7, 7] = 9          # a speck: counted cloudy in clear and clear_0_5 only
    out = run(resolve_plugin("pq"), stack({"SCL": scl}, {"SCL": SCL_ATTRS}))
    assert list(out.data_vars) == ["total", "clear", "clear_2_5", "clear_0_5"]
    assert int((out["clear"].values == 0).sum()) == 1
    assert int((out["clear_2_5"].values == 0).sum()) == 0      # opening removes the speck
    disk5 = sum(1 for dy in range(-5, 6) for dx in range(-5, 6) if dx * dx + dy * dy <= 25)
    assert int((out["clear_0_5"].values == 0).sum()) == disk5  # dilation by 5


def test_pq_same_day_fuser_ors_the_masks():
    # two scenes of the same day: the cloud of one and the data of the other combine
    scl = np.array([[[0, 4]], [[9, 0]]], dtype="uint8")
    p = resolve_plugin("pq", filters={})
    fused = p.fuser(p.native_transform(stack({"SCL": scl}, {"SCL": SCL_ATTRS})))
    assert fused.sizes["time"] == 1
    assert fused["valid"].values.tolist() == [[[True, True]]]
    assert fused["erased"].values.tolist() == [[[True, False]]]


def test_pq_agrees_with_odc_stats(rng):
    from odc.stats.plugins.pq import StatsPQ

    ds = s2_scene(rng, 6, 40, 40, cloud=0.3)[["SCL"]]
    ds["SCL"].values[:, 10:17, 10:17] = 9
    ours = resolve_plugin("pq")
    a = run(ours, ds.copy(deep=True))
    ref = StatsPQ()
    # odc-stats fuses with xx.attrs["native"] set by its native_transform
    nt = ref.native_transform(ds.copy(deep=True))
    b = ref.reduce(per_date(lambda x: ref.fuser(x.assign_attrs(native=True)), nt)).compute()
    assert list(a.data_vars) == list(b.data_vars)
    for band in a.data_vars:
        assert (a[band].values == b[band].values).all(), band
        assert a[band].dtype == b[band].dtype


def test_pq_bad_filter_name():
    with pytest.raises(ConfigError, match="start with 'clear_'"):
        resolve_plugin("pq", filters={"buffered": [["dilation", 1]]})


# ---- pq-ls-bitmask --------------------------------------------------------------------


def test_pq_ls_bitmask_counts_and_aerosol():
    # QA_PIXEL: bit 0 fill, bit 2 cirrus, bit 3 cloud; SR_QA_AEROSOL bits 6-7 level 3 = high
    qa = np.array([[[0, 1, 1 << 3, 1 << 2]],
                   [[0, 0, 0, 0]]], dtype="uint16")
    aer = np.array([[[0, 0, 0, 0]],
                    [[0b1100_0000, 0b0100_0000, 0, 0b1100_0000]]], dtype="uint8")
    p = resolve_plugin("pq-ls-bitmask", aerosol_band="SR_QA_AEROSOL",
                       filters={"clear_1": [["dilation", 1]]},
                       aerosol_filters={"clear_1_aerosol": [["dilation", 1]]})
    out = run(p, stack({"QA_PIXEL": qa, "SR_QA_AEROSOL": aer}))
    assert list(out.data_vars) == ["total", "clear", "clear_1", "clear_aerosol", "clear_1_aerosol"]
    assert out["total"].values.tolist() == [[2, 1, 2, 2]]
    assert out["clear"].values.tolist() == [[2, 1, 1, 1]]
    # date 0's cloud at x=2 and cirrus at x=3 dilate onto x=1..3
    assert out["clear_1"].values.tolist() == [[2, 1, 1, 1]]
    assert out["clear_aerosol"].values.tolist() == [[1, 1, 1, 0]]
    assert out["clear_1_aerosol"].values.tolist() == [[1, 1, 1, 0]]
    assert all(out[b].dtype == np.uint16 for b in out.data_vars)


def test_pq_ls_bitmask_unknown_flag():
    with pytest.raises(ConfigError, match="did you mean 'cloud_shadow'"):
        resolve_plugin("pq-ls-bitmask", flags={"cloud_shadows": "high_confidence"})

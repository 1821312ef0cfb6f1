"""s2_gm_tools.S2Cloudless_percentiles: parity with odc-stats 1.9.14's
S2Cloudless_percentiles, with and without the mask band, and where we differ on
purpose (the mask is loaded when the product has it; percentiles follow output_bands).

The sample-data generator writes no s2cloudless bands: the parity tests on xarray
inputs stand in for an ``odc-stats run``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from statscore.errors import ConfigError
from statscore.plugins import resolve_plugin

from .conftest import class_flags, stack
from .odc_reference import assert_same_band, run_odc, run_ours

NAME = "s2_gm_tools.S2Cloudless_percentiles"
PROB, MASK = "oa_s2cloudless_prob", "oa_s2cloudless_mask"
OUT = [f"{PROB}_pc_5", f"{PROB}_pc_10", f"{PROB}_pc_25"]


def cloudless(rng: np.random.Generator, t: int = 14, ny: int = 7, nx: int = 8, mask: bool = True):
    """Probabilities (float32, NaN nodata) and the mask (0 nodata, 1 valid, 2 cloud);
    the mask says nodata at some pixels whose probability is a number; two passes share
    a day; some pixels have fewer than 3 valid observations."""
    prob = rng.random((t, ny, nx)).astype("float32")
    prob[rng.random(prob.shape) < 0.1] = np.nan
    prob[2:, 0, :4] = np.nan
    data = {PROB: prob}
    attrs = {PROB: {"nodata": float("nan")}}
    if mask:
        m = np.where(prob > 0.4, 2, 1).astype("uint8")
        m[np.isnan(prob)] = 0
        m[rng.random(m.shape) < 0.1] = 0
        data[MASK], attrs[MASK] = m, {"nodata": 0, "flags_definition": class_flags(
            {0: "nodata", 1: "valid", 2: "cloud"}, "s2cloudless")}
    ds = stack(data, attrs)
    times = ds["time"].values.copy()
    times[5] = times[4] + np.timedelta64(2, "h")
    return ds.assign_coords(time=times)


def _odc(**config):
    from odc.stats.plugins.cloud_proba_percentiles import S2Cloudless_percentiles

    return S2Cloudless_percentiles(**config)


def _same(ours, theirs):
    assert list(ours.data_vars) == list(theirs.data_vars) == OUT
    for band in OUT:
        assert ours[band].dtype == theirs[band].dtype == np.float32, band
        assert math.isnan(ours[band].attrs["nodata"])
        assert_same_band(ours[band], theirs[band])  # percentiles exact


def test_matches_odc_stats_without_a_mask_band(rng):
    xx = cloudless(rng, mask=False)
    p = resolve_plugin(NAME)
    assert p.measurements == tuple(OUT)
    _same(run_ours(p, xx), run_odc(_odc(), xx))


def test_matches_odc_stats_when_both_mask(rng):
    """odc-stats masks only when ``bands`` lists the mask band; we load it whenever the
    product has it (an optional band): on the same inputs the results agree."""
    xx = cloudless(rng)
    ours = run_ours(resolve_plugin(NAME), xx)
    theirs = run_odc(_odc(bands=[PROB, MASK]), xx)
    _same(ours, theirs)
    assert np.isnan(ours[OUT[0]].values[0, :4]).all()  # fewer than 3 valid: NaN


def test_default_config_masks_where_odc_stats_does_not(rng):
    """Deliberate difference: odc-stats' default never loads the mask band, so its
    ``nodata_classes`` do nothing; ours erases them."""
    xx = cloudless(rng)
    p = resolve_plugin(NAME)
    assert p.input_bands == (PROB,) and p.optional_bands == (MASK,)
    assert p.resampling_for(PROB) == "cubic" and p.resampling_for(MASK) == "nearest"
    ours = run_ours(p, xx)
    theirs_default = run_odc(_odc(), xx[[PROB]])  # what odc-stats loads: the probability only
    same_as_unmasked = run_ours(resolve_plugin(NAME, mask_band=None), xx)
    _same(same_as_unmasked, theirs_default)
    assert any((np.nan_to_num(ours[b].values, nan=-1) != np.nan_to_num(theirs_default[b].values, nan=-1)).any()
               for b in OUT)


def test_output_bands_choose_the_percentiles(rng):
    xx = cloudless(rng, mask=False)
    p = resolve_plugin(NAME, output_bands=[f"{PROB}_pc_50", f"{PROB}_pc_90"])
    out = run_ours(p, xx)
    assert list(out.data_vars) == [f"{PROB}_pc_50", f"{PROB}_pc_90"]
    # nearest rank by hand at one pixel: the fused day keeps its first valid value
    px = xx[PROB].values[:, 3, 3]
    day = px[4] if not np.isnan(px[4]) else px[5]
    fused = np.concatenate([px[:4], [day], px[6:]])
    v = np.sort(fused[~np.isnan(fused)])
    assert out[f"{PROB}_pc_90"].values[3, 3] == v[int(np.rint(0.9 * (len(v) - 1)))]
    with pytest.raises(ConfigError, match="not named"):
        resolve_plugin(NAME, output_bands=["cloud_p5"])
    with pytest.raises(ConfigError, match="float32"):
        resolve_plugin(NAME, output_dtype="uint8")

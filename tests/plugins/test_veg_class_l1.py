"""veg_class_l1 (land-cover level 3, module A1): parity with odc-stats 1.9.14's
StatsVegClassL1, and the neighbourhood fill against odc-stats' ``replace_nodata_with_mode``.

Its inputs are the land-cover chain's outputs (geomedian, WOfS summary, DEM, veg_count,
mangroves), which the sample-data generator does not write: the parity test on xarray
inputs stands in for an ``odc-stats run``.
"""

from __future__ import annotations

import numpy as np
import pytest

from statscore.algo.mode_fill import fill_with_mode
from statscore.errors import ConfigError
from statscore.plugins import resolve_plugin

from .conftest import stack
from .odc_reference import assert_same_band, run_odc, run_ours

CLASSES = {"aquatic_veg_wood": 124, "aquatic_veg_herb": 125, "terrestrial_veg": 110, "water": 221,
           "intertidal": 223, "surface": 210}


def year(rng: np.random.Generator, ny: int = 20, nx: int = 23):
    """One year of the chain's outputs, mixed so that every rule fires somewhere."""
    shape = (1, ny, nx)

    def some(a, p, value):
        a[rng.random(shape) < p] = value
        return a

    blue = some(rng.integers(200, 2500, shape).astype("int16"), 0.05, -999)
    green = rng.integers(200, 2500, shape).astype("int16")
    red = rng.integers(200, 2500, shape).astype("int16")
    freq = some(some(rng.random(shape).astype("float32") * 0.4, 0.05, np.nan), 0.1, 0.2)
    dem = some((rng.random(shape) * 12).astype("float32"), 0.05, np.nan)
    veg = some(some(rng.integers(0, 13, shape).astype("uint8"), 0.3, 255), 0.05, 1)
    wet = some(rng.integers(0, 101, shape).astype("uint8"), 0.1, 255)
    elevation = some(np.full(shape, np.nan, "float32"), 0.1, 0.5)
    canopy = some(some(np.zeros(shape, "uint8"), 0.1, 2), 0.05, 255)
    nd = lambda v: {"nodata": v}  # noqa: E731
    return stack({"nbart_blue": blue, "nbart_green": green, "nbart_red": red, "frequency": freq, "dem_h": dem,
                  "veg_frequency": veg, "wet_percentage": wet, "elevation": elevation,
                  "canopy_cover_class": canopy},
                 {"nbart_blue": nd(-999), "nbart_green": nd(-999), "nbart_red": nd(-999),
                  "frequency": nd(float("nan")), "dem_h": nd(float("nan")), "veg_frequency": nd(255),
                  "wet_percentage": nd(255), "elevation": nd(float("nan")), "canopy_cover_class": nd(255)})


@pytest.mark.parametrize("optional", [[], ["elevation", "canopy_cover_class"], ["canopy_cover_class", "elevation"]])
def test_matches_odc_stats_exactly(rng, optional):
    from odc.stats.plugins.lc_veg_class_a1 import StatsVegClassL1

    xx = year(rng)
    cfg = {"output_classes": CLASSES, "optional_bands": optional, "measurements": ["level_3_4"]}
    odc = StatsVegClassL1(input_bands=list(resolve_plugin("veg_class_l1", cfg).input_bands), **cfg)
    ours = run_ours(resolve_plugin("veg_class_l1", cfg), xx)
    theirs = run_odc(odc, xx.chunk())  # odc-stats' expressions need dask arrays
    assert list(ours.data_vars) == list(theirs.data_vars) == ["level_3_4"]
    a, b = ours["level_3_4"], theirs["level_3_4"]
    assert a.dtype == b.dtype == np.uint8 and a.attrs["nodata"] == b.attrs["nodata"] == 255
    assert_same_band(a, b)  # classes exact
    want = {110, 210, 221, 255} | ({124, 125, 223} if optional else set())
    assert want <= set(np.unique(a.values))


def test_mode_fill_matches_odc_stats_on_random_maps(rng):
    import dask.array as da
    from odc.stats.plugins._utils import replace_nodata_with_mode

    for _ in range(20):
        shape = tuple(rng.integers(3, 25, 2))
        m = rng.choice([0, 0, 110, 210, 221, 223, 254, 254, 254, 254], size=shape).astype("uint8")
        for size in (3, 5):
            want = replace_nodata_with_mode(da.from_array(m, chunks=-1), target_value=254, exclude_values=[0],
                                            neighbourhood_size=size).compute()
            assert (fill_with_mode(m, 254, (0,), size // 2) == want).all(), (shape, size)


def test_mode_fill_by_hand():
    m = np.array([[1, 2, 2, 9],
                  [9, 9, 9, 9],
                  [9, 9, 9, 9],
                  [9, 9, 9, 3]], "uint8")
    out = fill_with_mode(m, 9, (), radius=1)
    assert out[0, 3] == 2 and out[1, 0] == 1 and out[2, 2] == 3  # (1, 0): 1 twice (the edge repeats), 2 once
    assert out[2, 0] == 9  # nothing within 1 pixel
    assert fill_with_mode(m, 9, (), radius=2)[2, 0] == 1  # the 5 x 5 window: three 1s, two 2s


def test_reduce_margin_covers_the_fill_and_config_is_checked():
    p = resolve_plugin("veg_class_l1", output_classes=CLASSES)
    assert p.reduce_margin == 2 and p.measurements == ("level_3_4",)
    with pytest.raises(ConfigError, match="lacks 'intertidal'"):
        resolve_plugin("veg_class_l1", output_classes={k: v for k, v in CLASSES.items() if k != "intertidal"})
    with pytest.raises(ConfigError, match="lacks .*'dem_h'"):
        resolve_plugin("veg_class_l1", output_classes=CLASSES, input_bands=["nbart_blue"])

"""lccs_level34 (land-cover levels 3 and 4 from a class-definition CSV): parity with
odc-stats 1.9.14's StatsLccsLevel4, the rule reader, and the errors.

Its inputs are the land-cover chain's outputs, which the sample-data generator does not
write: the parity test on xarray inputs stands in for an ``odc-stats run``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

from statscore.errors import ConfigError
from statscore.plugins import resolve_plugin
from statscore.plugins.landcover import read_class_rules

from .odc_reference import assert_same_band, run_odc, run_ours

GBOX = GeoBox.from_bbox((1_500_000, -4_000_000, 1_503_000, -3_997_600), "EPSG:3577", resolution=100)
CONDITION = {"level3": ["level_3_4"], "level4": ["level3", "veg_frequency", "water_season"]}
CSV = """level3,level4,level_3_4,veg_frequency,water_season
110,1,110,"[0, 4)",255
110,2,110,"[4, 8)",255
110,3,110,>=8,255
210,10,210,255,255
221,20,221,255,1
221,21,221,255,2
124,30,124,255,255
215,93,215,255,255
216,94,216,255,255
"""
BANDS = ["level_3_4", "artificial_surface", "veg_frequency", "water_season"]


@pytest.fixture
def files(tmp_path):
    csv = tmp_path / "classes.csv"
    csv.write_text(CSV)
    outline = GBOX.extent.to_crs("EPSG:4326").boundingbox
    x0, y0, x1, y1 = outline.left, outline.bottom, outline.right, outline.top
    xm = (x0 + x1) / 2

    def feature(kind, ring):
        return {"type": "Feature", "properties": {"kind": kind}, "geometry": {"type": "Polygon", "coordinates": [ring]}}

    urban = tmp_path / "urban.geojson"
    urban.write_text(json.dumps({"type": "FeatureCollection", "features": [
        feature("urban", [[x0 - 1, y0 - 1], [xm, y0 - 1], [xm, y1 + 1], [x0 - 1, y1 + 1], [x0 - 1, y0 - 1]]),
        feature("rural", [[xm, y0 - 1], [x1 + 1, y0 - 1], [x1 + 1, y1 + 1], [xm, y1 + 1], [xm, y0 - 1]])]}))
    return csv, urban


def chain(rng: np.random.Generator) -> xr.Dataset:
    ny, nx = GBOX.shape.yx
    shape = (1, ny, nx)
    data = {"level_3_4": rng.choice([110, 110, 124, 210, 221, 255, 0], size=shape).astype("uint8"),
            "artificial_surface": rng.choice([215, 0, 0, 0, 255], size=shape).astype("uint8"),
            "veg_frequency": rng.choice([*range(13), 255], size=shape).astype("uint8"),
            "water_season": rng.choice([1, 2, 255], size=shape).astype("uint8")}
    coords = {**xr_coords(GBOX), "time": pd.to_datetime(["2020-01-01"]).values}
    return xr.Dataset({k: (("time", "y", "x"), v, {"nodata": 255}) for k, v in data.items()}, coords=coords)


@pytest.mark.parametrize("threshold", [None, 0.3])
def test_matches_odc_stats_exactly(rng, files, threshold):
    from odc.stats.plugins.lc_level34 import StatsLccsLevel4

    csv, urban = files
    cfg = {"class_def_path": str(csv), "class_condition": CONDITION, "urban_mask": str(urban),
           "filter_expression": "kind = 'urban'", "mask_threshold": threshold, "measurements": ["level3", "level4"]}
    xx = chain(rng)
    ours = run_ours(resolve_plugin("lccs_level34", cfg, input_bands=BANDS), xx)
    theirs = run_odc(StatsLccsLevel4(input_bands=BANDS, **cfg), xx.chunk())
    assert list(ours.data_vars) == list(theirs.data_vars) == ["level3", "level4"]
    for band in ("level3", "level4"):
        assert ours[band].dtype == theirs[band].dtype == np.uint8 and ours[band].attrs["nodata"] == 255
        assert_same_band(ours[band], theirs[band])  # classes exact
    l3, l4 = ours["level3"].values, ours["level4"].values
    assert {110, 124, 210, 215, 221, 255} <= set(np.unique(l3)) and (216 in l3) == (threshold is None)
    assert {1, 2, 3, 10, 20, 21, 30, 93} <= set(np.unique(l4))


def test_rules_as_odc_stats_reads_them(files):
    csv, _ = files
    rules = read_class_rules(csv, CONDITION)
    assert [r.value for r in rules["level3"]] == [110, 210, 221, 124, 215, 216]  # duplicates dropped
    by_class = {r.value: r for r in rules["level4"]}
    assert by_class[1].tests == [("level3", "==", 110), ("veg_frequency", ">=", 0.0), ("veg_frequency", "<", 4.0)]
    assert by_class[3].text == "where((level3==110)&(veg_frequency>=8.0), 3, res)"
    assert by_class[30].tests == [("level3", "==", 124)]  # 255 and empty cells do not constrain
    lengths = [len(r.text) for r in rules["level4"]]
    assert lengths == sorted(lengths)


def test_errors_name_the_file_and_cell(files, tmp_path):
    csv, urban = files
    base = {"class_condition": CONDITION, "urban_mask": str(urban), "input_bands": BANDS}
    with pytest.raises(ConfigError, match="nowhere.csv.*no such file"):
        resolve_plugin("lccs_level34", class_def_path=str(tmp_path / "nowhere.csv"), **base)
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV.replace(">=8", "lots"))
    with pytest.raises(ConfigError, match="bad.csv.*line 4 veg_frequency: cannot read rule 'lots'"):
        resolve_plugin("lccs_level34", class_def_path=str(bad), **base)
    with pytest.raises(ConfigError, match="no column.*'water_seasons'"):
        resolve_plugin("lccs_level34", class_def_path=str(csv), **{
            **base, "class_condition": {"level3": ["level_3_4"], "level4": ["level3", "water_seasons"]}})
    with pytest.raises(ConfigError, match="input_bands lacks 'veg_frequency'"):
        resolve_plugin("lccs_level34", class_def_path=str(csv), **{**base, "input_bands": BANDS[:2] + BANDS[3:]})
    with pytest.raises(ConfigError, match="urban_mask.*no features match"):
        resolve_plugin("lccs_level34", class_def_path=str(csv), filter_expression="kind = 'town'", **base)


def test_a_column_with_gaps_reads_where_odc_stats_fails(files, tmp_path):
    """Deliberate difference: pandas reads a column with an empty cell as floats ('2.0');
    odc-stats then fails on every cell of it, we read '2.0' as 2 and the gap as no test."""
    from odc.stats.plugins.lc_level34 import StatsLccsLevel4

    _, urban = files
    gaps = tmp_path / "gaps.csv"
    gaps.write_text(CSV.replace("221,20,221,255,1", "221,20,221,255,").replace("221,21,221,255,2", "221,21,221,,2"))
    rules = read_class_rules(gaps, CONDITION)["level4"]
    assert [r.tests for r in rules if r.value in (20, 21)] == [[("level3", "==", 221)],
                                                               [("level3", "==", 221), ("water_season", "==", 2)]]
    with pytest.raises(ValueError):
        StatsLccsLevel4(class_def_path=str(gaps), class_condition=CONDITION, urban_mask=str(urban),
                        filter_expression="kind = 'urban'", input_bands=BANDS,
                        measurements=["level3", "level4"]).reduce(chain(np.random.default_rng(1)).chunk())

"""mangroves: parity with odc-stats 1.9.14's Mangroves on one year's fc/tcw percentile
summaries with an extent polygon, and the extent file handling.

Its inputs are fc-percentiles and tcw-percentiles summaries, which the sample-data
generator does not write: the parity test on xarray inputs stands in for an
``odc-stats run``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

from statscore.errors import ConfigError, InputError
from statscore.plugins import resolve_plugin
from statscore.plugins._vector import read_geojson
from statscore.plugins.mangroves import NODATA, read_extent

from .conftest import stack
from .odc_reference import assert_same_band, run_odc, run_ours

GBOX = GeoBox.from_bbox((1_500_000, -4_000_000, 1_503_000, -3_997_600), "EPSG:3577", resolution=100)
"""30 x 24 pixels of 100 m on the Australian Albers grid (near Cairns)."""


@pytest.fixture
def extent(tmp_path):
    """A lon/lat polygon over part of the tile (so both inside and outside are tested)."""
    outline = GBOX.extent.to_crs("EPSG:4326").boundingbox
    x0, y0, x1, y1 = outline.left, outline.bottom, outline.right, outline.top
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    ring = [[x0 - 1, y0 - 1], [xm, y0 - 1], [xm + 0.004, ym], [x0 - 1, y1 + 1], [x0 - 1, y0 - 1]]
    path = tmp_path / "extent.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    return path


def summary(rng: np.random.Generator) -> xr.Dataset:
    ny, nx = GBOX.shape.yx
    pv = rng.integers(0, 101, (1, ny, nx)).astype("uint8")
    pv[rng.random(pv.shape) < 0.05] = 255
    qa = rng.choice([0, 1, 2, 2, 2], size=(1, ny, nx)).astype("uint8")
    wet = rng.integers(-4000, 1000, (1, ny, nx)).astype("int16")
    wet[rng.random(wet.shape) < 0.05] = -9999
    coords = {**xr_coords(GBOX), "time": pd.to_datetime(["2020-01-01"]).values}
    dims = ("time", "y", "x")
    return xr.Dataset({"pv_pc_10": (dims, pv, {"nodata": 255}), "qa": (dims, qa, {"nodata": 255}),
                       "wet_pc_10": (dims, wet, {"nodata": -9999})}, coords=coords)


@pytest.mark.parametrize("config", [{}, {"pv_thresholds": [20, 50, 70], "tcw_threshold": -2500}])
def test_matches_odc_stats_exactly(rng, extent, config):
    from odc.stats.plugins.mangroves import Mangroves

    xx = summary(rng)
    p = resolve_plugin("mangroves", mangroves_extent=str(extent), **config)
    ours = run_ours(p, xx)
    theirs = run_odc(Mangroves(mangroves_extent=str(extent), **config), xx.chunk())
    assert list(ours.data_vars) == list(theirs.data_vars) == ["canopy_cover_class"]
    a, b = ours["canopy_cover_class"], theirs["canopy_cover_class"]
    assert a.dtype == b.dtype == np.uint8 and a.attrs["nodata"] == b.attrs["nodata"] == NODATA
    assert_same_band(a, b)  # classes exact
    assert set(np.unique(a.values)) == {0, 1, 2, 3, NODATA}
    inside = p.extent_mask(a)
    assert inside.any() and not inside.all() and (a.values[~inside] == NODATA).all()


def test_extent_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"needs plugin_config key\(s\) 'mangroves_extent'"):
        resolve_plugin("mangroves")
    with pytest.raises(ConfigError, match="nowhere.shp.*no such file"):
        resolve_plugin("mangroves", mangroves_extent=str(tmp_path / "nowhere.shp"))
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.geojson.*cannot read"):
        resolve_plugin("mangroves", mangroves_extent=str(bad))


def test_geojson_reader_without_geopandas_reads_the_same_polygon(extent):
    """Without geopandas (not a product dependency) a GeoJSON extent still works."""
    plain, via_gpd = read_geojson(extent), read_extent(extent)
    assert plain.crs == via_gpd.crs and plain.geom.equals(via_gpd.geom)


def test_input_without_a_grid_is_an_input_error(rng, extent):
    plain = summary(rng)
    xx = stack({b: plain[b].values for b in plain.data_vars})  # y/x coordinates without a CRS
    with pytest.raises(InputError, match="no CRS"):
        run_ours(resolve_plugin("mangroves", mangroves_extent=str(extent)), xx)


def test_same_day_summaries_of_adjacent_tiles_are_fused_where_odc_stats_fails(rng, extent):
    """Deliberate difference: two summaries on one day (adjacent input tiles, each nodata
    outside itself) are fused first-valid; odc-stats' identity fuser keeps both slices and
    its ``reduce`` cannot squeeze them."""
    from odc.stats.plugins.mangroves import Mangroves

    whole = summary(rng)
    nx = whole.sizes["x"]
    left, right = whole.copy(deep=True), whole.copy(deep=True)
    for band, nodata in (("pv_pc_10", 255), ("qa", 255), ("wet_pc_10", -9999)):
        left[band][:, :, nx // 2:] = nodata
        right[band][:, :, : nx // 2] = nodata
    right = right.assign_coords(time=whole["time"].values + np.timedelta64(1, "h"))
    both = xr.concat([left, right], "time")
    p = resolve_plugin("mangroves", mangroves_extent=str(extent))
    assert (run_ours(p, both)["canopy_cover_class"].values == run_ours(p, whole)["canopy_cover_class"].values).all()
    with pytest.raises(ValueError):
        run_odc(Mangroves(mangroves_extent=str(extent)), both.chunk())

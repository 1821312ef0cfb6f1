"""wofs-summary-fh: parity with odc-stats 1.9.14's StatsWofsFullHistory on per-period
summaries, the one place we differ on purpose (int16 overflow), and a chain of
``odc-stats run``s: monthly wofs-summary outputs summed equal the quarter's summary.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from statscore.errors import ConfigError
from statscore.plugins import resolve_plugin

from .conftest import stack
from .odc_reference import assert_same_band, run_odc, run_ours

ND = -999


def summaries(rng: np.random.Generator, t: int = 6, ny: int = 8, nx: int = 9, nodata: int = ND):
    """Yearly summaries: clear 0..40, wet <= clear, nodata scattered, one pixel never
    observed, one never clear."""
    clear = rng.integers(0, 41, (t, ny, nx)).astype("int16")
    wet = (clear * rng.random((t, ny, nx))).astype("int16")
    gone = rng.random((t, ny, nx)) < 0.15
    clear[gone], wet[gone] = nodata, nodata
    wet[rng.random((t, ny, nx)) < 0.05] = nodata  # wet nodata where clear is not: adds nothing
    clear[:, 0, 0], wet[:, 0, 0] = nodata, nodata
    clear[:, 0, 1], wet[:, 0, 1] = 0, 0
    attrs = {"nodata": nodata, "units": "1"}
    return stack({"count_wet": wet, "count_clear": clear}, {"count_wet": attrs, "count_clear": attrs})


def test_matches_odc_stats_exactly(rng):
    from odc.stats.plugins.wofs import StatsWofsFullHistory

    xx = summaries(rng)
    p = resolve_plugin("wofs-summary-fh")
    ours, theirs = run_ours(p, xx), run_odc(StatsWofsFullHistory(), xx)
    assert list(ours.data_vars) == list(p.measurements) == ["count_wet", "count_clear", "frequency"]
    assert set(theirs.data_vars) == set(ours.data_vars)
    for band in p.measurements:
        assert ours[band].dtype == theirs[band].dtype, band
        assert_same_band(ours[band], theirs[band])  # counts and frequency exact
        nd_ours, nd_theirs = ours[band].attrs["nodata"], theirs[band].attrs["nodata"]
        assert nd_ours == nd_theirs or (math.isnan(nd_ours) and math.isnan(nd_theirs)), band
    assert ours["count_clear"].values[0, 0] == ND and math.isnan(ours["frequency"].values[0, 0])
    assert ours["count_clear"].values[0, 1] == 0 and math.isnan(ours["frequency"].values[0, 1])
    assert p.NAME == StatsWofsFullHistory.NAME and p.VERSION == StatsWofsFullHistory.VERSION


def test_sums_by_hand_and_other_input_nodata():
    # input nodata -1 is translated to the output's -999
    wet = np.array([[[2, -1, -1]], [[3, 1, -1]]], "int16")
    clear = np.array([[[4, 5, -1]], [[6, 1, -1]]], "int16")
    xx = stack({"count_wet": wet, "count_clear": clear},
               {"count_wet": {"nodata": -1}, "count_clear": {"nodata": -1}})
    out = run_ours(resolve_plugin("wofs-summary-fh"), xx)
    assert out["count_wet"].values.tolist() == [[5, 1, ND]]
    assert out["count_clear"].values.tolist() == [[10, 6, ND]]
    assert out["frequency"].values[0, :2].tolist() == pytest.approx([0.5, 1 / 6])


def test_counts_past_int16_saturate_where_odc_stats_wraps():
    """Deliberate difference: odc-stats adds the counts in int16 and wraps past 32767 to
    negative counts; we add in int32 and clip to 32767 (frequency from the exact sums)."""
    from odc.stats.plugins.wofs import StatsWofsFullHistory

    clear = np.full((3, 1, 1), 20_000, "int16")
    wet = np.full((3, 1, 1), 10_000, "int16")
    attrs = {"nodata": ND}
    xx = stack({"count_wet": wet, "count_clear": clear}, {"count_wet": attrs, "count_clear": attrs})
    ours = run_ours(resolve_plugin("wofs-summary-fh"), xx)
    theirs = run_odc(StatsWofsFullHistory(), xx)
    assert ours["count_clear"].item() == 32767 and ours["count_wet"].item() == 30_000
    assert ours["frequency"].item() == pytest.approx(0.5)
    assert theirs["count_clear"].item() == np.int16(60_000 - 65_536)  # wrapped negative


TILE = 192
"""Tile pixels: large enough to hold some water and cloud of the generated scenes."""

SUMMARY_PRODUCT = """\
name: ga_ls_wo_summary
description: WOfS summaries written by odc-stats run --plugin wofs-summary (this test)
metadata_type: eo3
license: CC-BY-4.0
metadata: {product: {name: ga_ls_wo_summary}}
measurements:
  - {name: count_wet, dtype: int16, nodata: -999, units: "1"}
  - {name: count_clear, dtype: int16, nodata: -999, units: "1"}
  - {name: frequency, dtype: float32, nodata: NaN, units: "1"}
"""


def test_summary_of_monthly_summaries_equals_the_quarter(tmp_path_factory, tmp_path):
    """End to end through ``odc-stats``: wofs-summary per month of generated WOfS, those
    three summaries planned and summed by wofs-summary-fh, equal to wofs-summary over the
    whole quarter, pixel for pixel."""
    import rasterio

    from benchmarks._runscene import make_ls_task
    from statscore.period import Period
    from statscore.plan import SaveTasksRequest, save_tasks
    from statscore.run import TaskReader
    from statscore.task import TileRange

    from .test_ndvi_median import run_cli

    root = tmp_path_factory.mktemp("wo")
    quarter = make_ls_task(root, TILE, "ga_ls_wo_3")
    reader = TaskReader(str(quarter))
    (tile, _), = reader.tasks.items()
    grid = f"epsg:{reader.gridspec.crs.epsg};15;{TILE}"
    tiles = TileRange(tile.x, tile.x + 1, tile.y, tile.y + 1)
    span = Period.parse("2020-01--P3M")
    monthly = tmp_path / "monthly.db"
    wofs = f"{root}/products/ga_ls_wo_3.odc-product.yaml-{root}/data/ga_ls_wo_3/090/084/**/*.odc-metadata.yaml"
    save_tasks(SaveTasksRequest(output=str(monthly), grid=grid, frequency="monthly", temporal_range=span, tiles=tiles,
                                overwrite=True, input_products=wofs))
    nearest = {"resampling": "nearest"}
    r = run_cli(monthly, "wofs-summary", nearest, tmp_path / "months", task=None)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(list((tmp_path / "months").rglob("*.odc-metadata.yaml"))) == 3
    (tmp_path / "summary.odc-product.yaml").write_text(SUMMARY_PRODUCT)
    history = tmp_path / "history.db"
    save_tasks(SaveTasksRequest(
        output=str(history), grid=grid, frequency="all", temporal_range=span, tiles=tiles, overwrite=True,
        input_products=f"{tmp_path}/summary.odc-product.yaml-{tmp_path}/months/**/*.odc-metadata.yaml"))
    assert run_cli(history, "wofs-summary-fh", nearest, tmp_path / "fh").returncode == 0
    assert run_cli(quarter, "wofs-summary", nearest, tmp_path / "quarter").returncode == 0

    def bands(folder):
        (item,) = folder.rglob("*.stac-item.json")
        prefix = str(item)[: -len(".stac-item.json")]
        out = {}
        for b in ("count_wet", "count_clear", "frequency"):
            with rasterio.open(f"{prefix}_{b}.tif") as src:
                out[b] = src.read(1)
        return out

    fh, whole = bands(tmp_path / "fh"), bands(tmp_path / "quarter")
    for b in ("count_wet", "count_clear"):
        np.testing.assert_array_equal(fh[b], whole[b], err_msg=b)
    np.testing.assert_array_equal(fh["frequency"], whole["frequency"])
    clear = whole["count_clear"]
    assert whole["count_wet"].max() > 0 and clear.min() < clear.max()  # some water, some cloud


def test_nodata_must_fit_int16():
    with pytest.raises(ConfigError, match="int16"):
        resolve_plugin("wofs-summary-fh", nodata=40_000)

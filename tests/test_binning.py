"""Binning: the real odc-stats caches re-binned give back their tasks; solar-day edges."""

from datetime import datetime

import numpy as np
import pytest
import shapely
from odc.dscache import DatasetCache

from statscore.binning import bin_datasets, solar_offset_hours, tile_hits
from statscore.grid import GRIDS, parse_grid
from statscore.period import Period
from statscore.task import TileRange, parse_task


def _columns(cache: DatasetCache):
    dss = list(cache.get_all())
    geoms = np.array([ds.extent.geom for ds in dss], dtype=object)
    crs = np.array([str(ds.extent.crs) for ds in dss], dtype=object)
    times = np.array([np.datetime64(ds.center_time.replace(tzinfo=None), "us") for ds in dss])
    ids = np.array([str(ds.id) for ds in dss])
    return ids, geoms, crs, times


def _expected(cache: DatasetCache):
    return {parse_task(name): {str(u) for u in cache.get_group(name)} for name, _ in cache.groups()}


def test_rebinning_ls8_cache_reproduces_all_1487_tasks(ls8_cache):
    cache = DatasetCache.open_ro(str(ls8_cache))
    ids, geoms, crs, times = _columns(cache)
    assert len(ids) == 2470
    gs = cache.grids["au-30"]
    assert gs == parse_grid("au-30")[1]
    plan = bin_datasets(gs, geoms, crs, times, "annual", temporal_range=Period.parse("2015-01--P3M"))
    got = {t: set(ids[m]) for t, m in zip(plan.tasks, plan.members)}
    expected = _expected(cache)
    assert len(expected) == 1487
    assert got.keys() == expected.keys()
    assert all(got[k] == expected[k] for k in expected)
    assert plan.tasks == sorted(plan.tasks)


def test_rebinning_s2_cache_with_tile_range(s2_cache):
    cache = DatasetCache.open_ro(str(s2_cache))
    ids, geoms, crs, times = _columns(cache)
    (gname,) = cache.grids
    plan = bin_datasets(cache.grids[gname], geoms, crs, times, "annual",
                        temporal_range=Period.parse("2019--P1Y"), tiles=TileRange(5, 6, 6, 7))
    got = {t: set(ids[m]) for t, m in zip(plan.tasks, plan.members)}
    assert got == _expected(cache)
    assert len(got[parse_task("2019--P1Y/5/6")]) == 221


def test_footprint_goes_to_every_tile_it_touches_and_only_those():
    gs = GRIDS["au_30"]
    x0, y0 = -2112000.0, -3072000.0  # corner of tile (6, 25)
    inside = shapely.box(x0 + 10, y0 + 10, x0 + 20, y0 + 20)
    across = shapely.box(x0 - 10, y0 + 10, x0 + 10, y0 + 20)
    diagonal = shapely.Polygon([(x0 - 50_000, y0 + 1_000), (x0 - 1_000, y0 + 50_000), (x0 - 50_000, y0 + 50_000)])
    hits = tile_hits(gs, np.array([inside, across, diagonal, None], dtype=object), "EPSG:3577")
    pairs = {(int(r), int(x), int(y)) for r, x, y in zip(hits.rows, hits.ix, hits.iy)}
    assert pairs == {(0, 6, 25), (1, 5, 25), (1, 6, 25), (2, 5, 25)}
    assert list(hits.no_footprint) == [3]


def test_solar_offset_formula_matches_odc_stats():
    gs = GRIDS["global_30"]
    from odc.dscache.tools import solar_offset

    for idx in [(0, 80), (5, 100), (180, 60), (200, 40), (361, 77)]:
        ours = int(solar_offset_hours(gs, np.array([idx[0]]), np.array([idx[1]]))[0])
        ref = solar_offset(gs.tile_geobox(idx).extent)
        assert ours * 3600 == ref.total_seconds(), idx


def _one_tile_dataset(lon: float, lat: float, utc: str):
    """A small footprint in EPSG:4326 at (lon, lat) on the global grid."""
    g = shapely.box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
    return np.array([g], dtype=object), np.array([np.datetime64(utc, "us")])


@pytest.mark.parametrize(
    "lon,utc,period",
    [
        (170.0, "2019-12-31T14:00", "2020--P1Y"),   # +11 h: already New Year's Day locally
        (170.0, "2019-12-31T12:00", "2019--P1Y"),   # +11 h: 23:00 on Dec 31st
        (-170.0, "2020-01-01T05:00", "2019--P1Y"),  # -11 h: still Dec 31st locally
        (-170.0, "2020-01-01T12:00", "2020--P1Y"),
        (0.5, "2019-12-31T23:59:59", "2019--P1Y"),  # 0 h: UTC day
    ],
)
def test_solar_day_decides_the_year_at_high_longitudes(lon, utc, period):
    geoms, times = _one_tile_dataset(lon, -20.0, utc)
    plan = bin_datasets(GRIDS["global_30"], geoms, "EPSG:4326", times, "annual")
    assert [t.period for t in plan.tasks] == [period]


def test_temporal_range_prunes_by_solar_day():
    # 2019-12-31T14:00Z at 170E is 2020-01-01T01:00 solar: outside 2019, inside 2020
    geoms, times = _one_tile_dataset(170.0, -20.0, "2019-12-31T14:00")
    gs = GRIDS["global_30"]
    assert len(bin_datasets(gs, geoms, "EPSG:4326", times, "annual", temporal_range=Period.parse("2019--P1Y"))) == 0
    plan = bin_datasets(gs, geoms, "EPSG:4326", times, "monthly", temporal_range=Period.parse("2020--P1Y"))
    assert [t.period for t in plan.tasks] == ["2020-01--P1M"]


def test_rolling_windows_put_a_dataset_in_several_tasks():
    geoms, times = _one_tile_dataset(147.0, -35.0, "2020-03-15T00:00")
    plan = bin_datasets(GRIDS["au_30"], geoms, "EPSG:4326", times, "rolling-3months",
                        temporal_range=Period.parse("2020--P1Y"))
    assert [t.period for t in plan.tasks] == ["2020-01--P3M", "2020-02--P3M", "2020-03--P3M"]
    assert all(list(m) == [0] for m in plan.members)


def test_chunked_binning_equals_one_pass(ls8_cache):
    cache = DatasetCache.open_ro(str(ls8_cache))
    ids, geoms, crs, times = _columns(cache)
    gs = cache.grids["au-30"]
    a = bin_datasets(gs, geoms, crs, times, "monthly")
    seen = []
    b = bin_datasets(gs, geoms, crs, times, "monthly", chunk=333, progress=seen.append)
    assert a.tasks == b.tasks
    assert all((x == y).all() for x, y in zip(a.members, b.members))
    assert seen[-1] == len(ids) and seen == sorted(seen)


def test_compiled_polygon_box_test_agrees_with_shapely():
    from statscore.binning import _intersects_boxes

    rng = np.random.default_rng(3)
    n = 3000
    cx, cy = rng.uniform(0, 100, n), rng.uniform(0, 100, n)
    polys = []
    for i in range(n):  # random star-shaped polygons, some with holes, some touching box edges
        k = rng.integers(3, 9)
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = rng.uniform(1, 15, k)
        ring = np.column_stack([cx[i] + rad * np.cos(ang), cy[i] + rad * np.sin(ang)])
        if i % 50 == 0:
            polys.append(shapely.Polygon(ring, [shapely.box(cx[i] - 0.3, cy[i] - 0.3, cx[i] + 0.3, cy[i] + 0.3).exterior.coords]))
        else:
            polys.append(shapely.Polygon(ring))
    g = np.array(polys, dtype=object)
    which = rng.integers(0, n, 20000)
    x0 = np.floor(rng.uniform(-10, 110, len(which)) / 10) * 10  # grid-aligned boxes: many exact touches
    y0 = np.floor(rng.uniform(-10, 110, len(which)) / 10) * 10
    got = _intersects_boxes(g, which, x0, y0, x0 + 10, y0 + 10)
    want = shapely.intersects(g[which], shapely.box(x0, y0, x0 + 10, y0 + 10))
    assert got.sum() > 300
    assert (got == want).all()

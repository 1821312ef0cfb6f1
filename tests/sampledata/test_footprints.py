"""Bulk footprints for benchmarks: realistic, vectorised, deterministic."""

from __future__ import annotations

import time
import uuid

import numpy as np
import shapely

from statscore.sampledata import synthetic_footprints
from statscore.sampledata.footprints import as_datetimes


def test_many_footprints_quickly_sorted_and_valid():
    t0 = time.perf_counter()
    fs = synthetic_footprints(200_000, seed=1)
    elapsed = time.perf_counter() - t0
    assert len(fs) == 200_000 and elapsed < 10
    assert np.all(np.diff(fs.datetime.astype("int64")) >= 0)
    sample = fs.geometry[::997]
    assert shapely.is_valid(sample).all()
    areas = shapely.area(sample)
    assert areas.max() <= 109_830**2 and areas.min() > 0.01 * 109_800**2
    assert len(np.unique(fs.epsg)) >= 7  # Australia spans UTM zones 49-56
    assert set(np.unique(fs.epsg)) <= {32700 + z for z in range(49, 57)}
    assert len(np.unique(fs.region_code)) > 900


def test_ids_are_unique_uuid4_strings():
    fs = synthetic_footprints(50_000, seed=2)
    ids = fs.ids
    assert len(set(ids)) == len(ids)
    for s, u in zip(ids[:50], fs.uuids()[:50]):
        assert str(u) == s and u.version == 4 and uuid.UUID(s) == u


def test_same_seed_same_footprints():
    a, b = synthetic_footprints(5_000, seed=3), synthetic_footprints(5_000, seed=3)
    c = synthetic_footprints(5_000, seed=4)
    assert np.array_equal(a.id_bytes, b.id_bytes) and not np.array_equal(a.id_bytes, c.id_bytes)
    assert shapely.equals_exact(a.geometry, b.geometry, 0).all()
    assert np.array_equal(a.datetime, b.datetime)


def test_landsat_footprints_are_wrs2_in_north_utm_zones_every_16_days():
    fs = synthetic_footprints(5_000, product="ga_ls8c_ard_3", region="au-se")
    assert set(np.unique(fs.epsg)) == {32655, 32656}
    for code in np.unique(fs.region_code):
        t = fs.datetime[fs.region_code == code]
        days = np.diff(t.astype("datetime64[D]").astype(int))
        assert set(days) <= {15, 16, 17}  # 16 days, +-1 for the UTC day of a ~23:45Z pass
    assert all(d.hour == 23 for d in as_datetimes(fs.datetime[:20]))


def test_wgs84_view_lies_in_australia():
    fs = synthetic_footprints(2_000, seed=0)
    wgs = fs.to_wgs84()
    lon0, lat0, lon1, lat1 = shapely.total_bounds(wgs)
    assert 110 < lon0 < lon1 < 156 and -46 < lat0 < lat1 < -8

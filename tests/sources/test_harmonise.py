"""Sentinel-2 processing baseline 04.00: the +1000 DN offset is removed on load where the
profile says so, and a geomedian across 2022-01-25 has no step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
import yaml

from statscore.cache import cache_tasks, open_cache
from statscore.sampledata import generate_scenes
from statscore.sources.profiles import apply_boa_offset, boa_add_offset, builtin_profiles, load_profile
from statscore.task import render_task

from tests.sources.conftest import ES_REGION

BIN = Path(sys.executable).parent
PLAN = ["--grid", "au_extended_s2_80", "--temporal-range", "2022-01--P2M", "--frequency", "all"]


@pytest.mark.parametrize("props, harmonise, want", [
    ({"s2:processing_baseline": "03.01"}, "s2-boa-offset", None),
    ({"s2:processing_baseline": "04.00", "earthsearch:boa_offset_applied": False}, "s2-boa-offset", -1000),
    ({"s2:processing_baseline": "05.09", "earthsearch:boa_offset_applied": True}, "s2-boa-offset", None),
    ({"s2:processing_baseline": "05.10"}, "s2-boa-offset", -1000),  # Planetary Computer: no flag, not removed
    ({"s2:processing_baseline": "04.00"}, "none", None),  # sentinel-2-c1-l2a: harmonised
    ({}, "s2-boa-offset", None),
])
def test_which_items_are_shifted(props, harmonise, want):
    assert boa_add_offset(props, harmonise) == want


def test_shift_keeps_nodata_and_dark_pixels_valid():
    a = np.array([[0, 1, 1000, 1001, 11000]], dtype="uint16")
    xx = xr.Dataset({"blue": (("y", "x"), a, {"nodata": 0}), "scl": (("y", "x"), a.astype("uint8"), {"nodata": 0})})
    out = apply_boa_offset(xx, -1000, ["blue"])
    assert out["blue"].values.tolist() == [[0, 1, 1, 1, 10000]]
    assert out["blue"].dtype == np.uint16
    assert (out["scl"].values == a.astype("uint8")).all()


def test_profiles_choose_per_collection():
    es = load_profile("earth-search-s2-l2a")
    assert es.collection("sentinel-2-l2a").harmonise == "s2-boa-offset"
    assert es.collection("sentinel-2-c1-l2a").harmonise == "none"
    assert load_profile("planetary-computer-s2").collection("sentinel-2-l2a").harmonise == "s2-boa-offset"
    assert load_profile("dea-ard").collection("ga_s2am_ard_3").harmonise == "none"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "odc-stats"), *args], capture_output=True, text=True, timeout=900)


def _gm_red(db: Path, task: str, out: Path) -> np.ndarray:
    r = _cli("run", str(db), task, "--plugin", "gm-s2", "--location", out.as_uri())
    assert r.returncode == 0, r.stderr[-3000:]
    (tif,) = out.rglob("*_B04.tif")
    with rasterio.open(tif) as src:
        return src.read(1)


@pytest.fixture(scope="module")
def reference(es_scenes, tmp_path_factory):
    """The same scenes written with no offset at all (our own s2_l2a documents), planned."""
    root = tmp_path_factory.mktemp("plain")
    generate_scenes(root / "data", product="s2_l2a", region=ES_REGION, start="2022-01-10", end="2022-02-20",
                    size_px=48, cloudiness=0.2, formats=("stac",))
    db = root / "plain.db"
    r = _cli("save-tasks", *PLAN, "--input-products", f"{root}/data/**/*.stac-item.json", str(db))
    assert r.returncode == 0, r.stderr
    tasks = cache_tasks(open_cache(str(db)))
    task = max(tasks, key=lambda t: len(tasks[t]))
    return db, render_task(task)


def test_geomedian_across_baseline_04_has_no_step(es_scenes, reference, tmp_path):
    root, scenes = es_scenes
    ref_db, task = reference
    plain = _gm_red(ref_db, task, tmp_path / "plain")

    db = tmp_path / "es.db"
    r = _cli("save-tasks", *PLAN, "--profile", "earth-search-s2-l2a", "--input-products",
             f"{root}/data/**/*_L2A.json", str(db))
    assert r.returncode == 0, r.stderr
    harmonised = _gm_red(db, task, tmp_path / "es")
    valid = plain > 0
    assert valid.mean() > 0.5
    # the scenes after 2022-01-25 carry +1000 DN; removed on load, the geomedian is the plain one
    assert (harmonised == plain).all()

    # without the harmonisation (a profile that says the collection needs none) the step shows
    doc = yaml.safe_load(builtin_profiles()["earth-search-s2-l2a"].read_text())
    doc["collections"]["sentinel-2-l2a"]["harmonise"] = "none"
    prof = tmp_path / "no-harmonise.yaml"
    prof.write_text(yaml.safe_dump(doc))
    db2 = tmp_path / "raw.db"
    r = _cli("save-tasks", *PLAN, "--profile", str(prof), "--input-products", f"{root}/data/**/*_L2A.json", str(db2))
    assert r.returncode == 0, r.stderr
    raw = _gm_red(db2, task, tmp_path / "raw")
    step = raw[valid].astype(float) - plain[valid]
    # most dates are after 2022-01-25 and 1000 DN brighter: the geomedian follows them
    assert np.median(step) > 300 and (step > 0).mean() > 0.9, (np.median(step), (step > 0).mean())

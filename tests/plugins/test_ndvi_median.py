"""ndvi-median: parity with odc-stats 1.9.14's StatsNDVI, config checks, and a run of
``odc-stats run`` on generated DEA Landsat ARD."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

from statscore.errors import ConfigError
from statscore.plugins import resolve_plugin

from .conftest import FMASK_ATTRS, stack
from .odc_reference import assert_same_band, run_odc, run_ours

ODC_CONFIG = {"input_bands": ["nbart_red", "nbart_nir"], "output_bands": "ndvi_median",
              "mask_band": "fmask", "contiguity_band": "nbart_contiguity"}


def ard(rng: np.random.Generator, t: int = 9, ny: int = 6, nx: int = 7) -> xr.Dataset:
    """DEA ARD-like red/nir (int16, nodata -999), fmask classes and contiguity; the
    2nd and 3rd observations fall on one day (fused)."""
    red = rng.integers(50, 3000, (t, ny, nx)).astype("int16")
    nir = rng.integers(50, 5000, (t, ny, nx)).astype("int16")
    red[rng.random(red.shape) < 0.05] = -999
    nir[rng.random(nir.shape) < 0.05] = -999
    fmask = rng.choice([1, 1, 1, 5, 4, 2, 3, 0], size=(t, ny, nx)).astype("uint8")
    contiguity = (rng.random((t, ny, nx)) > 0.05).astype("uint8")
    ds = stack({"nbart_red": red, "nbart_nir": nir, "fmask": fmask, "nbart_contiguity": contiguity},
               {"nbart_red": {"nodata": -999}, "nbart_nir": {"nodata": -999}, "fmask": FMASK_ATTRS,
                "nbart_contiguity": {"nodata": 255}})
    times = ds["time"].values.copy()
    times[2] = times[1] + np.timedelta64(3, "h")
    return ds.assign_coords(time=times)


def test_matches_odc_stats_exactly(rng):
    from odc.stats.plugins.ls_ndvi_median import StatsNDVI

    xx = ard(rng)
    ours = run_ours(resolve_plugin("ndvi-median", ODC_CONFIG), xx)
    theirs = run_odc(StatsNDVI(**ODC_CONFIG), xx)
    assert list(ours.data_vars) == list(theirs.data_vars) == ["ndvi_median"]
    assert ours["ndvi_median"].dtype == theirs["ndvi_median"].dtype == np.float32
    assert_same_band(ours["ndvi_median"], theirs["ndvi_median"])  # exactly, NaN where NaN
    v = ours["ndvi_median"].values
    assert np.isfinite(v).any() and ((v >= -1) & (v <= 1) | np.isnan(v)).all()


def test_median_of_the_clear_contiguous_observations_by_hand():
    # pixel 0: NDVI 0.5 (nir 300, red 100), 0 (200/200), cloud, and 0.8 (900/100): even
    # count 3 -> middle 0.5; pixel 1: everything masked -> NaN
    red = np.array([[[100, 100]], [[200, 100]], [[100, 100]], [[100, 100]]], "int16")
    nir = np.array([[[300, 300]], [[200, 300]], [[100, 300]], [[900, 300]]], "int16")
    fmask = np.array([[[1, 2]], [[1, 3]], [[2, 0]], [[1, 1]]], "uint8")
    contiguity = np.array([[[1, 1]], [[1, 1]], [[1, 1]], [[1, 0]]], "uint8")
    xx = stack({"nbart_red": red, "nbart_nir": nir, "fmask": fmask, "nbart_contiguity": contiguity},
               {"nbart_red": {"nodata": -999}, "nbart_nir": {"nodata": -999}, "fmask": FMASK_ATTRS})
    p = resolve_plugin("ndvi-median")
    out = run_ours(p, xx)["ndvi_median"].values[0]
    assert out[0] == pytest.approx(0.5) and math.isnan(out[1])
    assert p.measurements == ("ndvi_median",) and math.isnan(p.output_nodata()["ndvi_median"])
    assert p.input_bands == ("nbart_red", "nbart_nir", "fmask", "nbart_contiguity")


def test_config_names_bands_and_rejects_what_cannot_work():
    p = resolve_plugin("ndvi-median", input_bands=["red", "nir"], red_band="red", nir_band="nir",
                       output_bands=["ndvi"], contiguity_band=None)
    assert p.input_bands == ("red", "nir", "fmask") and p.measurements == ("ndvi",)
    with pytest.raises(ConfigError, match="lacks 'nbart_nir'"):
        resolve_plugin("ndvi-median", input_bands=["nbart_red", "nbart_green"])
    with pytest.raises(ConfigError, match="one band"):
        resolve_plugin("ndvi-median", output_bands=["a", "b"])


def test_odc_stats_run_on_generated_landsat(tmp_path_factory, tmp_path):
    """``odc-stats run --plugin ndvi-median`` on generated DEA Landsat 8 ARD: a valid COG
    whose every pixel is the median NDVI of the clear observations read from the inputs."""
    from datacube.storage import BandInfo
    from rio_cogeo.cogeo import cog_validate

    from statscore.run import TaskReader

    db = ard_task(tmp_path_factory)
    out = tmp_path / "out"
    r = run_cli(db, "ndvi-median", {"resampling": "nearest"}, out)
    assert r.returncode == 0, r.stderr[-3000:]
    (item,) = out.rglob("*.stac-item.json")
    assert set(json.loads(item.read_text())["assets"]) >= {"ndvi_median"}
    tif = str(item)[: -len(".stac-item.json")] + "_ndvi_median.tif"
    assert cog_validate(tif, strict=True) == (True, [], [])
    with rasterio.open(tif) as src:
        assert src.dtypes[0] == "float32" and math.isnan(src.nodata)
        got = src.read(1)

    reader = TaskReader(str(db))
    (tile_idx, ids), = reader.tasks.items()
    gbox = reader.gridspec.tile_geobox((tile_idx.x, tile_idx.y))
    dss = sorted((reader.cache.get(u) for u in ids), key=lambda ds: ds.center_time)
    x = {b: np.stack([_on_tile(BandInfo(ds, b).uri, gbox) for ds in dss])
         for b in ("nbart_red", "nbart_nir", "oa_fmask", "oa_nbart_contiguity")}
    clear = ~np.isin(x["oa_fmask"], (0, 2, 3)) & (x["oa_nbart_contiguity"] == 1)
    clear &= (x["nbart_red"] != -999) & (x["nbart_nir"] != -999)
    red, nir = (np.where(clear, x[b], np.nan).astype("float32") for b in ("nbart_red", "nbart_nir"))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        want = np.nanmedian((nir - red) / (nir + red), axis=0)
    assert np.isfinite(got).sum() > got.size // 2 and (clear.sum(0) < len(clear)).any()
    np.testing.assert_array_equal(got, want)


def ard_task(tmp_path_factory) -> Path:
    """A one-task cache of generated DEA Landsat 8 ARD (three months, one path/row, a 64 px
    tile of 15 m pixels); the scenes are written once per session and shared."""
    from benchmarks._runscene import make_ls_task

    return make_ls_task(tmp_path_factory.getbasetemp() / "shared-ard", 64, "ga_ls8c_ard_3")


def run_cli(db: Path, plugin: str, config: dict, out: Path, task: str | None = "0") -> subprocess.CompletedProcess:
    """``odc-stats run DB [TASK] --plugin ... --plugin-config ...`` as a user runs it (no
    ``task``: every task of the cache)."""
    tasks = [task] if task is not None else []
    return subprocess.run([str(Path(sys.executable).parent / "odc-stats"), "run", str(db), *tasks, "--plugin", plugin,
                           "--plugin-config", json.dumps(config), "--location", out.as_uri()],
                          capture_output=True, text=True, timeout=600)


def _on_tile(uri: str, gbox) -> np.ndarray:
    """A band at the tile's pixel centres (the native pixel holding each), nodata outside."""
    with rasterio.open(uri) as src:
        a, t, nodata = src.read(1), src.transform, src.nodata
    ny, nx = gbox.shape.yx
    g = gbox.transform
    cols = np.floor((g.c + (np.arange(nx) + 0.5) * g.a - t.c) / t.a).astype(int)
    rows = np.floor((g.f + (np.arange(ny) + 0.5) * g.e - t.f) / t.e).astype(int)
    out = np.full((ny, nx), nodata, a.dtype)
    r_ok, c_ok = (rows >= 0) & (rows < a.shape[0]), (cols >= 0) & (cols < a.shape[1])
    out[np.ix_(r_ok, c_ok)] = a[np.ix_(rows[r_ok], cols[c_ok])]
    return out

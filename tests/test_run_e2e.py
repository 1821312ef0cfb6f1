"""``odc-stats run`` end to end on generated scenes: real COGs in, products out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rio_cogeo.cogeo import cog_validate

from statscore.cli import main
from statscore.sampledata import SceneRecord, generate_scenes, write_products
from statscore.task import parse_task, render_task, task_folder

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """A month of S2 scenes and a cache of tasks on a coarse grid (fast runs)."""
    root = tmp_path_factory.mktemp("run")
    write_products(root / "products")
    recs = generate_scenes(root / "data", product="s2_l2a", start="2020-01-01", end="2020-01-31", size_px=48)
    db = root / "tasks.db"
    r = CliRunner().invoke(main, ["save-tasks", "--grid", "au_extended_s2_80", "--temporal-range", "2020-01--P1M",
                                  "--frequency", "all", "--input-products", f"{root}/data/**/*.stac-item.json", str(db)])
    assert r.exit_code == 0, r.output
    return root, db, recs


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "odc-stats"), "run", *args], capture_output=True, text=True, timeout=900)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_gm_s2_and_pq_produce_valid_products(planned, tmp_path):
    root, db, _ = planned
    out = tmp_path / "out"
    r = _run(str(db), "0", "--plugin", "gm-s2", "--location", out.as_uri())
    assert r.returncode == 0, r.stderr[-3000:]
    assert "1 tasks: 1 done, 0 skipped, 0 failed" in r.stdout
    items = list(out.rglob("*.stac-item.json"))
    assert len(items) == 1
    folder = items[0].parent
    prefix = items[0].name[: -len(".stac-item.json")]
    for band in ("B02", "B04", "B8A", "B12", "SMAD", "EMAD", "BCMAD", "COUNT"):
        tif = folder / f"{prefix}_{band}.tif"
        valid, errors, _ = cog_validate(str(tif))
        assert valid and not errors, (band, errors)
    with rasterio.open(folder / f"{prefix}_B04.tif") as src:
        red = src.read(1)
        assert src.dtypes[0] == "uint16" and src.nodata == 0
    with rasterio.open(folder / f"{prefix}_COUNT.tif") as src:
        count = src.read(1)
    assert ((count > 0) == (red > 0)).all()
    assert 100 < np.median(red[red > 0]) < 3000  # reflectance-like values, not masked clouds (~6000+)
    item = json.loads(items[0].read_text())
    assert item["properties"]["start_datetime"].startswith("2020-01-01")
    assert set(item["assets"]) >= {"B02", "COUNT"}

    r = _run(str(db), "0", "--plugin", "pq", "--location", out.as_uri())
    assert r.returncode == 0, r.stderr[-3000:]
    pq_item = [p for p in out.rglob("*.stac-item.json") if p != items[0]]
    assert len(pq_item) == 1
    pfx = str(pq_item[0])[: -len(".stac-item.json")]
    with rasterio.open(f"{pfx}_total.tif") as a, rasterio.open(f"{pfx}_clear.tif") as b:
        total, clear = a.read(1), b.read(1)
    assert (clear <= total).all() and total.max() > 0 and (clear < total).any()

    # a second run skips the finished task; --dryrun reports it as skip
    r = _run(str(db), "0", "--plugin", "pq", "--location", out.as_uri())
    assert r.returncode == 0 and "0 done, 1 skipped" in r.stdout
    r = _run(str(db), "0", "--plugin", "pq", "--location", out.as_uri(), "--dryrun")
    assert r.returncode == 0 and " skip " in r.stdout


def test_kernels_compiled_ahead_need_no_compile_in_a_run(planned, tmp_path):
    """What the Batch image does at build time (``python -m statscore.algo.warm``) leaves
    nothing for a gm-s2 or pq task to compile: the numba cache is unchanged by the runs."""
    root, db, _ = planned
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    warm = subprocess.run([sys.executable, "-m", "statscore.algo.warm", "uint16"], env=env, capture_output=True,
                          text=True, timeout=900)
    assert warm.returncode == 0, warm.stderr[-3000:]

    def cache() -> dict[str, int]:
        return {str(p): p.stat().st_mtime_ns for p in (tmp_path / "numba").rglob("*") if p.is_file()}

    before = cache()
    assert any(p.endswith(".nbi") for p in before)
    for plugin in ("gm-s2", "pq"):
        r = subprocess.run([str(BIN / "odc-stats"), "run", str(db), "0", "--plugin", plugin, "--location",
                            (tmp_path / plugin).as_uri()], env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
    assert cache() == before


def _tasks(db: Path) -> dict[str, set[str]]:
    """Task (``2020-01--P1M/186/92``) -> ids of its datasets."""
    from statscore.run import TaskReader

    return {render_task(t): {str(u) for u in ids} for t, ids in TaskReader(str(db)).tasks.items()}


def _victim_and_clean(db: Path, recs: list[SceneRecord]) -> tuple[SceneRecord, str, str]:
    """A scene, a task that reads it and a task that does not."""
    tasks = _tasks(db)
    first = sorted(tasks)[0]
    victim = next(r for r in recs if str(r.id) in tasks[first])
    clean = next(t for t in sorted(tasks) if str(victim.id) not in tasks[t])
    return victim, first, clean


def _replan(db: Path, inputs: str) -> None:
    """save-tasks again from (edited) documents of the ``planned`` scenes."""
    r = CliRunner().invoke(main, ["save-tasks", "--grid", "au_extended_s2_80", "--temporal-range", "2020-01--P1M",
                                  "--frequency", "all", "--input-products", inputs, str(db)])
    assert r.exit_code == 0, r.output


def _run_with_edited(path: Path, text: str, tmp_path: Path, inputs: str, victim: SceneRecord,
                     ) -> tuple[subprocess.CompletedProcess, Path, str]:
    """Plan with ``path`` holding ``text`` (restored afterwards), then run pq on the task that
    has ``victim`` and on one that has not: (result, output folder, the clean task)."""
    saved = path.read_text()
    path.write_text(text)
    try:
        db2 = tmp_path / "tasks.db"
        _replan(db2, inputs)
    finally:
        path.write_text(saved)
    tasks = _tasks(db2)
    bad = next(t for t in sorted(tasks) if str(victim.id) in tasks[t])
    clean = next(t for t in sorted(tasks) if str(victim.id) not in tasks[t])
    out = tmp_path / "out"
    return _run(str(db2), bad, clean, "--plugin", "pq", "--location", out.as_uri()), out, clean


def _assert_only_clean_task_written(r: subprocess.CompletedProcess, out: Path, clean: str, *needles: str) -> str:
    """Exit 1, one failed and one done task, a single stderr line naming the bad input,
    and files only in the clean task's folder (none, not even temporaries, for the other)."""
    assert r.returncode == 1, r.stderr
    assert "2 tasks: 1 done, 0 skipped, 1 failed" in r.stdout
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and " failed " in lines[0], r.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    folder = out / task_folder(parse_task(clean))
    assert len(list(out.rglob("*.stac-item.json"))) == 1
    # besides the clean task's folder, only the product's STAC collection at the root
    assert all(folder in p.parents or p == out / "collection.json" for p in _files(out)), _files(out)
    assert not [p for p in _files(out) if ".tmp" in p.name]
    return lines[0]


def test_corrupt_input_fails_that_task_only(planned, tmp_path):
    root, db, recs = planned
    victim, bad, clean = _victim_and_clean(db, recs)
    band = victim.band_paths["SCL"]  # pq reads only SCL
    saved = band.read_bytes()
    band.write_bytes(b"this is not a GeoTIFF")
    try:
        out = tmp_path / "out"
        r = _run(str(db), bad, clean, "--plugin", "pq", "--location", out.as_uri())
    finally:
        band.write_bytes(saved)
    _assert_only_clean_task_written(r, out, clean, str(victim.id), str(band))


def test_missing_band_file_fails_that_task_only(planned, tmp_path):
    """The document names a band whose file is gone (a partial sync, say)."""
    root, db, recs = planned
    victim, bad, clean = _victim_and_clean(db, recs)
    band = victim.band_paths["SCL"]
    moved = band.with_name(band.name + ".away")
    band.rename(moved)
    try:
        out = tmp_path / "out"
        r = _run(str(db), bad, clean, "--plugin", "pq", "--location", out.as_uri())
    finally:
        moved.rename(band)
    _assert_only_clean_task_written(r, out, clean, str(victim.id), str(band), "No such file")


def test_band_missing_from_a_document_fails_that_task_only(planned, tmp_path):
    """An eo3 document without the SCL band that pq needs, planned with the product
    definition (which has it): the task fails before reading anything, naming the
    dataset and the band."""
    import yaml

    root, db, recs = planned
    victim, _, _ = _victim_and_clean(db, recs)
    doc = yaml.safe_load(victim.eo3_path.read_text())
    del doc["measurements"]["SCL"]
    r, out, clean = _run_with_edited(victim.eo3_path, yaml.safe_dump(doc), tmp_path,
                                     f"{root}/products/s2_l2a.odc-product.yaml-{root}/data/**/*.odc-metadata.yaml",
                                     victim)
    _assert_only_clean_task_written(r, out, clean, str(victim.id), "missing band(s) SCL")


def test_document_crs_disagreeing_with_its_cogs_fails_that_task_only(planned, tmp_path):
    """A STAC item whose ``proj:code`` names the neighbouring UTM zone while its COGs are
    in their own (a hand-made or mis-converted catalogue). datacube places pixels by the
    file's CRS, so without a check the scene would land about 500 km away and the tile
    would silently lose it; instead the task fails naming the file and both CRSs."""
    root, db, recs = planned
    victim, _, _ = _victim_and_clean(db, recs)
    wrong = f"EPSG:{victim.epsg + 1}"
    item = json.loads(victim.stac_path.read_text())
    item["properties"]["proj:code"] = wrong
    r, out, clean = _run_with_edited(victim.stac_path, json.dumps(item), tmp_path,
                                     f"{root}/data/**/*.stac-item.json", victim)
    _assert_only_clean_task_written(r, out, clean, str(victim.id), victim.band_paths["SCL"].name,
                                    f"is in {victim.crs} but its document says {wrong}")


@pytest.mark.parametrize("args,needle", [
    (["--plugin", "gm-s3"], "unknown plugin 'gm-s3'"),
    (["--plugin", "pq"], "no output location"),
])
def test_bad_run_options(planned, tmp_path, args, needle):
    _, db, _ = planned
    r = _run(str(db), *args)
    assert r.returncode != 0
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_products_on_s3_carry_the_acl(planned, s3, s3_endpoint):
    client, bucket = s3
    _, db, _ = planned
    import os

    env = dict(os.environ)
    r = subprocess.run([str(BIN / "odc-stats"), "run", str(db), "0", "--plugin", "pq", "--public",
                        "--location", f"s3://{bucket}/pq/1-0-0"], capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(k.endswith(".stac-item.json") for k in keys)
    assert all(k.startswith("pq/1-0-0/x") or k == "pq/1-0-0/collection.json" for k in keys)
    assert "pq/1-0-0/collection.json" in keys  # the product's STAC collection, with the ACL too
    for k in keys:
        grants = client.get_object_acl(Bucket=bucket, Key=k)["Grants"]
        assert any(g["Grantee"].get("URI", "").endswith("/global/AllUsers") and g["Permission"] == "READ"
                   for g in grants), k


def test_max_processing_time_cancels_a_stuck_task_quickly(planned, tmp_path):
    import os
    import time as _time

    _, db, _ = planned
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    t0 = _time.monotonic()
    r = subprocess.run([str(BIN / "odc-stats"), "run", str(db), "0", "--plugin", "tests.slow_plugin.SlowPQ",
                        "--max-processing-time", "8", "--location", (tmp_path / "out").as_uri()],
                       capture_output=True, text=True, timeout=600, env=env)
    took = _time.monotonic() - t0
    assert r.returncode == 1
    assert "cancelled after max_processing_time=8 s" in r.stderr
    assert took < 8 + 20  # start-up plus the deadline, not the 10-minute sleep
    assert not list((tmp_path / "out").rglob("*.stac-item.json")) if (tmp_path / "out").exists() else True


# ---- Landsat plugins on generated scenes -------------------------------------------------
#
# One path/row of each Landsat product over three months (5 passes in the task), a
# 192 x 192 tile of 15 m pixels (with some water) nested in the 30 m scene pixels
# (benchmarks._runscene.make_ls_task), run with nearest resampling: every output pixel is
# then computable from the COGs with numpy, so the tests check counts and percentiles
# exactly, not just plausibility.

LS_TILE = 192
LS_PLUGINS = {  # plugin -> input products, extra plugin_config
    "gm-ls": ("ga_ls8c_ard_3", {}),
    "tcw-percentiles": ("ga_ls8c_ard_3", {}),
    "gm-ls-bitmask": ("ls8_c2l2_sr", {}),
    "pq-ls-bitmask": ("ls8_c2l2_sr", {}),
    "wofs-summary": ("ga_ls_wo_3", {}),
    "fc-percentiles": ("ga_ls_fc_3+ga_ls_wo_3", {"count_valid": True}),
}


@pytest.fixture(scope="module")
def landsat(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("landsat")


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


def _inputs(db: Path, bands: tuple[str, ...]) -> tuple[dict[str, np.ndarray], object]:
    """Band -> (time, y, x) stack of the task's datasets on the tile, and the tile GeoBox."""
    from datacube.storage import BandInfo

    from statscore.run import TaskReader

    reader = TaskReader(str(db))
    (tile, ids), = reader.tasks.items()
    gbox = reader.gridspec.tile_geobox((tile.x, tile.y))
    dss = sorted((reader.cache.get(u) for u in ids), key=lambda ds: ds.center_time)
    assert len({ds.center_time.date() for ds in dss}) == len(dss) >= 4  # one pass a day: nothing to fuse
    return {b: np.stack([_on_tile(BandInfo(ds, b).uri, gbox) for ds in dss]) for b in bands}, gbox


def _rank_percentiles(values: np.ndarray, valid: np.ndarray, nodata: int) -> dict[str, np.ndarray]:
    """odc-algo's nearest-rank percentiles: sorted valid values, rank rint(q (n - 1)), nodata below 3."""
    v = np.where(valid, values.astype("f8"), np.nan)
    n = valid.sum(0)
    srt = np.sort(v, axis=0)  # NaN last
    out = {}
    for q in (10, 50, 90):
        idx = np.rint(q / 100 * np.maximum(n - 1, 0)).astype(int)
        pick = np.take_along_axis(srt, idx[None], 0)[0]
        out[str(q)] = np.where(n >= 3, pick, nodata)
    return out


def _ls_product(landsat: Path, plugin: str, tmp_path: Path) -> tuple[dict[str, np.ndarray], Path]:
    """Plan (save-tasks) and run ``plugin`` through the CLI; check every output band against
    the plugin's declared measurements (names, dtypes, nodata) and as a valid COG."""
    from benchmarks._runscene import make_ls_task
    from statscore.plugins import resolve_plugin

    inputs, extra = LS_PLUGINS[plugin]
    db = make_ls_task(landsat, LS_TILE, inputs)
    cfg = {"resampling": "nearest", **extra}  # exact 2x2 copies of the native pixels
    out = tmp_path / "out"
    r = _run(str(db), "0", "--plugin", plugin, "--plugin-config", json.dumps(cfg), "--location", out.as_uri())
    assert r.returncode == 0, r.stderr[-3000:]
    assert "1 tasks: 1 done" in r.stdout
    (item,) = out.rglob("*.stac-item.json")
    prefix = str(item)[: -len(".stac-item.json")]
    declared = resolve_plugin(plugin, extra)
    dtypes, nodata = declared.output_dtypes(), declared.output_nodata()
    assert set(json.loads(item.read_text())["assets"]) >= set(declared.measurements)
    bands = {}
    for band in declared.measurements:
        tif = f"{prefix}_{band}.tif"
        assert cog_validate(tif, strict=True) == (True, [], []), band
        with rasterio.open(tif) as src:
            assert src.dtypes[0] == dtypes[band], band
            want = nodata[band]
            assert (src.nodata is None) if want is None else (
                np.isnan(src.nodata) if np.isnan(want) else src.nodata == want), (band, src.nodata, want)
            assert src.shape == (LS_TILE, LS_TILE)
            bands[band] = src.read(1)
    return bands, db


def test_gm_ls_counts_clear_fmask_observations_and_stays_within_them(landsat, tmp_path):
    out, db = _ls_product(landsat, "gm-ls", tmp_path)
    refl = ("nbart_red", "nbart_green", "nbart_blue", "nbart_nir", "nbart_swir_1", "nbart_swir_2")
    x, _ = _inputs(db, (*refl, "oa_fmask", "oa_nbart_contiguity"))
    clear = ~np.isin(x["oa_fmask"], (0, 2, 3)) & (x["oa_nbart_contiguity"] == 1)  # not nodata, cloud, shadow
    count = clear.sum(0)
    assert (out["count"] == count).all()
    assert count.max() >= 3 and (count < len(clear)).any()  # clouds were masked
    seen = count > 0
    for b in refl:
        v = np.where(clear, x[b], np.nan)
        lo, hi = np.nanmin(v, 0, initial=np.inf, where=clear), np.nanmax(v, 0, initial=-np.inf, where=clear)
        # a geometric median lies in the convex hull of the observations: each band within
        # their range (1 DN for rounding)
        assert ((out[b][seen] >= lo[seen] - 1) & (out[b][seen] <= hi[seen] + 1)).all(), b
        assert (out[b][~seen] == -999).all()
    for mad in ("sdev", "edev", "bcdev"):
        assert (out[mad][seen] >= 0).all() and np.isnan(out[mad][~seen]).all()
    assert 100 < np.median(out["nbart_red"][seen]) < 3000  # surface reflectance, not cloud (~6500)


def test_gm_ls_bitmask_counts_unflagged_qa_pixels(landsat, tmp_path):
    out, db = _ls_product(landsat, "gm-ls-bitmask", tmp_path)
    refl = ("SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7")
    x, _ = _inputs(db, (*refl, "QA_PIXEL"))
    qa = x["QA_PIXEL"]
    positive = np.all([x[b] > 0.2 / 2.75e-5 for b in refl], axis=0)  # reflectance above 0
    clear = ((qa & 1) == 0) & positive & ((qa & 0b1100) == 0)  # no fill, no cloud/cirrus bit
    count = clear.sum(0)
    assert (out["count"] == count).all()
    assert count.max() >= 3 and (count < len(clear)).any()
    seen = count > 0
    for b, name in zip(refl, ("blue", "green", "red", "nir", "swir_1", "swir_2")):
        scaled = np.rint((x[b].astype("f8") * 2.75e-5 - 0.2) * 10_000)  # outputs are reflectance x 10,000
        lo = np.min(np.where(clear, scaled, np.inf), 0)
        hi = np.max(np.where(clear, scaled, -np.inf), 0)
        assert ((out[name][seen] >= lo[seen] - 1) & (out[name][seen] <= hi[seen] + 1)).all(), name
        assert (out[name][~seen] == 0).all()


def test_pq_ls_bitmask_counts_exactly(landsat, tmp_path):
    out, db = _ls_product(landsat, "pq-ls-bitmask", tmp_path)
    x, _ = _inputs(db, ("QA_PIXEL",))
    qa = x["QA_PIXEL"]
    has_data = (qa & 1) == 0
    assert (out["total"] == has_data.sum(0)).all()
    assert (out["clear"] == (has_data & ((qa & 0b1100) == 0)).sum(0)).all()
    assert out["total"].max() == len(qa) and (out["clear"] < out["total"]).any()


def test_wofs_summary_counts_wet_and_clear_exactly(landsat, tmp_path):
    out, db = _ls_product(landsat, "wofs-summary", tmp_path)
    x, _ = _inputs(db, ("water",))
    w = x["water"]
    wet, clear = (w == 128).sum(0), np.isin(w, (0, 128)).sum(0)
    seen = ((w & 1) == 0).any(0)
    assert (out["count_wet"] == np.where(seen, wet, -999)).all()
    assert (out["count_clear"] == np.where(seen, clear, -999)).all()
    freq = np.where(clear > 0, wet / np.maximum(clear, 1), np.nan).astype("float32")
    np.testing.assert_allclose(out["frequency"], freq, rtol=1e-6)
    assert wet.max() > 0 and (clear < len(w)).any()  # some water, some cloud


def test_tcw_percentiles_are_the_ranked_clear_observations(landsat, tmp_path):
    from statscore.plugins.tcw_percentiles import COEFFICIENTS

    out, db = _ls_product(landsat, "tcw-percentiles", tmp_path)
    names = {"blue": "nbart_blue", "green": "nbart_green", "red": "nbart_red", "nir": "nbart_nir",
             "swir1": "nbart_swir_1", "swir2": "nbart_swir_2"}
    x, _ = _inputs(db, (*names.values(), "oa_fmask", "oa_nbart_contiguity"))
    valid = ~np.isin(x["oa_fmask"], (0, 2, 3)) & (x["oa_nbart_contiguity"] == 1)
    valid &= np.all([x[b] != -999 for b in names.values()], axis=0)
    assert (valid.sum(0) >= 3).all()  # clear enough everywhere (fewer than 3: -9999, see fc below)
    for index, coeffs in COEFFICIENTS.items():
        tc = np.rint(sum(c * x[names[b]].astype("f8") for b, c in coeffs.items()))
        for q, expect in _rank_percentiles(tc, valid, -9999).items():
            assert (out[f"{index}_pc_{q}"] == expect).all(), (index, q)
    have = out["wet_pc_50"] != -9999
    assert (out["wet_pc_10"][have] <= out["wet_pc_50"][have]).all()
    assert (out["wet_pc_50"][have] <= out["wet_pc_90"][have]).all()


def test_fc_percentiles_of_fused_fc_and_wofs(landsat, tmp_path):
    """fc-percentiles reads ``ga_ls_fc_3+ga_ls_wo_3`` fused per pass: cover percentiles of
    the clear dry observations, qa and count_valid as odc-stats defines them."""
    out, db = _ls_product(landsat, "fc-percentiles", tmp_path)
    x, _ = _inputs(db, ("pv", "bs", "npv", "water"))
    w = x["water"] & ~np.uint8(16)  # the high-slope bit is ignored
    valid, wet = w == 0, w == 128
    n = valid.sum(0)
    assert (out["count_valid"] == n).all()
    assert (n >= 3).any() and (n < 3).any()
    for band in ("pv", "bs", "npv"):
        for q, expect in _rank_percentiles(x[band], valid, 255).items():
            assert (out[f"{band}_pc_{q}"] == expect).all(), (band, q)
    qa = np.where(n >= 3, 2, np.where(wet.any(0), 0, 1))
    assert (out["qa"] == qa).all()

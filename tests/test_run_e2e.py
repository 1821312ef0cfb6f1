"""``odc-stats run`` end to end on generated scenes: real COGs in, products out."""

from __future__ import annotations

import json
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
    assert all(folder in p.parents for p in _files(out)), _files(out)
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
    saved = victim.eo3_path.read_text()
    doc = yaml.safe_load(saved)
    del doc["measurements"]["SCL"]
    victim.eo3_path.write_text(yaml.safe_dump(doc))
    try:
        db2 = tmp_path / "tasks.db"
        _replan(db2, f"{root}/products/s2_l2a.odc-product.yaml-{root}/data/**/*.odc-metadata.yaml")
    finally:
        victim.eo3_path.write_text(saved)
    tasks = _tasks(db2)
    bad = next(t for t in sorted(tasks) if str(victim.id) in tasks[t])
    clean = next(t for t in sorted(tasks) if str(victim.id) not in tasks[t])
    out = tmp_path / "out"
    r = _run(str(db2), bad, clean, "--plugin", "pq", "--location", out.as_uri())
    _assert_only_clean_task_written(r, out, clean, str(victim.id), "missing band(s) SCL")


def test_document_crs_disagreeing_with_its_cogs_fails_that_task_only(planned, tmp_path):
    """A STAC item whose ``proj:code`` names the neighbouring UTM zone while its COGs are
    in their own (a hand-made or mis-converted catalogue). datacube places pixels by the
    file's CRS, so without a check the scene would land about 500 km away and the tile
    would silently lose it; instead the task fails naming the file and both CRSs."""
    root, db, recs = planned
    victim, _, _ = _victim_and_clean(db, recs)
    wrong = f"EPSG:{victim.epsg + 1}"
    saved = victim.stac_path.read_text()
    item = json.loads(saved)
    item["properties"]["proj:code"] = wrong
    victim.stac_path.write_text(json.dumps(item))
    try:
        db2 = tmp_path / "tasks.db"
        _replan(db2, f"{root}/data/**/*.stac-item.json")
    finally:
        victim.stac_path.write_text(saved)
    tasks = _tasks(db2)
    bad = next(t for t in sorted(tasks) if str(victim.id) in tasks[t])
    clean = next(t for t in sorted(tasks) if str(victim.id) not in tasks[t])
    out = tmp_path / "out"
    r = _run(str(db2), bad, clean, "--plugin", "pq", "--location", out.as_uri())
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
    assert all(k.startswith("pq/1-0-0/x") for k in keys)
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

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
from statscore.sampledata import generate_scenes, write_products

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


def test_corrupt_input_fails_that_task_only(planned, tmp_path):
    root, db, recs = planned
    from odc.dscache import DatasetCache

    cache = DatasetCache.open_ro(str(db))
    groups = sorted(cache.groups())
    assert len(groups) >= 2
    victim_id = str(cache.get_group(groups[0][0])[0])
    victim = next(r for r in recs if str(r.id) == victim_id)
    clean = next(j for j, (g, _) in enumerate(groups) if victim_id not in {str(u) for u in cache.get_group(g)})
    band = victim.band_paths["SCL"]  # pq reads only SCL
    saved = band.read_bytes()
    band.write_bytes(b"this is not a GeoTIFF")
    try:
        out = tmp_path / "out"
        r = _run(str(db), "0", str(clean), "--plugin", "pq", "--location", out.as_uri())
    finally:
        band.write_bytes(saved)
    assert r.returncode == 1
    assert "1 done, 0 skipped, 1 failed" in r.stdout
    fail_lines = [line for line in r.stderr.splitlines() if " failed " in line]
    assert len(fail_lines) == 1
    assert victim_id in fail_lines[0] or str(band) in fail_lines[0], fail_lines[0]
    assert len(list(out.rglob("*.stac-item.json"))) == 1
    assert not [p for p in _files(out) if ".tmp" in p.name]


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

"""Planning from a real PostgreSQL datacube index equals planning from the same files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from odc.dscache import DatasetCache

from statscore.sampledata import generate_scenes, write_products

BIN = Path(sys.executable).parent


def _groups(path: Path) -> dict[str, set[str]]:
    c = DatasetCache.open_ro(str(path))
    return {name.split("/", 1)[1]: {str(u) for u in c.get_group(name)} for name, _ in c.groups()}


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes")
    products = write_products(out / "products")
    recs = generate_scenes(out / "data", product="s2_l2a", start="2019-12-20", end="2020-01-20", size_px=32)
    return out, products, recs


def test_index_and_files_give_identical_tasks(scenes, pg_url, tmp_path):
    out, products, recs = scenes
    env = dict(os.environ, ODC_DEFAULT_DB_URL=pg_url, ODC_DEFAULT_INDEX_DRIVER="postgres")

    def sh(*args: str) -> subprocess.CompletedProcess:
        r = subprocess.run([str(BIN / args[0]), *args[1:]], env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{args[:3]}: {r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        return r

    sh("datacube", "system", "init")
    sh("datacube", "product", "add", str(products["s2_l2a"]))
    sh("datacube", "dataset", "add", *[str(r.eo3_path) for r in recs])

    # a period straddling New Year: solar-day assignment and the 0.6-day query padding matter
    common = ["save-tasks", "--grid", "au_extended_s2_20", "--temporal-range", "2020-01--P1M", "--frequency", "annual"]
    sh("odc-stats", *common, "--input-products", "s2_l2a", str(tmp_path / "db.db"))
    sh("odc-stats", *common, "--input-products", str(out / "data"), str(tmp_path / "files.db"))
    sh("odc-stats", *common, "--input-products", f"{out}/data/**/*.stac-item.json", str(tmp_path / "stac.db"))

    from_index, from_files, from_stac = (_groups(tmp_path / f) for f in ("db.db", "files.db", "stac.db"))
    assert from_index, "the index produced no tasks"
    assert from_index == from_files == from_stac
    assert all(k.startswith("2020--P1Y/") for k in from_index)
    in_jan = {str(r.id) for r in recs if r.solar_date.year == 2020 and r.solar_date.month == 1}
    assert set().union(*from_index.values()) == in_jan

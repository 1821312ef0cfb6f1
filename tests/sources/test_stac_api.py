"""``save-tasks --stac-api``: planning from a real STAC API (stac-fastapi-pgstac on PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from statscore.cache import cache_tasks, open_cache
from statscore.task import render_task

pytestmark = pytest.mark.postgres

BIN = Path(sys.executable).parent
PLAN = ["--grid", "au_extended_s2_80", "--temporal-range", "2022-01--P2M", "--frequency", "monthly"]


def _save_tasks(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "odc-stats"), "save-tasks", *args], capture_output=True, text=True, timeout=600)


def _tasks(db: Path) -> dict[str, set[str]]:
    return {render_task(k): {str(u) for u in v} for k, v in cache_tasks(open_cache(str(db))).items()}


def test_api_plans_the_same_tasks_and_datasets_as_the_item_files(stac_api, es_scenes, tmp_path):
    root, scenes = es_scenes
    api_db, files_db = tmp_path / "api.db", tmp_path / "files.db"
    r = _save_tasks("--stac-api", stac_api, "--collections", "sentinel-2-l2a", "--profile", "earth-search-s2-l2a",
                    *PLAN, str(api_db))
    assert r.returncode == 0, r.stderr
    r2 = _save_tasks("--input-products", f"{root}/data/**/*_L2A.json", *PLAN, str(files_db))
    assert r2.returncode == 0, r2.stderr
    api, files = _tasks(api_db), _tasks(files_db)
    assert len(api) > 4 and api == files
    # every item is a dataset of some task; periods split at the month, as planned
    assert set().union(*api.values()) == set().union(*files.values())
    assert {k.split("/")[0] for k in api} == {"2022-01--P1M", "2022-02--P1M"}
    assert len(set().union(*api.values())) == len(scenes)
    assert r.stdout.startswith(f"{len(scenes)} datasets ->")


def test_stac_filter_narrows_the_search(stac_api, es_scenes, tmp_path):
    _, scenes = es_scenes
    limit = sorted(s.record.cloud_cover for s in scenes)[len(scenes) // 2]
    want = {s.item["id"] for s in scenes if s.record.cloud_cover <= limit}
    db = tmp_path / "clear.db"
    flt = {"op": "<=", "args": [{"property": "eo:cloud_cover"}, limit]}
    r = _save_tasks("--stac-api", stac_api, "--collections", "sentinel-2-l2a", "--profile", "earth-search-s2-l2a",
                    "--stac-filter", json.dumps(flt), *PLAN, str(db))
    assert r.returncode == 0, r.stderr
    cache = open_cache(str(db))
    got = {ds.metadata_doc.get("label") for ds in cache.get_all()}
    assert got == want and 0 < len(want) < len(scenes)


def _one_error_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_unknown_collection_is_named(stac_api, tmp_path):
    line = _one_error_line(_save_tasks("--stac-api", stac_api, "--collections", "sentinel-2-l2b", "--profile",
                                       "earth-search-s2-l2a", *PLAN, str(tmp_path / "x.db")))
    assert "no collection 'sentinel-2-l2b'" in line and "sentinel-2-l2a" in line
    assert not list(tmp_path.iterdir())


def test_unreachable_api_is_one_line(tmp_path):
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    line = _one_error_line(_save_tasks("--stac-api", url, "--collections", "sentinel-2-l2a", "--profile",
                                       "earth-search-s2-l2a", *PLAN, str(tmp_path / "x.db")))
    assert f"STAC API {url}: cannot connect" in line


def test_unknown_profile_is_one_line(tmp_path):
    line = _one_error_line(_save_tasks("--stac-api", "http://127.0.0.1:9/", "--collections", "sentinel-2-l2a",
                                       "--profile", "earth-search-s2", *PLAN, str(tmp_path / "x.db")))
    assert "unknown profile 'earth-search-s2'" in line and "earth-search-s2-l2a" in line


def test_item_missing_an_asset_is_named(stac_api, es_scenes, tmp_path):
    """A profile that needs an asset the items lack: the first such item is named, nothing is written."""
    import yaml

    from statscore.sources.profiles import builtin_profiles

    doc = yaml.safe_load(builtin_profiles()["earth-search-s2-l2a"].read_text())
    doc["bands"]["wvp"] = {"dtype": "uint16", "nodata": 0}
    prof = tmp_path / "needs-wvp.yaml"
    prof.write_text(yaml.safe_dump(doc))
    line = _one_error_line(_save_tasks("--stac-api", stac_api, "--collections", "sentinel-2-l2a", "--profile",
                                       str(prof), *PLAN, str(tmp_path / "x.db")))
    assert "has no asset 'wvp'" in line and "_L2A (sentinel-2-l2a)" in line
    assert not list(tmp_path.glob("x*"))

"""Inputs on S3: ``run`` reads the COGs through GDAL's /vsis3/ from a moto server over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from statscore.sources.profiles import builtin_profiles
from statscore.sources.s3env import S3ReadSettings, configure, gdal_options
from tests.sources.flaky_proxy import FlakyProxy

BIN = Path(sys.executable).parent
PLAN = ["--grid", "au_extended_s2_80", "--temporal-range", "2022-01--P2M", "--frequency", "all"]
BUCKET = "public-cogs"


def test_gdal_options_for_a_local_endpoint():
    opts = gdal_options(S3ReadSettings(unsigned=True), {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})
    assert opts["AWS_S3_ENDPOINT"] == "127.0.0.1:5000" and opts["AWS_HTTPS"] == "NO"
    assert opts["AWS_VIRTUAL_HOSTING"] == "FALSE" and opts["AWS_NO_SIGN_REQUEST"] == "YES"
    assert opts["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR" and "503" in opts["GDAL_HTTP_RETRY_CODES"]
    assert "AWS_REQUEST_PAYER" not in opts
    assert gdal_options(S3ReadSettings(requester_pays=True), {})["AWS_REQUEST_PAYER"] == "requester"


def test_user_settings_win():
    env = {"GDAL_HTTP_MAX_RETRY": "1"}
    added = configure(S3ReadSettings(), env)
    assert env["GDAL_HTTP_MAX_RETRY"] == "1" and "GDAL_HTTP_MAX_RETRY" not in added
    assert env["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "odc-stats"), *args], capture_output=True, text=True, timeout=900, env=env)


def _no_credentials(endpoint: str) -> dict[str, str]:
    """The environment of a reader with no AWS credentials at all, pointed at ``endpoint``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GDAL_", "CPL_"))}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent",
               AWS_EC2_METADATA_DISABLED="true", CPL_AWS_AUTODETECT_EC2="NO", AWS_REGION="us-west-2")
    return env


def _bands(out: Path) -> dict[str, np.ndarray]:
    res = {}
    for tif in sorted(out.rglob("*.tif")):
        with rasterio.open(tif) as src:
            res[tif.name] = src.read()
    return res


def _upload(scenes, data: Path, bucket: str, items: Path, acl: str | None) -> Path:
    """The scenes' COGs in ``bucket`` and items whose hrefs point there the way Earth Search's do
    (https://BUCKET.s3.us-west-2.amazonaws.com/KEY)."""
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    items.mkdir()
    for s in scenes:
        item = json.loads(json.dumps(s.item))
        for a in item["assets"].values():
            key = str(Path(a["href"]).relative_to(data))
            s3.upload_file(a["href"], bucket, key, ExtraArgs={"ACL": acl} if acl else None)
            a["href"] = f"https://{bucket}.s3.us-west-2.amazonaws.com/{key}"
        (items / f"{item['id']}.json").write_text(json.dumps(item))
    return items


@pytest.fixture(scope="module")
def on_s3(es_scenes, aws_env, tmp_path_factory):
    """The Earth-Search scenes in a "public" moto bucket (objects public-read, as a public bucket's are)."""
    root, scenes = es_scenes
    return _upload(scenes, root / "data", BUCKET, tmp_path_factory.mktemp("s3") / "items", "public-read")


def test_run_over_vsis3_with_503s_and_no_credentials_matches_local_files(es_scenes, on_s3, aws_env, tmp_path):
    root, _ = es_scenes
    local_db, s3_db = tmp_path / "local.db", tmp_path / "s3.db"
    r = _cli("save-tasks", *PLAN, "--profile", "earth-search-s2-l2a", "--input-products",
             f"{root}/data/**/*_L2A.json", str(local_db))
    assert r.returncode == 0, r.stderr
    r = _cli("save-tasks", *PLAN, "--profile", "earth-search-s2-l2a", "--input-products", f"{on_s3}/*.json", str(s3_db))
    assert r.returncode == 0, r.stderr
    from statscore.cache import open_cache

    paths = {m["path"] for ds in open_cache(str(s3_db)).get_all() for m in ds.metadata_doc["measurements"].values()}
    assert paths and all(p.startswith(f"s3://{BUCKET}/") for p in paths)

    r = _cli("run", str(local_db), "0", "--plugin", "gm-s2", "--location", (tmp_path / "local").as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    with FlakyProxy(aws_env["AWS_ENDPOINT_URL"], failures=2) as proxy:
        # the default retries, after 0.1 s and 0.2 s rather than 1 s and 2 s: the same code path
        # (a user's GDAL_HTTP_RETRY_DELAY wins, test_user_settings_win), 3 s less per object
        env = dict(_no_credentials(proxy.url), GDAL_HTTP_RETRY_DELAY="0.1")
        r = _cli("run", str(s3_db), "0", "--plugin", "gm-s2", "--location", (tmp_path / "s3").as_uri(), env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "1 done, 0 skipped, 0 failed" in r.stdout
    assert proxy.injected > 10 and proxy.forwarded > 0  # every object answered 503 twice before its data
    assert not [p for p in proxy.seen if "prefix=" in p or p.endswith("/")]  # no folder listing on open
    local, s3 = _bands(tmp_path / "local"), _bands(tmp_path / "s3")
    assert local.keys() == s3.keys() and len(local) >= 8
    for name in local:
        assert np.array_equal(local[name], s3[name], equal_nan=True), name


def test_access_denied_is_one_line(es_scenes, aws_env, tmp_path):
    """Objects that are not public, read unsigned: S3 (moto) answers 403; the task fails with one
    line naming the object and the settings that decide access."""
    root, scenes = es_scenes
    task_scenes = scenes[:4]
    items = _upload(task_scenes, root / "data", "private-cogs", tmp_path / "items", None)
    db = tmp_path / "private.db"
    r = _cli("save-tasks", *PLAN, "--profile", "earth-search-s2-l2a", "--input-products", f"{items}/*.json", str(db))
    assert r.returncode == 0, r.stderr
    r = _cli("run", str(db), "0", "--plugin", "gm-s2", "--location", (tmp_path / "out").as_uri(),
             env=_no_credentials(aws_env["AWS_ENDPOINT_URL"]))
    assert r.returncode != 0
    assert "0 done, 0 skipped, 1 failed" in r.stdout, r.stdout
    lines = [ln for ln in r.stderr.splitlines() if "failed" in ln and "cannot read" in ln]
    assert len(lines) == 1, r.stderr
    assert "HTTP response code: 403 (access denied on s3://private-cogs/" in lines[0], lines[0]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.tif"))

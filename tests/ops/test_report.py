"""``odc-stats report``: the page's content from a cache + location and from a run on AWS
(moto server), and the page itself rendered in headless Chromium."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from statscore.cli import main
from statscore.ops.report import STATES, location_report, render_html, run_report, write_report
from statscore.run import TaskReader
from statscore.sampledata import generate_scenes
from statscore.task import render_task
from tests.task_table_support import create_task_table

from .browser import chromium

ROOT = Path(__file__).resolve().parents[2]
FAIL_REASON = "task 2020-01--P1M: cannot read s3://bucket/x.tif (corrupt) <b>not html</b>"


@pytest.fixture(scope="module")
def produced(tmp_path_factory):
    """pq products for two tasks of a small cache, and a worker failure log naming a third."""
    root = tmp_path_factory.mktemp("report")
    generate_scenes(root / "data", product="s2_l2a", start="2020-01-01", end="2020-01-10", size_px=32)
    db = root / "tasks.db"
    r = CliRunner().invoke(main, ["save-tasks", "--grid", "au_extended_s2_80", "--temporal-range", "2020-01--P1M",
                                  "--frequency", "all", "--input-products", f"{root}/data/**/*.stac-item.json", str(db)])
    assert r.exit_code == 0, r.output
    tiles = TaskReader(str(db)).all_tiles
    assert len(tiles) >= 4
    location = (root / "out").as_uri()
    r = CliRunner().invoke(main, ["run", str(db), "0", "1", "--plugin", "pq", "--location", location])
    assert r.exit_code == 0, r.output
    log = root / "failures.jsonl"
    # the worker's --failure-log format (statscore.worker._record_failure)
    log.write_text(json.dumps({"time": "2026-01-01T00:00:00Z", "queue": "q", "message_id": "m", "receive_count": 3,
                               "filedb": str(db), "tile_idx": render_task(tiles[2]), "reason": FAIL_REASON}) + "\n")
    return root, db, location, tiles, log


def _report(produced):
    from statscore.config import RunConfig
    from statscore.plugins import resolve_plugin

    root, db, location, tiles, log = produced
    return location_report(str(db), location, RunConfig(plugin="pq"), resolve_plugin("pq"), failure_log=str(log))


def _page_data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m
    return json.loads(m.group(1))


def test_location_report_reads_states_thumbnails_and_failures(produced):
    root, db, location, tiles, log = produced
    rep = _report(produced)
    by_tile = {t.tile: t for t in rep.tiles}
    assert [t.tile for t in rep.tiles] == tiles
    assert by_tile[tiles[0]].state == by_tile[tiles[1]].state == "done"
    assert by_tile[tiles[2]].state == "failed" and by_tile[tiles[2]].reason == FAIL_REASON
    assert {by_tile[t].state for t in tiles[3:]} == {"missing"}
    for t in tiles[:2]:
        s = by_tile[t]
        assert s.stac_url.endswith(".stac-item.json") and Path(s.stac_url.removeprefix("file://")).is_file()
        assert s.thumbnail.startswith("data:image/jpeg;base64,")
        jpeg = base64.b64decode(s.thumbnail.split(",", 1)[1])
        assert jpeg == Path(s.thumbnail_url.removeprefix("file://")).read_bytes()  # the product's own thumbnail
    assert rep.counts == {"done": 2, "failed": 1, "running": 0, "pending": 0, "missing": len(tiles) - 3}

    page = render_html(rep)
    # nothing to fetch: no src/href in the page's own HTML, CSS images inlined
    markup = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    assert re.findall(r'(?:src|href)\s*=\s*["\'](?!data:|#)[^"\']+', markup) == []
    assert re.findall(r"url\((?!data:|#default#VML)", page.split("<script")[0]) == []
    assert "&lt;b&gt;not html&lt;/b&gt;" in page and "<b>not html</b>" not in page.split('id="report-data"')[0]
    data = _page_data(page)
    feats = {f["properties"]["task"]: f for f in data["tiles"]["features"]}
    assert set(feats) == {render_task(t) for t in tiles}
    assert feats[render_task(tiles[2])]["properties"]["reason"] == FAIL_REASON
    ring = feats[render_task(tiles[0])]["geometry"]["coordinates"][0]
    assert all(140 < lon < 160 and -40 < lat < -30 for lon, lat in ring)  # EPSG:4326 outlines over NSW
    assert 'id="usage-none"' in page and "a local run records no usage" in page


def test_vendored_leaflet_is_the_npm_package():
    """statscore/ops/assets/ holds Leaflet exactly as package-lock.json pins it (make vendor-leaflet)."""
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/leaflet"]["version"] == "1.9.4"
    npm = ROOT / "node_modules" / "leaflet"
    assert json.loads((npm / "package.json").read_text())["version"] == "1.9.4", "run npm ci (make test does)"
    pngs = [(f"images/{p.name}", f"dist/images/{p.name}") for p in (npm / "dist/images").glob("*.png")]
    assert len(pngs) == 5
    for name, src in (("leaflet.js", "dist/leaflet.js"), ("leaflet.css", "dist/leaflet.css"),
                      ("leaflet-LICENSE", "LICENSE"), *pngs):
        assert (ROOT / "statscore/ops/assets" / name).read_bytes() == (npm / src).read_bytes(), name


def test_report_command_writes_the_page_and_rejects_bad_input(produced, tmp_path):
    root, db, location, tiles, log = produced
    out = tmp_path / "r.html"
    r = CliRunner().invoke(main, ["report", str(db), "--plugin", "pq", "--location", location,
                                  "--failure-log", str(log), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert f"{len(tiles)} tasks (2 done, 1 failed, {len(tiles) - 3} not run) -> " in r.output
    assert _page_data(out.read_text())["tiles"]["features"]
    r = CliRunner().invoke(main, ["report", str(db), "--location", location, "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 1 and r.output.strip().splitlines() == [
        "Error: no plugin: pass --plugin or set 'plugin' in --config (it names the product)"]
    r = CliRunner().invoke(main, ["report", str(db), "--plugin", "pq", "--location", location, "--failure-log",
                                  str(tmp_path / "none.jsonl")])
    assert r.exit_code == 1 and "--failure-log" in r.output and "cannot read" in r.output
    assert not (tmp_path / "x.html").exists()


def test_run_report_from_task_table_and_summary(produced, aws_env, tmp_path):
    """A run on AWS: manifest + summary.json on S3 (moto server), rows in DynamoDB."""
    root, db, location, tiles, log = produced
    rep_local = _report(produced)
    s3 = boto3.client("s3")
    ddb = boto3.client("dynamodb")
    tag = uuid.uuid4().hex[:8]
    bucket, table, run_id = f"report-caches-{tag}", f"report-tasks-{tag}", "exec-42"
    s3.create_bucket(Bucket=bucket)
    create_task_table(ddb, table)
    s3.upload_file(str(db), bucket, f"caches/{run_id}/tasks.db")
    ids = [render_task(t) for t in tiles]
    manifest = {"run_id": run_id, "filedb": f"s3://{bucket}/caches/{run_id}/tasks.db", "request": {"year": 2020},
                "queued": ids[1:], "skipped_done": ids[:1]}
    s3.put_object(Bucket=bucket, Key=f"caches/{run_id}/manifest.json", Body=json.dumps(manifest).encode())
    done_uri = {t.tile: t.stac_url for t in rep_local.tiles if t.state == "done"}

    def put(task_id, state, run="exec-42", **extra):
        item = {"task_id": {"S": task_id}, "state": {"S": state}, "run_id": {"S": run}}
        for k, v in extra.items():
            item[k] = {"N": repr(v)} if isinstance(v, (int, float)) else {"S": str(v)}
        ddb.put_item(TableName=table, Item=item)

    put(ids[0], "DONE", run="exec-41", output_uri=done_uri[tiles[0]], seconds=3.5)
    put(ids[1], "DONE", output_uri=done_uri[tiles[1]], seconds=4.25, cpu_seconds=7.5, wall_seconds=4.25,
        peak_memory_bytes=3 * 2**30, bytes_read=123_456_789, observations=4_000_000)
    put(ids[2], "FAILED", reason=FAIL_REASON, seconds=1.0, cpu_seconds=0.5, wall_seconds=1.0,
        peak_memory_bytes=2**30, bytes_read=1000, observations=0)
    put(ids[3], "RUNNING")
    usage = {"tasks": 2, "cpu_seconds": 8.0, "wall_seconds": 5.25, "peak_memory_bytes": 3 * 2**30,
             "bytes_read": 123_457_789, "observations": 4_000_000, "worker_hours": 0.5, "cost_usd": 0.1234,
             "prices": {"r6i.4xlarge": 0.4, "source": "test table"}}

    rep = run_report(f"s3://{bucket}/caches/{run_id}/", task_table=table)
    states = {render_task(t.tile): t.state for t in rep.tiles}
    assert states == {ids[0]: "done", ids[1]: "done", ids[2]: "failed", ids[3]: "running",
                      **{i: "pending" for i in ids[4:]}}
    by_id = {render_task(t.tile): t for t in rep.tiles}
    assert by_id[ids[0]].reason == "done in an earlier run" and by_id[ids[0]].thumbnail.startswith("data:image/jpeg")
    assert by_id[ids[1]].usage["cpu_seconds"] == 7.5 and by_id[ids[2]].reason == FAIL_REASON
    # no summary.json yet: the rows' usage, added up, without a cost
    assert rep.usage == {"tasks": 2, "cpu_seconds": 8.0, "wall_seconds": 5.25, "peak_memory_bytes": 3 * 2**30,
                         "bytes_read": 123_457_789.0, "observations": 4_000_000.0}
    assert "summary.json not written yet" in rep.usage_source
    usage_html = re.search(r'<table id="usage">.*?</table>', render_html(rep), re.S).group(0)
    assert "CPU time" in usage_html and "cost" not in usage_html

    s3.put_object(Bucket=bucket, Key=f"caches/{run_id}/summary.json",
                  Body=json.dumps({"run_id": run_id, "usage": usage}).encode())
    r = CliRunner().invoke(main, ["report", "--run", f"arn:aws:states:ap-southeast-2:123456789012:execution:M:{run_id}",
                                  "--task-table", table, "--cache-bucket", bucket, "-o", str(tmp_path / "run.html")])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "run.html").read_text()
    table_html = re.search(r'<table id="usage">.*?</table>', page, re.S).group(0)
    for text in ("US$ 0.12", "0.50 h", "3.00 GiB", "123.5 MB", "4,000,000", "r6i.4xlarge: 0.4"):
        assert text in table_html, text
    assert f"s3://{bucket}/caches/{run_id}/summary.json" in page

    r = CliRunner().invoke(main, ["report", "--run", "nope", "--task-table", table, "--cache-bucket", bucket])
    assert r.exit_code == 1 and r.output.count("\n") == 1 and "manifest.json" in r.output


def test_report_page_in_headless_chromium(produced, tmp_path):
    """Must show 3: tiles drawn in their state colours, a done tile's thumbnail on click, no console errors."""
    root, db, location, tiles, log = produced
    rep = _report(produced)
    page = tmp_path / "report.html"
    write_report(rep, str(page))
    expected = {render_task(t.tile): STATES[t.state][1] for t in rep.tiles}
    t0 = time.monotonic()
    with chromium() as driver:
        driver.get(page.as_uri())
        fills = driver.execute_script(
            "var out = {}; document.querySelectorAll('path[data-task]').forEach(function (p) {"
            " out[p.getAttribute('data-task')] = p.getAttribute('fill'); }); return out;")
        assert fills == expected
        done = render_task(tiles[0])
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        driver.find_element(By.CSS_SELECTOR, f'path[data-task="{done}"]').click()
        img = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, ".leaflet-popup-content img"))
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return arguments[0].complete", img))
        width, height = driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", img)
        assert width > 0 and height > 0
        assert driver.find_element(By.CSS_SELECTOR, ".leaflet-popup-content h3").get_attribute("textContent") == done
        # a failed tile's popup gives the reason
        failed = render_task(tiles[2])
        driver.execute_script("document.querySelector('.leaflet-popup-close-button').click()")
        driver.find_element(By.CSS_SELECTOR, f'path[data-task="{failed}"]').click()
        reason = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, ".leaflet-popup-content .reason"))
        assert reason.get_attribute("textContent") == FAIL_REASON
        # nothing but the page itself and inline data was loaded
        resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert all(r.startswith("data:") for r in resources), resources
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert errors == []
    print(f"chromium check: {time.monotonic() - t0:.1f} s")

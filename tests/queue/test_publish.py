"""``publish-tasks`` and ``redrive-queue`` against a moto server over HTTP; the message format."""

from __future__ import annotations

import importlib
import json

import boto3
import pytest
from click.testing import CliRunner

from statscore.cli import main
from statscore.errors import InputError
from statscore.run import TaskReader
from statscore.sqs import SQSQueue, parse_task_message, task_message
from statscore.task import TileIdx, render_task


def _publish(*args: str, input: str | None = None):
    return CliRunner().invoke(main, ["publish-tasks", *args], input=input)


def test_message_body_is_odc_stats_format():
    body = task_message(TileIdx("2015--P1Y", 49, 24), "s3://b/k.db")
    assert body == '{"filedb": "s3://b/k.db", "tile_idx": "2015--P1Y/49/24"}'
    assert parse_task_message(body) == (TileIdx("2015--P1Y", 49, 24), "s3://b/k.db")
    # odc-stats also writes x/y first and pads small indexes
    assert parse_task_message('{"filedb": "a.db", "tile_idx": "x03/y-04/2019--P1Y"}')[0] == TileIdx("2019--P1Y", 3, -4)


def test_message_body_matches_odc_stats_render_sqs():
    tasks = importlib.import_module("odc.stats.tasks")
    tile = TileIdx("2020-01--P1M", 3, -4)
    assert json.loads(task_message(tile, "s3://b/k.db")) == tasks.render_sqs(tuple(tile), "s3://b/k.db")


@pytest.mark.parametrize("body,needle", [
    ("garbage", "not JSON"),
    ('["2015--P1Y/49/24"]', "needs string keys"),
    ('{"tile_idx": "2015--P1Y/49/24"}', "needs string keys"),
    ('{"filedb": "", "tile_idx": "2015--P1Y/49/24"}', "empty 'filedb'"),
    ('{"filedb": "a.db", "tile_idx": "49/24"}', "expected forms like"),
])
def test_malformed_message_bodies_are_one_line_errors(body, needle):
    with pytest.raises(InputError, match=needle) as e:
        parse_task_message(body)
    assert "\n" not in str(e.value)


def test_publish_sends_every_selected_task_once_in_odc_stats_format(planned, queues):
    _, db, url, _ = planned
    all_tiles = TaskReader(str(db)).all_tiles
    assert len(all_tiles) >= 23
    r = _publish(url, queues.name, ":23")  # three batches: 10 + 10 + 3
    assert r.exit_code == 0, r.output
    assert "published 23 tasks" in r.output
    bodies = queues.bodies(queues.url)
    assert sorted(bodies) == sorted(task_message(t, url) for t in all_tiles[:23])


def test_publish_selection_from_stdin_triplets_and_indexes(planned, queues):
    _, db, url, _ = planned
    tiles = TaskReader(str(db)).all_tiles
    r = _publish(str(db), queues.url, "-", input=f"{render_task(tiles[5])}\n0\n-1\n")
    assert r.exit_code == 0, r.output
    got = {parse_task_message(b) for b in queues.bodies(queues.url)}
    assert got == {(tiles[5], str(db)), (tiles[0], str(db)), (tiles[-1], str(db))}


def test_dryrun_prints_tasks_and_sends_nothing(planned, queues):
    _, db, url, _ = planned
    tiles = TaskReader(str(db)).all_tiles
    r = _publish(url, queues.name, "::10", "--dryrun")
    assert r.exit_code == 0, r.output
    printed = [ln for ln in r.output.splitlines() if "--P" in ln]
    assert printed == [render_task(t) for t in tiles[::10]]
    assert queues.counts() == (0, 0)


def test_dryrun_needs_no_queue(planned):
    _, db, _, _ = planned
    assert _publish(str(db), "no-such-queue", "0", "--dryrun").exit_code == 0


def test_geojson_filter_keeps_tiles_intersecting_the_first_feature(planned, queues, tmp_path):
    from odc.geo.geom import point

    _, db, url, _ = planned
    reader = TaskReader(str(db))
    t = reader.all_tiles[7]
    centre = reader.gridspec.tile_geobox((t.x, t.y)).extent.centroid.to_crs("EPSG:4326")
    x, y = centre.coords[0]
    aoi = point(x, y, "EPSG:4326").buffer(0.01)
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:4326"}},
           "features": [{"type": "Feature", "properties": {}, "geometry": aoi.json},
                        {"type": "Feature", "properties": {}, "geometry": point(0, 0, "EPSG:4326").buffer(80).json}]}
    gj = tmp_path / "aoi.geojson"
    gj.write_text(json.dumps(doc))
    r = _publish(url, queues.name, "--geojson-filter", str(gj), "--dryrun")
    assert r.exit_code == 0, r.output
    printed = {ln for ln in r.output.splitlines() if "--P" in ln}
    assert printed == {render_task(u) for u in reader.all_tiles if (u.x, u.y) == (t.x, t.y)}


@pytest.mark.parametrize("cmd", [
    ["publish-tasks", "{db}", "no-such-queue", "0"],
    ["redrive-queue", "no-such-dlq", "{queue}"],
    ["run", "--from-sqs", "no-such-queue", "--plugin", "pq", "--location", "s3://x/y"],
])
def test_unknown_queue_is_one_clear_line(planned, queues, cmd):
    _, db, _, _ = planned
    cmd = [c.format(db=db, queue=queues.name) for c in cmd]
    r = CliRunner().invoke(main, cmd)
    assert r.exit_code == 1
    err = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(err) == 1 and "no-such-" in err[0] and "no such queue" in err[0], r.output
    assert queues.counts() == (0, 0)


def test_run_from_sqs_refuses_tasks_and_dryrun(planned):
    _, db, _, _ = planned
    for extra in ([str(db)], ["--dryrun"]):
        r = CliRunner().invoke(main, ["run", "--from-sqs", "q", "--plugin", "pq", "--location", "/tmp/x", *extra])
        assert r.exit_code == 1 and "--from-sqs" in r.output and r.output.count("\n") == 1, r.output


def test_redrive_moves_every_dead_letter_back(queues):
    dlq, q = SQSQueue(queues.dlq_url), SQSQueue(queues.name)
    bodies = [f"body {i}" for i in range(23)]
    assert dlq.send(bodies) == 23
    r = CliRunner().invoke(main, ["redrive-queue", queues.dlq_name, queues.name])
    assert r.exit_code == 0, r.output
    assert f"moved 23 messages from {queues.dlq_name} to {queues.name}" in r.output
    assert sorted(queues.bodies(q.url)) == sorted(bodies)
    assert queues.counts(queues.dlq_url) == (0, 0)


def test_boto3_uses_the_endpoint_variable(aws_env):
    assert boto3.client("sqs").meta.endpoint_url == aws_env["AWS_ENDPOINT_URL"]

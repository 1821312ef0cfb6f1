"""``run --from-sqs`` workers as separate processes against a moto server over HTTP:
every task done exactly once, and the faults a fleet meets (SIGKILL, long tasks, poison
tasks, SIGTERM, bad messages) neither lose nor double a tile. Recovery times are kept in
``RECOVERY`` and printed at the end of the session (run with ``-s``)."""

from __future__ import annotations

import json
import os
import signal
import time

import boto3
import pytest
from click.testing import CliRunner

from sqs_support import RECOVERY, run_config, wait_until
from statscore.cli import main
from statscore.run import TaskReader
from statscore.sqs import SQSQueue, task_message
from statscore.task import render_task

SLOW = "sqs_plugins.SlowPQ"
PUBLIC_READ = ("http://acs.amazonaws.com/groups/global/AllUsers", "READ")


def _publish(cache: str, queue: str, *tasks: str) -> None:
    r = CliRunner().invoke(main, ["publish-tasks", cache, queue, *tasks])
    assert r.exit_code == 0, r.output


def _versions(bucket: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in boto3.client("s3").list_object_versions(Bucket=bucket).get("Versions", []):
        out[v["Key"]] = out.get(v["Key"], 0) + 1
    return out


def _in_flight(queues) -> bool:
    return queues.counts()[1] == 1


def test_two_workers_do_every_task_exactly_once(planned, queues, workers, tmp_path):
    _, db, cache, _ = planned
    n = 6
    _publish(cache, queues.name, f":{n}")
    cfg = run_config(tmp_path / "run.yaml", queues.bucket)
    a = workers(queues.name, cfg, "--idle-timeout", "3")
    b = workers(queues.name, cfg, "--idle-timeout", "3")
    assert a.wait() == 0, a.stderr[-2000:]
    assert b.wait() == 0, b.stderr[-2000:]
    done = [ln.split()[0] for w in (a, b) for ln in w.lines("done")]
    assert sorted(done) == sorted(render_task(t) for t in TaskReader(str(db)).all_tiles[:n])
    assert a.lines("done") and b.lines("done"), "both workers should have taken tasks"
    for w in (a, b):  # the cache is downloaded once per worker, and the copy removed at exit
        assert w.stderr.count(f"fetched cache {cache}") == 1, w.stderr
        assert not os.path.exists(w.stderr.split(f"fetched cache {cache} -> ")[1].split()[0])
    assert queues.counts() == (0, 0) and queues.counts(queues.dlq_url) == (0, 0)
    versions = _versions(queues.bucket)
    assert len(queues.stac_items()) == n
    assert set(versions.values()) == {1}, "an object was written twice"
    s3 = boto3.client("s3")
    for key in versions:
        grants = {(g["Grantee"].get("URI", g["Grantee"].get("ID")), g["Permission"])
                  for g in s3.get_object_acl(Bucket=queues.bucket, Key=key)["Grants"]}
        assert PUBLIC_READ in grants, key


def test_sigkilled_worker_task_comes_back_and_is_done_once(planned, queues, workers, tmp_path):
    _, _, cache, _ = planned
    _publish(cache, queues.name, "0")
    cfg = run_config(tmp_path / "run.yaml", queues.bucket, plugin=SLOW, plugin_config={"delay": 8})
    a = workers(queues.name, cfg)
    wait_until(lambda: _in_flight(queues), 60)
    time.sleep(4)  # well inside the task (the lease has been renewed by now)
    a.proc.send_signal(signal.SIGKILL)
    t_kill = time.monotonic()
    a.proc.wait(10)
    quick = run_config(tmp_path / "quick.yaml", queues.bucket, plugin=SLOW, plugin_config={"delay": 0})
    b = workers(queues.name, quick, "--idle-timeout", "20")
    assert b.wait() == 0, b.stderr[-2000:]
    recovered = wait_until(lambda: len(queues.stac_items()) == 1, 5) + (time.monotonic() - t_kill)
    RECOVERY["SIGKILL mid-task -> task done by a second worker (lease 4 s)"] = recovered
    assert len(b.lines("done")) == 1
    time.sleep(1.5)  # the killed worker's task process would have written by now if it had survived
    versions = _versions(queues.bucket)
    assert set(versions.values()) == {1}, versions
    assert len(queues.stac_items()) == 1
    assert queues.counts() == (0, 0) and queues.counts(queues.dlq_url) == (0, 0)


def test_task_longer_than_the_lease_is_not_taken_by_another_worker(planned, queues, workers, tmp_path):
    _, _, cache, _ = planned
    _publish(cache, queues.name, "1")
    cfg = run_config(tmp_path / "run.yaml", queues.bucket, plugin=SLOW, plugin_config={"delay": 10},
                     lease=4, margin=2)
    hb = tmp_path / "heartbeat"
    a = workers(queues.name, cfg, "--heartbeat-filepath", str(hb))
    wait_until(lambda: _in_flight(queues), 60)
    b = workers(queues.name, cfg, "--idle-timeout", "12")
    assert a.wait() == 0, a.stderr[-2000:]
    assert b.wait() == 0, b.stderr[-2000:]
    line = a.lines("done")
    assert len(line) == 1 and float(line[0].split()[2].rstrip("s")) > 10  # it did outlive the 4 s lease
    assert "0 messages" in b.stdout, b.stdout
    assert len(queues.stac_items()) == 1 and set(_versions(queues.bucket).values()) == {1}
    assert queues.counts() == (0, 0) and queues.counts(queues.dlq_url) == (0, 0)
    assert time.time() - hb.stat().st_mtime < 60


@pytest.mark.parametrize("queues", [2], indirect=True)
def test_poison_task_goes_to_the_dlq_and_is_redriven(planned, queues, workers, tmp_path):
    _, db, cache, recs = planned
    reader = TaskReader(str(db))
    tiles = reader.all_tiles
    victim_id = str(reader.tasks[tiles[0]][0])
    clean = [j for j, t in enumerate(tiles) if victim_id not in {str(u) for u in reader.tasks[t]}][:3]
    assert len(clean) == 3
    band = next(r for r in recs if str(r.id) == victim_id).band_paths["SCL"]
    saved = band.read_bytes()
    band.write_bytes(b"this is not a GeoTIFF")
    log = tmp_path / "failures.jsonl"
    try:
        _publish(cache, queues.name, "0", *map(str, clean))
        cfg = run_config(tmp_path / "run.yaml", queues.bucket)
        t0 = time.monotonic()
        w = workers(queues.name, cfg, "--idle-timeout", "2", "--failure-log", str(log))
        assert w.wait() == 1, w.stderr[-2000:]
        RECOVERY["poison task -> DLQ (2 receives), 3 others done"] = time.monotonic() - t0
    finally:
        band.write_bytes(saved)
    assert len(w.lines("done")) == 3
    failed = w.lines("failed")
    assert len(failed) == 2 and all(ln.startswith(render_task(tiles[0]) + " ") for ln in failed), failed
    assert all(victim_id in ln or str(band) in ln for ln in failed), failed
    assert len(queues.stac_items()) == 3
    assert queues.counts() == (0, 0)
    assert queues.counts(queues.dlq_url) == (1, 0)
    recs_ = [json.loads(ln) for ln in log.read_text().splitlines()]
    assert [r["receive_count"] for r in recs_] == [1, 2]
    assert all(r["filedb"] == cache and r["reason"] for r in recs_)

    # after the fix: redrive, and a worker finishes it
    t0 = time.monotonic()
    r = CliRunner().invoke(main, ["redrive-queue", queues.dlq_name, queues.name])
    assert r.exit_code == 0 and "moved 1 messages" in r.output, r.output
    assert queues.counts(queues.dlq_url) == (0, 0) and queues.counts()[0] == 1
    w2 = workers(queues.name, cfg)
    assert w2.wait() == 0, w2.stderr[-2000:]
    RECOVERY["redrive-queue + a worker -> poison task done after the fix"] = time.monotonic() - t0
    assert len(queues.stac_items()) == 4 and queues.counts() == (0, 0)


def test_sigterm_releases_the_task_and_exits_0(planned, queues, workers, tmp_path):
    _, _, cache, _ = planned
    _publish(cache, queues.name, "2")
    cfg = run_config(tmp_path / "run.yaml", queues.bucket, plugin=SLOW, plugin_config={"delay": 30})
    w = workers(queues.name, cfg)
    wait_until(lambda: _in_flight(queues), 60)
    time.sleep(6)  # the task process is up and inside the task
    t0 = time.monotonic()
    w.proc.send_signal(signal.SIGTERM)
    assert w.wait(30) == 0, w.stderr[-2000:]
    exited = time.monotonic() - t0
    visible = wait_until(lambda: queues.counts() == (1, 0), 10) + exited
    RECOVERY["SIGTERM mid-task -> worker exited 0"] = exited
    RECOVERY["SIGTERM mid-task -> message visible again"] = visible
    assert exited < 10
    assert len(w.lines("released")) == 1 and "stopped by signal" in w.stdout
    assert queues.keys() == [], "a released task must leave no outputs"


@pytest.mark.parametrize("queues", [2], indirect=True)
def test_bad_messages_are_released_to_the_dlq_and_the_rest_is_done(planned, queues, workers, tmp_path):
    _, _, cache, _ = planned
    missing = "s3://caches/sqs/missing.db"
    bad = ["not json at all", json.dumps({"tile_idx": "2020-01--P1M/1/2"}),
           task_message(("2020-01--P1M", 186, 92), missing)]
    SQSQueue(queues.url).send(bad)
    _publish(cache, queues.name, "3")
    cfg = run_config(tmp_path / "run.yaml", queues.bucket)
    w = workers(queues.name, cfg, "--idle-timeout", "2")
    assert w.wait() == 1, w.stderr[-2000:]
    assert len(w.lines("done")) == 1
    failed = w.lines("failed")
    assert len(failed) == 6, failed  # each bad message twice, then SQS moves it to the DLQ
    assert sum("not JSON" in ln for ln in failed) == 2
    assert sum("needs string keys" in ln for ln in failed) == 2
    assert sum(f"cache {missing}: not found on S3" in ln for ln in failed) == 2
    assert "Traceback" not in w.stderr
    assert queues.counts() == (0, 0)
    assert sorted(queues.bodies(queues.dlq_url)) == sorted(bad), "the bad messages reach the DLQ unchanged"
    assert len(queues.stac_items()) == 1


def test_update_messages_recompute_only_products_whose_inputs_changed(planned, queues, workers, tmp_path):
    """Messages with ``"mode": "update"`` (what an execution with {"mode": "update"} enqueues):
    a product whose recorded input fingerprint matches is left alone, one that differs is
    recomputed, and one never written is computed."""
    _, db, cache, _ = planned
    tiles = TaskReader(str(db)).all_tiles[:3]
    _publish(cache, queues.name, "0", "1")
    cfg = run_config(tmp_path / "run.yaml", queues.bucket)
    w = workers(queues.name, cfg, "--idle-timeout", "3")
    assert w.wait() == 0, w.stderr[-2000:]
    items = queues.stac_items()
    assert len(items) == 2
    # the second product was made from other inputs: its recorded fingerprint differs
    s3 = boto3.client("s3")
    key = next(k for k in items if f"x{tiles[1].x}/y{tiles[1].y}/" in k)
    item = json.loads(s3.get_object(Bucket=queues.bucket, Key=key)["Body"].read())
    item["properties"]["statscore:input_fingerprint"] = "sha256:" + "0" * 64
    s3.put_object(Bucket=queues.bucket, Key=key, Body=json.dumps(item).encode())
    before = _versions(queues.bucket)

    SQSQueue(queues.name).send(task_message(t, cache, "update") for t in tiles)
    w = workers(queues.name, cfg, "--idle-timeout", "3")
    assert w.wait() == 0, w.stderr[-2000:]
    assert [ln.split()[0] for ln in w.lines("unchanged")] == [render_task(tiles[0])]
    assert sorted(ln.split()[0] for ln in w.lines("done")) == sorted(render_task(t) for t in tiles[1:])
    assert "3 messages: 2 done, 0 skipped, 1 unchanged, 0 failed, 0 released" in w.stdout
    after = _versions(queues.bucket)
    first = [k for k in before if f"x{tiles[0].x}/y{tiles[0].y}/" in k]
    assert first and all(after[k] == before[k] for k in first)  # nothing of the unchanged tile rewritten
    assert after[key] == before[key] + 1
    assert queues.counts() == (0, 0) and queues.counts(queues.dlq_url) == (0, 0)

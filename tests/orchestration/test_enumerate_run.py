"""enumerate_run against a moto server over HTTP: plan from STAC items (or take a cache),
one PENDING row and one odc-stats message per task, a manifest on S3, a small state; a
second run of the same input skips what is DONE."""

from __future__ import annotations

import json

import pytest

from statscore.cache import cache_tiles, close_cache, open_cache
from statscore.errors import ConfigError, InputError
from statscore.orchestration import BATCH_ARRAY_MAX, RunRequest, array_size, enumerate_run
from statscore.task import render_task

YEAR_2020 = {"year": 2020}
TASKS_2020 = 48
"""Annual tasks of the sample items on au_extended_s2_80 (conftest's ``stac_items``)."""


def _quiet(msg: str) -> None:
    pass


def _drain(d) -> list[dict]:
    """Every message on the run queue (short lease; the test ends before it runs out)."""
    out = []
    while True:
        got = d.clients.sqs.receive_message(QueueUrl=d.cfg.queue_url, MaxNumberOfMessages=10,
                                            VisibilityTimeout=60, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return out
        out += [json.loads(m["Body"]) for m in got]


def _cache_task_ids(d, url: str, tmp_path) -> list[str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    local = str(tmp_path / "fetched.db")
    d.clients.s3.download_file(bucket, key, local)
    try:
        return [render_task(t) for t in cache_tiles(open_cache(local))]
    finally:
        close_cache(local)


def test_enumerate_plans_the_year_records_pending_rows_and_queues_every_task(deployment, tmp_path):
    d = deployment
    state = enumerate_run("run-a", YEAR_2020, d.cfg, d.clients, log=_quiet)
    assert state["filedb"] == f"s3://{d.cfg.cache_bucket}/caches/run-a/au_extended_s2_80_2020--P1Y.db"
    ids = _cache_task_ids(d, state["filedb"], tmp_path)
    assert len(ids) == TASKS_2020 and all(t.startswith("2020--P1Y/") for t in ids)
    assert {k: state[k] for k in ("tasks", "queued", "skipped_done", "round", "verdict", "array_size")} == {
        "tasks": TASKS_2020, "queued": TASKS_2020, "skipped_done": 0, "round": 0, "verdict": "running",
        "array_size": 3}  # 48 tasks, 20 a worker
    rows = list(d.table.run_rows("run-a"))
    assert sorted(r.task_id for r in rows) == ids and {r.state for r in rows} == {"PENDING"}
    bodies = _drain(d)
    assert sorted(b["tile_idx"] for b in bodies) == ids and {b["filedb"] for b in bodies} == {state["filedb"]}
    manifest = d.s3_json(state["manifest"])
    assert manifest["queued"] == ids and manifest["skipped_done"] == [] and manifest["request"] == YEAR_2020
    assert len(json.dumps(state)) < 1000  # counts and locations, never the task list


def test_enumerate_again_skips_tasks_already_done(deployment):
    d = deployment
    enumerate_run("run-1", YEAR_2020, d.cfg, d.clients, log=_quiet)
    ids = sorted(r.task_id for r in d.table.run_rows("run-1"))
    done = ids[:5]
    for t in done:
        assert d.table.mark_done(t, f"s3://out/{t}.stac-item.json", 2.0)
    state = enumerate_run("run-2", YEAR_2020, d.cfg, d.clients, log=_quiet)
    assert (state["tasks"], state["skipped_done"], state["queued"]) == (TASKS_2020, 5, TASKS_2020 - 5)
    again = {r.task_id: r for r in d.table.run_rows("run-2")}
    assert sorted(again) == ids[5:] and {r.state for r in again.values()} == {"PENDING"}
    kept = {r.task_id: r for r in d.table.run_rows("run-1")}
    assert sorted(kept) == done and all(r.state == "DONE" and r.output_uri for r in kept.values())
    assert d.s3_json(state["manifest"])["skipped_done"] == done
    assert d.queued() == TASKS_2020 + TASKS_2020 - 5


def test_enumerate_of_a_given_cache_keeps_its_location_and_the_requested_tiles(deployment, tmp_path):
    d = deployment
    first = enumerate_run("run-plan", YEAR_2020, d.cfg, d.clients, log=_quiet)
    ids = _cache_task_ids(d, first["filedb"], tmp_path)
    xs = sorted({int(t.split("/")[1]) for t in ids})
    x0, x1 = xs[0], xs[len(xs) // 2]
    expected = [t for t in ids if x0 <= int(t.split("/")[1]) < x1]
    capped = d.with_settings(tasks_per_worker=1, array_size_cap=4)
    state = enumerate_run("run-cache", {"cache": first["filedb"], "tiles": f"{x0}:{x1},-1000:1000"}, capped.cfg,
                          d.clients, log=_quiet)
    assert state["filedb"] == first["filedb"]  # the given cache is used where it is
    assert 0 < state["queued"] == len(expected) < TASKS_2020
    assert sorted(r.task_id for r in d.table.run_rows("run-cache")) == expected
    assert state["array_size"] == 4  # one task a worker, capped


def test_enumerate_of_a_year_without_datasets_has_nothing_to_do(deployment):
    d = deployment
    state = enumerate_run("run-empty", {"year": 1990}, d.cfg, d.clients, log=_quiet)
    assert {k: state[k] for k in ("tasks", "queued", "array_size", "verdict", "filedb")} == {
        "tasks": 0, "queued": 0, "array_size": 0, "verdict": "done", "filedb": ""}
    assert list(d.table.run_rows("run-empty")) == [] and d.queued() == 0


def test_enumerate_of_a_missing_cache_names_it(deployment):
    d = deployment
    url = f"s3://{d.cfg.cache_bucket}/caches/nope.db"
    with pytest.raises(InputError, match=rf"^{url}: cannot fetch the task cache") as e:
        enumerate_run("run-x", {"cache": url}, d.cfg, d.clients, log=_quiet)
    assert "\n" not in str(e.value)


def test_a_batch_plan_of_no_tasks_is_a_run_with_nothing_to_do(deployment):
    """The Batch planner's save-tasks writes no cache when it finds no tasks; the Enumerate that
    continues from it (``planned``, set by the state machine) then finishes the run with none,
    where a missing cache a user named is still an error (above)."""
    d = deployment
    url = f"s3://{d.cfg.cache_bucket}/caches/run-b/au_extended_s2_80_2020--P1Y.db"
    logged: list[str] = []
    state = enumerate_run("run-b", {**YEAR_2020, "cache": url, "planned": True}, d.cfg, d.clients, log=logged.append)
    assert {k: state[k] for k in ("tasks", "queued", "array_size", "verdict", "filedb")} == {
        "tasks": 0, "queued": 0, "array_size": 0, "verdict": "done", "filedb": ""}
    assert f"run run-b: the Batch planner found no tasks (it wrote no {url})" in logged
    assert list(d.table.run_rows("run-b")) == [] and d.queued() == 0


def test_enumerate_without_a_dataset_location_says_which_setting(deployment):
    d = deployment.with_settings(stac_location="")
    with pytest.raises(ConfigError, match="STAC_LOCATION not set"):
        enumerate_run("run-x", YEAR_2020, d.cfg, d.clients, log=_quiet)


def test_enumerate_in_update_mode_queues_done_tasks_too_with_the_mode(deployment):
    """{"mode": "update"}: every task is queued, DONE ones too, and each message says
    "update" so the workers recompute only tiles whose inputs changed."""
    d = deployment
    enumerate_run("run-u1", YEAR_2020, d.cfg, d.clients, log=_quiet)
    ids = sorted(r.task_id for r in d.table.run_rows("run-u1"))
    for t in ids[:5]:
        assert d.table.mark_done(t, f"s3://out/{t}.stac-item.json", 2.0)
    _drain(d)
    state = enumerate_run("run-u2", {**YEAR_2020, "mode": "update"}, d.cfg, d.clients, log=_quiet)
    assert (state["tasks"], state["skipped_done"], state["queued"]) == (TASKS_2020, 0, TASKS_2020)
    bodies = _drain(d)
    assert sorted(b["tile_idx"] for b in bodies) == ids and {b.get("mode") for b in bodies} == {"update"}
    assert {r.state for r in d.table.run_rows("run-u2")} == {"PENDING"}
    assert d.s3_json(state["manifest"])["request"] == {"year": 2020, "mode": "update"}


@pytest.mark.parametrize("tasks, per_worker, cap, expected", [
    (0, 20, 500, 0), (1, 20, 500, 2), (45, 20, 500, 3), (30_000, 20, 500, 500),
    (30_000, 1, 50_000, BATCH_ARRAY_MAX), (30_000, 0, 500, 500)])
def test_array_size_is_one_worker_per_share_within_batch_limits_and_the_cap(tasks, per_worker, cap, expected):
    assert array_size(tasks, per_worker, cap) == expected


@pytest.mark.parametrize("event, message", [
    ({"yeer": 2019}, "unknown key 'yeer' (did you mean 'year'?)"),
    ({"year": 2019, "temporal_range": "2019--P1Y"}, "give one of 'year' or 'temporal_range'"),
    ({"year": "twenty"}, "year 'twenty' is not a year"),
    ({"cache": "/tmp/x.db"}, "must be an s3:// URL"),
    ({"tiles": "1:2,3:4"}, "needs 'year' or 'temporal_range'"),
    ({"year": 2019, "plugin_config": {}}, "plugin_config is a deployment setting"),
    ({"year": 2019, "mode": "updaet"}, "mode 'updaet' is not one of update (did you mean 'update'?)"),
    ([2019], "expected a JSON object"),
])
def test_bad_execution_input_is_one_line_naming_the_key(event, message):
    with pytest.raises(ConfigError) as e:
        RunRequest.parse(event)
    assert message in str(e.value) and "\n" not in str(e.value)

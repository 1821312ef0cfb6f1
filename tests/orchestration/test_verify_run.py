"""verify_run against a task table and queue on a moto server: done, retry (rows back to
PENDING, messages again, round + 1), or failed naming the tiles once the rounds are spent;
the state stays small however many tiles fail."""

from __future__ import annotations

import json

from statscore.orchestration import FAILED_TILES_SHOWN, verify_run
from statscore.tasktable import DynamoTaskTable

FILEDB = "s3://caches/run/tasks.db"


def _tasks(n: int) -> list[str]:
    return [f"2020--P1Y/{40 + i // 10:02d}/{20 + i % 10:02d}" for i in range(n)]


def _state(run_id: str, rnd: int = 0, **extra) -> dict:
    """What the state machine hands Verify: Enumerate's output (and the array job's error, if any)."""
    return {"run_id": run_id, "request": {"year": 2020}, "filedb": FILEDB, "manifest": "s3://caches/run/manifest.json",
            "tasks": 6, "queued": 6, "skipped_done": 0, "array_size": 2, "round": rnd, "verdict": "running", **extra}


def _messages(d) -> list[dict]:
    out = []
    while got := d.clients.sqs.receive_message(QueueUrl=d.cfg.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                               WaitTimeSeconds=0).get("Messages", []):
        out += [json.loads(m["Body"]) for m in got]
    return out


def test_all_rows_done_is_done(deployment):
    d = deployment
    ids = _tasks(3)
    d.table.put_pending("run-d", ids, FILEDB)
    for t in ids:
        d.table.mark_done(t, "s3://out/x.json", 1.0)
    out = verify_run(_state("run-d", workers_error={"Error": "States.TaskFailed"}), d.cfg, d.clients)
    assert (out["verdict"], out["array_size"], out["counts"]) == ("done", 0, {"DONE": 3})
    assert "workers_error" not in out and d.queued() == 0


def test_unfinished_rows_are_requeued_and_the_round_bumped(deployment):
    d = deployment
    ids = _tasks(6)
    d.table.put_pending("run-r", ids, FILEDB)
    for t in ids[:3]:
        d.table.mark_done(t, "s3://out/x.json", 1.0)
    d.table.mark_failed(ids[3], "InputError: band SCL unreadable", 2.0)
    d.table.mark_running(ids[4], "job:1")  # a worker that died mid-task; ids[5] was never taken
    out = verify_run(_state("run-r", workers_error={"Error": "States.TaskFailed"}), d.cfg, d.clients)
    assert (out["verdict"], out["round"], out["array_size"]) == ("retry", 1, 2)
    assert out["counts"] == {"DONE": 3, "FAILED": 1, "PENDING": 1, "RUNNING": 1} and "workers_error" not in out
    rows = {r.task_id: r for r in d.table.run_rows("run-r")}
    assert {t: (rows[t].state, rows[t].attempts) for t in ids[3:]} == {t: ("PENDING", 1) for t in ids[3:]}
    assert all(rows[t].state == "DONE" for t in ids[:3])
    assert sorted(m["tile_idx"] for m in _messages(d)) == ids[3:]


def test_after_the_last_round_the_run_fails_naming_the_tile_and_why(deployment):
    d = deployment
    ids = _tasks(4)
    d.table.put_pending("run-f", ids, FILEDB)
    for t in ids[1:]:
        d.table.mark_done(t, "s3://out/x.json", 1.0)
    d.table.mark_failed(ids[0], "InputError: band SCL of 3f2c... is not a GeoTIFF", 2.0)
    out = verify_run(_state("run-f", rnd=d.cfg.verify_max_rounds), d.cfg, d.clients)
    assert (out["verdict"], out["array_size"], out["failed_tiles"]) == ("failed", 0, [ids[0]])
    assert out["cause"] == (f"1 of 4 tasks not done after {d.cfg.verify_max_rounds} retries: "
                            f"{ids[0]} (FAILED: InputError: band SCL of 3f2c... is not a GeoTIFF)")
    assert d.queued() == 0


def test_many_failed_tiles_keep_the_state_small(deployment):
    d = deployment.with_settings(verify_max_rounds=0)
    ids = _tasks(80)
    d.table.put_pending("run-m", ids, FILEDB)
    for t in ids:
        d.table.mark_failed(t, "RuntimeError: " + "x" * 900, 1.0)
    out = verify_run(_state("run-m"), d.cfg, d.clients)
    assert out["verdict"] == "failed" and out["failed_tiles"] == ids[:FAILED_TILES_SHOWN]
    assert out["cause"].startswith("80 of 80 tasks not done") and out["cause"].endswith("and 60 more (see the run summary)")
    assert len(json.dumps(out)) < 8_000  # Step Functions carries at most 256 KB


class _LateWorkerTable(DynamoTaskTable):
    """The real table, with a worker finishing each task just before Verify requeues it."""

    def requeue(self, task_id: str, run_id: str) -> bool:
        self.mark_done(task_id, "s3://out/late.json", 5.0)
        return super().requeue(task_id, run_id)


def test_tasks_done_meanwhile_are_not_requeued_and_no_workers_are_asked_for(deployment):
    d = deployment
    ids = _tasks(2)
    d.table.put_pending("run-l", ids, FILEDB)
    late = _LateWorkerTable(d.cfg.table, d.clients.dynamodb)
    out = verify_run(_state("run-l"), d.cfg, d.clients, table=late)
    assert (out["verdict"], out["array_size"], out["counts"]) == ("done", 0, {"DONE": 2})
    assert {r.state for r in d.table.run_rows("run-l")} == {"DONE"} and d.queued() == 0

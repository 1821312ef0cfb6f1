"""``run --from-sqs`` workers keep their tasks' DynamoDB rows up to date (moto over HTTP):
RUNNING with the worker id, DONE with the STAC item URL and seconds (also when the output
was already there), FAILED with a one-line reason; a table that cannot be written never
costs a message."""

from __future__ import annotations

import socket
import uuid

import boto3
import pytest
from click.testing import CliRunner

from sqs_support import run_config
from tests.task_table_support import create_task_table
from statscore.cli import main
from statscore.run import TaskReader
from statscore.tasktable import DynamoTaskTable
from statscore.task import render_task
from statscore.worker import worker_id


@pytest.fixture
def table(aws_env) -> DynamoTaskTable:
    """A fresh task table on the moto server, shaped as the stack's."""
    client = boto3.client("dynamodb")
    name = f"tasks-{uuid.uuid4().hex[:8]}"
    create_task_table(client, name)
    return DynamoTaskTable(name, client)


def _publish(cache: str, queue: str, *tasks: str) -> None:
    r = CliRunner().invoke(main, ["publish-tasks", cache, queue, *tasks])
    assert r.exit_code == 0, r.output


def _item(table: DynamoTaskTable, task_id: str) -> dict:
    item = table.client.get_item(TableName=table.table, Key={"task_id": {"S": task_id}}, ConsistentRead=True)["Item"]
    return {k: next(iter(v.values())) for k, v in item.items()}


def _stac_uris(queues) -> set[str]:
    return {f"s3://{queues.bucket}/{k}" for k in queues.keys() if k.endswith(".stac-item.json")}


def test_rows_go_running_then_done_with_the_stac_item_and_the_option_beats_the_env(
        planned, queues, workers, table, tmp_path, monkeypatch):
    _, db, cache, _ = planned
    tiles = [render_task(t) for t in TaskReader(str(db)).all_tiles[:2]]
    table.put_pending("run-1", tiles, cache)
    monkeypatch.setenv("TASK_TABLE", "no-such-table")  # the worker inherits it; --task-table wins
    _publish(cache, queues.name, "0", "1")
    cfg = run_config(tmp_path / "run.yaml", queues.bucket)
    w = workers(queues.name, cfg, "--idle-timeout", "2", "--task-table", table.table)
    assert w.wait() == 0, w.stderr[-2000:]
    assert f"recording task states in DynamoDB table {table.table} as worker {socket.gethostname()}:" in w.stderr
    assert "task table" not in w.stderr.replace(f"task states in DynamoDB table {table.table}", ""), w.stderr
    rows = {r.task_id: r for r in table.run_rows("run-1")}
    assert {t: rows[t].state for t in tiles} == {t: "DONE" for t in tiles}
    assert {rows[t].output_uri for t in tiles} == _stac_uris(queues)
    assert all(rows[t].seconds and rows[t].seconds > 0 and not rows[t].reason for t in tiles)
    item = _item(table, tiles[0])
    assert item["worker"] == f"{socket.gethostname()}:{w.proc.pid}" and item["attempts_run"] == "1"

    # queued again with its output in place: the worker skips it and the row is DONE again
    table.put_pending("run-2", tiles[:1], cache)
    _publish(cache, queues.name, "0")
    w2 = workers(queues.name, cfg, "--idle-timeout", "2", "--task-table", table.table)
    assert w2.wait() == 0, w2.stderr[-2000:]
    assert len(w2.lines("skipped")) == 1
    (row,) = table.run_rows("run-2")
    assert row.state == "DONE" and row.output_uri == rows[tiles[0]].output_uri and row.seconds is not None
    assert queues.counts() == (0, 0)


@pytest.mark.parametrize("queues", [2], indirect=True)
def test_poison_task_row_is_failed_with_a_one_line_reason(planned, queues, workers, table, tmp_path, monkeypatch):
    _, db, cache, recs = planned
    reader = TaskReader(str(db))
    tiles = reader.all_tiles
    victim_id = str(reader.tasks[tiles[0]][0])
    clean = next(j for j, t in enumerate(tiles) if victim_id not in {str(u) for u in reader.tasks[t]})
    poison, good = render_task(tiles[0]), render_task(tiles[clean])
    table.put_pending("run-p", [poison, good], cache)
    monkeypatch.setenv("TASK_TABLE", table.table)  # as the Batch job definition sets it
    band = next(r for r in recs if str(r.id) == victim_id).band_paths["SCL"]
    saved = band.read_bytes()
    band.write_bytes(b"this is not a GeoTIFF")
    try:
        _publish(cache, queues.name, "0", str(clean))
        w = workers(queues.name, run_config(tmp_path / "run.yaml", queues.bucket), "--idle-timeout", "2")
        assert w.wait() == 1, w.stderr[-2000:]
    finally:
        band.write_bytes(saved)
    rows = {r.task_id: r for r in table.run_rows("run-p")}
    assert rows[good].state == "DONE" and rows[good].output_uri in _stac_uris(queues)
    bad = rows[poison]
    assert bad.state == "FAILED" and bad.output_uri == "" and bad.seconds is not None
    assert "\n" not in bad.reason and (victim_id in bad.reason or str(band) in bad.reason), bad.reason
    assert _item(table, poison)["attempts_run"] == "2"  # both receives before the DLQ took it
    assert queues.counts(queues.dlq_url) == (1, 0)


def test_a_table_that_cannot_be_written_costs_no_message(planned, queues, workers, tmp_path):
    _, _, cache, _ = planned
    _publish(cache, queues.name, "2")
    w = workers(queues.name, run_config(tmp_path / "run.yaml", queues.bucket), "--idle-timeout", "2",
                "--task-table", "no-such-table")
    assert w.wait() == 0, w.stderr[-2000:]
    assert len(w.lines("done")) == 1
    assert "task table mark_running failed" in w.stderr and "task table mark_done failed" in w.stderr, w.stderr
    assert len(queues.stac_items()) == 1 and queues.counts() == (0, 0)


def test_worker_id_names_the_batch_array_child_or_the_process():
    assert worker_id({"AWS_BATCH_JOB_ID": "abc", "AWS_BATCH_JOB_ARRAY_INDEX": "7"}) == "abc:7"
    assert worker_id({"AWS_BATCH_JOB_ID": "abc:7", "AWS_BATCH_JOB_ARRAY_INDEX": "7"}) == "abc:7"
    assert worker_id({"AWS_BATCH_JOB_ID": "abc"}) == "abc"
    assert worker_id({}).startswith(f"{socket.gethostname()}:")

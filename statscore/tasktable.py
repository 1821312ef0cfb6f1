"""The task table: one DynamoDB row per task, the run's record of what is PENDING, RUNNING, DONE, FAILED.

Key ``task_id`` is the rendered task (``2019--P1Y/49/24``), so rows outlive a run and a
re-run skips tasks already DONE. ``run_id`` (GSI ``by_run``) names the run that last queued
the task. Writes that change a task's state are conditional so a late or duplicate worker
never turns DONE back into anything else; bulk inserts use BatchWriteItem in chunks of 25
(the AWS limit; moto accepts more, so the chunking is ours to get right).

The adapter is small and sits behind :class:`TaskRows`; boto3 honours ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from .errors import SourceError

__all__ = ["TaskState", "TaskRow", "TaskRows", "DynamoTaskTable", "BY_RUN_INDEX", "BATCH_WRITE_MAX",
           "BATCH_GET_MAX", "BY_RUN_ATTRIBUTES", "USAGE_FIELDS", "chunks"]

BY_RUN_INDEX = "by_run"
BATCH_WRITE_MAX = 25
"""DynamoDB BatchWriteItem: at most 25 put/delete requests per call."""
BATCH_GET_MAX = 100
"""DynamoDB BatchGetItem: at most 100 keys per call."""
USAGE_FIELDS = ("cpu_seconds", "wall_seconds", "peak_memory_bytes", "bytes_read", "observations")
"""Number attributes a worker records with a task's end (:mod:`statscore.ops.usage`)."""
BY_RUN_ATTRIBUTES = ("state", "attempts", "reason", "output_uri", "seconds", "worker", "started_at", "finished_at",
                     *USAGE_FIELDS)
"""Non-key attributes the ``by_run`` index projects: what Verify, Summary and ``status`` read."""


class TaskState(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


@dataclass(frozen=True)
class TaskRow:
    """What the table says about one task."""

    task_id: str
    state: TaskState
    run_id: str = ""
    attempts: int = 0
    reason: str = ""
    output_uri: str = ""
    seconds: float | None = None
    worker: str = ""
    started_at: str = ""
    finished_at: str = ""
    usage: Mapping[str, float] | None = None
    """``cpu_seconds``, ``wall_seconds``, ``peak_memory_bytes``, ``bytes_read``, ``observations``
    as recorded (those present); None for a task that recorded none."""


class TaskRows(Protocol):
    """The operations the run functions and the workers need; DynamoDB is one implementation."""

    def done_among(self, task_ids: Sequence[str]) -> set[str]: ...
    def put_pending(self, run_id: str, task_ids: Sequence[str], filedb: str) -> int: ...
    def run_rows(self, run_id: str) -> Iterator[TaskRow]: ...
    def mark_running(self, task_id: str, worker: str = "") -> bool: ...
    def mark_done(self, task_id: str, output_uri: str = "", seconds: float | None = None,
                  usage: Mapping[str, float] | None = None) -> bool: ...
    def mark_failed(self, task_id: str, reason: str, seconds: float | None = None,
                    usage: Mapping[str, float] | None = None) -> bool: ...
    def requeue(self, task_id: str, run_id: str) -> bool: ...


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _row(item: dict[str, dict[str, str]]) -> TaskRow:
    def s(k: str) -> str:
        return item.get(k, {}).get("S", "")

    secs = item.get("seconds", {}).get("N")
    usage = {k: float(item[k]["N"]) for k in USAGE_FIELDS if "N" in item.get(k, {})}
    return TaskRow(task_id=s("task_id"), state=TaskState(s("state") or "PENDING"), run_id=s("run_id"),
                   attempts=int(item.get("attempts", {}).get("N", "0")), reason=s("reason"),
                   output_uri=s("output_uri"), seconds=float(secs) if secs is not None else None,
                   worker=s("worker"), started_at=s("started_at"), finished_at=s("finished_at"),
                   usage=usage or None)


class DynamoTaskTable:
    """:class:`TaskRows` on a DynamoDB table (low-level client: no resource layer, few allocations)."""

    def __init__(self, table: str, client: Any = None, *, threads: int = 8, max_retries: int = 8) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.table = table
        self.client = client
        self.threads = threads
        self.max_retries = max_retries

    # ------------------------------------------------------------------ bulk, for Enumerate/Verify
    def done_among(self, task_ids: Sequence[str]) -> set[str]:
        """Which of ``task_ids`` are DONE already (BatchGetItem, 100 keys a call, in parallel)."""
        def get(keys: Sequence[str]) -> set[str]:
            pending: dict[str, Any] = {self.table: {"Keys": [{"task_id": {"S": k}} for k in keys],
                                                    "ProjectionExpression": "task_id, #s",
                                                    "ExpressionAttributeNames": {"#s": "state"},
                                                    "ConsistentRead": True}}
            done: set[str] = set()
            for attempt in range(self.max_retries + 1):
                resp = self._call("batch_get_item", RequestItems=pending)
                done.update(i["task_id"]["S"] for i in resp.get("Responses", {}).get(self.table, [])
                            if i.get("state", {}).get("S") == TaskState.DONE)
                pending = resp.get("UnprocessedKeys") or {}
                if not pending:
                    return done
                time.sleep(min(0.05 * 2 ** attempt, 2.0))
            raise SourceError(f"DynamoDB table {self.table}: reads still throttled after {self.max_retries} retries")

        out: set[str] = set()
        for part in self._parallel(get, list(chunks(list(task_ids), BATCH_GET_MAX))):
            out |= part
        return out

    def put_pending(self, run_id: str, task_ids: Sequence[str], filedb: str) -> int:
        """One PENDING row per task for this run (BatchWriteItem, 25 a call, unprocessed items retried).

        Unconditional (BatchWriteItem has no conditions): the caller leaves DONE tasks out
        (:meth:`done_among`); one run at a time per table.
        """
        now = _now()

        def put(keys: Sequence[str]) -> int:
            requests = [{"PutRequest": {"Item": {
                "task_id": {"S": k}, "run_id": {"S": run_id}, "state": {"S": TaskState.PENDING},
                "attempts": {"N": "0"}, "filedb": {"S": filedb}, "queued_at": {"S": now}}}} for k in keys]
            self._batch_write(requests)
            return len(requests)

        return sum(self._parallel(put, list(chunks(list(task_ids), BATCH_WRITE_MAX))))

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        if len(requests) > BATCH_WRITE_MAX:  # a programming error, not user input
            raise ValueError(f"BatchWriteItem takes at most {BATCH_WRITE_MAX} requests, got {len(requests)}")
        pending = {self.table: requests}
        for attempt in range(self.max_retries + 1):
            resp = self._call("batch_write_item", RequestItems=pending)
            pending = resp.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(min(0.05 * 2 ** attempt, 2.0))
        raise SourceError(f"DynamoDB table {self.table}: writes still throttled after {self.max_retries} retries")

    def run_rows(self, run_id: str) -> Iterator[TaskRow]:
        """Every row last queued by ``run_id`` (GSI query, paginated)."""
        kw: dict[str, Any] = {"TableName": self.table, "IndexName": BY_RUN_INDEX,
                              "KeyConditionExpression": "run_id = :r",
                              "ExpressionAttributeValues": {":r": {"S": run_id}}}
        while True:
            resp = self._call("query", **kw)
            for item in resp.get("Items", []):
                yield _row(item)
            if "LastEvaluatedKey" not in resp:
                return
            kw["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # ------------------------------------------------------------------ one row, for workers/Verify
    def mark_running(self, task_id: str, worker: str = "") -> bool:
        """PENDING/FAILED/RUNNING -> RUNNING; False if the task is DONE (or has no row)."""
        return self._update(task_id, "SET #s = :running, started_at = :now, worker = :w ADD attempts_run :one",
                            {":running": TaskState.RUNNING, ":now": _now(), ":w": worker, ":one": 1})

    def mark_done(self, task_id: str, output_uri: str = "", seconds: float | None = None,
                  usage: Mapping[str, float] | None = None) -> bool:
        """-> DONE with the output location, run time and usage; False if already DONE."""
        values: dict[str, Any] = {":done": TaskState.DONE, ":now": _now(), ":uri": output_uri}
        sets = ["#s = :done", "finished_at = :now", "output_uri = :uri"] + _timing(values, seconds, usage)
        return self._update(task_id, "SET " + ", ".join(sets) + " REMOVE reason", values)

    def mark_failed(self, task_id: str, reason: str, seconds: float | None = None,
                    usage: Mapping[str, float] | None = None) -> bool:
        """-> FAILED with why (truncated to 1,000 characters); False if the task is DONE."""
        values: dict[str, Any] = {":failed": TaskState.FAILED, ":now": _now(), ":why": reason[:1000] or "failed"}
        sets = ["#s = :failed", "finished_at = :now", "reason = :why"] + _timing(values, seconds, usage)
        return self._update(task_id, "SET " + ", ".join(sets), values)

    def requeue(self, task_id: str, run_id: str) -> bool:
        """-> PENDING again for ``run_id`` with one more attempt; False if it became DONE meanwhile."""
        return self._update(task_id, "SET #s = :pending, run_id = :r ADD attempts :one",
                            {":pending": TaskState.PENDING, ":r": run_id, ":one": 1})

    def _update(self, task_id: str, expr: str, values: dict[str, Any]) -> bool:
        values = dict(values, **{":done_": TaskState.DONE})
        try:
            self._call("update_item", TableName=self.table, Key={"task_id": {"S": task_id}},
                       UpdateExpression=expr, ExpressionAttributeNames={"#s": "state"},
                       ExpressionAttributeValues={k: _attr(v) for k, v in values.items()},
                       ConditionExpression="attribute_exists(task_id) AND #s <> :done_")
            return True
        except self.client.exceptions.ConditionalCheckFailedException:
            return False

    # ------------------------------------------------------------------ plumbing
    def _call(self, op: str, **kw: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, op)(**kw)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise
            raise SourceError(f"DynamoDB table {self.table}: {op} failed: {e}") from None
        except BotoCoreError as e:
            raise SourceError(f"DynamoDB table {self.table}: {op} failed: {e}") from None

    def _parallel(self, fn, parts: list[Any]) -> list[Any]:
        if len(parts) <= 1 or self.threads <= 1:
            return [fn(p) for p in parts]
        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(fn, parts))


def _timing(values: dict[str, Any], seconds: float | None, usage: Mapping[str, float] | None) -> list[str]:
    """SET clauses (and their values) for the run time and the usage fields present."""
    sets = []
    if seconds is not None:
        sets.append("seconds = :secs")
        values[":secs"] = round(seconds, 3)
    for k in USAGE_FIELDS:
        v = (usage or {}).get(k)
        if v is not None:
            sets.append(f"{k} = :u_{k}")
            values[f":u_{k}"] = round(float(v), 3) if isinstance(v, float) else int(v)
    return sets


def _attr(v: Any) -> dict[str, str]:
    if isinstance(v, bool):
        return {"BOOL": v}  # type: ignore[dict-item]
    if isinstance(v, (int, float)):
        return {"N": repr(v)}
    return {"S": str(v)}

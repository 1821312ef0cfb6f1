"""Reading a run's status from AWS (boto3): its rows (DynamoDB), queue (SQS), workers (Batch)
and execution (Step Functions), for :func:`statscore.ops.status.run_status`.

A run is named by its execution ARN or its run id (the execution's name). The table,
queues and state machine come from the stack's outputs (``--stack``), from options, or
from ``TASK_TABLE``/``QUEUE_URL``. The workers are the Batch array job the execution
submitted last (its history's ``TaskSubmitted`` event), counted by status with
DescribeJobs' ``statusSummary``; the price is the one Enumerate estimated with (its state).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, SourceError
from .prices import WorkerPrice
from .status import RunStatus, run_status

__all__ = ["RunTarget", "resolve_target", "read_status"]


@dataclass(frozen=True)
class RunTarget:
    """Where a run's state lives."""

    run_id: str
    table: str
    queue_url: str = ""
    dead_letter_url: str = ""
    execution_arn: str = ""


def _client(name: str) -> Any:
    import boto3

    return boto3.client(name)


def _stack_outputs(stack: str) -> dict[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        (desc,) = _client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except (ClientError, BotoCoreError) as e:
        raise SourceError(f"stack {stack}: cannot read its outputs ({e})") from None
    return {o["OutputKey"]: o["OutputValue"] for o in desc.get("Outputs", [])}


def resolve_target(target: str, *, stack: str | None = None, table: str | None = None, queue: str | None = None,
                   dead_letter_queue: str | None = None) -> RunTarget:
    """The run ``target`` (an execution ARN or a run id) and its table, queues and execution."""
    outputs = _stack_outputs(stack) if stack else {}
    table = table or outputs.get("TaskTableName") or os.environ.get("TASK_TABLE", "")
    if not table:
        raise ConfigError("no task table: pass --stack (the deployed stack's name) or --task-table, or set TASK_TABLE")
    queue = queue or outputs.get("QueueUrl") or os.environ.get("QUEUE_URL", "")
    dlq = dead_letter_queue or outputs.get("DeadLetterQueueUrl", "")
    if target.startswith("arn:") and ":execution:" in target:
        arn, run_id = target, target.rsplit(":", 1)[1]
    else:
        run_id = target
        machine = outputs.get("StateMachineArn", "")
        arn = f"{machine.replace(':stateMachine:', ':execution:', 1)}:{run_id}" if machine else ""
    return RunTarget(run_id=run_id, table=table, queue_url=_queue_url(queue), dead_letter_url=_queue_url(dlq),
                     execution_arn=arn)


def _queue_url(name_or_url: str) -> str:
    if not name_or_url or name_or_url.startswith(("https://", "http://")):
        return name_or_url
    from ..sqs import open_queue

    return open_queue(name_or_url).url


def _queue_counts(t: RunTarget) -> dict[str, int]:
    if not t.queue_url:
        return {}
    sqs = _client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    a = sqs.get_queue_attributes(QueueUrl=t.queue_url, AttributeNames=names)["Attributes"]
    out = {"waiting": int(a.get(names[0], 0)), "in_flight": int(a.get(names[1], 0))}
    if t.dead_letter_url:
        d = sqs.get_queue_attributes(QueueUrl=t.dead_letter_url, AttributeNames=names[:1])["Attributes"]
        out["dead_letters"] = int(d.get(names[0], 0))
    return out


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kw: dict[str, Any] = {}
    while True:
        page = sfn.get_execution_history(executionArn=arn, maxResults=1000, **kw)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kw = {"nextToken": page["nextToken"]}


def _execution(t: RunTarget) -> tuple[dict[str, Any], str, WorkerPrice | None]:
    """The execution's description, its latest worker array job id, and Enumerate's price."""
    if not t.execution_arn:
        return {}, "", None
    from botocore.exceptions import ClientError

    sfn = _client("stepfunctions")
    try:
        d = sfn.describe_execution(executionArn=t.execution_arn)
    except ClientError as e:
        if "ExecutionDoesNotExist" in str(e):
            raise SourceError(f"execution {t.execution_arn}: not found") from None
        raise SourceError(f"execution {t.execution_arn}: cannot describe it ({e})") from None
    ex = {"arn": t.execution_arn, "status": d["status"],
          "started": d["startDate"].strftime("%Y-%m-%dT%H:%M:%SZ") if d.get("startDate") else None,
          "stopped": d["stopDate"].strftime("%Y-%m-%dT%H:%M:%SZ") if d.get("stopDate") else None}
    if d.get("error") or d.get("cause"):
        ex.update(error=d.get("error", ""), cause=d.get("cause", ""))
    job, price = "", None
    for e in _history(sfn, t.execution_arn):
        sub = e.get("taskSubmittedEventDetails")
        if sub and sub.get("resourceType") == "batch":
            try:
                job = json.loads(sub.get("output") or "{}").get("JobId", job)
            except ValueError:
                pass
        entered = e.get("stateEnteredEventDetails")
        if price is None and entered and '"estimate"' in (entered.get("input") or ""):
            try:
                prices = (json.loads(entered["input"]).get("estimate") or {}).get("prices")
                price = WorkerPrice.from_dict(prices) if prices else None
            except (ValueError, ConfigError):
                pass
    return ex, job, price


def _workers(job_id: str) -> dict[str, int]:
    """The array job's children by status (its own status when it has no children yet)."""
    if not job_id:
        return {}
    jobs = _client("batch").describe_jobs(jobs=[job_id]).get("jobs", [])
    if not jobs:
        return {}
    summary = (jobs[0].get("arrayProperties") or {}).get("statusSummary") or {}
    counts = {k: int(v) for k, v in summary.items() if int(v)}
    return counts or {jobs[0]["status"]: 1}


def read_status(t: RunTarget, *, price: WorkerPrice | None = None) -> RunStatus:
    """The run's status now (``price``: instead of the one Enumerate estimated with)."""
    from ..tasktable import DynamoTaskTable

    execution, job, enumerated_price = _execution(t)
    rows = list(DynamoTaskTable(t.table, _client("dynamodb")).run_rows(t.run_id))
    return run_status(t.run_id, rows, queue=_queue_counts(t), workers=_workers(job), execution=execution,
                      price=price or enumerated_price)

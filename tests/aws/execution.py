"""Running a deployed state machine and reading what it left: execution, history, task rows, objects."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.aws.moto_server import MotoServer


class ExecutionTimeout(AssertionError):
    """The execution was still RUNNING at the deadline; the message ends with the server's logs."""


def run_execution(server: MotoServer, state_machine_arn: str, name: str, execution_input: dict[str, Any],
                  timeout: float = 300) -> dict[str, Any]:
    """Start an execution and wait for it to end: its description, plus ``seconds`` it took."""
    sfn = server.client("stepfunctions")
    t0 = time.monotonic()
    arn = sfn.start_execution(stateMachineArn=state_machine_arn, name=name,
                              input=json.dumps(execution_input))["executionArn"]
    while time.monotonic() - t0 < timeout:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return dict(d, seconds=time.monotonic() - t0)
        time.sleep(1)
    raise ExecutionTimeout(f"execution {name} still RUNNING after {timeout:.0f} s:\n{server.log_tail()}")


def history(server: MotoServer, execution_arn: str) -> list[dict[str, Any]]:
    sfn = server.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kw: dict[str, Any] = {}
    while True:
        page = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000, **kw)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kw = {"nextToken": page["nextToken"]}


def entered(events: list[dict[str, Any]], state: str) -> list[dict[str, Any]]:
    """The inputs with which the execution entered ``state``, in order."""
    return [json.loads(e["stateEnteredEventDetails"]["input"]) for e in events
            if "stateEnteredEventDetails" in e and e["stateEnteredEventDetails"]["name"] == state]


def task_rows(server: MotoServer, table: str) -> dict[str, dict[str, str]]:
    """Task id -> the row's attributes as plain strings."""
    ddb = server.client("dynamodb")
    rows: dict[str, dict[str, str]] = {}
    kw: dict[str, Any] = {}
    while True:
        page = ddb.scan(TableName=table, ConsistentRead=True, **kw)
        for item in page["Items"]:
            rows[item["task_id"]["S"]] = {k: next(iter(v.values())) for k, v in item.items()}
        if "LastEvaluatedKey" not in page:
            return rows
        kw = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def split_s3(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def objects(server: MotoServer, url: str) -> dict[str, Any]:
    """Key -> LastModified of every object under an s3:// prefix."""
    bucket, prefix = split_s3(url)
    pages = server.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"]: o["LastModified"] for page in pages for o in page.get("Contents", [])}


PUBLIC_READ = ("http://acs.amazonaws.com/groups/global/AllUsers", "READ")
"""The grant the test deployment's ``s3_acl: public-read`` gives every product object."""


def object_grants(server: MotoServer, bucket: str, key: str) -> set[tuple[str, str]]:
    """(grantee URI or id, permission) of an object's ACL."""
    acl = server.client("s3").get_object_acl(Bucket=bucket, Key=key)
    return {(g["Grantee"].get("URI", g["Grantee"].get("ID", "")), g["Permission"]) for g in acl["Grants"]}

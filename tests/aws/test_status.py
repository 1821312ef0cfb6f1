"""``odc-stats status`` and ``max_cost`` on the deployed state machine in a moto server
(issue 14, must-show 2): while the run goes and when it has ended, the status matches the
task table's rows; a ``max_cost`` below the estimate fails the execution before any message
is sent or any row written."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest
from click.testing import CliRunner

from statscore.cli import main
from statscore.ops.aws_status import read_status, resolve_target
from tests.aws.execution import run_execution, task_rows
from tests.aws.moto_deploy import Deployment
from tests.aws.moto_server import REGION, MotoServer
from tests.aws.scenario import YEAR, Inputs


@pytest.fixture
def aws_endpoint(moto_server: MotoServer, monkeypatch) -> None:
    """boto3's default clients (what ``status`` uses) on the test server."""
    for k, v in {"AWS_ENDPOINT_URL": moto_server.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                 "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)


def _states(rows: dict[str, dict[str, str]], run_id: str) -> dict[str, str]:
    return {t: r["state"] for t, r in rows.items() if r.get("run_id") == run_id}


def _counts(states: dict[str, str]) -> dict[str, int]:
    c = Counter(states.values())
    return {s: c.get(s, 0) for s in ("DONE", "FAILED", "PENDING", "RUNNING")}


def test_status_matches_the_rows_mid_run_and_at_the_end(moto_server: MotoServer, deployment: Deployment,
                                                        inputs: Inputs, aws_endpoint: None) -> None:
    sfn = moto_server.client("stepfunctions")
    table = deployment.outputs["TaskTableName"]
    name = "status-run"
    arn = sfn.start_execution(stateMachineArn=deployment.state_machine_arn, name=name,
                              input=json.dumps({"year": YEAR}))["executionArn"]
    target = resolve_target(arn, stack=deployment.stacks[0])
    assert (target.run_id, target.table, target.execution_arn) == (name, table, arn)
    mid: list[dict[str, Any]] = []
    t0 = time.monotonic()
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() - t0 < 300, moto_server.log_tail()
        before = _states(task_rows(moto_server, table), name)
        st = read_status(target)
        after = _states(task_rows(moto_server, table), name)
        if before and before == after and st.execution["status"] == "RUNNING":  # nothing moved while it read
            assert st.counts == _counts(before) and st.total == len(before)
            assert st.percent_done == pytest.approx(100 * _counts(before)["DONE"] / len(before))
            if _counts(before)["DONE"] < len(before):
                mid.append(st.to_dict())
        time.sleep(0.5)
    assert mid, "no reading of the run while tasks were still to do"
    assert any(m["counts"]["PENDING"] + m["counts"]["RUNNING"] > 0 for m in mid)

    # the end, through the command a user runs
    r = CliRunner().invoke(main, ["status", arn, "--stack", deployment.stacks[0], "--json"])
    assert r.exit_code == 0, r.output
    end = json.loads(r.output)
    rows = task_rows(moto_server, table)
    assert end["execution"]["status"] == "SUCCEEDED"
    assert end["counts"] == _counts(_states(rows, name)) == {"DONE": len(inputs.tasks), "FAILED": 0, "PENDING": 0,
                                                            "RUNNING": 0}
    assert end["percent_done"] == 100 and end["eta_seconds"] == 0 and end["failed"] == []
    assert end["queue"] == {"waiting": 0, "in_flight": 0, "dead_letters": 0}
    assert end["workers"]["running"] == 0 and end["workers"]["by_status"].get("SUCCEEDED", 0) >= 2
    # cost so far: the rows' wall seconds at the price Enumerate estimated with
    wall = sum(float(r["wall_seconds"]) for r in rows.values())
    assert end["worker_hours"] == pytest.approx(wall / 3600, rel=1e-3)
    assert end["cost_usd"] == pytest.approx(wall / 3600 * end["prices"]["usd_per_hour"], rel=1e-3)
    # the rows carry the usage the summary adds up
    for row in rows.values():
        assert float(row["cpu_seconds"]) > 0 and int(row["peak_memory_bytes"]) > 2**20 and int(row["bytes_read"]) > 0
        assert int(row["observations"]) >= 0
    summary_url = json.loads(sfn.describe_execution(executionArn=arn)["output"])["summary"]
    bucket, _, key = summary_url.removeprefix("s3://").partition("/")
    usage = json.loads(moto_server.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())["usage"]
    assert usage["tasks"] == len(inputs.tasks) and usage["wall_seconds"] == pytest.approx(wall, abs=0.01)
    assert usage["observations"] == sum(int(r["observations"]) for r in rows.values()) > 0
    assert usage["prices"]["pricing"] == "spot" and usage["cost_usd"] == pytest.approx(end["cost_usd"], rel=1e-3)
    # and the human form draws without error
    r = CliRunner().invoke(main, ["status", arn, "--stack", deployment.stacks[0]])
    assert r.exit_code == 0 and f"run {name}" in r.output and "100.0 % done" in r.output, r.output


def test_max_cost_below_the_estimate_fails_before_any_message(moto_server: MotoServer, deployment: Deployment,
                                                              inputs: Inputs) -> None:
    ex = run_execution(moto_server, deployment.state_machine_arn, "over-budget", {"year": YEAR, "max_cost": 1e-6})
    assert ex["status"] == "FAILED", moto_server.log_tail()
    assert "exceeds max_cost US$1e-06" in ex["cause"] and "estimated cost US$" in ex["cause"], ex["cause"]
    sqs = moto_server.client("sqs")
    for url in (deployment.outputs["QueueUrl"], deployment.outputs["DeadLetterQueueUrl"]):
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert (a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
    assert task_rows(moto_server, deployment.outputs["TaskTableName"]) == {}

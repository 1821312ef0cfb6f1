"""The deployed state machine end to end, in a moto server: real enumerate handler, real workers.

Each test deploys the synthesized template into the server (``deployment``), starts an
execution with ``{"year": ...}`` as a user would, and checks what the run left: the
execution's status and cause, the task table, the products on S3 and their ACL.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from tests.aws.execution import (PUBLIC_READ, entered, history, object_grants, objects, run_execution, split_s3,
                                 task_rows)
from tests.aws.moto_deploy import API_TYPES, Deployment
from tests.aws.moto_server import MotoServer
from tests.aws.scenario import INPUT_BUCKET, SETTINGS, YEAR, Inputs



def _run(server: MotoServer, dep: Deployment, name: str) -> dict[str, Any]:
    ex = run_execution(server, dep.state_machine_arn, name, {"year": YEAR})
    ex["output_state"] = json.loads(ex["output"]) if ex.get("output") else None
    return ex




def test_every_resource_of_the_template_is_deployed(moto_server: MotoServer, template: dict[str, Any],
                                                    deployment: Deployment) -> None:
    cfn = moto_server.client("cloudformation")
    listed = [r for name in deployment.stacks for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]]
    assert {r["ResourceStatus"] for r in listed} == {"CREATE_COMPLETE"}
    # moto lists bucket/queue/topic policies and alarms without their logical id: count those
    named = {r["LogicalResourceId"] for r in listed if r.get("LogicalResourceId")}
    assert len(listed) + len(deployment.via_api) == len(template["Resources"])
    assert named | set(deployment.via_api) <= set(template["Resources"]) and not named & set(deployment.via_api)
    assert sorted(template["Resources"][k]["Type"] for k in deployment.via_api) == sorted(API_TYPES)
    batch = moto_server.client("batch")
    (jd,) = batch.describe_job_definitions(jobDefinitions=[deployment.via_api[deployment.of_type(
        "AWS::Batch::JobDefinition")[0]]])["jobDefinitions"]
    env = {e["name"]: e["value"] for e in jd["containerProperties"]["environment"]}
    assert env["TASK_TABLE"] == deployment.outputs["TaskTableName"] and env["QUEUE_URL"] == deployment.outputs["QueueUrl"]
    assert json.loads(env["RUN_CONFIG"])["output_location"] == deployment.outputs["OutputLocation"]


def test_execution_runs_every_task_and_succeeds(moto_server: MotoServer, deployment: Deployment,
                                                inputs: Inputs) -> None:
    ex = _run(moto_server, deployment, "run-1")
    assert ex["status"] == "SUCCEEDED", f"{ex.get('error')}: {ex.get('cause')}\n{moto_server.log_tail()}"
    state = ex["output_state"]
    assert (state["tasks"], state["queued"], state["skipped_done"]) == (len(inputs.tasks), len(inputs.tasks), 0)
    assert state["verdict"] == "done" and state["counts"] == {"DONE": len(inputs.tasks)}

    # every task planned by the deployed enumerate handler was done by a Batch array child
    rows = task_rows(moto_server, deployment.outputs["TaskTableName"])
    assert sorted(rows) == list(inputs.tasks)
    assert {r["state"] for r in rows.values()} == {"DONE"}
    assert all(r["run_id"] == "run-1" for r in rows.values())
    events = history(moto_server, ex["executionArn"])
    (submitted,) = [json.loads(e["taskSubmittedEventDetails"]["output"]) for e in events
                    if "taskSubmittedEventDetails" in e]
    (run,) = entered(events, "Run workers")
    children = {f"{submitted['JobId']}:{i}" for i in range(run["array_size"])}
    assert {r["worker"] for r in rows.values()} <= children

    # the products and the collection, each object with the configured ACL
    output = deployment.outputs["OutputLocation"]
    bucket, prefix = split_s3(output)
    keys = objects(moto_server, output)
    items = [k for k in keys if k.endswith(".stac-item.json")]
    assert len(items) == len(inputs.tasks)
    assert {r["output_uri"] for r in rows.values()} == {f"s3://{bucket}/{k}" for k in items}
    assert f"{prefix}/collection.json" in keys
    assert sum(k.endswith(".tif") for k in keys) >= len(inputs.tasks)
    for k in keys:
        assert PUBLIC_READ in object_grants(moto_server, bucket, k), k

    summary_bucket, summary_key = split_s3(state["summary"])
    summary = json.loads(moto_server.client("s3").get_object(Bucket=summary_bucket, Key=summary_key)["Body"].read())
    assert summary["verdict"] == "done" and summary["not_done"] == []


def test_poison_tile_fails_the_run_naming_it_and_a_rerun_completes_only_it(
        moto_server: MotoServer, deployment: Deployment, inputs: Inputs) -> None:
    s3 = moto_server.client("s3")
    for key in inputs.poison_cogs:
        s3.put_object(Bucket=INPUT_BUCKET, Key=key, Body=b"II*\x00 this is not a GeoTIFF any more")
    try:
        ex = _run(moto_server, deployment, "poisoned")
    finally:
        for key, original in inputs.poison_cogs.items():
            s3.upload_file(str(original), INPUT_BUCKET, key)

    assert ex["status"] == "FAILED", f"{ex['status']}\n{moto_server.log_tail()}"
    assert ex["error"] == "TasksFailed"
    others = [t for t in inputs.tasks if t != inputs.poison_task]
    assert inputs.poison_task in ex["cause"] and not any(t in ex["cause"] for t in others), ex["cause"]
    assert ex["cause"].startswith(f"1 of {len(inputs.tasks)} tasks not done after {SETTINGS['verify_max_rounds']} retries")
    rows = task_rows(moto_server, deployment.outputs["TaskTableName"])
    poisoned = rows[inputs.poison_task]
    assert poisoned["state"] == "FAILED" and any(Path(k).name in poisoned["reason"] for k in inputs.poison_cogs)
    assert all(rows[t]["state"] == "DONE" for t in others)
    # Verify re-enqueued the tile once, and the workers ran again for it alone
    events = history(moto_server, ex["executionArn"])
    runs = entered(events, "Run workers")
    assert len(runs) == 1 + SETTINGS["verify_max_rounds"]
    assert runs[1]["verdict"] == "retry" and runs[1]["round"] == 1
    assert rows[inputs.poison_task]["attempts"] == str(SETTINGS["verify_max_rounds"])
    done_before = objects(moto_server, deployment.outputs["OutputLocation"])

    # the input is fixed: the same input again computes that tile only
    again = _run(moto_server, deployment, f"after-fix-{uuid.uuid4().hex[:6]}")
    assert again["status"] == "SUCCEEDED", f"{again.get('error')}: {again.get('cause')}\n{moto_server.log_tail()}"
    state = again["output_state"]
    assert (state["tasks"], state["skipped_done"], state["queued"]) == (len(inputs.tasks), len(others), 1)
    rows = task_rows(moto_server, deployment.outputs["TaskTableName"])
    assert {t: r["state"] for t, r in rows.items()} == {t: "DONE" for t in inputs.tasks}
    assert rows[inputs.poison_task]["run_id"] == again["name"]
    assert all(rows[t]["run_id"] == "poisoned" for t in others)  # never queued again
    manifest_bucket, manifest_key = split_s3(state["manifest"])
    manifest = json.loads(s3.get_object(Bucket=manifest_bucket, Key=manifest_key)["Body"].read())
    assert manifest["queued"] == [inputs.poison_task] and sorted(manifest["skipped_done"]) == sorted(others)
    after = objects(moto_server, deployment.outputs["OutputLocation"])
    assert {k: v for k, v in after.items() if k in done_before and not k.endswith("collection.json")} == \
        {k: v for k, v in done_before.items() if not k.endswith("collection.json")}  # the others' products untouched
    assert any(k.endswith(".stac-item.json") and k not in done_before for k in after)

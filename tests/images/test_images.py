"""The built images, run as containers against a moto server: what ECS and Lambda would run.

The environment of each container is the deployed one: the job definition's and the function's
as CloudFormation resolved them (tests/aws/moto_deploy.py deploys the synthesized template),
plus only the endpoint and test credentials (and, for the function, what Lambda itself sets).
So a variable the template forgets (the region, GDAL's or numba's settings) is missing here too.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.aws.execution import PUBLIC_READ, object_grants, objects, split_s3, task_rows
from tests.aws.moto_adaptations import endpoint_env
from tests.aws.moto_deploy import Deployment
from tests.aws.moto_server import REGION, MotoServer
from tests.aws.scenario import YEAR, Inputs
from tests.images.containers import FUNCTIONS, WORKER, ImageConfig, run, started
from tests.images.lambda_runtime import RuntimeApi

RUN_ID = "image-run"


def _port(server: MotoServer) -> int:
    return int(server.endpoint.rsplit(":", 1)[1])


def job_definition(server: MotoServer, dep: Deployment) -> dict[str, Any]:
    """The worker job definition as registered (Refs and pseudo parameters resolved)."""
    (jd,) = dep.of_type("AWS::Batch::JobDefinition")
    (d,) = server.client("batch").describe_job_definitions(jobDefinitions=[dep.via_api[jd]])["jobDefinitions"]
    return d["containerProperties"]


def function_configuration(server: MotoServer, dep: Deployment, handler: str) -> dict[str, Any]:
    """The deployed function of ``handler`` (its environment as CloudFormation resolved it)."""
    cfn, lam = server.client("cloudformation"), server.client("lambda")
    physical = {r.get("LogicalResourceId"): r["PhysicalResourceId"]
                for r in cfn.list_stack_resources(StackName=dep.stack_name)["StackResourceSummaries"]}
    for k in dep.of_type("AWS::Lambda::Function"):
        if dep.template["Resources"][k]["Properties"]["ImageConfig"]["Command"] == [handler]:
            return lam.get_function_configuration(FunctionName=physical[k])
    raise AssertionError(f"no function runs {handler}")


def lambda_sets(fn: dict[str, Any]) -> dict[str, str]:
    """The variables Lambda itself gives every function (not the template's to set)."""
    return {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_LAMBDA_FUNCTION_NAME": fn["FunctionName"],
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn["MemorySize"]), "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}


# ---------------------------------------------------------------- worker image: numba
def test_worker_image_runs_parallel_kernels_from_two_threads(worker_image: ImageConfig) -> None:
    r = run(WORKER, ["python", "/usr/local/lib/statscore/check_numba.py"], timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr  # numba's workqueue layer aborts the process instead
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["threading_layer"] in ("omp", "tbb") and report["threads"] == 2
    assert report["results_equal"] is True


# ---------------------------------------------------------------- function image: enumerate
@pytest.fixture(scope="module")
def enumerated(moto_server: MotoServer, module_deployment: Deployment, inputs: Inputs, functions_image: ImageConfig,
               tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any]:
    """The Enumerate function's image, run by its entrypoint with its CMD, serving one event."""
    fn = function_configuration(moto_server, module_deployment, "functions.handlers.enumerate")
    env = {**fn["Environment"]["Variables"], **lambda_sets(fn), **endpoint_env(_port(moto_server))}
    event = {"request": {"year": YEAR}, "run_id": RUN_ID}
    log_path = tmp_path_factory.mktemp("enumerate") / "container.log"
    with RuntimeApi(event, fn["FunctionArn"]) as api, log_path.open("w") as log:
        argv = [*functions_image.entrypoint, *functions_image.cmd]
        with started(FUNCTIONS, argv, dict(env, AWS_LAMBDA_RUNTIME_API=api.address), log) as proc:
            deadline = time.monotonic() + 300
            while api.wait(1) is None and proc.poll() is None and time.monotonic() < deadline:
                pass
    assert api.result is not None, f"the handler returned nothing; container log:\n{log_path.read_text()[-4000:]}"
    return api.result


def test_function_image_enumerates_a_plan(enumerated: tuple[str, Any], functions_image: ImageConfig,
                                          moto_server: MotoServer, module_deployment: Deployment,
                                          inputs: Inputs) -> None:
    assert functions_image.cmd == ("functions.handlers.enumerate",)
    kind, state = enumerated
    assert kind == "response", state
    assert (state["run_id"], state["tasks"], state["queued"]) == (RUN_ID, len(inputs.tasks), len(inputs.tasks))
    assert state["array_size"] >= 2 and state["workers_timeout_seconds"] > 3600
    rows = task_rows(moto_server, module_deployment.outputs["TaskTableName"])
    assert sorted(rows) == list(inputs.tasks) and {r["state"] for r in rows.values()} == {"PENDING"}
    sqs = moto_server.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=module_deployment.outputs["QueueUrl"],
                                     AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert int(attrs["ApproximateNumberOfMessages"]) == len(inputs.tasks)


# ---------------------------------------------------------------- worker image: a task from SQS to S3
def test_worker_container_with_the_job_environment_writes_products(
        enumerated: tuple[str, Any], worker_image: ImageConfig, moto_server: MotoServer,
        module_deployment: Deployment, inputs: Inputs, template: dict[str, Any]) -> None:
    assert enumerated[0] == "response", enumerated
    job = job_definition(moto_server, module_deployment)
    env = {e["name"]: e["value"] for e in job["environment"]}
    (jd,) = module_deployment.of_type("AWS::Batch::JobDefinition")
    assert set(env) == {e["Name"] for e in template["Resources"][jd]["Properties"]["ContainerProperties"]["Environment"]}
    assert env["AWS_REGION"] == REGION  # the template's {"Ref": "AWS::Region"}, not added here
    added = endpoint_env(_port(moto_server))
    assert not set(added) & set(env)
    # Docker/ECS: the job's command (none here) follows the image's ENTRYPOINT; Batch sets the job id
    argv = [*worker_image.entrypoint, *(job.get("command") or worker_image.cmd)]
    r = run(WORKER, argv, {**env, **added, "AWS_BATCH_JOB_ID": "image-test-job"}, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]

    rows = task_rows(moto_server, module_deployment.outputs["TaskTableName"])
    assert {t: row["state"] for t, row in rows.items()} == {t: "DONE" for t in inputs.tasks}, (r.stdout + r.stderr)[-4000:]
    assert all(row["worker"].startswith("image-test-job") for row in rows.values())
    sqs = moto_server.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=module_deployment.outputs["QueueUrl"],
                                     AttributeNames=["ApproximateNumberOfMessages",
                                                     "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert attrs == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    # each task's product on the stack's output bucket, with the configured ACL (s3_acl: public-read)
    location = module_deployment.outputs["OutputLocation"]
    written = objects(moto_server, location)
    items = [k for k in written if k.endswith(".stac-item.json")]
    assert len(items) == len(inputs.tasks)
    bucket, _ = split_s3(location)
    for k in written:
        assert PUBLIC_READ in object_grants(moto_server, bucket, k), k
    cogs = [k for k in written if k.endswith(".tif")]
    assert cogs and all(Path(k).parts[0] == split_s3(location)[1].split("/")[0] for k in cogs)

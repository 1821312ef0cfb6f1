"""What a real account needs of the stack (issue 12): every item is a template assertion here.

The default synth (cdk.json) and one with the optional input and alarm settings set.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cdk_support import Synth, cdk_context, synthesise

from infra.settings import Settings
from statscore.errors import ConfigError

S = cdk_context()["statscore"]
KEY_ARN = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OPTIONAL = {"input_buckets": ["sentinel-cogs", "s3://dea-public-data/baseline/"], "request_payer": True,
            "input_kms_key_arns": [KEY_ARN], "alarm_email": "eo-ops@example.org"}


@pytest.fixture(scope="module")
def synth_optional(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app with input buckets, requester pays, an input key and an alarm e-mail."""
    return synthesise(tmp_path_factory.mktemp("cdk.out"), **OPTIONAL)


def _job_env(synth: Synth) -> dict[str, Any]:
    jd = synth.one("AWS::Batch::JobDefinition")
    return {e["Name"]: e["Value"] for e in jd["ContainerProperties"]["Environment"]}


def _function(synth: Synth, handler: str) -> dict[str, Any]:
    (fn,) = [f["Properties"] for f in synth.resources("AWS::Lambda::Function").values()
             if f["Properties"]["ImageConfig"]["Command"] == [handler]]
    return fn


def _policy_of(synth: Synth, role_prefix: str) -> list[dict[str, Any]]:
    out = []
    for name, res in synth.resources("AWS::IAM::Policy").items():
        if name.startswith(role_prefix):
            out += res["Properties"]["PolicyDocument"]["Statement"]
    return out


def _grants(statements: list[dict[str, Any]], action: str) -> list[Any]:
    """Resources (as JSON text) of the statements that allow ``action``."""
    return [json.dumps(st["Resource"]) for st in statements
            if action in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])]


def _definition(synth: Synth) -> dict[str, Any]:
    parts = synth.one("AWS::StepFunctions::StateMachine")["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


# ---------------------------------------------------------------- the worker's environment
def test_worker_gets_the_region_from_the_stack(synth: Synth) -> None:
    env = _job_env(synth)
    # ECS on EC2 sets no region in the container: boto3 would raise NoRegionError
    assert env["AWS_REGION"] == {"Ref": "AWS::Region"} and env["AWS_DEFAULT_REGION"] == {"Ref": "AWS::Region"}


def test_worker_gets_gdal_cloud_settings_and_a_threadsafe_numba_layer(synth: Synth) -> None:
    env = _job_env(synth)
    assert env["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    assert int(env["GDAL_HTTP_MAX_RETRY"]) >= 3 and float(env["GDAL_HTTP_RETRY_DELAY"]) > 0
    assert env["NUMBA_THREADING_LAYER"] == "omp"
    assert "AWS_REQUEST_PAYER" not in env  # only when request_payer is set


def test_image_assets_are_built_for_linux_amd64(synth: Synth) -> None:
    manifest = json.loads((synth.outdir / "StatsCore.assets.json").read_text())
    images = manifest["dockerImages"].values()
    assert sorted(i["source"]["dockerFile"] for i in images) == ["batch_image/Dockerfile", "functions/Dockerfile"]
    assert {i["source"].get("platform") for i in images} == {"linux/amd64"}


# ---------------------------------------------------------------- inputs
def test_input_buckets_are_readable_by_workers_and_enumerate(synth_optional: Synth) -> None:
    for role in ("BatchJobRole", "FunctionsEnumerateRole"):
        st = _policy_of(synth_optional, role)
        reads = " ".join(_grants(st, "s3:GetObject"))
        assert ":s3:::sentinel-cogs/*" in reads and ":s3:::dea-public-data/baseline/*" in reads, role
        lists = [s for s in st if s["Action"] == "s3:ListBucket" and "sentinel-cogs" in json.dumps(s["Resource"])]
        assert lists and lists[0]["Condition"] == {"StringLike": {"s3:prefix": ["*"]}}


def test_default_reads_stop_at_the_documents_prefix(synth: Synth) -> None:
    reads = " ".join(_grants(_policy_of(synth, "BatchJobRole"), "s3:GetObject"))
    assert "sentinel-cogs" not in reads and ":s3:::my-stac-bucket/s2_l2a/*" in reads


def test_request_payer_reaches_gdal_and_the_functions(synth_optional: Synth) -> None:
    assert _job_env(synth_optional)["AWS_REQUEST_PAYER"] == "requester"
    env = _function(synth_optional, "functions.handlers.enumerate")["Environment"]["Variables"]
    assert env["AWS_REQUEST_PAYER"] == "requester"


def test_input_key_decrypt_for_workers_and_enumerate(synth_optional: Synth) -> None:
    for role in ("BatchJobRole", "FunctionsEnumerateRole"):
        assert _grants(_policy_of(synth_optional, role), "kms:Decrypt") == [json.dumps(KEY_ARN)], role


def test_datacube_inputs_need_their_buckets() -> None:
    base = dict(dataset_source="datacube", db_secret_arn="arn:aws:secretsmanager:us-west-2:1:secret:db",
                stac_location=None)
    with pytest.raises(ConfigError, match="setting 'input_buckets'.*datacube"):
        Settings(**base).validate()
    Settings(**base, input_buckets=("dea-public-data",)).validate()
    with pytest.raises(ConfigError, match="setting 'input_buckets'.*'s3://Bad_Bucket/x'"):
        Settings(input_buckets=("s3://Bad_Bucket/x",), stac_location="s3://b/x/*.json").validate()


# ---------------------------------------------------------------- alarms
def test_alarm_topic_key_lets_cloudwatch_publish(synth: Synth) -> None:
    topic = synth.one("AWS::SNS::Topic")
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = synth.template["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    cw = [st for st in key["Properties"]["KeyPolicy"]["Statement"]
          if st.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"]
    assert cw and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cw[0]["Action"])
    assert synth.template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": next(
        k for k, r in synth.template["Resources"].items() if r["Type"] == "AWS::SNS::Topic")}
    assert not synth.resources("AWS::SNS::Subscription")  # no alarm_email in cdk.json


def test_alarm_email_subscribes(synth_optional: Synth) -> None:
    sub = synth_optional.one("AWS::SNS::Subscription")
    assert sub["Protocol"] == "email" and sub["Endpoint"] == OPTIONAL["alarm_email"]


def test_alarm_on_workers_stuck_runnable(synth: Synth) -> None:
    (rule_id, rule), = [(k, r) for k, r in synth.resources("AWS::Events::Rule").items()
                        if r["Properties"]["EventPattern"].get("detail-type") == ["Batch Job Queue Blocked"]]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.batch"]
    (queue_id,) = synth.resources("AWS::Batch::JobQueue")
    assert pattern["detail"]["jobQueue"] == [{"Fn::GetAtt": [queue_id, "JobQueueArn"]}]
    (topic_id,) = synth.resources("AWS::SNS::Topic")
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Ref": topic_id}
    (alarm,) = [a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()
                if a["Properties"].get("Namespace") == "AWS/Events"]
    assert alarm["MetricName"] == "MatchedEvents"
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": rule_id}}]
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]


# ---------------------------------------------------------------- state machine and workers
def test_state_machine_role_can_watch_and_stop_batch_jobs(synth: Synth) -> None:
    st = _policy_of(synth, "StateMachineRunRole")
    assert _grants(st, "batch:DescribeJobs") == [json.dumps("*")]
    assert any(":job/*" in r for r in _grants(st, "batch:TerminateJob"))
    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        assert any("StepFunctionsGetEventsForBatchJobsRule" in r for r in _grants(st, action)), action


def test_workers_capped_by_what_can_run_at_once(synth: Synth) -> None:
    slots = S["max_vcpus"] // S["job_vcpus"]
    assert slots < S["array_size_cap"]  # cdk.json: 1024 / 16 = 64 workers at once, cap 500
    env = _function(synth, "functions.handlers.enumerate")["Environment"]["Variables"]
    assert env["ARRAY_SIZE_CAP"] == str(slots)
    assert _definition(synth)["States"]["Cap workers"]["Result"] == slots
    assert Settings(max_vcpus=16, job_vcpus=16, stac_location="s3://b/x/*.json").worker_cap == 2  # Batch's least


def test_worker_timeouts_come_from_the_run(synth: Synth) -> None:
    run = _definition(synth)["States"]["Run workers"]
    assert "TimeoutSeconds" not in run  # no fixed limit on the whole array: the run's own
    assert run["Parameters"]["Timeout"] == {"AttemptDurationSeconds.$": "$.workers_timeout_seconds"}
    env = _function(synth, "functions.handlers.enumerate")["Environment"]["Variables"]
    assert env["TASK_TIMEOUT_SECONDS"] == str(Settings().task_timeout_minutes * 60)
    assert env["JOB_ATTEMPTS"] == str(S["retry_attempts"])
    sm = synth.one("AWS::StepFunctions::StateMachine")
    assert json.loads("".join(p if isinstance(p, str) else "0" for p in sm["DefinitionString"]["Fn::Join"][1]))[
        "TimeoutSeconds"] == Settings().run_timeout_days * 86400


def test_launch_template_imdsv2_root_volume_al2023(synth: Synth) -> None:
    (lt_id, lt), = synth.resources("AWS::EC2::LaunchTemplate").items()
    data = lt["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"] == {"HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 1, "HttpTokens": "required"}
    (root,) = data["BlockDeviceMappings"]
    assert root["DeviceName"] == "/dev/xvda"
    assert root["Ebs"] == {"DeleteOnTermination": True, "Encrypted": True, "VolumeSize": Settings().root_volume_gib,
                           "VolumeType": "gp3"}
    ce = synth.one("AWS::Batch::ComputeEnvironment")["ComputeResources"]
    assert ce["LaunchTemplate"] == {"LaunchTemplateId": {"Ref": lt_id}}
    assert ce["Ec2Configuration"] == [{"ImageType": "ECS_AL2023"}]


# ---------------------------------------------------------------- the enumerate function
def test_enumerate_has_ephemeral_storage_and_memory_from_settings(synth: Synth) -> None:
    fn = _function(synth, "functions.handlers.enumerate")
    assert fn["EphemeralStorage"] == {"Size": Settings().function_ephemeral_storage_mib} == {"Size": 10_240}
    assert fn["MemorySize"] == S["function_memory_mib"]


def test_run_config_is_an_ssm_parameter_not_a_variable(synth: Synth) -> None:
    (param_id, param), = synth.resources("AWS::SSM::Parameter").items()
    value = "".join(p if isinstance(p, str) else "TOKEN" for p in param["Properties"]["Value"]["Fn::Join"][1])
    assert json.loads(value)["plugin"] == S["plugin"]
    for handler in ("enumerate", "verify", "summary"):
        fn = _function(synth, f"functions.handlers.{handler}")
        env = fn["Environment"]["Variables"]
        assert "RUN_CONFIG" not in env and env["RUN_CONFIG_PARAMETER"] == {"Ref": param_id}
        # Lambda: 4 KB for all variables (names and values) together
        assert sum(len(k) + len(json.dumps(v)) for k, v in env.items()) < 4096
        role = fn["Role"]["Fn::GetAtt"][0]
        reads = _grants(_policy_of(synth, role.rsplit("Role", 1)[0] + "Role"), "ssm:GetParameter")
        assert reads and param_id in reads[0], handler


def test_optional_settings_pass_cfn_lint_and_cdk_nag(synth_optional: Synth) -> None:
    from tests.infra.test_stack import test_cdk_nag_passes_with_every_acknowledgement_reasoned, test_cfn_lint_passes

    test_cfn_lint_passes(synth_optional)
    test_cdk_nag_passes_with_every_acknowledgement_reasoned(synth_optional)

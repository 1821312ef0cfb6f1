"""Template assertions: every unit of the stack and the settings from cdk.json reach the template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match

from cdk_support import ROOT, Synth, cdk_context

S = cdk_context()["statscore"]


def _statements(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, res in synth.resources("AWS::IAM::Policy").items():
        for st in res["Properties"]["PolicyDocument"]["Statement"]:
            out.append((name, st))
    return out


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _definition(synth: Synth) -> dict[str, Any]:
    """The state machine's ASL with CloudFormation tokens replaced by placeholders."""
    parts = synth.one("AWS::StepFunctions::StateMachine")["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


# ---------------------------------------------------------------- storage
def test_buckets_encrypted_tls_only_and_owned_for_the_acl(synth: Synth) -> None:
    buckets = synth.resources("AWS::S3::Bucket")
    assert len(buckets) == 3  # access logs, caches, outputs
    for b in buckets.values():
        p = b["Properties"]
        assert p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"] == "AES256"
        # bucket-owner-full-control works with ACLs disabled: ownership enforced, all public access blocked
        assert p["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
        assert p["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                      "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        assert b["DeletionPolicy"] == "Retain"
    policies = synth.resources("AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for pol in policies.values():
        deny_tls = [st for st in pol["Properties"]["PolicyDocument"]["Statement"]
                    if st["Effect"] == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
        assert deny_tls and deny_tls[0]["Action"] == "s3:*"
    logged = [b for b in buckets.values() if "LoggingConfiguration" in b["Properties"]]
    assert sorted(b["Properties"]["LoggingConfiguration"]["LogFilePrefix"] for b in logged) == ["caches/", "outputs/"]


# ---------------------------------------------------------------- queue
def test_queue_lease_redrive_and_encryption(synth: Synth) -> None:
    queues = synth.resources("AWS::SQS::Queue")
    assert len(queues) == 2
    main = next(q["Properties"] for q in queues.values() if "RedrivePolicy" in q["Properties"])
    assert main["VisibilityTimeout"] == S["lease_seconds"]
    assert main["RedrivePolicy"]["maxReceiveCount"] == S["queue_max_receives"]
    for q in queues.values():
        assert q["Properties"]["SqsManagedSseEnabled"] is True
    for pol in synth.resources("AWS::SQS::QueuePolicy").values():
        (st,) = pol["Properties"]["PolicyDocument"]["Statement"]
        assert st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# ---------------------------------------------------------------- task table
def test_task_table_keys_index_pitr_encryption(synth: Synth) -> None:
    t = synth.one("AWS::DynamoDB::Table")
    assert t["KeySchema"] == [{"AttributeName": "task_id", "KeyType": "HASH"}]
    assert t["BillingMode"] == "PAY_PER_REQUEST"
    assert t["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert t["SSESpecification"] == {"SSEEnabled": True}
    (gsi,) = t["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "by_run"
    assert gsi["KeySchema"] == [{"AttributeName": "run_id", "KeyType": "HASH"},
                                {"AttributeName": "task_id", "KeyType": "RANGE"}]
    assert "state" in gsi["Projection"]["NonKeyAttributes"]


# ---------------------------------------------------------------- functions
def test_run_functions_image_env_timeout_memory_logs(synth: Synth) -> None:
    fns = synth.resources("AWS::Lambda::Function")
    assert len(fns) == 3
    by_cmd = {f["Properties"]["ImageConfig"]["Command"][0]: f["Properties"] for f in fns.values()}
    assert set(by_cmd) == {"functions.handlers.enumerate", "functions.handlers.verify", "functions.handlers.summary"}
    enum = by_cmd["functions.handlers.enumerate"]
    assert enum["PackageType"] == "Image"
    assert enum["Timeout"] == S["function_timeout_minutes"] * 60
    assert enum["MemorySize"] == S["function_memory_mib"]
    env = enum["Environment"]["Variables"]
    assert {"TASK_TABLE", "QUEUE_URL", "CACHE_BUCKET", "OUTPUT_LOCATION", "RUN_CONFIG_PARAMETER"} <= set(env)
    assert env["GRID"] == S["grid"] and env["FREQUENCY"] == S["frequency"]
    assert env["STAC_LOCATION"] == S["stac_location"] and env["DATASET_SOURCE"] == "stac"
    assert env["ARRAY_SIZE_CAP"] == str(min(S["array_size_cap"], S["max_vcpus"] // S["job_vcpus"]))
    assert env["TASKS_PER_WORKER"] == str(S["tasks_per_worker"])
    assert "VpcConfig" not in enum  # a STAC source needs no VPC
    for f in by_cmd.values():
        assert f["TracingConfig"] == {"Mode": "Active"}
        assert "LogGroup" in f["LoggingConfig"]


def test_log_groups_have_the_retention(synth: Synth) -> None:
    groups = synth.resources("AWS::Logs::LogGroup")
    assert len(groups) == 7  # 3 functions, workers, state machine, flow logs, Batch job events
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {S["log_retention_days"]}


# ---------------------------------------------------------------- batch
def test_compute_environment_instances_spot_vcpus(synth: Synth) -> None:
    ce = synth.one("AWS::Batch::ComputeEnvironment")["ComputeResources"]
    assert ce["InstanceTypes"] == S["instance_types"]
    assert ce["Type"] == "SPOT" and ce["AllocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert ce["MinvCpus"] == S["min_vcpus"] and ce["MaxvCpus"] == S["max_vcpus"]
    assert len(ce["Subnets"]) == 2  # private subnets of two AZs
    q = synth.one("AWS::Batch::JobQueue")
    assert len(q["ComputeEnvironmentOrder"]) == 1


def test_job_definition_sizes_the_worker(synth: Synth) -> None:
    jd = synth.one("AWS::Batch::JobDefinition")
    c = jd["ContainerProperties"]
    req = {r["Type"]: r["Value"] for r in c["ResourceRequirements"]}
    assert req == {"VCPU": str(S["job_vcpus"]), "MEMORY": str(S["job_memory_mib"])}
    env = {e["Name"]: e["Value"] for e in c["Environment"]}
    assert env["THREADS"] == str(S["job_vcpus"])
    assert env["MEMORY"] == f"{int(S['job_memory_mib'] * 0.95)}M"
    assert {"QUEUE_URL", "TASK_TABLE", "RUN_CONFIG"} <= set(env)
    assert jd["RetryStrategy"]["Attempts"] == S["retry_attempts"]
    assert jd["RetryStrategy"]["EvaluateOnExit"][0] == {"Action": "RETRY", "OnStatusReason": "Host EC2*"}
    assert jd["Timeout"] == {"AttemptDurationSeconds": S.get("job_timeout_hours", 12) * 3600}
    assert jd["PlatformCapabilities"] == ["EC2"]
    assert c["LogConfiguration"]["LogDriver"] == "awslogs"


def test_image_assets_hold_only_the_package(synth: Synth) -> None:
    manifest = json.loads((synth.outdir / "StatsCore.assets.json").read_text())
    images = manifest["dockerImages"]
    files = sorted(i["source"]["dockerFile"] for i in images.values())
    assert files == ["batch_image/Dockerfile", "functions/Dockerfile"]
    for img in images.values():
        staged = synth.outdir / img["source"]["directory"]
        assert sorted(p.name for p in staged.iterdir()) == ["batch_image", "functions", "pyproject.toml", "statscore"]


# ---------------------------------------------------------------- state machine
def test_state_machine_states_and_batch_sync(synth: Synth) -> None:
    asl = _definition(synth)
    states = asl["States"]
    assert asl["StartAt"] == "Enumerate"
    assert {"Enumerate", "Work to do?", "More workers than the cap?", "Cap workers", "Run workers", "Verify",
            "Retry?", "Summary", "All tasks done?", "Run succeeded", "Run failed"} == set(states)
    run = states["Run workers"]
    assert run["Resource"].endswith(":states:::batch:submitJob.sync")
    assert run["Parameters"]["ArrayProperties"] == {"Size.$": "$.array_size"}
    assert run["Next"] == "Verify" and run["Catch"][0]["Next"] == "Verify"
    cap = min(S["array_size_cap"], S["max_vcpus"] // S["job_vcpus"])
    assert states["Cap workers"]["Result"] == cap
    assert states["More workers than the cap?"]["Choices"][0]["NumericGreaterThan"] == cap
    assert states["Retry?"]["Choices"][0] == {"Variable": "$.verdict", "StringEquals": "retry",
                                              "Next": "More workers than the cap?"}
    assert states["Run failed"]["CausePath"] == "$.cause"
    assert states["Enumerate"]["Parameters"]["Payload"] == {"request.$": "$", "run_id.$": "$$.Execution.Name"}
    # moto's Step Functions mis-reads `$[0].x`: only plain paths
    assert "$[" not in json.dumps(asl)


def test_state_machine_logging_and_tracing(synth: Synth) -> None:
    sm = synth.one("AWS::StepFunctions::StateMachine")
    assert sm["TracingConfiguration"] == {"Enabled": True}
    assert sm["LoggingConfiguration"]["Level"] == "ALL"


# ---------------------------------------------------------------- monitoring
def test_alarms_on_dead_letters_and_failed_executions(synth: Synth) -> None:
    alarms = list(synth.resources("AWS::CloudWatch::Alarm").values())
    assert len(alarms) == 3  # and workers stuck RUNNABLE (test_real_account.py)
    dlq = next(a["Properties"] for a in alarms if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible")
    assert dlq["Threshold"] == 1 and dlq["Namespace"] == "AWS/SQS"
    execs = next(a["Properties"] for a in alarms if "Metrics" in a["Properties"])  # the only math alarm
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in execs["Metrics"] if "MetricStat" in m}
    assert names == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    for a in alarms:
        assert len(a["Properties"]["AlarmActions"]) == 1
    synth.assertions.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


# ---------------------------------------------------------------- IAM
def test_no_wildcard_actions_and_star_resources_only_where_aws_requires(synth: Synth) -> None:
    star_ok = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
               "xray:GetSamplingTargets", "ecr:GetAuthorizationToken", "logs:CreateLogDelivery",
               "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
               "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
               "batch:DescribeJobs", "ssm:DescribeParameters"}
    for name, st in _statements(synth):
        actions = _as_list(st["Action"])
        assert not any(a == "*" or a.endswith(":*") for a in actions), (name, actions)
        if "*" in _as_list(st["Resource"]):
            assert set(actions) <= star_ok, (name, actions)


def test_each_role_gets_only_what_its_code_calls(synth: Synth) -> None:
    by_role: dict[str, set[str]] = {}
    for name, st in _statements(synth):
        by_role.setdefault(name, set()).update(_as_list(st["Action"]))

    def role(prefix: str) -> set[str]:
        (k,) = [k for k in by_role if k.startswith(prefix)]
        return by_role[k]

    enum = role("FunctionsEnumerateRole")
    assert {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "sqs:SendMessage", "s3:PutObject"} <= enum
    assert not {"dynamodb:DeleteItem", "dynamodb:Scan", "sqs:DeleteMessage"} & enum
    # Enumerate deletes only its own probe of the output location (fail before spending)
    deletes = [st for name, st in _statements(synth) if name.startswith("FunctionsEnumerateRole")
               and "s3:DeleteObject" in _as_list(st["Action"])]
    assert len(deletes) == 1 and '/.statscore-probe/*"' in json.dumps(deletes[0]["Resource"]), deletes
    summary = role("FunctionsSummaryRole")
    assert "sqs:SendMessage" not in summary and "dynamodb:UpdateItem" not in summary
    worker = role("BatchJobRole")
    assert {"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "dynamodb:UpdateItem",
            "s3:PutObjectAcl"} <= worker
    assert not {"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "sqs:SendMessage"} & worker


# ---------------------------------------------------------------- checks
def test_cdk_nag_passes_with_every_acknowledgement_reasoned(synth: Synth) -> None:
    # the synth itself fails on an unacknowledged finding; the report says so too
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    assert all(r["conclusion"] == "success" for r in report["pluginReports"])
    acks = acknowledgements(synth)
    assert any(k.startswith("AwsSolutions-IAM5[") for _, k, _ in acks)
    for path, rule, reason in acks:
        assert len(reason) > 40, (path, rule, reason)
    print("\n".join(f"{p}: {r}: {why}" for p, r, why in acks))


def acknowledgements(synth: Synth) -> list[tuple[str, str, str]]:
    """(construct path, rule, reason) of every acknowledgement in the cloud assembly."""
    meta = json.loads((synth.outdir / "StatsCore.metadata.json").read_text())
    out = []
    for path, entries in meta.items():
        for e in entries:
            if e["type"] == "aws:cdk:acknowledged-rules":
                for rule, reason in e["data"].items():
                    out.append((path, rule.removeprefix("Annotation::"), reason))
    return sorted(out)


def test_cfn_lint_passes(synth: Synth) -> None:
    """cfn-lint exits 0 for no findings, 4 when only warnings; the only warnings allowed are W3005
    (CDK adds explicit DependsOn that the references already imply)."""
    tmpl = synth.outdir / "StatsCore.template.json"
    r = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(tmpl)],
                       capture_output=True, text=True, cwd=ROOT)
    findings = [line for line in r.stdout.splitlines() if line.strip()]
    assert r.returncode in (0, 4), r.stdout + r.stderr
    assert all(":W3005:" in f for f in findings), findings

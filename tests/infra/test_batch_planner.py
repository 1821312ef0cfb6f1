"""The Batch planner path of a ``stac-api`` deployment: a Choice after Enumerate, one Batch job running
``odc-stats save-tasks --stac-api`` with the command Enumerate returns, then Enumerate from its cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cdk_support import ROOT, Synth, synthesise

from statscore.errors import ConfigError

STAC_API = {"dataset_source": "stac-api", "stac_api_url": "https://earth-search.aws.element84.com/v1",
            "collections": ["sentinel-2-l2a"], "input_buckets": ["sentinel-cogs"],
            "plan_in_batch_above_items": 120_000, "plan_job_vcpus": 4, "plan_job_memory_mib": 16_000}


@pytest.fixture(scope="module")
def stac_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app planning from a STAC API (cdk-nag on: an unacknowledged finding fails the synth)."""
    return synthesise(tmp_path_factory.mktemp("cdk.out"), **STAC_API)


def _states(synth: Synth) -> dict:
    sm = synth.one("AWS::StepFunctions::StateMachine")
    parts = sm["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "X" for p in parts)
    return json.loads(text)


def test_enumerate_chooses_between_lambda_and_batch_planner(stac_synth: Synth) -> None:
    asl = _states(stac_synth)
    states = asl["States"]
    assert asl["StartAt"] == "Enumerate"
    assert states["Enumerate"]["Next"] == "Plan in Batch?"
    choice = states["Plan in Batch?"]
    assert choice["Choices"] == [{"Variable": "$.plan_in_batch", "BooleanEquals": True, "Next": "Plan in Batch"}]
    assert choice["Default"] == "Work to do?"
    plan = states["Plan in Batch"]
    assert plan["Resource"].endswith(":states:::batch:submitJob.sync")
    assert plan["Parameters"]["ContainerOverrides"] == {"Command.$": "$.plan.command"}
    assert plan["ResultPath"] is None and plan["Next"] == "Enumerate the Batch plan"
    again = states["Enumerate the Batch plan"]
    assert again["Parameters"]["Payload"] == {"request.$": "$.planned_request", "run_id.$": "$$.Execution.Name"}
    assert again["Next"] == "Work to do?"
    assert "$[" not in json.dumps(asl)


def test_planner_job_sized_by_settings_and_enumerate_told_the_threshold(stac_synth: Synth) -> None:
    defs = stac_synth.resources("AWS::Batch::JobDefinition")
    (planner,) = [d["Properties"] for k, d in defs.items() if k.startswith("BatchPlanner")]
    props = planner["ContainerProperties"]
    assert props["Command"][:2] == ["odc-stats", "save-tasks"]
    res = {r["Type"]: r["Value"] for r in props["ResourceRequirements"]}
    assert res == {"VCPU": "4", "MEMORY": "16000"}
    fns = stac_synth.resources("AWS::Lambda::Function")
    (enum,) = [f["Properties"] for k, f in fns.items() if k.startswith("FunctionsEnumerate")]
    assert enum["Environment"]["Variables"]["PLAN_IN_BATCH_ABOVE_ITEMS"] == "120000"


def test_planner_role_writes_only_the_caches(stac_synth: Synth) -> None:
    actions: set[str] = set()
    for k, p in stac_synth.resources("AWS::IAM::Policy").items():
        if not k.startswith("BatchPlannerRole"):
            continue
        for st in p["Properties"]["PolicyDocument"]["Statement"]:
            acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            actions.update(acts)
            assert "caches/*" in json.dumps(st["Resource"])
    assert actions == {"s3:GetObject", "s3:PutObject"}


def test_cfn_lint_passes_with_the_planner(stac_synth: Synth) -> None:
    tmpl = stac_synth.outdir / "StatsCore.template.json"
    r = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(tmpl)],
                       capture_output=True, text=True, cwd=ROOT)
    findings = [line for line in r.stdout.splitlines() if line.strip()]
    assert r.returncode in (0, 4), r.stdout + r.stderr
    assert all(":W3005:" in f for f in findings), findings


def test_no_planner_unless_stac_api(synth: Synth) -> None:
    assert "Plan in Batch?" not in json.dumps(synth.template)
    assert not [k for k in synth.resources("AWS::Batch::JobDefinition") if k.startswith("BatchPlanner")]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("plan_in_batch_above_items", -1, "setting 'plan_in_batch_above_items' = -1: must be >= 0 (0: always plan in Batch)"),
    ("plan_job_vcpus", 0, "setting 'plan_job_vcpus' = 0: must be 1..max_vcpus (1024)"),
    ("plan_job_memory_mib", 512, "setting 'plan_job_memory_mib' = 512: must be at least 1024 MiB"),
])
def test_planner_settings_validated(key: str, value: int, message: str) -> None:
    from infra.settings import Settings

    with pytest.raises(ConfigError) as e:
        Settings.from_context({**STAC_API, key: value})
    assert str(e.value) == message

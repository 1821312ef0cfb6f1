"""The deployment's price and runtime-model settings: checked at synth, handed to the run functions."""

from __future__ import annotations

import json

import pytest

from cdk_support import Synth, cdk_context
from infra.settings import Settings
from statscore.errors import ConfigError

S = cdk_context()["statscore"]


def test_the_functions_get_the_worker_price_and_threads(synth: Synth) -> None:
    for fn in synth.resources("AWS::Lambda::Function").values():
        env = fn["Properties"]["Environment"]["Variables"]
        price = json.loads(env["WORKER_PRICE"])
        assert price["instance_type"] in S["instance_types"] and price["pricing"] == "spot"
        assert price["source"] and price["as_of"] and price["usd_per_hour"] > 0
        assert env["WORKER_THREADS"] == str(S["job_vcpus"])
        assert "RUNTIME_MODEL" not in env  # the shipped model unless one is configured


def test_an_instance_type_without_a_price_fails_the_synth_naming_it() -> None:
    with pytest.raises(ConfigError, match="no price for instance type 'x9.huge'"):
        Settings.from_context(dict(S, instance_types=["r6i.4xlarge", "x9.huge"]))
    s = Settings.from_context(dict(S, instance_types=["x9.huge"], prices={
        "source": "our EDP quote", "as_of": "2026-11", "instances": {"x9.huge": {"vcpus": 32, "on_demand": 3.2,
                                                                               "spot": 1.0}}}))
    assert s.worker_price() == {"source": "our EDP quote", "as_of": "2026-11", "instance_type": "x9.huge",
                                "pricing": "spot", "usd_per_hour": 0.5}  # 16 of its 32 vCPUs per worker


def test_a_runtime_model_setting_is_checked_and_passed_as_coefficients() -> None:
    from statscore.ops.runtime import default_model

    model = default_model().to_mapping()
    env = Settings.from_context(dict(S, runtime_model=model)).usage_environment()
    assert json.loads(env["RUNTIME_MODEL"])["plugins"]["gm-s2"]["2"]["intercept"] == pytest.approx(
        default_model().get("gm-s2", 2).intercept)
    assert len(env["RUNTIME_MODEL"]) < 1000  # Lambda's environment holds 4 KB in all
    with pytest.raises(ConfigError, match="runtime model setting 'runtime_model'"):
        Settings.from_context(dict(S, runtime_model={"gm-s2": {}}))

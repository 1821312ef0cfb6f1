"""RunSettings.from_env: the functions' environment (set by the CDK stack) validated once,
every error one line naming the variable."""

from __future__ import annotations

import pytest

from statscore.errors import ConfigError
from statscore.orchestration import RunSettings

BASE = {"TASK_TABLE": "tasks", "QUEUE_URL": "https://sqs/q", "CACHE_BUCKET": "caches"}


def test_settings_from_the_stack_environment():
    cfg = RunSettings.from_env({**BASE, "GRID": "au_extended_s2_20", "TASKS_PER_WORKER": "10",
                                "ARRAY_SIZE_CAP": "10000", "VERIFY_MAX_ROUNDS": "0", "DATASET_SOURCE": "datacube",
                                "RUN_CONFIG": '{"plugin": "gm-s2", "s3_acl": "bucket-owner-full-control"}'})
    assert (cfg.table, cfg.queue_url, cfg.cache_bucket, cfg.cache_prefix) == ("tasks", "https://sqs/q", "caches", "caches/")
    assert (cfg.tasks_per_worker, cfg.array_size_cap, cfg.verify_max_rounds) == (10, 10_000, 0)
    assert cfg.dataset_source == "datacube" and cfg.run_config["s3_acl"] == "bucket-owner-full-control"


@pytest.mark.parametrize("env, message", [
    ({}, "environment: TASK_TABLE, QUEUE_URL, CACHE_BUCKET not set"),
    ({**BASE, "QUEUE_URL": ""}, "environment: QUEUE_URL not set"),
    ({**BASE, "TASKS_PER_WORKER": "ten"}, "environment: TASKS_PER_WORKER='ten' is not a whole number"),
    ({**BASE, "TASKS_PER_WORKER": "0"}, "environment: TASKS_PER_WORKER=0 must be at least 1"),
    ({**BASE, "ARRAY_SIZE_CAP": "20000"}, "environment: ARRAY_SIZE_CAP=20000 must be between 2 and 10000"),
    ({**BASE, "VERIFY_MAX_ROUNDS": "-1"}, "environment: VERIFY_MAX_ROUNDS=-1 must be at least 0"),
    ({**BASE, "RUN_CONFIG": "{plugin: pq"}, "environment: RUN_CONFIG is not JSON"),
    ({**BASE, "RUN_CONFIG": "[1]"}, "environment: RUN_CONFIG must be a JSON object"),
    ({**BASE, "DATASET_SOURCE": "stack"}, "DATASET_SOURCE='stack' is not one of stac, datacube, stac-api (did you mean 'stac'?)"),
])
def test_bad_environment_is_one_line_naming_the_variable(env, message):
    with pytest.raises(ConfigError) as e:
        RunSettings.from_env(env)
    assert message in str(e.value) and "\n" not in str(e.value)

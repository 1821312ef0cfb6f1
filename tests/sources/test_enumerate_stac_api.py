"""The enumerate step with ``dataset_source: stac-api`` plans with the same planner as
``save-tasks --stac-api``, from the real STAC API."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from infra.settings import Settings
from statscore.cache import cache_tasks, open_cache
from statscore.errors import ConfigError
from statscore.cli import main as cli_main
from statscore.orchestration import RunRequest, RunSettings, _plan, _route, plan_in_batch
from statscore.plan import SaveTasksRequest, StacApiQuery, count_items, save_tasks

pytestmark = pytest.mark.postgres


def test_stack_settings_name_the_api(stac_api):
    s = Settings.from_context({"dataset_source": "stac-api", "stac_api_url": stac_api,
                               "collections": ["sentinel-2-l2a"], "profile": "earth-search-s2-l2a"})
    assert s.collections == ("sentinel-2-l2a",)
    with pytest.raises(ConfigError, match="'collections'"):
        Settings.from_context({"dataset_source": "stac-api", "stac_api_url": stac_api})


def test_enumerate_plans_from_the_api_as_save_tasks_does(stac_api, tmp_path):
    env = {"TASK_TABLE": "t", "QUEUE_URL": "q", "CACHE_BUCKET": "b", "DATASET_SOURCE": "stac-api",
           "STAC_API_URL": stac_api, "STAC_COLLECTIONS": "sentinel-2-l2a", "SOURCE_PROFILE": "earth-search-s2-l2a",
           "GRID": "au_extended_s2_80", "FREQUENCY": "monthly"}
    cfg = RunSettings.from_env(env)
    path = _plan("run-1", RunRequest.parse({"temporal_range": "2022-01--P2M"}), cfg, str(tmp_path), lambda m: None)
    assert path is not None
    ref = save_tasks(SaveTasksRequest(output=str(tmp_path / "ref.db"), grid="au_extended_s2_80", input_products="",
                                      frequency="monthly", temporal_range=RunRequest.parse(
                                          {"temporal_range": "2022-01--P2M"}).temporal_range,
                                      stac=StacApiQuery(stac_api, ("sentinel-2-l2a",), "earth-search-s2-l2a")))
    got, want = cache_tasks(open_cache(path)), cache_tasks(open_cache(ref.files[0]))
    assert len(got) > 4 and {k: set(v) for k, v in got.items()} == {k: set(v) for k, v in want.items()}


ENV = {"TASK_TABLE": "t", "QUEUE_URL": "q", "DATASET_SOURCE": "stac-api", "STAC_COLLECTIONS": "sentinel-2-l2a",
       "SOURCE_PROFILE": "earth-search-s2-l2a", "GRID": "au_extended_s2_80", "FREQUENCY": "monthly"}


def test_the_api_counts_what_the_planner_finds(stac_api, es_scenes, tmp_path):
    req = SaveTasksRequest(output=str(tmp_path / "n.db"), grid="au_extended_s2_80", input_products="",
                           frequency="monthly", temporal_range=RunRequest.parse({"temporal_range": "2022-01--P2M"}).temporal_range,
                           stac=StacApiQuery(stac_api, ("sentinel-2-l2a",), "earth-search-s2-l2a"))
    n = count_items(req)
    assert n == save_tasks(req).datasets == len(es_scenes[1])
    empty = dataclasses.replace(req, temporal_range=RunRequest.parse({"year": 2015}).temporal_range)
    assert count_items(empty) == 0


@pytest.mark.parametrize(("items", "above", "batch"), [(10, None, False), (10, 10, False), (11, 10, True),
                                                       (None, 10, True), (0, 0, False), (1, 0, True)])
def test_plan_in_batch_above_the_setting_or_when_the_api_does_not_count(items, above, batch):
    assert plan_in_batch(items, above) is batch


def test_enumerate_plans_in_the_lambda_at_or_below_the_setting(stac_api, es_scenes):
    cfg = RunSettings.from_env({**ENV, "STAC_API_URL": stac_api, "CACHE_BUCKET": "b",
                                "PLAN_IN_BATCH_ABOVE_ITEMS": str(len(es_scenes[1]))})
    assert _route("run-1", RunRequest.parse({"temporal_range": "2022-01--P2M"}), {"temporal_range": "2022-01--P2M"},
                  cfg, lambda m: None) is None


def test_above_the_setting_the_batch_planner_writes_the_cache_enumerate_continues_from(stac_api, es_scenes, s3,
                                                                                        tmp_path):
    """Enumerate returns the planner's command instead of planning; that command (save-tasks writing to
    S3, as the Batch job runs it) gives the cache the Lambda would have planned, and the request
    Enumerate is called with next names it."""
    client, bucket = s3
    event = {"temporal_range": "2022-01--P2M"}
    cfg = RunSettings.from_env({**ENV, "STAC_API_URL": stac_api, "CACHE_BUCKET": bucket,
                                "PLAN_IN_BATCH_ABOVE_ITEMS": str(len(es_scenes[1]) - 1)})
    state = _route("run-2", RunRequest.parse(event), event, cfg, lambda m: None)
    assert state is not None and state["plan_in_batch"] is True and state["items"] == len(es_scenes[1])
    cache = state["plan"]["cache"]
    assert cache == f"s3://{bucket}/caches/run-2/au_extended_s2_80_2022-01--P2M.db"
    assert state["planned_request"] == {**event, "cache": cache, "planned": True}
    command = state["plan"]["command"]
    assert command[:2] == ["odc-stats", "save-tasks"] and command[-1] == cache
    r = CliRunner().invoke(cli_main, command[1:], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="caches/run-2/")["Contents"]}
    assert "caches/run-2/au_extended_s2_80_2022-01--P2M.db" in keys
    assert "caches/run-2/au_extended_s2_80_2022-01--P2M.csv" in keys
    client.download_file(bucket, "caches/run-2/au_extended_s2_80_2022-01--P2M.db", str(tmp_path / "batch.db"))
    local = _plan("run-3", RunRequest.parse(event), cfg, str(tmp_path), lambda m: None)
    got, want = cache_tasks(open_cache(str(tmp_path / "batch.db"))), cache_tasks(open_cache(local))
    assert len(got) > 4 and {k: set(v) for k, v in got.items()} == {k: set(v) for k, v in want.items()}
    # the planner does not replace a plan already there
    r = CliRunner().invoke(cli_main, command[1:])
    assert r.exit_code != 0 and f"{cache} already exists; pass --overwrite to replace it" in r.output

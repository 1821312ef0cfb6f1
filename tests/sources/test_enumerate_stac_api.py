"""The enumerate step with ``dataset_source: stac-api`` plans with the same planner as
``save-tasks --stac-api``, from the real STAC API."""

from __future__ import annotations

import pytest

from infra.settings import Settings
from statscore.cache import cache_tasks, open_cache
from statscore.errors import ConfigError
from statscore.orchestration import RunRequest, RunSettings, _plan
from statscore.plan import SaveTasksRequest, StacApiQuery, save_tasks

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

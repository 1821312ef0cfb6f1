"""functions/handlers.py: statscore's errors reach Step Functions as RunInputError with the
one-line message; a good event returns the state."""

from __future__ import annotations

import pytest

from functions.handlers import RunInputError, enumerate, summary, verify


@pytest.fixture
def function_env(deployment, monkeypatch):
    """The environment the stack gives the functions, pointing at the test deployment."""
    cfg = deployment.cfg
    for k, v in {"TASK_TABLE": cfg.table, "QUEUE_URL": cfg.queue_url, "CACHE_BUCKET": cfg.cache_bucket,
                 "GRID": cfg.grid, "STAC_LOCATION": cfg.stac_location, "OUTPUT_LOCATION": cfg.output_location,
                 "RUN_CONFIG": '{"product": {"name": "ga_s2_test"}}'}.items():
        monkeypatch.setenv(k, v)
    return deployment


def test_a_statserror_becomes_a_one_line_runinputerror(function_env):
    with pytest.raises(RunInputError) as e:
        enumerate({"run_id": "exec-1", "request": {"yeer": 2020}})
    assert str(e.value).startswith("execution input: unknown key 'yeer' (did you mean 'year'?)")
    assert "\n" not in str(e.value) and e.value.__cause__ is None


def test_missing_settings_become_a_runinputerror(function_env, monkeypatch):
    monkeypatch.delenv("QUEUE_URL")
    for handler, event in ((enumerate, {"run_id": "exec-1", "request": {"year": 2020}}),
                           (verify, {"run_id": "exec-1"}), (summary, {"run_id": "exec-1"})):
        with pytest.raises(RunInputError, match=r"^environment: QUEUE_URL not set \(the CDK stack sets them\)$"):
            handler(event)


def test_an_event_without_a_run_id_is_one_line(function_env):
    for handler in (enumerate, verify, summary):
        with pytest.raises(RunInputError, match="^event: no run_id"):
            handler({"request": {"year": 2020}})


def test_handlers_return_the_state(function_env):
    state = enumerate({"run_id": "exec-2", "request": {"year": 1990}})
    assert state["verdict"] == "done" and state["tasks"] == 0
    assert verify(state)["verdict"] == "done"
    assert summary(state)["summary"].endswith("/exec-2/summary.json")

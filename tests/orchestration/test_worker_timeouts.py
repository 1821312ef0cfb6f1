"""A round of workers gets time for its share of the tasks, one after the other, on every attempt."""

from __future__ import annotations

from statscore.orchestration import JOB_TIMEOUT_MIN, RunSettings, worker_timeouts

CFG = RunSettings(table="t", queue_url="q", cache_bucket="b", task_timeout_seconds=1800, job_attempts=3)


def test_time_grows_with_the_tasks_each_worker_runs() -> None:
    # 30,000 tasks on 64 workers: 469 tasks each, 30 min each, 3 attempts, an hour to get instances
    assert worker_timeouts(30_000, 64, CFG) == {"workers_timeout_seconds": 469 * 1800 * 3 + 3600}
    assert worker_timeouts(64, 64, CFG)["workers_timeout_seconds"] == 1800 * 3 + 3600


def test_a_short_share_still_gets_the_minimum() -> None:
    quick = RunSettings(table="t", queue_url="q", cache_bucket="b", task_timeout_seconds=60, job_attempts=1)
    assert worker_timeouts(2, 2, quick) == {"workers_timeout_seconds": JOB_TIMEOUT_MIN + 3600}


def test_from_env_reads_the_limits() -> None:
    cfg = RunSettings.from_env({"TASK_TABLE": "t", "QUEUE_URL": "q", "CACHE_BUCKET": "b",
                                "TASK_TIMEOUT_SECONDS": "900", "JOB_ATTEMPTS": "2"})
    assert (cfg.task_timeout_seconds, cfg.job_attempts) == (900, 2)

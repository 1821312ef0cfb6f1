"""A run's status from its rows and what else is known (pure; tests/aws reads it from a deployment)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from statscore.ops.prices import WorkerPrice
from statscore.ops.status import render, run_status
from statscore.tasktable import TaskRow, TaskState

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
PRICE = WorkerPrice(source="s", as_of="d", instance_type="r6i.4xlarge", pricing="spot", usd_per_hour=0.36)


def _t(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows() -> list[TaskRow]:
    rows = [TaskRow(f"2020--P1Y/{i}/0", TaskState.DONE, started_at=_t(30 - i), finished_at=_t(29 - i),
                    usage={"wall_seconds": 60.0}) for i in range(8)]  # finished 29 ... 22 minutes ago
    rows += [TaskRow(f"2020--P1Y/{i}/1", TaskState.DONE, started_at=_t(6), finished_at=_t(10 - i),
                     usage={"wall_seconds": 120.0}) for i in range(6)]  # 10 ... 5 minutes ago
    rows += [TaskRow("2020--P1Y/9/9", TaskState.FAILED, reason="cannot read dataset x: truncated", started_at=_t(4),
                     finished_at=_t(3), seconds=30.0)]
    rows += [TaskRow(f"2020--P1Y/{i}/2", TaskState.RUNNING, started_at=_t(1.5)) for i in range(2)]
    rows += [TaskRow(f"2020--P1Y/{i}/3", TaskState.PENDING) for i in range(13)]
    return rows


def test_counts_rate_eta_cost_and_failures():
    st = run_status("r1", _rows(), queue={"waiting": 13, "in_flight": 2, "dead_letters": 0},
                    workers={"RUNNING": 2, "RUNNABLE": 3, "SUCCEEDED": 1}, execution={"status": "RUNNING"},
                    price=PRICE, now=NOW)
    assert st.counts == {"DONE": 14, "FAILED": 1, "PENDING": 13, "RUNNING": 2} and st.total == 30
    assert st.percent_done == pytest.approx(100 * 14 / 30)
    # 7 tasks finished in the last 10 minutes (6 done, 1 failed): 0.7 a minute; 16 not done: 22.9 minutes
    assert st.rate_per_minute == pytest.approx(0.7)
    assert st.eta_seconds == pytest.approx(16 / 0.7 * 60)
    # 8 x 60 s + 6 x 120 s + 30 s finished, 2 x 90 s running
    assert st.worker_hours == pytest.approx((480 + 720 + 30 + 180) / 3600)
    assert st.cost_usd == pytest.approx(st.worker_hours * 0.36)
    assert st.failed == [{"task": "2020--P1Y/9/9", "reason": "cannot read dataset x: truncated"}]
    assert (st.running_workers, st.waiting_workers, st.finished) == (2, 3, False)
    d = st.to_dict()
    assert d["workers"] == {"running": 2, "runnable": 3, "by_status": {"RUNNING": 2, "RUNNABLE": 3, "SUCCEEDED": 1}}


def test_a_young_run_rates_over_its_own_age_and_an_idle_one_over_its_history():
    rows = [TaskRow("a", TaskState.DONE, started_at=_t(3), finished_at=_t(2)),
            TaskRow("b", TaskState.DONE, started_at=_t(3), finished_at=_t(1)), TaskRow("c", TaskState.PENDING)]
    assert run_status("r", rows, now=NOW).rate_per_minute == pytest.approx(2 / 3)
    old = [TaskRow("a", TaskState.DONE, started_at=_t(100), finished_at=_t(90)),
           TaskRow("b", TaskState.DONE, started_at=_t(100), finished_at=_t(80)), TaskRow("c", TaskState.PENDING)]
    assert run_status("r", old, now=NOW).rate_per_minute == pytest.approx(2 / 20)
    none = run_status("r", [TaskRow("c", TaskState.PENDING)], now=NOW)
    assert none.rate_per_minute is None and none.eta_seconds is None and none.cost_usd is None


def test_render_draws_every_part():
    from rich.console import Console

    st = run_status("r1", _rows(), workers={"RUNNING": 2}, execution={"status": "RUNNING"}, price=PRICE, now=NOW)
    console = Console(width=120, record=True)
    console.print(render(st))
    text = console.export_text()
    for part in ("run r1", "46.7 % done", "0.70 tasks/min", "ETA 22m51s", "US$", "2 running", "2020--P1Y/9/9",
                 "truncated"):
        assert part in text, (part, text)

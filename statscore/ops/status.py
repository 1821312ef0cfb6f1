"""Where a run stands, from what AWS holds about it: pure (the readers are in :mod:`.aws_status`).

:func:`run_status` turns the run's task rows, its queue counts, its Batch workers and its
execution into counts by state and % done, the current rate and an ETA, the cost so far,
the failed tiles with their reasons, and the workers running and waiting. :func:`render`
draws it with rich; :meth:`RunStatus.to_dict` is the ``--json`` form.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ..tasktable import TaskRow, TaskState
from .prices import WorkerPrice
from .usage import significant

__all__ = ["RunStatus", "run_status", "render", "RATE_WINDOW"]

RATE_WINDOW = timedelta(minutes=10)
"""Tasks finished within this window before now give the current rate."""
FAILED_SHOWN = 50


def _time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


@dataclass
class RunStatus:
    """A run at one moment (see :func:`run_status`)."""

    run_id: str
    counts: dict[str, int]
    total: int
    percent_done: float
    rate_per_minute: float | None
    """Tasks finished (done or failed) per minute, over the last :data:`RATE_WINDOW` (or the run so far)."""
    eta_seconds: float | None
    """Until every task not yet done is finished, at the current rate; None without a rate."""
    cost_usd: float | None
    """Worker time so far (finished tasks' wall seconds, running tasks' elapsed) at the worker price."""
    worker_hours: float
    failed: list[dict[str, str]]
    """``{task, reason}`` of each FAILED task (at most 50)."""
    workers: dict[str, int] = field(default_factory=dict)
    """Batch array children by status (RUNNING, RUNNABLE, STARTING, SUCCEEDED, FAILED...)."""
    queue: dict[str, int] = field(default_factory=dict)
    """``waiting``, ``in_flight``, ``dead_letters`` messages."""
    execution: dict[str, Any] = field(default_factory=dict)
    """``arn``, ``status``, ``started``, ``stopped``, ``error``, ``cause`` of the execution, when known."""
    price: WorkerPrice | None = None
    now: str = ""

    @property
    def running_workers(self) -> int:
        return int(self.workers.get("RUNNING", 0))

    @property
    def waiting_workers(self) -> int:
        """Workers submitted but not yet running (RUNNABLE, PENDING, SUBMITTED, STARTING)."""
        return int(sum(self.workers.get(k, 0) for k in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING")))

    @property
    def finished(self) -> bool:
        st = self.execution.get("status")
        return bool(st) and st != "RUNNING"

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "now": self.now, "execution": self.execution, "counts": self.counts,
                "total": self.total, "percent_done": round(self.percent_done, 2),
                "rate_per_minute": None if self.rate_per_minute is None else round(self.rate_per_minute, 3),
                "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds),
                "worker_hours": significant(self.worker_hours),
                "cost_usd": None if self.cost_usd is None else significant(self.cost_usd),
                "prices": self.price.to_dict() if self.price else None,
                "failed": self.failed, "workers": {"running": self.running_workers, "runnable": self.waiting_workers,
                                                   "by_status": self.workers},
                "queue": self.queue}


def run_status(run_id: str, rows: Iterable[TaskRow], *, queue: Mapping[str, int] | None = None,
               workers: Mapping[str, int] | None = None, execution: Mapping[str, Any] | None = None,
               price: WorkerPrice | None = None, now: datetime | None = None) -> RunStatus:
    """The status of run ``run_id`` from its rows and what else is known (see the module docstring)."""
    now = now or datetime.now(timezone.utc)
    rows = list(rows)
    counts = Counter(r.state.value for r in rows)
    for s in TaskState:
        counts.setdefault(s.value, 0)
    total = len(rows)
    done = counts[TaskState.DONE.value]
    finished_at = [t for t in (_time(r.finished_at) for r in rows if r.state in (TaskState.DONE, TaskState.FAILED))
                   if t is not None]
    started_at = [t for t in (_time(r.started_at) for r in rows) if t is not None]
    recent = [t for t in finished_at if now - t <= RATE_WINDOW]
    first = min(started_at + finished_at) if started_at or finished_at else now
    rate = None
    if recent:  # over the window, or over the run if it is younger (at least a minute)
        span = (now - max(now - RATE_WINDOW, first)).total_seconds()
        rate = len(recent) / (max(span, 60.0) / 60.0)
    elif finished_at:  # nothing finished lately: the run's average until its last finish
        rate = len(finished_at) / (max((max(finished_at) - first).total_seconds(), 60.0) / 60.0)
    remaining = total - done
    eta = 0.0 if remaining == 0 else (remaining / rate * 60.0 if rate else None)
    seconds = 0.0
    for r in rows:
        if r.state in (TaskState.DONE, TaskState.FAILED):
            secs = (r.usage or {}).get("wall_seconds", r.seconds)
            seconds += float(secs or 0.0)
        elif r.state == TaskState.RUNNING and (t := _time(r.started_at)) is not None:
            seconds += max(0.0, (now - t).total_seconds())
    hours = seconds / 3600.0
    failed = [{"task": r.task_id, "reason": r.reason} for r in sorted(rows, key=lambda r: r.task_id)
              if r.state == TaskState.FAILED][:FAILED_SHOWN]
    return RunStatus(run_id=run_id, counts=dict(sorted(counts.items())), total=total,
                     percent_done=100.0 * done / total if total else 0.0, rate_per_minute=rate, eta_seconds=eta,
                     cost_usd=hours * price.usd_per_hour if price else None, worker_hours=hours, failed=failed,
                     workers=dict(workers or {}), queue=dict(queue or {}), execution=dict(execution or {}),
                     price=price, now=now.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    s = int(round(seconds))
    h, m = divmod(s // 60, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s % 60:02d}s" if m else f"{s}s")


def render(st: RunStatus) -> Any:
    """A rich renderable of ``st`` (for a console or a Live display)."""
    from rich.console import Group
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    ex = st.execution
    head = Text.assemble((f"run {st.run_id}", "bold"), f"  execution {ex.get('status', 'unknown')}",
                         f"  at {st.now}")
    summary = Table.grid(padding=(0, 2))
    summary.add_column(no_wrap=True)
    summary.add_column(overflow="fold")
    summary.add_row("done", ProgressBar(total=max(st.total, 1), completed=st.counts.get("DONE", 0), width=40))
    summary.add_row("tasks", f"{st.total}: " + ", ".join(f"{v} {k.lower()}" for k, v in st.counts.items())
                    + f" ({st.percent_done:.1f} % done)")
    rate = "unknown" if st.rate_per_minute is None else f"{st.rate_per_minute:.2f} tasks/min"
    summary.add_row("rate", f"{rate}, ETA {_duration(st.eta_seconds)}")
    cost = "unpriced" if st.cost_usd is None else f"US${st.cost_usd:.4g}"
    how = f" ({st.price.pricing} {st.price.instance_type}, US${st.price.usd_per_hour:.4g}/h)" if st.price else ""
    summary.add_row("cost so far", f"{st.worker_hours:.3g} worker-hours, {cost}{how}")
    others = ", ".join(f"{v} {k.lower()}" for k, v in sorted(st.workers.items())
                       if k not in ("RUNNING", "SUBMITTED", "PENDING", "RUNNABLE", "STARTING"))
    summary.add_row("workers", f"{st.running_workers} running, {st.waiting_workers} runnable"
                    + (f" ({others})" if others else ""))
    if st.queue:
        summary.add_row("queue", f"{st.queue.get('waiting', 0)} waiting, {st.queue.get('in_flight', 0)} in flight, "
                                 f"{st.queue.get('dead_letters', 0)} dead letters")
    parts: list[Any] = [head, summary]
    if st.failed:
        table = Table(title=f"failed tiles ({st.counts.get('FAILED', 0)})", show_lines=False)
        table.add_column("task")
        table.add_column("reason", overflow="fold")
        for f in st.failed:
            table.add_row(f["task"], f["reason"])
        parts.append(table)
    if ex.get("cause"):
        parts.append(Text(f"{ex.get('error', '')}: {ex['cause']}", style="red"))
    return Group(*parts)

"""``run --from-sqs``: the thin CLI side of :mod:`statscore.worker`."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from ..config import RunConfig
from ..run import TaskOutcome
from ..task import render_task


def run_from_sqs(queue_name: str, plugin: Any, cfg: RunConfig, *, idle_timeout: float,
                 failure_log: str | None, task_table: str | None = None) -> None:
    """Run the worker loop; exit 1 when a task failed (as odc-stats), 0 after SIGTERM.

    ``task_table``: the DynamoDB table whose rows the worker keeps up to date (RUNNING,
    DONE, FAILED); None records nothing. Each task's end is also a CloudWatch Embedded
    Metric Format line on stdout (TasksDone/TasksFailed/TasksSkipped, TaskSeconds, by
    product), which CloudWatch Logs turns into metrics for the dashboard.
    """
    from ..ops.preflight import check_output_location
    from ..ops.usage import emf_record
    from ..run import output_product
    from ..sqs import open_queue
    from ..tasktable import DynamoTaskTable
    from ..worker import run_worker, worker_id

    log = logging.getLogger("statscore.worker")
    if not log.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(h)
        log.setLevel(logging.INFO)
        log.propagate = False
    queue = open_queue(queue_name)
    check_output_location(cfg.output_location or "", cfg.s3_acl)  # before the first receive
    click.echo(f"worker on queue {queue.name}: lease {cfg.job_queue_max_lease} s, renew {cfg.renew_safety_margin} s "
               f"before, idle timeout {idle_timeout:g} s", err=True)
    rows = DynamoTaskTable(task_table) if task_table else None
    who = worker_id()
    if rows is not None:
        click.echo(f"recording task states in DynamoDB table {task_table} as worker {who}", err=True)

    product = output_product(cfg, plugin, cfg.output_location or "").name

    def report(oc: TaskOutcome) -> None:
        where = render_task(oc.tile) if oc.tile[0] != "?" else "-"
        click.echo(f"{where}  {oc.status:<9} {oc.seconds:6.1f}s  {oc.reason}", err=oc.status not in ("done", "skipped", "unchanged"))
        if oc.status in ("done", "failed", "skipped", "unchanged"):
            metrics = {"TasksDone": (int(oc.status == "done"), "Count"),
                       "TasksFailed": (int(oc.status == "failed"), "Count"),
                       "TasksSkipped": (int(oc.status in ("skipped", "unchanged")), "Count")}
            if oc.status in ("done", "failed"):
                metrics["TaskSeconds"] = (round(oc.seconds, 3), "Seconds")
            props = {"task": where, "status": oc.status, "worker": who, **(oc.usage or {})}
            click.echo(emf_record(metrics, {"Product": product}, props))

    s = run_worker(queue, plugin, cfg, plugin_name=cfg.plugin or "", location=cfg.output_location or "",
                   idle_timeout=idle_timeout, failure_log=failure_log, on_outcome=report, rows=rows, worker=who)
    click.echo(f"{s.done + s.skipped + s.unchanged + s.failed + s.released} messages: {s.done} done, "
               f"{s.skipped} skipped, " + (f"{s.unchanged} unchanged, " if s.unchanged else "") +
               f"{s.failed} failed, {s.released} released" + (" (stopped by signal)" if s.stopped_by_signal else ""))
    if s.failed and not s.stopped_by_signal:
        sys.exit(1)

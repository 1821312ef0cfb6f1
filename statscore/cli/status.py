"""``odc-stats status``: where a run on AWS stands (tasks by state, rate, ETA, cost, failures, workers)."""

from __future__ import annotations

import json
import os
import time

import click

from . import main


@main.command("status")
@click.argument("run")
@click.option("--stack", default=lambda: os.environ.get("STATSCORE_STACK", "StatsCore"), show_default="StatsCore",
              help="The deployed stack, whose outputs name the table, queues and state machine ($STATSCORE_STACK).")
@click.option("--task-table", help="DynamoDB task table (default: the stack's).")
@click.option("--queue", help="Task queue name or URL (default: the stack's).")
@click.option("--dead-letter-queue", help="Dead-letter queue name or URL (default: the stack's).")
@click.option("--watch", is_flag=True, help="Redraw until the execution ends (Ctrl-C to stop watching).")
@click.option("--interval", type=float, default=10.0, show_default=True, help="Seconds between redraws with --watch.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (with --watch: one line per redraw).")
def status_cmd(run, stack, task_table, queue, dead_letter_queue, watch, interval, as_json) -> None:
    """Status of RUN: an execution ARN or a run id (the execution's name)."""
    from ..ops.aws_status import read_status, resolve_target
    from ..ops.status import render

    target = resolve_target(run, stack=stack or None, table=task_table, queue=queue,
                            dead_letter_queue=dead_letter_queue)
    if not watch:
        st = read_status(target)
        if as_json:
            click.echo(json.dumps(st.to_dict(), indent=1))
        else:
            from rich.console import Console

            Console().print(render(st))
        return
    if as_json:
        while True:
            st = read_status(target)
            click.echo(json.dumps(st.to_dict()))
            if st.finished:
                return
            time.sleep(interval)
    from rich.live import Live

    st = read_status(target)
    try:
        with Live(render(st), refresh_per_second=1) as live:
            while not st.finished:
                time.sleep(interval)
                st = read_status(target)
                live.update(render(st))
    except KeyboardInterrupt:
        pass

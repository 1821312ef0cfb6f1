"""``odc-stats redrive-queue``: send dead letters back to the work queue after a fix."""

from __future__ import annotations

import click

from . import main


@main.command("redrive-queue")
@click.argument("dlq")
@click.argument("queue")
def redrive_queue_cmd(dlq, queue) -> None:
    """Move every message of the dead-letter queue DLQ back to QUEUE (names or URLs)."""
    from ..sqs import open_queue, redrive

    src, dst = open_queue(dlq), open_queue(queue)
    moved = redrive(src, dst)
    click.echo(f"moved {moved:,d} messages from {src.name} to {dst.name}")

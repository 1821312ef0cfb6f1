"""The ``odc-stats`` command: a click group with one module per command, as odc-stats."""

from __future__ import annotations

import sys

import click

from ..errors import StatsError


class _Group(click.Group):
    """Turns our errors into one line on stderr and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except StatsError as e:
            click.echo(f"Error: {e}", err=True)
            sys.exit(e.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="statscore")
def main() -> None:
    """Statistical products from Earth observation data (odc-stats compatible)."""


from . import run as _run  # noqa: E402,F401  (registers the commands)
from . import save_tasks as _save_tasks  # noqa: E402,F401
from . import publish_tasks as _publish_tasks  # noqa: E402,F401
from . import redrive_queue as _redrive_queue  # noqa: E402,F401

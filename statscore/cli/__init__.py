"""The ``odc-stats`` command: a click group with one module per command, as odc-stats."""

from __future__ import annotations

import importlib
import sys

import click

from ..errors import StatsError


#: Command name -> the module that defines it. A command's module (and what it imports:
#: planning pulls in the index and binning, queues pull in boto3) is imported only when that
#: command runs or help lists it, so ``odc-stats run`` starts without the planner's imports.
COMMANDS = {
    "run": "run",
    "save-tasks": "save_tasks",
    "publish-tasks": "publish_tasks",
    "redrive-queue": "redrive_queue",
}


class _Group(click.Group):
    """Turns our errors into one line on stderr and a non-zero exit, never a traceback;
    loads each command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            importlib.import_module(f"{__name__}.{COMMANDS[cmd_name]}")  # registers it on main
        return super().get_command(ctx, cmd_name)

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


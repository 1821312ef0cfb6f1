"""The ``odc-stats`` command: a click group with one module per command, as odc-stats."""

from __future__ import annotations

import atexit
import importlib
import logging
import os
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
    "report": "report",
    "estimate": "estimate",
    "calibrate": "calibrate",
    "status": "status",
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


def entry() -> None:
    """The ``odc-stats`` console script: ``main``, then an exit without the interpreter's
    teardown of every module and object (datacube, dask, xarray, numba: ~0.4 s, a tenth of a
    small task). Output files are closed by then; exit handlers, logging and the standard
    streams are still run and flushed."""
    try:
        main.main(prog_name="odc-stats")
        code: int = 0
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            code = e.code or 0
        else:
            print(e.code, file=sys.stderr)
            code = 1
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: nothing more to save
            pass
    os._exit(code)

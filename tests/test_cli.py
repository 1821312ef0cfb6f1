"""The ``odc-stats`` group: every command listed, each command's module loaded only when used."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from statscore.cli import COMMANDS, main


def test_help_lists_every_command():
    out = CliRunner().invoke(main, ["--help"])
    assert out.exit_code == 0, out.output
    listed = [line.split()[0] for line in out.output.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(COMMANDS) == ["calibrate", "estimate", "publish-tasks", "redrive-queue", "report", "run",
                                         "save-tasks", "status"]


def test_run_does_not_import_the_planner():
    """``run`` starts without save-tasks' imports (the planner and binning) or the queue commands."""
    code = ("import sys\nfrom click.testing import CliRunner\nfrom statscore.cli import main\n"
            "r = CliRunner().invoke(main, ['run', '--help'])\nassert r.exit_code == 0, r.output\n"
            "print(sorted(m for m in sys.modules if m.startswith('statscore.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "statscore.cli.run" in out
    for module in ("statscore.plan", "statscore.binning", "statscore.cli.save_tasks", "statscore.cli.publish_tasks"):
        assert module not in out


def test_unknown_command_is_one_line_error():
    out = CliRunner().invoke(main, ["rnu"])
    assert out.exit_code == 2
    assert "No such command 'rnu'" in out.output

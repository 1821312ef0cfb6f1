"""Small pieces shared by the commands: YAML config files and progress display."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from collections.abc import Iterator
from typing import Any

from ..config import read_yaml_mapping
from ..errors import ConfigError, suggest


def load_config(path: str | None, allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    """Read a YAML mapping; an unknown key is an error that names it (odc-stats ignores them)."""
    if not path:
        return {}
    cfg = read_yaml_mapping(path, f"--config {path} ({what})")
    for k in cfg:
        if k not in allowed:
            raise ConfigError(f"--config {path}: unknown key {k!r}{suggest(str(k), list(allowed))}; valid keys: {', '.join(allowed)}")
    return cfg


@contextmanager
def progress_display(enabled: bool | None = None) -> Iterator[Any]:
    """A ``progress(stage, done, total)`` callback drawing rich bars on a terminal, else silent."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars: dict[str, Any] = {}
    with Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as prog:
        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in bars:
                bars[stage] = prog.add_task(stage, total=total)
            prog.update(bars[stage], completed=done, total=total)

        yield update

"""``odc-stats calibrate``: time real tasks and fit the runtime model ``odc-stats estimate`` uses."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import load_run_config
from . import main


@main.command("calibrate")
@click.argument("cache")
@click.argument("tasks", nargs=-1)
@click.option("--plugin", help="Plugin short name or dotted class path (default: the config's).")
@click.option("--config", "config_path", help="Run config YAML (plugin_config, cog_opts, resolution...).")
@click.option("--threads", type=int, help="Threads, as the workers will run (default: the config's; -1: all CPUs).")
@click.option("--repeat", type=int, default=1, show_default=True, help="Runs per task; the median counts.")
@click.option("--output", "-o", required=True, help="Model YAML to write (with --append: to add to).")
@click.option("--append", is_flag=True, help="Keep the points already in --output for this plugin and thread count.")
@click.option("--task-table", help="Fit on the DONE rows of --run-id in this DynamoDB table instead of timing tasks.")
@click.option("--run-id", help="With --task-table: the run whose timed rows to use.")
def calibrate_cmd(cache, tasks, plugin, config_path, threads, repeat, output, append, task_table, run_id) -> None:
    """Time TASKS of CACHE (default: all) and write the model: seconds = intercept +
    per_observation x pixel-observations + per_pixel x pixels, per plugin and thread count."""
    from ..errors import ConfigError
    from ..ops.calibrate import machine, time_tasks, timed_rows
    from ..ops.runtime import RuntimeModel, load_model
    from ..run import TaskReader, cpu_and_memory, select_tasks

    cfg = load_run_config(config_path).merged(plugin=plugin, threads=threads)
    if not cfg.plugin:
        raise ConfigError("no plugin: pass --plugin or set 'plugin' in --config")
    if bool(task_table) != bool(run_id):
        raise ConfigError("--task-table and --run-id go together")
    n_threads = cfg.threads if cfg.threads > 0 else cpu_and_memory()[0]
    base = load_model(output) if append and Path(output).exists() else RuntimeModel(source=output)
    old = base.models.get(cfg.plugin, {}).get(n_threads)
    where = machine()
    if task_table:
        from ..tasktable import DynamoTaskTable

        points = timed_rows(cache, DynamoTaskTable(task_table).run_rows(run_id), cfg.resolution)
        where["how"] = f"wall_seconds of the DONE rows of run {run_id} in {task_table}"
    else:
        specs = list(tasks)
        if specs == ["-"]:
            specs = [line for line in sys.stdin.read().split() if line]
        tiles = select_tasks(TaskReader(cache).all_tiles, specs)
        points = time_tasks(cache, tiles, cfg, threads=n_threads, repeat=repeat, log=lambda m: click.echo(m, err=True))
        where["how"] = (f"load, reduce and write in one process after a warm-up task, median of {repeat} "
                        f"run{'s' if repeat > 1 else ''} per task")
    if not points:
        raise ConfigError(f"calibration: no timed tasks in {cache}" + (f" for run {run_id}" if run_id else ""))
    all_points = (list(old.points) if old is not None else []) + points
    model = RuntimeModel.fitted(cfg.plugin, n_threads, all_points, where, base=base)
    m = model.get(cfg.plugin, n_threads)
    model.write(output, header=f"# statscore runtime model, written by odc-stats calibrate on {where['host']} "
                               f"({where['cpu']}, {where['cpus']} CPUs), {where['date']}")
    click.echo(f"{cfg.plugin} at {n_threads} threads, {len(all_points)} timed tasks: seconds = {m.intercept:.3g} "
               f"+ {m.per_observation:.3g} x pixel-observations + {m.per_pixel:.3g} x pixels -> {output}")

"""``odc-stats report``: one self-contained HTML page of a run's tiles, failures and usage."""

from __future__ import annotations

import os

import click

from ..errors import ConfigError
from . import main


@main.command("report")
@click.argument("filedb", required=False)
@click.argument("tasks", nargs=-1)
@click.option("--location", help="Output root the products were written to (with FILEDB).")
@click.option("--config", "config_path", help="Run config YAML naming the product (as given to run).")
@click.option("--plugin", help="Plugin short name or dotted class path (as given to run).")
@click.option("--failure-log", help="A worker's --failure-log (JSON lines): tasks failed there and not done show as failed.")
@click.option("--run", "run", help="A run on AWS instead of FILEDB: its id (the execution name), execution ARN, "
                                   "or s3:// folder of its manifest.json.")
@click.option("--task-table", help="With --run: the DynamoDB task table (default: $TASK_TABLE).")
@click.option("--cache-bucket", help="With --run: the bucket of the run's manifest (default: $CACHE_BUCKET).")
@click.option("--max-thumbnails", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Thumbnails inlined into the page (the rest are linked).")
@click.option("-o", "--output", default="report.html", show_default=True,
              help="Where to write the page: a path, file:// or s3:// URL ending in .html.")
def report_cmd(filedb, tasks, location, config_path, plugin, failure_log, run, task_table, cache_bucket,
               max_thumbnails, output) -> None:
    """Write an HTML report: a map of the tiles by state, thumbnails, failures, usage and cost.

    Either FILEDB [TASKS...] --location URL (what exists there; the product named by --plugin
    or --config as for run), or --run RUN (the task table and summary.json of a run on AWS).
    """
    from ..ops.report import STATES, location_report, run_report, write_report

    if run:
        if filedb or location or failure_log:
            raise ConfigError("--run reads a run on AWS: do not also give FILEDB, --location or --failure-log")
        table = task_table or os.environ.get("TASK_TABLE")
        if not table:
            raise ConfigError("--run: no task table: pass --task-table (or set $TASK_TABLE)")
        rep = run_report(run, task_table=table, cache_bucket=cache_bucket or os.environ.get("CACHE_BUCKET"),
                         cache_prefix=os.environ.get("CACHE_PREFIX", "caches/"), max_thumbnails=max_thumbnails)
    else:
        from ..config import load_run_config
        from ..plugins import resolve_plugin

        if not filedb:
            raise ConfigError("give FILEDB (a task cache) with --location, or --run RUN")
        if task_table or cache_bucket:
            raise ConfigError("--task-table and --cache-bucket go with --run")
        cfg = load_run_config(config_path).merged(plugin=plugin, output_location=location)
        if not cfg.plugin:
            raise ConfigError("no plugin: pass --plugin or set 'plugin' in --config (it names the product)")
        if not cfg.output_location:
            raise ConfigError("no output location: pass --location or set 'output_location' in --config")
        rep = location_report(filedb, cfg.output_location, cfg, resolve_plugin(cfg.plugin, cfg.plugin_config),
                              failure_log=failure_log, tasks=tasks, max_thumbnails=max_thumbnails)
    url = write_report(rep, output)
    counts = ", ".join(f"{n} {STATES[k][0]}" for k, n in rep.counts.items() if n)
    click.echo(f"{len(rep.tiles)} tasks ({counts or 'none'}) -> {url}")

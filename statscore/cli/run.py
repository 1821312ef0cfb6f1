"""``odc-stats run``: process tasks of a cache into COGs + STAC + eo3 products."""

from __future__ import annotations

import os
import sys

import click

from ..config import load_run_config, read_yaml_mapping
from ..errors import ConfigError
from ..task import render_task
from . import main


def _yaml_or_file(text: str | None, what: str) -> dict | None:
    return None if text is None else read_yaml_mapping(text, what, inline=True)


@main.command("run")
@click.argument("filedb", required=False)
@click.argument("tasks", nargs=-1)
@click.option("--config", "config_path", help="Run config YAML (plugin, plugin_config, product, cog_opts, ...).")
@click.option("--plugin", help="Plugin short name (gm-s2, pq, ...) or dotted class path.")
@click.option("--plugin-config", help="Plugin settings as YAML text or a YAML file.")
@click.option("--cog-config", help="cog_opts as YAML text or a YAML file.")
@click.option("--resampling", help="Resampling for reprojection (plugin default otherwise).")
@click.option("--resolution", type=float, help="Output pixel size (must divide the tile size).")
@click.option("--threads", type=int, help="Threads (-1: all the CPUs this process may use).")
@click.option("--memory-limit", help="Memory limit, e.g. 8G (default: the cgroup/machine limit).")
@click.option("--location", help="Output root: file:///path or s3://bucket/prefix.")
@click.option("--overwrite", is_flag=True, default=None, help="Recompute tasks whose output exists.")
@click.option("--update", is_flag=True, default=None,
              help="Recompute only tasks whose inputs (datasets, plugin, settings) changed since their product "
                   "was written, and tasks with no product; skip the rest as unchanged.")
@click.option("--public/--no-public", default=None, help="Write S3 objects with the public-read ACL.")
@click.option("--max-processing-time", type=int, help="Seconds after which a task is cancelled and reported failed.")
@click.option("--heartbeat-filepath", help="File touched while tasks run.")
@click.option("--dataset-filters", help="Only use datasets matching these JSON filters (|-separated).")
@click.option("--dryrun", is_flag=True, help="Only list the tasks with new/skip/recompute status.")
@click.option("--from-sqs", help="Take tasks from this SQS queue (name or URL) instead of FILEDB/TASKS.")
@click.option("--idle-timeout", type=float, default=0, show_default=True,
              help="With --from-sqs: exit once the queue has stayed empty this many seconds.")
@click.option("--failure-log", help="With --from-sqs: append one JSON line per failed message to this file.")
@click.option("--task-table", help="With --from-sqs: DynamoDB task table to record RUNNING/DONE/FAILED in "
                                   "(default: $TASK_TABLE, as set on the Batch job).")
def run_cmd(filedb, tasks, config_path, plugin, plugin_config, cog_config, resampling, resolution, threads,
            memory_limit, location, overwrite, update, public, max_processing_time, heartbeat_filepath, dataset_filters,
            dryrun, from_sqs, idle_timeout, failure_log, task_table) -> None:
    """Run tasks of FILEDB (all by default). TASKS: '2015--P1Y/49/24', 'x49/y24/2015--P1Y', index, slice '::10', or '-' for stdin."""
    from ..ops.preflight import check_run
    from ..run import TaskReader, check_mode, run_tasks, select_tasks

    if from_sqs and (filedb or dryrun):
        raise ConfigError("--from-sqs takes tasks from the queue: do not also give FILEDB/TASKS or --dryrun")
    if not from_sqs and not filedb:
        raise ConfigError("give FILEDB (a task cache) or --from-sqs QUEUE")
    if task_table and not from_sqs:
        raise ConfigError("--task-table records the tasks of a --from-sqs worker: give --from-sqs QUEUE too")
    cfg = load_run_config(config_path)
    cfg = cfg.merged(plugin=plugin, plugin_config=_yaml_or_file(plugin_config, "--plugin-config"),
                     cog_opts=_yaml_or_file(cog_config, "--cog-config"), resampling=resampling, resolution=resolution,
                     threads=threads, memory_limit=memory_limit, output_location=location, overwrite=overwrite, update=update,
                     s3_acl=("public-read" if public else None) if public is not None else None,
                     max_processing_time=max_processing_time, heartbeat_filepath=heartbeat_filepath,
                     dataset_filters=dataset_filters)
    check_mode(cfg)
    # fail before spending: config, output location (a probe write; not for --dryrun, and a worker
    # probes once its queue is known) and cache
    plugin_obj = check_run(cfg, cache=None if from_sqs else filedb, probe_output=not (dryrun or from_sqs))
    if from_sqs:
        from ._sqs_run import run_from_sqs

        run_from_sqs(from_sqs, plugin_obj, cfg, idle_timeout=idle_timeout, failure_log=failure_log,
                     task_table=task_table or os.environ.get("TASK_TABLE") or None)
        return
    reader = TaskReader(filedb)
    specs = list(tasks)
    if specs == ["-"]:
        specs = [line for line in sys.stdin.read().split() if line]
    selected = select_tasks(reader.all_tiles, specs)

    def report(oc) -> None:
        line = f"{render_task(oc.tile)}  {oc.status:<9} {oc.seconds:6.1f}s  {oc.reason}"
        click.echo(line, err=oc.status == "failed")

    outcomes = run_tasks(reader, selected, plugin_obj, cfg, location=cfg.output_location, plugin_name=cfg.plugin,
                         dryrun=dryrun, on_outcome=report)
    failed = [o for o in outcomes if o.status == "failed"]
    if dryrun:
        kinds = ("new", "changed", "unchanged") if cfg.update else ("new", "skip", "recompute")
        counts = {k: sum(o.status == k for o in outcomes) for k in kinds}
        click.echo(f"{len(outcomes)} tasks: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        return
    unchanged = sum(o.status == "unchanged" for o in outcomes)
    click.echo(f"{len(outcomes)} tasks: {sum(o.status == 'done' for o in outcomes)} done, "
               f"{sum(o.status == 'skipped' for o in outcomes)} skipped, "
               + (f"{unchanged} unchanged, " if cfg.update else "") + f"{len(failed)} failed")
    used = [o.usage for o in outcomes if o.usage]
    if used:
        from ..ops.usage import add_up

        u = add_up(used, None)
        click.echo(f"usage: {u['wall_seconds']:.1f} s wall, {u['cpu_seconds']:.1f} s CPU, peak "
                   f"{u['peak_memory_bytes'] / 2**30:.2f} GiB, {u['bytes_read'] / 2**20:.1f} MiB read, "
                   f"{u['observations']:,} observations")
    if failed:
        sys.exit(1)

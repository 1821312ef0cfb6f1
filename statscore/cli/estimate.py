"""``odc-stats estimate``: tiles, datasets, pixel-observations, seconds per task, worker-hours and cost, before a run."""

from __future__ import annotations

import json
import sys

import click

from ..config import load_run_config
from . import main

DEFAULT_INSTANCE_TYPES = ("r6i.4xlarge", "r6a.4xlarge", "r5.4xlarge")
"""The deployment's default instance types (infra/settings.py), for estimates made off AWS."""


@main.command("estimate")
@click.argument("cache")
@click.argument("tasks", nargs=-1)
@click.option("--plugin", help="Plugin short name or dotted class path (default: the config's).")
@click.option("--config", "config_path", help="Run config YAML (plugin, plugin_config, threads, resolution...).")
@click.option("--threads", type=int, help="Threads per worker (default: the config's; -1: this machine's CPUs).")
@click.option("--model", "model_path", help="Runtime model from `odc-stats calibrate` (default: the shipped one).")
@click.option("--prices", "prices_path", help="Price table YAML {source, as_of, instances} over the shipped one.")
@click.option("--instance-type", "instance_types", multiple=True,
              help=f"Worker instance type(s); the dearest per vCPU is priced (default: {', '.join(DEFAULT_INSTANCE_TYPES)}).")
@click.option("--spot/--on-demand", default=True, show_default=True, help="Spot or on-demand prices.")
@click.option("--job-vcpus", type=int, help="vCPUs a worker takes of its instance (default: --threads).")
@click.option("--json", "as_json", is_flag=True, help="JSON with one entry per task (key 'seconds').")
def estimate_cmd(cache, tasks, plugin, config_path, threads, model_path, prices_path, instance_types, spot, job_vcpus,
                 as_json) -> None:
    """Estimate a run of CACHE (TASKS as for `run`: all by default) without reading a pixel."""
    from ..config import read_yaml_mapping
    from ..errors import ConfigError
    from ..ops.estimate import estimate, task_sizes
    from ..ops.prices import default_prices, worker_price
    from ..ops.runtime import load_model
    from ..run import TaskReader, cpu_and_memory, select_tasks

    cfg = load_run_config(config_path).merged(plugin=plugin, threads=threads)
    if not cfg.plugin:
        raise ConfigError("no plugin: pass --plugin or set 'plugin' in --config")
    n_threads = cfg.threads if cfg.threads > 0 else cpu_and_memory()[0]
    model = load_model(model_path).get(cfg.plugin, n_threads)
    table = default_prices()
    if prices_path:
        table = table.merged(read_yaml_mapping(prices_path, f"--prices {prices_path}"), f"--prices {prices_path}")
    price = worker_price(list(instance_types) or list(DEFAULT_INSTANCE_TYPES), spot=spot,
                         job_vcpus=job_vcpus or n_threads, table=table)
    reader = TaskReader(cache)
    specs = list(tasks)
    if specs == ["-"]:
        specs = [line for line in sys.stdin.read().split() if line]
    tiles = select_tasks(reader.all_tiles, specs)
    sizes, missing = task_sizes(reader, tiles, cfg.resolution)
    est = estimate(sizes, cfg.plugin, n_threads, model, price, missing)
    if as_json:
        click.echo(json.dumps(est.to_dict(), indent=1))
        return
    t = est.totals()
    m = est.model
    click.echo(f"{t['tiles']} tiles, {t['datasets']} datasets, {t['observations']:,} pixel-observations "
               f"({t['pixels']:,} pixels)")
    click.echo(f"seconds per task: mean {t['seconds_per_task']:.1f}, max {t['seconds_max']:.1f} "
               f"({m.plugin} model at {m.threads} threads: {m.intercept:.3g} s + {m.per_observation:.3g} s/observation "
               f"+ {m.per_pixel:.3g} s/pixel)")
    click.echo(f"worker-hours: {est.worker_hours:.3g}; cost: US${est.cost_usd:.3g} ({price.pricing} "
               f"{price.instance_type}, US${price.usd_per_hour:.4g}/h per worker of {job_vcpus or n_threads} vCPUs)")
    click.echo(f"prices: {price.source}, as of {price.as_of}")
    for note in est.notes:
        click.echo(f"note: {note}", err=True)

"""``odc-stats publish-tasks``: put a cache's tasks on an SQS queue for ``run --from-sqs`` workers."""

from __future__ import annotations

import json
import sys

import click

from ..errors import InputError
from . import main


def _geometry(path: str):
    """The first feature of a GeoJSON file (CRS from its ``crs`` member, else EPSG:4326)."""
    from odc.geo import Geometry

    try:
        with open(path, encoding="utf8") as f:
            doc = json.load(f)
    except OSError as e:
        raise InputError(f"--geojson-filter {path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise InputError(f"--geojson-filter {path}: not valid JSON ({e.msg})") from None
    try:
        geom = doc["features"][0]["geometry"] if "features" in doc else doc.get("geometry", doc)
        crs = (doc.get("crs") or {}).get("properties", {}).get("name", "EPSG:4326")
        return Geometry(geom, crs=crs)
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise InputError(f"--geojson-filter {path}: no usable feature geometry ({e})") from None


@main.command("publish-tasks")
@click.argument("cache")
@click.argument("queue")
@click.argument("tasks", nargs=-1)
@click.option("--dryrun", is_flag=True, help="Print the tasks that would be published; send nothing.")
@click.option("--geojson-filter", help="Keep only tiles intersecting the first feature of this GeoJSON file.")
def publish_tasks_cmd(cache, queue, tasks, dryrun, geojson_filter) -> None:
    """Publish tasks of CACHE (a path or s3:// URL, put in each message as given) to QUEUE (name or URL).

    TASKS: '2015--P1Y/49/24', 'x49/y24/2015--P1Y', a 0-based index, a slice '::10', or '-'
    to read them from stdin; all tasks by default. Messages are odc-stats' JSON
    {"filedb": CACHE, "tile_idx": "2015--P1Y/49/24"}, sent in batches of 10.
    """
    from ..run import TaskReader, select_tasks
    from ..sqs import open_queue, task_message
    from ..task import render_task
    from ..worker import CacheFetcher

    fetcher = CacheFetcher()
    try:
        reader = TaskReader(fetcher.local(cache))
        specs = list(tasks)
        if specs == ["-"]:
            specs = sys.stdin.read().split()
        selected = select_tasks(reader.all_tiles, specs)
        click.echo(f"{len(selected):,d} of {len(reader.all_tiles):,d} tasks selected", err=True)
        if geojson_filter:
            geom = _geometry(geojson_filter).to_crs(reader.gridspec.crs)
            selected = [t for t in selected if reader.gridspec.tile_geobox((t.x, t.y)).extent.intersects(geom)]
            click.echo(f"{len(selected):,d} tasks intersect {geojson_filter}", err=True)
    finally:
        fetcher.close()
    if dryrun:
        for t in selected:
            click.echo(render_task(t))
        return
    q = open_queue(queue)
    sent = q.send(task_message(t, cache) for t in selected)
    click.echo(f"published {sent:,d} tasks to {q.name}")

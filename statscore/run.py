"""``run``: process tasks from a cache into products, one task at a time, never losing one.

For each selected task: skip it if its STAC item exists (unless overwrite), else load
(``statscore.load``), reduce with the plugin, and write the outputs (the STAC item last).
With ``update`` a task whose product exists is recomputed (and its product replaced) only
when its input fingerprint differs from the one recorded in the product; otherwise it is
``unchanged`` and nothing is written.
A failing task is reported with its reason and the others still run. With
``max_processing_time`` each task runs in a child process that is killed at the deadline,
so a stuck task fails within seconds of it instead of hanging the worker.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from odc.geo.gridspec import GridSpec

from .cache import cache_config, cache_tasks, open_cache
from .config import RunConfig
from .sources import s3env
from .errors import ConfigError, InputError, StatsError
from .model import OutputProduct, Task
from .period import Period
from .task import TileIdx, parse_task, render_task

__all__ = ["TaskOutcome", "select_tasks", "TaskReader", "output_product", "run_tasks", "cpu_and_memory",
           "task_fingerprint", "check_mode"]


@dataclass
class TaskOutcome:
    tile: TileIdx
    status: str
    """``done``, ``skipped`` (output present), ``unchanged`` (update: same input fingerprint), ``failed``,
    or with dryrun ``new``/``skip``/``recompute`` (update: ``new``/``changed``/``unchanged``)."""
    reason: str = ""
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)
    usage: dict[str, float | int] | None = None
    """What the task used (:class:`statscore.ops.usage.TaskUsage` fields), when it was computed."""


_SLICE = re.compile(r"^(-?\d*):(-?\d*)(?::(-?\d*))?$")


def select_tasks(all_tasks: Sequence[TileIdx], specs: Iterable[str]) -> list[TileIdx]:
    """Tasks named by triplets (any accepted form), 0-based indexes or Python slices.

    Indexes and slices refer to ``all_tasks`` sorted by ``(period, x, y)``, as odc-stats.
    No specs means all tasks. A named task that is not in the cache is an error.
    """
    specs = [s.strip() for s in specs if s.strip()]
    if not specs:
        return list(all_tasks)
    known = set(all_tasks)
    out: list[TileIdx] = []
    for s in specs:
        if re.fullmatch(r"-?\d+", s):
            i = int(s)
            if not -len(all_tasks) <= i < len(all_tasks):
                raise InputError(f"task index {i} is out of range: the cache has {len(all_tasks)} tasks")
            out.append(all_tasks[i])
        elif m := _SLICE.match(s):
            a, b, c = (int(v) if v not in (None, "") else None for v in m.groups())
            if c == 0:
                raise InputError(f"task slice {s!r}: step cannot be 0")
            out.extend(all_tasks[slice(a, b, c)])
        else:
            t = parse_task(s)
            if t not in known:
                raise InputError(f"task {render_task(t)} is not in the cache")
            out.append(t)
    seen: set[TileIdx] = set()
    return [t for t in out if not (t in seen or seen.add(t))]


class TaskReader:
    """Tasks of a cache with their datasets (documents from the cache: no database)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.cache = open_cache(path)
        self.config = cache_config(self.cache)
        s3env.configure(s3env.settings_from_cache_config(self.config))  # GDAL's S3 reads, before any open
        self.grid: str = self.config["grid"]
        self.gridspec: GridSpec = self.cache.grids[self.grid]
        self.tasks = cache_tasks(self.cache)

    @property
    def all_tiles(self) -> list[TileIdx]:
        return list(self.tasks)

    def with_resolution(self, resolution: float | None) -> GridSpec:
        """The grid with a different pixel size covering the same tiles."""
        if resolution is None:
            return self.gridspec
        gs = self.gridspec
        tx, ty = gs.tile_size.xy
        if abs(tx / resolution - round(tx / resolution)) > 1e-8 or abs(ty / resolution - round(ty / resolution)) > 1e-8:
            raise ConfigError(f"--resolution {resolution}: does not divide the grid's {tx:g} x {ty:g} tiles")
        return GridSpec(gs.crs, tile_shape=(int(round(ty / resolution)), int(round(tx / resolution))),
                        resolution=resolution, origin=gs.origin)

    def load_task(self, tile: TileIdx, product: OutputProduct, resolution: float | None = None,
                  dataset_filters: str | None = None) -> Task:
        ids = self.tasks.get(tile)
        if ids is None:
            raise InputError(f"task {render_task(tile)} is not in {self.path}")
        dss = []
        for u in ids:
            ds = self.cache.get(u)
            if ds is None:
                raise InputError(f"{self.path}: dataset {u} of task {render_task(tile)} is missing from the cache")
            dss.append(ds)
        if dataset_filters:
            keep = dataset_filter(dataset_filters)
            dss = [ds for ds in dss if keep(ds)]
        gs = self.with_resolution(resolution)
        return Task(product=product, tile_index=tile, geobox=gs.tile_geobox((tile.x, tile.y)),
                    time_range=Period.parse(tile.period), datasets=tuple(dss))


def dataset_filter(text: str) -> Callable[[Any], bool]:
    """odc-stats' ``--dataset-filters``: ``|``-separated JSON objects; a dataset is kept when
    every key of any one object matches its properties (``datetime``: a period string)."""
    import json

    filters = []
    for part in text.split("|"):
        try:
            f = json.loads(part)
        except json.JSONDecodeError as e:
            raise ConfigError(f"--dataset-filters {part!r}: not valid JSON ({e.msg})") from None
        if not isinstance(f, dict):
            raise ConfigError(f"--dataset-filters {part!r}: expected a JSON object")
        if "datetime" in f:
            f = dict(f, datetime=Period.parse(str(f["datetime"])))
        filters.append(f)

    def matches(ds: Any) -> bool:
        props = ds.metadata_doc.get("properties", {})
        for f in filters:
            ok = True
            for k, v in f.items():
                if k == "datetime":
                    ok &= ds.center_time in v
                else:
                    ok &= props.get(k) == v
            if ok:
                return True
        return False

    return matches


def output_product(cfg: RunConfig, plugin: Any, location: str) -> OutputProduct:
    """The output product: the ``product:`` settings, the plugin's defaults where unset."""
    fields = {k: v for k, v in cfg.product.model_dump().items() if v is not None}
    fields["name"] = cfg.product.name or plugin.NAME
    if cfg.product.version == "0.0.0":
        fields["version"] = getattr(plugin, "VERSION", "0.0.0")
    fields["short_name"] = cfg.product.short_name or getattr(plugin, "SHORT_NAME", "") or fields["name"]
    fields["product_family"] = cfg.product.product_family or plugin.PRODUCT_FAMILY
    fields["properties"] = dict(cfg.product.properties)
    # as odc-stats: the product root is the location given
    return OutputProduct(location=location.rstrip("/"), measurements=tuple(plugin.measurements), **fields)


def task_fingerprint(task: Task, plugin: Any, cfg: RunConfig) -> str:
    """The input fingerprint of ``task``'s product under ``plugin`` and ``cfg`` (what an update compares)."""
    from .outputs import input_fingerprint
    from .plugins.registry import effective_config

    cls = type(plugin)
    return input_fingerprint(task, plugin=f"{cls.__module__}.{cls.__qualname__}",
                             plugin_config=effective_config(plugin, cfg.plugin_config), cog_opts=cfg.cog_opts)


def check_mode(cfg: RunConfig) -> None:
    """``update`` and ``overwrite`` contradict each other: one recomputes changed tasks, the other all."""
    if cfg.update and cfg.overwrite:
        raise ConfigError("update and overwrite: give one (update recomputes the tasks whose inputs changed, "
                          "overwrite recomputes every task)")


def is_unchanged(task: Task, plugin: Any, cfg: RunConfig) -> bool:
    """Whether the task's existing product was made from the same inputs (same fingerprint)."""
    from .outputs import product_fingerprint

    old = product_fingerprint(task)
    return old is not None and old == task_fingerprint(task, plugin, cfg)


def cpu_and_memory() -> tuple[int, int | None]:
    """CPUs and memory bytes this process may use, honouring cgroup v2 limits."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    mem: int | None = None
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        if quota != "max":
            cpus = max(1, min(cpus, int(float(quota) / float(period))))
    except (OSError, ValueError):
        pass
    try:
        raw = open("/sys/fs/cgroup/memory.max").read().strip()
        if raw != "max":
            mem = int(raw)
    except (OSError, ValueError):
        pass
    if mem is None and hasattr(os, "sysconf"):
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return cpus, mem


def parse_memory(text: str) -> int | None:
    """``4G``, ``500MiB``, ``1e9`` -> bytes; empty -> None."""
    if not text:
        return None
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([kKmMgGtT]?)(i?[bB])?\s*", str(text))
    if not m:
        raise ConfigError(f"memory_limit {text!r}: expected a size like 8G or 500MiB")
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


def process_task(task: Task, plugin: Any, cfg: RunConfig, threads: int, meter: Any = None) -> list[str]:
    """Load, reduce and write one task; returns the files written. ``meter``
    (a :class:`statscore.ops.usage.TaskMeter`) gets the observations the result used."""
    import dask

    from .algo import kernel_threads
    from .load import DEFAULT_BLOCK_BYTES, reduce_task
    from .outputs import CogOptions, write_task_outputs

    _, mem = cpu_and_memory()
    limit = parse_memory(cfg.memory_limit) or mem
    # a block's inputs take a quarter of the memory we may use, within the default budget
    block = min(DEFAULT_BLOCK_BYTES, limit // 4) if limit else DEFAULT_BLOCK_BYTES
    # --threads bounds the numba kernels too (a plugin's own num_threads still wins)
    with dask.config.set(scheduler="threads", num_workers=threads), kernel_threads(threads):
        result = reduce_task(task, plugin, block_bytes=block, threads=threads)
        if meter is not None:
            from .ops.usage import used_observations

            meter.observations = used_observations(result, plugin)
        rgba = plugin.rgba(result)
        if rgba is not None and hasattr(rgba, "compute"):
            rgba = rgba.compute()
    # an update computes only tasks it found changed: their products are replaced
    written = write_task_outputs(task, result, cog_opts=CogOptions.from_config(cfg.cog_opts), rgba=rgba,
                                 s3_acl=cfg.s3_acl, overwrite=cfg.overwrite or cfg.update, threads=threads,
                                 fingerprint=task_fingerprint(task, plugin, cfg))
    return list(getattr(written, "files", written) or [])


def _child(conn, cache_path, tile, plugin_name, plugin_cfg, cfg_json, location, threads, resolution):  # pragma: no cover
    """Sends ``(status, files or reason, usage)``; usage is None when the task never started."""
    from .ops.usage import TaskMeter

    meter = TaskMeter()
    try:
        from .config import RunConfig as _RC
        from .plugins import resolve_plugin

        cfg = _RC.model_validate_json(cfg_json)
        plugin = resolve_plugin(plugin_name, plugin_cfg)
        reader = TaskReader(cache_path)
        with meter:
            task = reader.load_task(tile, output_product(cfg, plugin, location), resolution, cfg.dataset_filters)
            files = process_task(task, plugin, cfg, threads, meter)
        conn.send(("done", files, meter.usage_dict()))
    except StatsError as e:
        conn.send(("failed", str(e), meter.usage_dict()))
    except Exception as e:  # noqa: BLE001 - report any failure as the task's reason
        conn.send(("failed", f"{e.__class__.__name__}: {e}".splitlines()[0] + " | " + traceback.format_exc().splitlines()[-1],
                   meter.usage_dict()))


def run_tasks(
    reader: TaskReader,
    tiles: Sequence[TileIdx],
    plugin: Any,
    cfg: RunConfig,
    *,
    location: str,
    plugin_name: str,
    dryrun: bool = False,
    on_outcome: Callable[[TaskOutcome], None] | None = None,
) -> list[TaskOutcome]:
    """Run (or with ``dryrun`` only classify) tasks; every task gets an outcome."""
    from .ops.usage import TaskMeter
    from .outputs import is_task_done

    check_mode(cfg)
    cpus, _ = cpu_and_memory()
    threads = cpus if cfg.threads in (-1, 0) else cfg.threads
    product = output_product(cfg, plugin, location)
    outcomes = []
    for tile in tiles:
        t0 = time.monotonic()
        _heartbeat(cfg.heartbeat_filepath)
        task = reader.load_task(tile, product, cfg.resolution, cfg.dataset_filters)
        done = is_task_done(task)
        unchanged = done and cfg.update and is_unchanged(task, plugin, cfg)
        if dryrun and cfg.update:
            oc = TaskOutcome(tile, "new" if not done else ("unchanged" if unchanged else "changed"), reason=task.folder)
        elif dryrun:
            oc = TaskOutcome(tile, "new" if not done else ("recompute" if cfg.overwrite else "skip"),
                             reason=task.folder)
        elif unchanged:
            oc = TaskOutcome(tile, "unchanged", reason="inputs unchanged (same input fingerprint)")
        elif done and not cfg.overwrite and not cfg.update:
            oc = TaskOutcome(tile, "skipped", reason="output already present")
        elif cfg.max_processing_time > 0:
            oc = _run_in_child(reader.path, tile, plugin_name, cfg, location, threads, t0)
        else:
            meter = TaskMeter()
            try:
                with meter:
                    files = process_task(task, plugin, cfg, threads, meter)
                oc = TaskOutcome(tile, "done", files=files)
            except StatsError as e:
                oc = TaskOutcome(tile, "failed", reason=str(e))
            except Exception as e:  # noqa: BLE001 - one task's failure must not stop the others
                oc = TaskOutcome(tile, "failed", reason=f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            oc.usage = meter.usage_dict()
        oc.seconds = time.monotonic() - t0
        _heartbeat(cfg.heartbeat_filepath)
        outcomes.append(oc)
        if on_outcome is not None:
            on_outcome(oc)
    return outcomes


def _run_in_child(cache_path: str, tile: TileIdx, plugin_name: str, cfg: RunConfig, location: str,
                  threads: int, t0: float) -> TaskOutcome:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, cache_path, tile, plugin_name, dict(cfg.plugin_config),
                                            cfg.model_dump_json(), location, threads, cfg.resolution), daemon=True)
    proc.start()
    child.close()
    deadline = t0 + cfg.max_processing_time
    while time.monotonic() < deadline:
        if parent.poll(0.2):
            status, payload, usage = parent.recv()
            proc.join(5)
            if status == "done":
                return TaskOutcome(tile, "done", files=list(payload), usage=usage)
            return TaskOutcome(tile, "failed", reason=str(payload), usage=usage)
        if not proc.is_alive():
            return TaskOutcome(tile, "failed", reason=f"worker process died (exit code {proc.exitcode})")
    proc.kill()
    proc.join(5)
    return TaskOutcome(tile, "failed", reason=f"cancelled after max_processing_time={cfg.max_processing_time} s")


def _heartbeat(path: str | None) -> None:
    """Touch the heartbeat file so a supervisor can tell the worker is alive."""
    if path:
        with open(path, "a", encoding="utf8"):
            os.utime(path, None)

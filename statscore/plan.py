"""``save-tasks``: find datasets, bin them into tile x period tasks, write the cache.

Pure orchestration over the sources (datacube index or documents), the vectorised
binning and the writers. Outputs appear all together or not at all: everything is
written under temporary names and renamed into place once complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timezone
from itertools import islice
from typing import Any
from uuid import UUID

import numpy as np
import shapely
from datacube.model import Dataset

from .binning import TaskPlan, bin_datasets
from .cache import CacheWriter, cache_exists
from .errors import ConfigError, OutputExistsError
from .fuse import fuse_datasets
from .grid import parse_grid, tile_bounds
from .period import NEEDS_TEMPORAL_RANGE, Period, check_frequency
from .sources import InputProducts, parse_input_products
from .sources._fields import dataset_id
from .summary import period_geojson, write_csv, write_geojson
from .task import TileRange

__all__ = ["SaveTasksRequest", "StacApiQuery", "SaveTasksResult", "save_tasks", "output_paths", "count_items",
           "save_tasks_argv"]

Progress = Callable[[str, int, "int | None"], None]
"""``progress(stage, done, total)``: stage is 'datasets' or 'binning'."""


@dataclass(frozen=True)
class SaveTasksRequest:
    """Everything ``save-tasks`` needs, validated (see :meth:`validate`)."""

    output: str
    grid: str
    input_products: str
    frequency: str = "annual"
    temporal_range: Period | None = None
    tiles: TileRange | None = None
    gqa: float | None = None
    dataset_filter: dict[str, Any] = field(default_factory=dict)
    ignore_time: tuple[str, ...] = ()
    optional_products: tuple[str, ...] = ()
    complevel: int = 6
    overwrite: bool = False
    env: str | None = None
    stac: StacApiQuery | None = None
    """Search a STAC API instead of ``input_products`` (see ``statscore.sources.stac_api``)."""
    profile: str | None = None
    """Source profile of STAC item documents among ``input_products`` (``--profile`` without ``--stac-api``)."""

    @property
    def source_profile(self) -> str | None:
        return self.stac.profile if self.stac is not None else self.profile

    def validate(self) -> None:
        parse_grid(self.grid)
        freq = check_frequency(self.frequency)
        if self.temporal_range is None and freq in NEEDS_TEMPORAL_RANGE:
            raise ConfigError(f"frequency {freq!r} needs --temporal-range or --year")
        if self.stac is not None:
            if self.input_products:
                raise ConfigError("use one of --stac-api or --input-products, not both")
            self.stac.validate()
        else:
            parse_input_products(self.input_products)
        if not self.output.endswith(".db"):
            raise ConfigError(f"output {self.output!r}: the task cache name must end in .db")
        if cache_exists(self.output) and not self.overwrite:
            raise OutputExistsError(f"{self.output} already exists; pass --overwrite to replace it")


@dataclass(frozen=True)
class StacApiQuery:
    """``--stac-api URL --collections A,B --profile NAME [--stac-filter CQL2-JSON]``."""

    url: str
    collections: tuple[str, ...]
    profile: str
    stac_filter: dict[str, Any] | None = None
    threads: int = 4

    def validate(self) -> None:
        if not self.collections:
            raise ConfigError("--stac-api needs --collections NAME[,NAME]")
        if not self.profile:
            raise ConfigError("--stac-api needs --profile NAME (or a profile YAML file)")
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"--stac-api {self.url!r}: not an http(s) URL")
        if self.stac_filter is not None and not isinstance(self.stac_filter, dict):
            raise ConfigError("--stac-filter must be a CQL2-JSON object")

    @property
    def product(self) -> str:
        """The ``query.product`` recorded in the cache: the collections, union."""
        return "-".join(self.collections)


@dataclass
class SaveTasksResult:
    datasets: int = 0
    tasks: int = 0
    tiles: int = 0
    periods: tuple[str, ...] = ()
    files: list[str] = field(default_factory=list)
    no_footprint: list[str] = field(default_factory=list)
    filtered_out: int = 0
    plan: TaskPlan | None = None


def output_paths(output: str, periods: tuple[str, ...] = ()) -> dict[str, str]:
    base = output[:-3] if output.endswith(".db") else output
    out = {"cache": output, "csv": base + ".csv"}
    out.update({f"geojson:{p}": f"{base}-{p}.geojson" for p in periods})
    return out


def _property(ds: Dataset, key: str) -> Any:
    props = ds.metadata_doc.get("properties", {})
    if key in props:
        return props[key]
    for k, v in props.items():  # search fields drop the namespace: collection_category
        if k.split(":", 1)[-1] == key:
            return v
    try:
        return getattr(ds.metadata, key)
    except AttributeError:
        return None


def _matches(ds: Dataset, req: SaveTasksRequest) -> bool:
    if req.gqa is not None:
        v = _property(ds, "gqa:iterative_mean_xy")
        if v is None or float(v) > req.gqa:
            return False
    return all(_property(ds, k) == v for k, v in req.dataset_filter.items())


def _query_datasets(req: SaveTasksRequest, inputs: InputProducts, gs, on_doc: Callable[[], None],
                    timeless: set[str]) -> Iterator[Dataset]:
    """Datasets of every input entry, pre-filtered by the (padded) period and tiles.

    Products of ``--ignore-time`` entries (names or locations) are added to ``timeless``.
    """
    timeless.update(n for n in req.ignore_time if n in inputs.names)
    time_q = req.temporal_range.dc_query(pad_days=0.6) if req.temporal_range else {}
    t0, t1 = time_q.get("time", (None, None))
    if req.stac is not None:
        yield from _stac_datasets(req, gs, on_doc, time_q.get("time"))
        return
    by_time = set(inputs.entries) - set(req.ignore_time)

    if inputs.names:
        from odc.geo import Geometry

        from .sources.index import index_datasets, index_products, open_datacube

        dc = open_datacube(req.env)
        index_products(dc, inputs.names)
        query: dict[str, Any] = dict(req.dataset_filter)
        if req.tiles is not None:
            t = req.tiles
            ax0, ay0, _, _ = tile_bounds(gs, t.x0, t.y0)
            _, _, ax1, ay1 = tile_bounds(gs, t.x1 - 1, t.y1 - 1)
            box = shapely.box(min(ax0, ax1), min(ay0, ay1), max(ax0, ax1), max(ay0, ay1))
            query["geopolygon"] = Geometry(box, crs=gs.crs)
        for name in inputs.names:
            q = dict(query, **(time_q if name in by_time else {}))
            for ds in index_datasets(dc, name, q):
                on_doc()
                yield ds
    if inputs.locations:
        from .sources.files import FileDatasets, expand_location

        files = FileDatasets()
        if req.profile:
            from .sources.profiles import load_profile
            from .sources.stac_api import ItemConverter

            files.stac_converter = ItemConverter(load_profile(req.profile))
        for loc in inputs.locations:
            for ds in files.stream(expand_location(loc), on_doc):
                if loc not in by_time:
                    timeless.add(ds.product.name)
                elif t0 is not None:
                    ct = ds.center_time.astimezone(timezone.utc).replace(tzinfo=None)
                    if not (t0 <= ct <= t1):
                        continue
                yield ds


def _tiles_bbox(gs, tiles: TileRange) -> tuple[float, float, float, float]:
    """The lon/lat bounding box of a tile range (densified, so curved edges are covered)."""
    from odc.geo import Geometry

    t = tiles
    ax0, ay0, _, _ = tile_bounds(gs, t.x0, t.y0)
    _, _, ax1, ay1 = tile_bounds(gs, t.x1 - 1, t.y1 - 1)
    box = shapely.box(min(ax0, ax1), min(ay0, ay1), max(ax0, ax1), max(ay0, ay1))
    x0, y0, x1, y1 = Geometry(box, crs=gs.crs).to_crs("EPSG:4326", resolution=1000).boundingbox
    return (x0, y0, x1, y1)


def _stac_datasets(req: SaveTasksRequest, gs, on_doc: Callable[[], None], time_range) -> Iterator[Dataset]:
    """Datasets of a STAC API search over the (padded) period and the tiles' box."""
    from .sources.profiles import load_profile
    from .sources.stac_api import StacApiSearch

    q = req.stac
    assert q is not None
    search = StacApiSearch(q.url, q.collections, load_profile(q.profile), stac_filter=q.stac_filter, threads=q.threads)
    bbox = _tiles_bbox(gs, req.tiles) if req.tiles is not None else None
    yield from search.datasets(time_range, bbox, on_doc)


def count_items(req: SaveTasksRequest) -> int | None:
    """How many items a ``--stac-api`` request's search matches (the padded period and the tiles'
    box), as the API counts them: one cheap request, to choose where to plan. None when the API
    does not count."""
    from .sources.profiles import load_profile
    from .sources.stac_api import StacApiSearch

    q = req.stac
    if q is None:
        raise ConfigError("counting items needs a --stac-api request")
    q.validate()
    _, gs = parse_grid(req.grid)
    time_q = req.temporal_range.dc_query(pad_days=0.6) if req.temporal_range else {}
    search = StacApiSearch(q.url, q.collections, load_profile(q.profile), stac_filter=q.stac_filter, threads=q.threads)
    return search.matched(time_q.get("time"), _tiles_bbox(gs, req.tiles) if req.tiles is not None else None)


def save_tasks_argv(req: SaveTasksRequest) -> list[str]:
    """The ``odc-stats save-tasks`` command line that plans ``req`` (a ``--stac-api`` request), for
    a Batch job running the same planner as Enumerate."""
    q = req.stac
    if q is None:
        raise ConfigError("a save-tasks command line is built for --stac-api requests only")
    argv = ["odc-stats", "save-tasks", "--stac-api", q.url, "--collections", ",".join(q.collections),
            "--profile", q.profile, "--grid", req.grid, "--frequency", req.frequency, "-z", str(req.complevel)]
    if q.stac_filter:
        argv += ["--stac-filter", json.dumps(q.stac_filter, sort_keys=True)]
    if req.temporal_range is not None:
        argv += ["--temporal-range", req.temporal_range.short]
    if req.tiles is not None:
        t = req.tiles
        argv += ["--tiles", f"{t.x0}:{t.x1},{t.y0}:{t.y1}"]
    if req.overwrite:
        argv.append("--overwrite")
    return argv + [req.output]


def save_tasks(req: SaveTasksRequest, progress: Progress | None = None, log: Callable[[str], None] = lambda m: None) -> SaveTasksResult:
    """Plan tasks and write the cache, CSV and GeoJSONs; nothing is written if no dataset is found."""
    req.validate()
    grid_name, gs = parse_grid(req.grid)
    inputs = parse_input_products(req.input_products) if req.stac is None else InputProducts(())
    tick = progress or (lambda *a: None)
    seen = [0]

    def on_doc() -> None:
        seen[0] += 1
        if seen[0] % 500 == 0:
            tick("datasets", seen[0], None)

    result = SaveTasksResult()
    timeless: set[str] = set()
    stream: Iterator[Dataset] = _query_datasets(req, inputs, gs, on_doc, timeless)
    stream = (ds for ds in stream if _matches(ds, req) or _count_out(result))
    if inputs.fuse:
        stream = fuse_datasets(stream, () if inputs.locations else inputs.names, optional=req.optional_products,
                               ignore_time=timeless)

    first = list(islice(stream, 100))
    if not first:
        log("found no datasets: nothing written")
        return result

    config: dict[str, Any] = {"grid": grid_name, "freq": req.frequency}
    if req.tiles is not None:
        config["tiles"] = [[req.tiles.x0, req.tiles.x1], [req.tiles.y0, req.tiles.y1]]
    if req.temporal_range is not None:
        config["temporal_range"] = req.temporal_range.short
    if req.stac is not None:
        config["stac_api"] = {"url": req.stac.url, "collections": list(req.stac.collections), "profile": req.stac.profile,
                              **({"filter": req.stac.stac_filter} if req.stac.stac_filter else {})}
    if req.source_profile:
        from .sources.profiles import load_profile

        access = load_profile(req.source_profile).s3  # how the workers read the inputs (statscore.sources.s3env)
        config["source_profile"] = req.source_profile
        config["s3"] = {"unsigned": access.unsigned, "requester_pays": access.requester_pays}
    config["query"] = {"product": str(inputs) if req.stac is None else req.stac.product, **({"time": [t.isoformat() for t in req.temporal_range.dc_query(0.6)["time"]]}
                                                  if req.temporal_range else {})}

    tmp = f"{req.output}.tmp-{os.getpid()}"
    writer = CacheWriter(tmp, grid_name, gs, config, first, complevel=req.complevel)
    written: list[str] = []
    try:
        ids: list[str] = []
        geoms: list[Any] = []
        crs: list[str | None] = []
        times: list[np.datetime64] = []
        batch: list[Dataset] = []

        def take(ds: Dataset) -> None:
            ext = ds.extent
            ids.append(dataset_id(ds))
            geoms.append(ext.geom if ext is not None else None)
            crs.append(str(ext.crs) if ext is not None and ext.crs is not None else None)
            times.append(np.datetime64(ds.center_time.astimezone(timezone.utc).replace(tzinfo=None), "us"))
            batch.append(ds)
            if len(batch) >= 5000:
                writer.save(batch)
                batch.clear()

        for ds in first:
            take(ds)
        for ds in stream:
            take(ds)
        writer.save(batch)
        tick("datasets", len(ids), len(ids))

        id_arr = np.array(ids)
        t_arr = np.array(times, dtype="datetime64[us]")
        plan = bin_datasets(gs, np.array(geoms, dtype=object), np.array(crs, dtype=object), t_arr,
                            req.frequency, temporal_range=req.temporal_range, tiles=req.tiles,
                            progress=lambda n: tick("binning", n, len(ids)))
        result.datasets = len(ids)
        result.no_footprint = [str(i) for i in id_arr[plan.no_footprint]]
        result.plan = plan
        if not plan.tasks:
            writer.discard()
            log(f"{len(ids)} datasets found but none falls in a task: nothing written")
            return result
        writer.add_tasks({t: [_uuid(i) for i in id_arr[m]] for t, m in zip(plan.tasks, plan.members)})
        writer.close()

        periods = tuple(sorted({t.period for t in plan.tasks}))
        paths = output_paths(req.output, periods)
        write_csv(paths["csv"] + ".tmp", plan, t_arr)
        written.append(paths["csv"] + ".tmp")
        for p, coll in period_geojson(gs, plan, t_arr).items():
            write_geojson(paths[f"geojson:{p}"] + ".tmp", coll)
            written.append(paths[f"geojson:{p}"] + ".tmp")
        # the cache last: its presence means the plan is complete
        for w in written:
            os.replace(w, w[: -len(".tmp")])
        os.replace(tmp, req.output)
        if os.path.exists(tmp + "-lock"):
            os.remove(tmp + "-lock")
        result.tasks = len(plan.tasks)
        result.tiles = len({(t.x, t.y) for t in plan.tasks})
        result.periods = periods
        result.files = [req.output] + [w[: -len(".tmp")] for w in written]
        return result
    except BaseException:
        try:
            writer.discard()
        except Exception:
            pass
        for w in written:
            if os.path.exists(w):
                os.remove(w)
        raise


def _count_out(result: SaveTasksResult) -> bool:
    result.filtered_out += 1
    return False


def _uuid(s: str):
    from uuid import UUID

    return UUID(s)



"""``odc-stats save-tasks``: plan tile x period tasks into a cache, CSV and GeoJSONs."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile

import click

from ..errors import ConfigError, OutputExistsError, SourceError
from ..outputs.store import is_not_found, is_s3_url, s3_client
from ..period import Period
from ..plan import SaveTasksRequest, StacApiQuery, save_tasks
from ..task import parse_tile_range
from . import main
from ._common import load_config, progress_display

CONFIG_KEYS = ("grid", "frequency", "complevel", "overwrite", "gqa", "input_products", "dataset_filter",
               "ignore_time", "optional_products", "stac_api", "collections", "profile", "stac_filter")


@main.command("save-tasks")
@click.option("--grid", help="Grid name (au-30, africa-10, au-extended-s2-20, ...) or 'crs;resolution;shape'.")
@click.option("--year", type=int, help="Shortcut for --temporal-range YEAR--P1Y.")
@click.option("--temporal-range", help="Period to plan, e.g. 2019--P1Y, 2020-05--P1M, 2019-12--P3M.")
@click.option("--frequency", help="annual (default), annual-fy, semiannual, seasonal, quartely, 3month-seasons, "
              "rolling-3months, rolling-3years, nov-mar, apr-oct, monthly, all.")
@click.option("--env", "-E", help="Datacube environment name.")
@click.option("-z", "complevel", type=int, default=None, help="zstd compression level of the cache (default 6).")
@click.option("--overwrite", is_flag=True, default=None, help="Replace existing output.")
@click.option("--tiles", help="Limit to tiles x0:x1,y0:y1 (half-open), e.g. 40:45,20:22.")
@click.option("--gqa", type=float, help="Keep datasets with gqa:iterative_mean_xy <= GQA.")
@click.option("--dataset-filter", help='Search terms every dataset must match, as JSON: {"collection_category": "T1"}.')
@click.option("--ignore-time", multiple=True, help="Products joined by region whatever their time (with fusion).")
@click.option("--optional-products", multiple=True, help="Products that may be missing from a fused group.")
@click.option("--config", "config_path", help="YAML file with any of the options above (CLI wins).")
@click.option("--input-products", default="", help="Products a-b (union) or a+b (fusion), or paths/globs/URLs of STAC items or eo3 documents.")
@click.option("--stac-api", help="Search this STAC API instead of --input-products, e.g. "
              "https://earth-search.aws.element84.com/v1.")
@click.option("--collections", help="STAC collections to search, comma-separated (with --stac-api).")
@click.option("--profile", help="Source profile of the STAC items (from --stac-api or --input-products): "
              "earth-search-s2-l2a, dea-ard, usgs-c2l2, planetary-computer-s2, or a profile YAML file.")
@click.option("--stac-filter", help='CQL2-JSON filter of the search, e.g. {"op": "<=", "args": '
              '[{"property": "eo:cloud_cover"}, 80]}.')
@click.argument("output", default="")  # a path, or s3://bucket/key.db (a Batch planner job)
def save_tasks_cmd(grid, year, temporal_range, frequency, env, complevel, overwrite, tiles, gqa, dataset_filter,
                   ignore_time, optional_products, config_path, input_products, stac_api, collections, profile,
                   stac_filter, output) -> None:
    """Find datasets and bin them into tasks: OUTPUT.db, OUTPUT.csv, OUTPUT-<period>.geojson."""
    cfg = load_config(config_path, CONFIG_KEYS, "save-tasks")
    cli = {"grid": grid, "frequency": frequency, "complevel": complevel, "overwrite": overwrite, "gqa": gqa,
           "input_products": input_products or None, "dataset_filter": dataset_filter,
           "ignore_time": ignore_time or None, "optional_products": optional_products or None,
           "stac_api": stac_api, "collections": collections, "profile": profile, "stac_filter": stac_filter}
    cfg.update({k: v for k, v in cli.items() if v is not None})

    if year is not None and temporal_range is not None:
        raise ConfigError("use one of --year or --temporal-range, not both")
    period = Period.from_year(year) if year is not None else Period.parse(temporal_range) if temporal_range else None

    dfilter = cfg.get("dataset_filter") or {}
    if isinstance(dfilter, str):
        try:
            dfilter = json.loads(dfilter)
        except json.JSONDecodeError as e:
            raise ConfigError(f"--dataset-filter {dfilter!r}: not valid JSON ({e.msg})") from None
    if not isinstance(dfilter, dict):
        raise ConfigError("--dataset-filter must be a JSON object of search terms")

    products = cfg.get("input_products") or ""
    stac = _stac_query(cfg)
    if not output:
        stem = (stac.product if stac else products).replace("/", "_").replace("*", "").replace(":", "").strip("_") or "tasks"
        output = f"{stem}_{period.short if period else 'all'}.db"
    req = SaveTasksRequest(
        output=output,
        grid=cfg.get("grid") or "",
        input_products=products,
        frequency=cfg.get("frequency") or "annual",
        temporal_range=period,
        tiles=parse_tile_range(tiles) if tiles else None,
        gqa=cfg.get("gqa"),
        dataset_filter=dfilter,
        ignore_time=tuple(cfg.get("ignore_time") or ()),
        optional_products=tuple(cfg.get("optional_products") or ()),
        complevel=int(cfg.get("complevel") or 6),
        overwrite=bool(cfg.get("overwrite")),
        env=env,
        stac=stac,
        profile=None if stac else (cfg.get("profile") or None),
    )
    with progress_display() as progress:
        if is_s3_url(output):
            result = _save_tasks_to_s3(req, progress)
        else:
            result = save_tasks(req, progress=progress, log=lambda m: click.echo(m, err=True))
    if result.no_footprint:
        click.echo(f"warning: {len(result.no_footprint)} datasets have no footprint and were not binned "
                   f"(first: {result.no_footprint[0]})", err=True)
    if result.filtered_out:
        click.echo(f"{result.filtered_out} datasets excluded by --gqa/--dataset-filter", err=True)
    if not result.tasks:
        return
    click.echo(f"{result.datasets:,d} datasets -> {result.tasks:,d} tasks on {result.tiles:,d} tiles, "
               f"periods {', '.join(result.periods)}")
    for f in result.files:
        click.echo(f"  wrote {f}")


def _stac_query(cfg: dict) -> StacApiQuery | None:
    """``--stac-api`` with its collections, profile and CQL2-JSON filter, or None."""
    url = cfg.get("stac_api")
    if not url:
        for k in ("collections", "stac_filter"):
            if cfg.get(k):
                raise ConfigError(f"--{k.replace('_', '-')} needs --stac-api")
        return None
    colls = cfg.get("collections") or ()
    if isinstance(colls, str):
        colls = [c.strip() for c in colls.split(",") if c.strip()]
    flt = cfg.get("stac_filter")
    if isinstance(flt, str):
        try:
            flt = json.loads(flt)
        except json.JSONDecodeError as e:
            raise ConfigError(f"--stac-filter {flt!r}: not valid JSON ({e.msg})") from None
    return StacApiQuery(url=str(url), collections=tuple(str(c) for c in colls), profile=str(cfg.get("profile") or ""),
                        stac_filter=flt)


def _save_tasks_to_s3(req: SaveTasksRequest, progress):
    """Plan into a temporary folder, then upload the cache, CSV and GeoJSONs beside ``req.output``
    (``s3://bucket/prefix/NAME.db``): how a Batch job hands its plan to Enumerate. The cache is
    uploaded last, so its presence means the plan is complete."""
    bucket, _, key = req.output.removeprefix("s3://").partition("/")
    if not key.endswith(".db"):
        raise ConfigError(f"output {req.output!r}: the task cache name must end in .db")
    s3 = s3_client()
    if not req.overwrite and _s3_exists(s3, bucket, key):
        raise OutputExistsError(f"{req.output} already exists; pass --overwrite to replace it")
    prefix = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    with tempfile.TemporaryDirectory(prefix="save-tasks-") as tmp:
        local = dataclasses.replace(req, output=os.path.join(tmp, os.path.basename(key)), overwrite=False)
        result = save_tasks(local, progress=progress, log=lambda m: click.echo(m, err=True))
        for f in result.files[1:] + result.files[:1]:
            try:
                s3.upload_file(f, bucket, prefix + os.path.basename(f))
            except Exception as e:  # noqa: BLE001 - botocore errors: name the object
                raise SourceError(f"s3://{bucket}/{prefix}{os.path.basename(f)}: cannot upload the plan "
                                  f"({e.__class__.__name__}: {e})") from None
        result.files = [f"s3://{bucket}/{prefix}{os.path.basename(f)}" for f in result.files]
    return result


def _s3_exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except Exception as e:  # noqa: BLE001 - a 404 is "absent"; anything else is named
        if is_not_found(e):
            return False
        raise SourceError(f"s3://{bucket}/{key}: cannot check whether the plan exists ({e.__class__.__name__}: {e})") from None

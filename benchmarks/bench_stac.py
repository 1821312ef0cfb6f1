"""Real data in: planning from a STAC API, and reading the inputs from S3.

Against a real STAC API on 127.0.0.1 (stac-fastapi-pgstac on the local PostgreSQL, loaded
with pypgstac; ``benchmarks.stac_server``) and a moto S3 server in its own process:

1. **Planning throughput**: ``save-tasks --stac-api`` over ``N_SMALL`` Earth-Search-style
   items, items/s, against ``save-tasks --input-products`` over the same items as files.
2. **S3-read task time**: one gm-s2 task read through GDAL's /vsis3/ (unsigned, from a
   moto bucket over HTTP) against the same task from local files.
3. **Enumerate a continent-year**: ``N_CONTINENT`` (300,000) items on ``au_extended_s2_20``
   (a year of Sentinel-2 over Australia is ~120,000-150,000 scenes; 300,000 is both
   satellites over the extended grid with margin), generated from synthetic footprints (no
   pixels) in passes of 100,000 over 2021 (:func:`continent_year_items`) and bulk-loaded with pypgstac; ``save-tasks --stac-api`` for the year in a fresh
   process: wall time and peak resident memory against Lambda's 15 minutes and 10,240 MB.

``python -m benchmarks --quick stac`` uses 2,000 and 20,000 items. ``STATSCORE_BENCH_STAC_ITEMS``
sets the continental count (below 300,000 the result is extrapolated to it, and says so);
``STATSCORE_BENCH_STAC_ONLY=continent`` leaves out the S3-read part. The continental run takes
the path the state machine would (``plan_in_batch_above_items``): the Lambda's, or the Batch
planner job's ``save-tasks`` to an ``s3://`` cache (a moto server).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

N_SMALL = 5_000
N_CONTINENT = 300_000
GRID = "au_extended_s2_20"
LAMBDA_SECONDS = 15 * 60
LAMBDA_MB = 10_240
COLLECTION = "sentinel-2-l2a"
PROFILE = "earth-search-s2-l2a"


def _admin_url() -> str:
    return os.environ.get("STATSCORE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


_MEASURED = """
import atexit, sys
out_path = sys.argv[1]
def _peak():  # entry() ends with os._exit after the exit handlers: this is one of them
    with open('/proc/self/status') as f:
        hwm = [l for l in f if l.startswith('VmHWM:')][0].split()[1]
    with open(out_path, 'w') as out:
        out.write(hwm)
atexit.register(_peak)
sys.argv = ['odc-stats'] + sys.argv[2:]
from statscore.cli import entry
entry()
"""


def _timed(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and peak resident memory (MB, the process's VmHWM) of ``odc-stats ARGS`` in a
    fresh process, as a Lambda or Batch job would run it."""
    with tempfile.NamedTemporaryFile("r", suffix=".hwm") as hwm:
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", _MEASURED, hwm.name, *args], capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"odc-stats {' '.join(args[:2])} failed: {r.stderr[-2000:]}")
        text = Path(hwm.name).read_text().strip()
    return seconds, (int(text) / 1024 if text else float("nan")), r


def _plan_api(url: str, year: int, out: Path) -> tuple[float, float, int]:
    s, mb, r = _timed(["save-tasks", "--stac-api", url, "--collections", COLLECTION,
                       "--profile", PROFILE, "--grid", GRID, "--year", str(year), "--frequency", "annual", str(out)])
    return s, mb, int(r.stdout.split(" datasets", 1)[0].replace(",", ""))


def throughput(server, n: int, tmp: Path) -> tuple[int, float]:
    """Items/s planning from the API and from files of the same items."""
    from statscore.sampledata.earthsearch import earth_search_footprint_items

    items = list(earth_search_footprint_items(n, collection=COLLECTION, start="2019-01-01"))
    folder = tmp / "items"
    folder.mkdir()
    for it in items:
        (folder / f"{it['id']}.json").write_text(json.dumps(it))
    from benchmarks.stac_server import collection_doc

    _load(server, [collection_doc(COLLECTION)], items)
    api_s, api_mb, got = _plan_api(server.url, 2019, tmp / "api.db")
    files_s, files_mb, _ = _timed(["save-tasks", "--profile", PROFILE, "--input-products",
                                   f"{folder}/*.json", "--grid", GRID, "--year", "2019", str(tmp / "files.db")])
    result = (got, api_mb)
    print(f"planning {got:,d} items: STAC API {api_s:.1f} s ({got / api_s:,.0f} items/s, peak {api_mb:,.0f} MB); "
          f"item files {files_s:.1f} s ({got / files_s:,.0f} items/s); API/files time ratio {api_s / files_s:.2f}")
    return result


def _load(server, collections, items) -> float:
    t0 = time.perf_counter()
    server.load(collections, items)
    return time.perf_counter() - t0


def s3_read(tmp: Path) -> None:
    """One gm-s2 task from local files and from a moto bucket over /vsis3/ (unsigned)."""
    import boto3

    from benchmarks.bench_enumerate import AWS_ENV, MotoServer
    from statscore.sampledata.earthsearch import earth_search_scenes

    data = tmp / "scenes"
    scenes = earth_search_scenes(data, region=(146.6, -36.6, 147.4, -36.0), start="2022-02-01", end="2022-03-15",
                                 size_px=256, cloudiness=0.2)
    moto = MotoServer.start()
    try:
        env = {**os.environ, **AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint}
        s3 = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                   region_name="us-east-1").client("s3", endpoint_url=moto.endpoint)
        s3.create_bucket(Bucket="bench-cogs")
        items = tmp / "s3items"
        items.mkdir()
        for sc in scenes:
            it = json.loads(json.dumps(sc.item))
            for a in it["assets"].values():
                key = str(Path(a["href"]).relative_to(data))
                s3.upload_file(a["href"], "bench-cogs", key, ExtraArgs={"ACL": "public-read"})
                a["href"] = f"https://bench-cogs.s3.us-west-2.amazonaws.com/{key}"
            (items / f"{it['id']}.json").write_text(json.dumps(it))
        plan = ["--grid", "au_extended_s2_20", "--temporal-range", "2022-02--P2M", "--frequency", "all",
                "--profile", PROFILE]
        _timed(["save-tasks", *plan, "--input-products", f"{data}/**/*_L2A.json", str(tmp / "local.db")])
        _timed(["save-tasks", *plan, "--input-products", f"{items}/*.json", str(tmp / "s3.db")])
        noauth = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        t_local, _, _ = _timed(["run", str(tmp / "local.db"), "0", "--plugin", "gm-s2", "--location",
                                (tmp / "out-local").as_uri()])
        t_s3, _, _ = _timed(["run", str(tmp / "s3.db"), "0", "--plugin", "gm-s2", "--location",
                             (tmp / "out-s3").as_uri()], env=noauth)
        print(f"gm-s2 task of {len(scenes)} scenes (256 px): local files {t_local:.1f} s, /vsis3/ from moto over HTTP "
              f"{t_s3:.1f} s (ratio {t_s3 / t_local:.2f}; whole process, imports included)")
    finally:
        moto.stop()


PER_PASS = 100_000
"""Items per pass of the generator: its Sentinel-2 over Australia gives ~122,000 a year, so a
continent-year of more items is several passes over 2021 (another satellite's letter, another seed)."""


def continent_year_items(n: int) -> Iterator[dict]:
    """``n`` Earth-Search-style items, all in 2021: ``PER_PASS`` per pass, pass ``k`` named as
    satellite ``S2A``, ``S2B``, ``S2C``... (ids differ; footprints jittered by the pass's seed)."""
    from statscore.sampledata.earthsearch import earth_search_footprint_items

    for k, first in enumerate(range(0, n, PER_PASS)):
        sat = "ABCDEFGHIJ"[k]
        for it in earth_search_footprint_items(min(PER_PASS, n - first), collection=COLLECTION, start="2021-01-01",
                                               seed=k):
            if k:
                it["id"] = f"S2{sat}_{it['id'].split('_', 1)[1]}"
                it["properties"]["platform"] = f"sentinel-2{sat.lower()}"
            yield it


def continent(server, n: int, tmp: Path, small: tuple[int, float] | None = None) -> None:
    """Enumerate a continent-year from the API as the state machine would: count the matched items
    (one request), choose the path with the deployment's default ``plan_in_batch_above_items``, and
    run the planner on that path: in the Lambda (a local cache) or as the Batch job (``save-tasks``
    to an ``s3://`` cache, here a moto server over HTTP). Time and peak memory are set against
    Lambda's limits; below ``N_CONTINENT`` they are extrapolated to it (linear in the items, the
    memory from this run and the throughput run's ``small`` = (items, peak MB))."""
    from benchmarks.stac_server import collection_doc
    from infra.settings import Settings
    from statscore.orchestration import plan_in_batch
    from statscore.period import Period
    from statscore.plan import SaveTasksRequest, StacApiQuery, count_items, save_tasks_argv

    t0 = time.perf_counter()
    load_s = _load(server, [collection_doc(COLLECTION)], continent_year_items(n))
    print(f"generated and bulk-loaded {n:,d} items in {load_s:.0f} s ({time.perf_counter() - t0:.0f} s in all)")
    above = Settings().plan_in_batch_above_items
    req = SaveTasksRequest(output="s3://bench-plans/caches/run/continent.db", grid=GRID, input_products="",
                           temporal_range=Period.from_year(2021),
                           stac=StacApiQuery(server.url, (COLLECTION,), PROFILE))
    t1 = time.perf_counter()
    matched = count_items(req)
    count_s = time.perf_counter() - t1
    batch = plan_in_batch(matched, above)
    path = "Batch planner job" if batch else "Enumerate Lambda"
    print(f"Enumerate counts {matched:,d} matched items in {count_s:.2f} s; plan_in_batch_above_items = {above:,d}: "
          f"the state machine plans in the {path}")
    if batch:  # the Batch job's command, as Enumerate returns it, writing to S3
        from benchmarks.bench_enumerate import AWS_ENV, MotoServer

        moto = MotoServer.start()
        try:
            env = {**os.environ, **AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint}
            import boto3

            boto3.session.Session(**{"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
                                     "region_name": "us-east-1"}).client(
                "s3", endpoint_url=moto.endpoint).create_bucket(Bucket="bench-plans")
            seconds, mb, r = _timed(save_tasks_argv(req)[1:], env=env)
        finally:
            moto.stop()
    else:
        seconds, mb, r = _timed(save_tasks_argv(dataclasses.replace(req, output=str(tmp / "continent.db")))[1:])
    got = int(r.stdout.split(" datasets", 1)[0].replace(",", ""))
    fits = seconds < LAMBDA_SECONDS and mb < LAMBDA_MB
    print(f"plan a continent-year from the STAC API ({path}): {got:,d} items in {seconds:.0f} s "
          f"({got / seconds:,.0f} items/s), peak RSS {mb:,.0f} MB; Lambda allows {LAMBDA_SECONDS} s and {LAMBDA_MB:,d} MB: "
          f"{'fits' if fits else 'does NOT fit'} ({seconds / LAMBDA_SECONDS:.0%} of the time, {mb / LAMBDA_MB:.0%} of the memory)")
    if got < N_CONTINENT:
        est_s = seconds * N_CONTINENT / got
        est_mb = mb
        if small is not None and got > small[0]:
            est_mb = mb + (mb - small[1]) / (got - small[0]) * (N_CONTINENT - got)
        print(f"extrapolated to {N_CONTINENT:,d} items (linear; not measured): ~{est_s:.0f} s "
              f"({est_s / LAMBDA_SECONDS:.0%} of Lambda's 15 minutes), ~{est_mb:,.0f} MB; the state machine takes the "
              f"{'Batch planner job' if plan_in_batch(N_CONTINENT, above) else 'Enumerate Lambda'} at that size")


def main(quick: bool = False) -> None:
    from benchmarks.stac_server import StacServer

    n_small = 2_000 if quick else N_SMALL
    n_big = int(os.environ.get("STATSCORE_BENCH_STAC_ITEMS") or (20_000 if quick else N_CONTINENT))
    only_continent = os.environ.get("STATSCORE_BENCH_STAC_ONLY") == "continent"
    with tempfile.TemporaryDirectory(prefix="bench-stac-") as d:
        tmp = Path(d)
        with StacServer(_admin_url()) as server:
            (tmp / "small").mkdir()
            small = throughput(server, n_small, tmp / "small")
        if not only_continent:
            s3_tmp = tmp / "s3"
            s3_tmp.mkdir()
            s3_read(s3_tmp)
        with StacServer(_admin_url()) as server:
            (tmp / "big").mkdir()
            continent(server, n_big, tmp / "big", small)

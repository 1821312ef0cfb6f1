"""``make demo``: the main job on an embedded default, no database and no cloud account.

Generates three months of synthetic Sentinel-2 L2A scenes (COGs + eo3 + STAC) over
south-east Australia, plans tasks on the ``au_extended_s2_80`` grid straight from the STAC
items (no database), runs ``gm-s2`` and ``pq`` for a block of tiles, writes COGs + STAC +
eo3 under ``demo-output/``, renders a PNG preview mosaic of the geomedian and the HTML
report of the geomedian run (``odc-stats report``: map, thumbnails, failures, usage), and
prints where everything is.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from .config import RunConfig
from .period import Period
from .plan import SaveTasksRequest, save_tasks
from .run import TaskReader, output_product, run_tasks
from .task import TileIdx


def _busiest_block(tasks: list[TileIdx], members, n: int) -> list[TileIdx]:
    """The n x n block of tiles with the most input datasets."""
    count = {(t.x, t.y): len(m) for t, m in zip(tasks, members)}
    best = max(count, key=lambda xy: sum(count.get((xy[0] + i, xy[1] + j), 0) for i in range(n) for j in range(n)))
    return [t for t in tasks if best[0] <= t.x < best[0] + n and best[1] <= t.y < best[1] + n]


def _mosaic_png(folders: dict[TileIdx, str], bands: tuple[str, str, str], out_png: Path, clamp=(100.0, 1800.0)) -> None:
    """RGB mosaic of the tiles' COGs, read at reduced resolution, written as a PNG."""
    import rasterio

    xs = sorted({t.x for t in folders})
    ys = sorted({t.y for t in folders})
    size = 200
    rgb = np.zeros((3, size * len(ys), size * len(xs)), dtype=np.uint8)
    for t, prefix in folders.items():
        r0 = (ys[-1] - t.y) * size  # north up: larger y index is further north
        c0 = (t.x - xs[0]) * size
        for i, b in enumerate(bands):
            with rasterio.open(f"{prefix}_{b}.tif") as src:
                a = src.read(1, out_shape=(size, size)).astype(np.float32)
            scaled = np.clip((a - clamp[0]) / (clamp[1] - clamp[0]) * 255.0, 0, 255)
            rgb[i, r0:r0 + size, c0:c0 + size] = np.where(a == 0, 0, np.rint(scaled)).astype(np.uint8)
    with rasterio.open(out_png, "w", driver="PNG", width=rgb.shape[2], height=rgb.shape[1], count=3,
                       dtype="uint8") as dst:
        dst.write(rgb)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m statscore.demo")
    ap.add_argument("--out", default="demo-output", help="output folder (replaced)")
    ap.add_argument("--temporal-range", default="2020-01--P3M")
    ap.add_argument("--size-px", type=int, default=64, help="pixels across each generated scene")
    ap.add_argument("--tiles", type=int, default=2, help="run an N x N block of tiles")
    args = ap.parse_args(argv)
    console = Console()
    out = Path(args.out).absolute()
    if out.exists():
        shutil.rmtree(out)
    period = Period.parse(args.temporal_range)

    from .sampledata import generate_scenes, write_products

    t0 = time.perf_counter()
    inputs = out / "inputs"
    write_products(inputs / "products")
    recs = generate_scenes(inputs / "data", product="s2_l2a", start=period.start.date(), end=period.end.date(),
                           size_px=args.size_px)
    console.print(f"1. generated {len(recs)} Sentinel-2 L2A scenes (COG + eo3 + STAC) in "
                  f"{time.perf_counter() - t0:.1f} s -> {inputs / 'data'}")

    t0 = time.perf_counter()
    db = out / "tasks" / f"s2_l2a_{period.short}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    req = SaveTasksRequest(output=str(db), grid="au_extended_s2_80", frequency="all", temporal_range=period,
                           input_products=f"{inputs / 'data'}/**/*.stac-item.json", overwrite=True)
    planned = save_tasks(req, log=console.print)
    assert planned.plan is not None
    console.print(f"2. save-tasks (no database): {planned.datasets} datasets -> {planned.tasks} tasks "
                  f"in {time.perf_counter() - t0:.1f} s -> {db}")

    chosen = _busiest_block(planned.plan.tasks, planned.plan.members, args.tiles)
    reader = TaskReader(str(db))
    table = Table(title="3. odc-stats run")
    for col in ("plugin", "tiles", "bands", "time", "where"):
        table.add_column(col)
    mosaic: dict[TileIdx, str] = {}
    from .plugins import resolve_plugin

    for name in ("gm-s2", "pq"):
        location = (out / "products" / name).as_uri()  # one root (and STAC collection) per product
        cfg = RunConfig(plugin=name, output_location=location, threads=-1)
        plugin = resolve_plugin(name, {})
        t0 = time.perf_counter()
        outcomes = run_tasks(reader, chosen, plugin, cfg, location=location, plugin_name=name)
        failed = [o for o in outcomes if o.status != "done"]
        for o in failed:
            console.print(f"[red]{name} {o.tile}: {o.status} {o.reason}")
        product = output_product(cfg, plugin, location)
        table.add_row(name, str(sum(o.status == "done" for o in outcomes)), ", ".join(plugin.measurements),
                      f"{time.perf_counter() - t0:.1f} s", product.location.replace("file://", ""))
        if name == "gm-s2":
            for t in chosen:
                task = reader.load_task(t, product)
                mosaic[t] = f"{task.folder.replace('file://', '')}/{task.prefix}"
    console.print(table)

    png = out / "gm-s2-preview.png"
    _mosaic_png(mosaic, ("B04", "B03", "B02"), png)
    console.print(f"4. geomedian preview mosaic: {png}")

    from .ops.report import STATES, location_report, write_report

    gm_location = (out / "products" / "gm-s2").as_uri()
    gm_cfg = RunConfig(plugin="gm-s2", output_location=gm_location)
    report = location_report(str(db), gm_location, gm_cfg, resolve_plugin("gm-s2", {}))
    html_path = out / "report.html"
    write_report(report, str(html_path))
    counts = ", ".join(f"{n} {STATES[k][0]}" for k, n in report.counts.items() if n)
    console.print(f"5. odc-stats report (map of the tiles by state, thumbnails on click): {html_path} ({counts})")
    console.print(f"outputs are under {out}: inputs/, tasks/ (cache, CSV, GeoJSON), products/ (COG + STAC + eo3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

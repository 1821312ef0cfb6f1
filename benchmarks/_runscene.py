"""Shared set-up for the end-to-end comparisons with odc-stats 1.9.14 (benchmark and test).

Generates native-resolution Sentinel-2 scenes of one MGRS tile (one CRS), plans one task
on a custom ``epsg:<utm>;10;<size>`` grid fully inside the scenes, and runs a plugin with
ours (``odc-stats`` = statscore) or the reference (``python -m odc.stats`` with the reference
folder on PYTHONPATH, see ``_reference.py``), measuring wall
time and the peak resident memory of the process tree.
"""

from __future__ import annotations

import glob
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._reference import reference_env

BIN = Path(sys.executable).parent


def make_task(root: Path, tile_px: int, *, dates: int = 24, start: str = "2020-01-01",
              grid_crs: str | None = None, grid_px: int | None = None) -> Path:
    """Native 10 m S2 scenes of one MGRS tile (56HLH) with ``dates`` acquisitions, and a
    one-task cache on ``epsg:32756;10;<tile_px>``; returns the cache path.

    With ``grid_crs`` (e.g. ``"epsg:3577"``, as DEA tiles Sentinel-2) the task is instead a
    tile of ``<grid_crs>;10;<grid_px>`` over the same scenes, so every group is warped onto
    it: the one of the (up to 3 x 3) tiles around the scenes' centre that lies inside their
    footprint, less half the margin (a ``grid_px`` too large for the turned square raises
    ValueError; about 0.6 ``tile_px`` fits).

    The scenes are windows centred on the grid tile, a margin wider than it (sample data
    are written at about 3 Mpx/s here, so a 2048 px tile of 40 dates takes minutes). Only
    one of the two relative orbits passing over 56HLH sees the tile (the other's windows
    land 30 km away), so twice ``dates`` acquisitions are generated. Scenes already
    written under ``root`` are reused (same arguments, same files).
    """
    from pyproj import Transformer

    from statscore.period import Period
    from statscore.plan import SaveTasksRequest, save_tasks
    from statscore.sampledata import generate_scenes, write_products
    from statscore.task import TileRange

    root = root.resolve()  # --input-products tells locations from names by a leading '/'
    size_m = 10 * tile_px
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32756", always_xy=True).transform(151.45, -33.95)
    ix, iy = int(np.floor(x / size_m)), int(np.floor(y / size_m))
    lon, lat = Transformer.from_crs("EPSG:32756", "EPSG:4326", always_xy=True).transform(
        (ix + 0.5) * size_m, (iy + 0.5) * size_m)
    margin = max(32, tile_px // 16)  # > the 60 m window snapping plus the masking pad
    data = root / f"data-{tile_px}-{dates}"
    write_products(root / "products")
    if not (data / "done").exists():
        generate_scenes(data, product="s2_l2a", region=(lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001),
                        start=start, end=f"{int(start[:4]) + 1}-12-31", size_px=tile_px + 2 * margin, native=True,
                        limit=2 * dates)
        (data / "done").write_text("")
    docs = sorted(data.rglob("*.odc-metadata.yaml"))
    first = yaml_load(docs[0])["properties"]["datetime"][:7]
    last = yaml_load(docs[-1])["properties"]["datetime"][:7] if docs else first
    months = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7]) + 1
    grid, db = f"epsg:32756;10;{tile_px}", root / f"task{tile_px}-{dates}.db"
    if grid_crs is not None:
        if grid_px is None:
            raise ValueError("grid_crs needs grid_px")
        half = (tile_px / 2 + margin / 2) * 10
        ix, iy = _tile_inside(((ix + 0.5) * size_m, (iy + 0.5) * size_m), half, grid_crs, 10 * grid_px)
        grid = f"{grid_crs};10;{grid_px}"
        db = root / f"task{tile_px}-{dates}-{grid_crs.replace(':', '')}-{grid_px}.db"
    save_tasks(SaveTasksRequest(
        output=str(db), grid=grid, frequency="all",
        temporal_range=Period.parse(f"{first}--P{months}M"), tiles=TileRange(ix, ix + 1, iy, iy + 1), overwrite=True,
        input_products=f"{root}/products/s2_l2a.odc-product.yaml-{data}/s2_l2a/**/*.odc-metadata.yaml",
    ))
    return db


def _tile_inside(centre: tuple[float, float], half: float, crs: str, size_m: float) -> tuple[int, int]:
    """Index of a ``size_m`` tile of ``crs`` (origin 0) inside the EPSG:32756 square of half
    side ``half`` around ``centre``: the one nearest the centre among the 3 x 3 around it."""
    import shapely
    from pyproj import Transformer

    to = Transformer.from_crs("EPSG:32756", crs, always_xy=True)
    (cx, cy) = centre
    square = shapely.segmentize(shapely.box(cx - half, cy - half, cx + half, cy + half), half / 16)
    area = shapely.transform(square, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))
    x, y = to.transform(cx, cy)
    jx, jy = int(np.floor(x / size_m)), int(np.floor(y / size_m))
    near = sorted(((jx + dx, jy + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)),
                  key=lambda t: ((t[0] + 0.5) * size_m - x) ** 2 + ((t[1] + 0.5) * size_m - y) ** 2)
    for tx, ty in near:
        if area.contains(shapely.box(tx * size_m, ty * size_m, (tx + 1) * size_m, (ty + 1) * size_m)):
            return tx, ty
    raise ValueError(f"no {crs} tile of {size_m / 10:.0f} px lies inside the scenes; take a smaller grid_px")


def yaml_load(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def make_ls_task(root: Path, tile_px: int, inputs: str = "ga_ls8c_ard_3", *, path_row: str = "090084",
                 period: str = "2020-01--P3M") -> Path:
    """Landsat scenes of one path/row (native 30 m, a ``tile_px`` window) for each product of
    ``inputs`` (``a`` or fused ``a+b``), and a one-task cache on ``epsg:<utm>;15;<tile_px>``.

    Landsat pixel edges sit at 15 m offsets (as USGS and DEA grid them), so no tile grid
    with origin 0 and 30 m pixels lines up with them; a 15 m tile grid does: each tile
    pixel lies inside exactly one native pixel, and with nearest resampling the tile is
    an exact 2 x 2 copy of the native pixels, which tests can compute from the COGs. The
    tile (half the window across) holds the window's centre. Scenes already written under
    ``root`` are reused (same arguments, same files).
    """
    import yaml

    from statscore.period import Period
    from statscore.plan import SaveTasksRequest, save_tasks
    from statscore.sampledata import generate_scenes, write_products
    from statscore.task import TileRange

    write_products(root / "products")
    products = inputs.split("+")
    folder = f"{path_row[:3]}/{path_row[3:]}"
    span = Period.parse(period)
    for product in products:
        if not (root / "data" / product / folder).exists():
            generate_scenes(root / "data", product=product, region="au-se-small", start=span.start.date(),
                            end=span.end.date(), size_px=tile_px, native=True)
    first = sorted((root / "data" / products[0] / folder).rglob("*.odc-metadata.yaml"))[0]
    doc = yaml.safe_load(first.read_text())
    (ny, nx), t = doc["grids"]["default"]["shape"], doc["grids"]["default"]["transform"]
    cx, cy = t[2] + t[0] * nx / 2, t[5] + t[4] * ny / 2
    size_m = 15 * tile_px
    ix, iy = int(np.floor(cx / size_m)), int(np.floor(cy / size_m))
    db = root / f"{inputs.replace('+', '_')}_{tile_px}.db"
    sep = "+" if len(products) > 1 else "-"  # one separator throughout: '+' fuses every entry
    sources = sep.join(f"{root}/products/{p}.odc-product.yaml{sep}{root}/data/{p}/{folder}/**/*.odc-metadata.yaml"
                       for p in products)
    save_tasks(SaveTasksRequest(
        output=str(db), grid=f"{doc['crs'].lower()};15;{tile_px}", frequency="all", temporal_range=span,
        tiles=TileRange(ix, ix + 1, iy, iy + 1), overwrite=True, input_products=sources,
    ))
    return db


def run_measured(cmd: list[str], timeout: float = 3600,
                 env: dict[str, str] | None = None) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS bytes (sum over the process tree, sampled every 50 ms);
    ``env``: variables added to this process's environment."""
    import os
    import tempfile

    import psutil

    # output goes to files, not pipes: odc-stats logs hundreds of GDAL lines, and a full pipe
    # that nobody reads until the end blocks its logging lock (a deadlock, seen here)
    out_f = tempfile.TemporaryFile("w+")
    err_f = tempfile.TemporaryFile("w+")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, text=True,
                            env={**os.environ, **env} if env else None)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [ps, *ps.children(recursive=True)])
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
        if time.perf_counter() - t0 > timeout:
            proc.kill()
    proc.wait()
    wall = time.perf_counter() - t0
    out_f.seek(0)
    err_f.seek(0)
    out, err = out_f.read(), err_f.read()
    out_f.close()
    err_f.close()
    return wall, peak, subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def ours_cmd(db: Path, plugin: str, location: Path, threads: int = 2, plugin_config: dict | None = None) -> list[str]:
    extra = ["--plugin-config", json.dumps(plugin_config)] if plugin_config else []
    return [str(BIN / "odc-stats"), "run", str(db), "--plugin", plugin, "--location", location.as_uri(),
            "--threads", str(threads), *extra]


def ref_cmd(db: Path, plugin: str, location: Path, threads: int = 2, work_chunk: int = 512,
            plugin_config: dict | None = None) -> list[str]:
    cfg = {"work_chunks": [work_chunk, work_chunk]} if plugin.startswith("gm") else {}
    cfg.update(plugin_config or {})
    # `env` execs the interpreter (same process, so run_measured's memory is the reference's own)
    return ["env", f"PYTHONPATH={reference_env()['PYTHONPATH']}", sys.executable, "-m", "odc.stats",
            "run", str(db), "--plugin", plugin, "--location", location.as_uri(),
            "--threads", str(threads), "--plugin-config", json.dumps(cfg)]


def compare(ours: Path, ref: Path) -> dict:
    """Same file names? Per band: max and 99th percentile abs difference, NaN agreement; dataset ids.

    Files are matched by name: folders differ only where odc-stats splits an unbalanced
    region code in its middle (``x87y/2437``; ours ``x87/y2437``).
    """
    import rasterio

    a = {Path(p).name: Path(p) for p in glob.glob(f"{ours}/**/*.tif", recursive=True)}
    b = {Path(p).name: Path(p) for p in glob.glob(f"{ref}/**/*.tif", recursive=True)}
    out: dict = {"same_names": sorted(a) == sorted(b) and bool(a), "bands": {}}
    for name in sorted(set(a) & set(b)):
        with rasterio.open(a[name]) as x, rasterio.open(b[name]) as y:
            u, v = x.read(1).astype("f8"), y.read(1).astype("f8")
        band = re.sub(r"^.*--P[0-9A-Z]+_", "", name)[: -len(".tif")]
        both = ~np.isnan(u) & ~np.isnan(v)
        diff = np.abs(u - v)[both]
        out["bands"][band] = {"max_abs": float(diff.max()) if both.any() else 0.0,
                              "p99_abs": float(np.percentile(diff, 99)) if both.any() else 0.0,
                              "nan_mismatch": int((np.isnan(u) != np.isnan(v)).sum())}
    ia = [json.loads(Path(p).read_text())["id"] for p in glob.glob(f"{ours}/**/*.stac-item.json", recursive=True)]
    ib = [json.loads(Path(p).read_text())["id"] for p in glob.glob(f"{ref}/**/*.stac-item.json", recursive=True)]
    out["same_id"] = bool(ia) and ia == ib
    return out

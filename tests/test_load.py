"""statscore.load: a tile reduced strip by strip equals the tile reduced whole, and strips are
cut on the source COGs' tile rows (so each compressed tile is decompressed once)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox

from statscore import load
from statscore.config import RunConfig
from statscore.model import Task
from statscore.period import Period
from statscore.plugins import resolve_plugin
from statscore.run import output_product
from statscore.sampledata import generate_scenes, write_products
from statscore.sources.files import FileDatasets, read_document
from statscore.task import TileIdx

SHIFT = 7  # tile rows below the scenes' top edge: source tile boundaries fall mid-strip


def _tile_task(root: Path, product: str, plugin_name: str, plugin_config: dict | None = None, **scenes) -> Task:
    """A task on the grid of the first generated scene less its top ``SHIFT`` rows, over the
    scenes on that same grid."""
    write_products(root / "products")
    generate_scenes(root / "data", product=product, region="au-se-small", size_px=128, native=True, **scenes)
    fd = FileDatasets()
    prod = root / "products" / f"{product}.odc-product.yaml"
    fd.add_product(read_document(str(prod)), str(prod))
    dss = [fd.dataset(read_document(str(p)), p.as_uri()) for p in sorted((root / "data").rglob("*.odc-metadata.yaml"))]
    dss = [d for d in dss if d.crs == dss[0].crs and d.metadata_doc["grids"]["default"]["transform"]
           == dss[0].metadata_doc["grids"]["default"]["transform"]]
    assert len(dss) >= 3
    grid = dss[0].metadata_doc["grids"]["default"]
    h, w = grid["shape"]
    gbox = GeoBox((h - SHIFT, w), Affine(*grid["transform"][:6]) * Affine.translation(0, SHIFT), dss[0].crs)
    plugin = resolve_plugin(plugin_name, plugin_config or {})
    cfg = RunConfig(plugin=plugin_name, plugin_config=plugin_config or {})
    return Task(product=output_product(cfg, plugin, "file:///unused"),
                tile_index=TileIdx("2020-01--P1M", 0, 0), geobox=gbox,
                time_range=Period.parse("2020-01--P1M"), datasets=tuple(dss))


@pytest.fixture(scope="module")
def tile_task(tmp_path_factory) -> Task:
    return _tile_task(tmp_path_factory.mktemp("load"), "s2_l2a", "gm-s2", start="2020-01-01", end="2020-01-31",
                      limit=12)


def _row_bytes(task: Task, plugin) -> int:
    groups = load._groups(task, plugin)
    days = len({g.day for g in groups})
    return days * task.geobox.shape.x * sum(np.dtype(m.dtype).itemsize for m in groups[0].measurements)


def test_source_tile_rows_follow_the_cog_tiling(tile_task):
    plugin = resolve_plugin("gm-s2", {})
    g = load._groups(tile_task, plugin)[0]
    period, phase = load._source_tile_rows(g, tile_task.geobox)
    import rasterio

    with rasterio.open(load._band_info(g.datasets[0], g.measurements[0].name).uri) as src:
        block_rows = src.block_shapes[0][0]
    assert period == block_rows  # same pixel size: one tile row per source row
    assert phase == (-SHIFT) % block_rows  # the source's tile row boundary, in tile rows


def test_strips_are_cut_on_source_tile_rows_within_their_height(tile_task):
    plugin = resolve_plugin("gm-s2", {})
    groups = load._groups(tile_task, plugin)
    period, phase = load._source_tile_rows(groups[0], tile_task.geobox)
    strips = load._strips(0, tile_task.geobox.shape.y, period + 5, (period, phase))
    assert strips[0][0] == 0 and strips[-1][1] == tile_task.geobox.shape.y
    assert all(a[1] == b[0] for a, b in zip(strips, strips[1:]))  # contiguous
    assert all(b - a <= period + 5 for a, b in strips)
    assert len(strips) > 1 and all((b - phase) % period == 0 for _, b in strips[:-1])


@pytest.mark.parametrize("name", ["gm-s2", "pq"])
def test_reduced_by_strips_equals_reduced_whole(tile_task, name):
    plugin = resolve_plugin(name, {})
    whole = load.reduce_task(tile_task, plugin, block_bytes=2**40)
    # a budget below one source tile row: strips ignore the tiling, as thin as 16 rows
    thin = load.reduce_task(tile_task, plugin, block_bytes=_row_bytes(tile_task, plugin) * 20, threads=2)
    assert set(whole.data_vars) == set(thin.data_vars)
    for v in whole.data_vars:
        xr.testing.assert_equal(whole[v], thin[v])
        assert str(whole[v].attrs) == str(thin[v].attrs)  # str: nodata may be NaN


def _spy_strips(monkeypatch) -> list[tuple[int, int]]:
    """(rows, stack bytes) of every block ``reduce_task`` loads from now on."""
    seen: list[tuple[int, int]] = []
    real = load._load_block

    def spy(groups, plugin, dst, *args, **kwargs):
        xx = real(groups, plugin, dst, *args, **kwargs)
        seen.append((dst.shape.y, load._stack_bytes(xx)))
        return xx

    monkeypatch.setattr(load, "_load_block", spy)
    return seen


def test_strips_are_sized_by_the_stack_the_plugin_builds(tile_task, monkeypatch):
    plugin = resolve_plugin("gm-s2", {})
    whole = load.reduce_task(tile_task, plugin, block_bytes=2**40)
    ny = tile_task.geobox.shape.y
    row = load._stack_bytes(load.load_task_data(tile_task, plugin)) // ny
    days = len({g.day for g in load._groups(tile_task, plugin)})
    assert row == _row_bytes(tile_task, plugin) - days * tile_task.geobox.shape.x  # SCL (uint8) masks, is not kept
    seen = _spy_strips(monkeypatch)
    thin = load.reduce_task(tile_task, plugin, block_bytes=row * 24)
    # the first strip ends by the first source tile row boundary; the others hold 24 rows of stack
    period, phase = load._source_tile_rows(load._groups(tile_task, plugin)[0], tile_task.geobox)
    rows = [r for r, _ in seen]
    assert 0 < rows[0] <= phase and sum(rows) == ny and len(rows) >= 3
    assert all(r == 24 for r in rows[1:-1]) and 0 < rows[-1] <= 24
    assert all(nbytes == r * row for r, nbytes in seen)
    for v in whole.data_vars:
        xr.testing.assert_identical(whole[v], thin[v])


@pytest.fixture(scope="module")
def landsat_task(tmp_path_factory) -> Task:
    return _tile_task(tmp_path_factory.mktemp("load-ls"), "ls8_c2l2_sr", "gm-ls-bitmask",
                      start="2020-01-01", end="2020-03-31")


def test_reduce_time_morphology_sees_across_strips(landsat_task, monkeypatch):
    # gm-ls-bitmask grows the cloud mask on the tile, in reduce: a strip is loaded with the
    # filters' reach above and below, so pixels near its edges see their neighbours
    plugin = resolve_plugin("gm-ls-bitmask", {"filters": [["closing", 2], ["dilation", 3]]})
    assert plugin.reduce_margin == 2 * 2 + 3
    whole = load.reduce_task(landsat_task, plugin, block_bytes=2**40)
    row = load._stack_bytes(load.load_task_data(landsat_task, plugin)) / landsat_task.geobox.shape.y
    seen = _spy_strips(monkeypatch)
    thin = load.reduce_task(landsat_task, plugin, block_bytes=int(row * (16 + 2 * plugin.reduce_margin)))
    assert len(seen) >= 3 and all(r <= 16 + 2 * plugin.reduce_margin for r, _ in seen[1:])
    for v in whole.data_vars:
        xr.testing.assert_identical(whole[v], thin[v])


def test_day_sum_plugins_add_days_up_without_a_stack(tile_task, monkeypatch):
    # pq's counts are sums over days: each day is added up as it arrives, no (day, y, x) stack
    plugin = resolve_plugin("pq", {})
    stacked = plugin.reduce(load.load_task_data(tile_task, plugin))

    def no_stack(*args, **kwargs):
        raise AssertionError("a day-sum plugin built a stack")

    held: list[tuple[int, int]] = []
    real = load._sum_block

    def spy(groups, plugin, dst, threads=1):
        sums = real(groups, plugin, dst, threads)
        held.append((dst.shape.y, sums.held_bytes(threads)))
        return sums

    monkeypatch.setattr(load, "_load_block", no_stack)
    monkeypatch.setattr(load, "_sum_block", spy)
    streamed = load.reduce_task(tile_task, plugin, threads=2)
    for v in stacked.data_vars:
        xr.testing.assert_identical(stacked[v], streamed[v])
    # what it held: the four uint16 sums and the days in flight (at most 2 * 2 threads + 1
    # of 4 booleans), whatever the number of days: the stack would hold every day
    ny, nx = tile_task.geobox.shape.yx
    days = len({g.day for g in load._groups(tile_task, plugin)})
    rows, nbytes = held[0]
    assert nbytes == rows * nx * (4 * 2 + min(days, 5) * 4)
    # a budget of a few rows of what it holds still gives the same counts, in several strips
    held.clear()
    thin = load.reduce_task(tile_task, plugin, block_bytes=nbytes // rows * 20, threads=2)
    assert len(held) >= 3 and sum(r for r, _ in held) == ny
    for v in stacked.data_vars:
        xr.testing.assert_identical(stacked[v], thin[v])


def test_a_day_sum_plugin_that_overrides_reduce_gets_its_stack(tile_task):
    from statscore.plugins.pq import StatsPQ

    class Halved(StatsPQ):
        def reduce(self, xx):
            out = super().reduce(xx)
            return out.assign(total=out["total"] // 2)

    plugin = Halved()
    assert not load._streams(plugin) and load._streams(StatsPQ())
    full = load.reduce_task(tile_task, StatsPQ())
    got = load.reduce_task(tile_task, plugin)
    np.testing.assert_array_equal(got["total"].values, full["total"].values // 2)
    assert full["total"].values.max() > 1


def test_streamed_day_sums_name_a_missing_band(tile_task):
    # the stack path checks sum_inputs in reduce; the streaming path must say as clearly
    from statscore.errors import InputError
    from statscore.plugins.pq import StatsPQ

    class Forgetful(StatsPQ):
        def native_transform(self, xx):
            return super().native_transform(xx).drop_vars("erased")

        def fuser(self, xx):
            return xx

    with pytest.raises(InputError, match="'erased' missing"):
        load.reduce_task(tile_task, Forgetful())


def test_a_tile_of_small_inputs_is_loaded_in_one_strip(tile_task, monkeypatch):
    """No measuring strip when the tile's inputs take a quarter of the budget or less: one
    load of every day instead of two; above that, a first strip measures the stack."""
    plugin = resolve_plugin("gm-s2", {})
    inputs = _row_bytes(tile_task, plugin) * tile_task.geobox.shape.y
    seen = _spy_strips(monkeypatch)
    load.reduce_task(tile_task, plugin, block_bytes=load.ONE_STRIP_SHARE * inputs)
    assert [r for r, _ in seen] == [tile_task.geobox.shape.y]
    seen.clear()
    load.reduce_task(tile_task, plugin, block_bytes=load.ONE_STRIP_SHARE * inputs - 1)
    assert len(seen) >= 2 and sum(r for r, _ in seen) == tile_task.geobox.shape.y


def test_release_free_memory_gives_freed_heap_pages_back():
    """Freed arrays that malloc kept in its heap (below a grown mmap threshold) stop counting
    in the resident set once released (run in a fresh interpreter: its own heap)."""
    code = """
import numpy as np, psutil
from statscore.load import release_free_memory
rss = lambda: psutil.Process().memory_info().rss
big = np.ones(16 * 2**20, np.uint8); del big  # glibc now serves arrays up to 16 MB from its heap
arrays = [np.ones(2**20, np.uint8) for _ in range(200)]
pin = arrays.pop()  # the heap's top stays in use: freeing alone cannot shrink it
del arrays
before = rss(); release_free_memory(); after = rss()
print(before - after)
"""
    freed = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert freed > 100 * 2**20

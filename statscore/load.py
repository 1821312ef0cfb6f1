"""Loading a task's inputs and reducing them strip by strip.

Datasets come from the cache's documents (no database at run time). Each (solar day, CRS)
group is read on a native-resolution grid covering the strip (``statscore._read``: window
reads on the native grid, datacube's ``reproject_and_fuse`` otherwise), with a margin for
the plugin's mask bands so that morphology near the edges sees its neighbours; masked
there by ``plugin.native_transform`` (as in odc-stats), fused by ``plugin.fuser``, then
cropped or reprojected (``statscore._read.warp_bands``: one GDAL warp per set of like bands) onto the tile grid and written into
one (day, y, x) array per band; groups of one day in other CRSs are fused again there.

:func:`reduce_task` does this for strips of tile rows in turn (cut on the source COGs'
tile rows where the budget allows) and reduces each with the plugin, so peak memory
follows ``block_bytes`` of the plugin's stack instead of the whole time stack of the tile.
Statistics are per pixel; a plugin whose ``reduce`` also looks at neighbours (morphology
on the tile) declares how far in ``reduce_margin``, and each strip is loaded that much
taller and its result cropped, so strips give what the whole tile gives.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import xarray as xr
from affine import Affine
from datacube.api.query import solar_day
from datacube.model import Dataset
from odc.geo import xy_
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from rasterio.errors import NotGeoreferencedWarning

from ._read import _band_info, _same_crs, load_group, warp_bands
from .errors import InputError
from .model import Task
from .plugins import DaySumPlugin, add_sums
from .stages import stage
from .sources.profiles import boa_offset_of, harmonise
from .sources.s3env import access_hint

__all__ = ["load_task_data", "reduce_task", "native_geobox", "DEFAULT_BLOCK_BYTES"]

DEFAULT_BLOCK_BYTES = 1024 * 2**20
"""Most bytes of the (day, y, x) stack the plugin builds (its bands after ``native_transform``
and ``fuser``, on the tile grid) held for one strip of the tile.

Enough for whole source COG tile rows of a 2048 px tile of 40 dates (see ``_strips``)."""

FIRST_STRIP_ROWS = 256
"""Rows of the first strip, which measures the stack's bytes per row, when the sources are not
on the tile's grid (on it, the first strip ends on a source COG tile row boundary)."""

ONE_STRIP_SHARE = 4
"""A tile whose inputs (bands as loaded, on the tile grid) take at most this share of
``block_bytes`` (a quarter) is loaded whole, without a measuring strip first: every strip
pays a fixed cost per day (documents, file opens, the plugin's masking), which at 256 px
was half the load, while a stack four times its inputs still fits the budget."""

MIN_STRIP_ROWS = 16
"""Fewest rows of a strip, whatever the budget (the last one of a tile may be shorter)."""

# datacube logs "Error opening source dataset" before raising; our InputError names the file
logging.getLogger("datacube.storage._rio").setLevel(logging.CRITICAL)
# odc-geo and datacube warp through in-memory arrays that GDAL calls "not georeferenced".
# A process-wide filter: catch_warnings() is not thread-safe, and groups load on threads
# (one thread leaving it dropped the filter under another, printing the warning mid-run)
warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)


def _grid_of(ds: Dataset, bands: Sequence[str]) -> dict[str, Any]:
    """The dataset grid with the finest pixels among those the bands live on."""
    doc = ds.metadata_doc
    grids = doc.get("grids") or {}
    meas = doc.get("measurements", {})
    bands = [_canonical(ds, b) for b in bands]  # plugins may name bands by their aliases (B02 for blue)
    names = {meas[b].get("grid", "default") for b in bands if b in meas} or {"default"}
    best = min(names, key=lambda g: abs(grids[g]["transform"][0]) if g in grids else np.inf)
    if best not in grids:
        raise InputError(f"dataset {ds.id}: no grid {best!r} in its document")
    return grids[best]


def _canonical(ds: Dataset, band: str) -> str:
    """The product's own name of a band asked for by name or alias."""
    try:
        return ds.product.canonical_measurement(band)
    except (KeyError, ValueError):
        return band


def native_geobox(ds: Dataset, bands: Sequence[str], dst: GeoBox, pad_px: int = 16) -> GeoBox:
    """A grid aligned with the dataset's pixels covering ``dst`` (padded), at native resolution."""
    t = Affine(*_grid_of(ds, bands)["transform"][:6])
    res = abs(t.a)
    poly = dst.extent.to_crs(ds.crs, resolution=res * 64).buffer(pad_px * res)
    anchor = xy_((t.c % res) / res, (t.f % res) / res)
    return GeoBox.from_geopolygon(poly, resolution=res, crs=ds.crs, anchor=anchor)


def _names(ds: Dataset) -> set[str]:
    """Bands (and their aliases) the product defines *and* the dataset's document points at."""
    have = set(ds.metadata_doc.get("measurements") or {})
    names = set()
    for name, m in ds.product.measurements.items():
        if name in have:
            names.add(name)
            names.update(m.get("aliases", ()) or ())
    return names


@lru_cache(maxsize=8192)
def _file_crs(uri: str) -> str | None:
    """CRS (``EPSG:n`` or WKT) of a band file's header; None when it cannot be opened (the read reports that)."""
    import rasterio

    try:
        with rasterio.open(uri) as src:
            return src.crs.to_string() if src.crs else None
    except Exception:  # noqa: BLE001 - the read itself raises a clear error for these
        return None


def _check_crs(ds: Dataset, band: str) -> None:
    """datacube places pixels by the file's own CRS, so a document whose CRS disagrees with
    its files would load silently misplaced (usually as nodata): refuse it, naming both."""
    from odc.geo import CRS

    uri = _band_info(ds, band).uri
    found = _file_crs(uri)
    if found is not None and ds.crs is not None and not _same_crs(found, ds.crs):
        raise InputError(f"dataset {ds.id}: band {band} file {uri} is in {CRS(found)} but its document says {ds.crs}")


@dataclass(frozen=True)
class _Group:
    """Datasets of one solar day in one CRS, with the bands to read."""

    day: np.datetime64
    datasets: tuple[Dataset, ...]
    bands: tuple[str, ...]
    measurements: tuple[Any, ...]


def _groups(task: Task, plugin: Any) -> list[_Group]:
    if not task.datasets:
        raise InputError(f"task {task.tile_index}: no datasets")
    bands = list(plugin.input_bands)
    keyed: dict[tuple[np.datetime64, str, Any], list[Dataset]] = defaultdict(list)
    for ds in task.datasets:
        day = (np.datetime64(solar_day(ds), "D") if plugin.group_by == "solar_day"
               else np.datetime64(ds.center_time.replace(tzinfo=None), "us"))
        # datasets of one day that need another baseline offset load apart, and fuse on the tile
        keyed[(day, str(ds.crs), boa_offset_of(ds))].append(ds)
    out = []
    for (day, _, _), dss in sorted(keyed.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]))):
        missing = [b for b in bands if not all(b in _names(ds) for ds in dss)]
        if missing:
            bad = next(ds for ds in dss if not all(b in _names(ds) for b in missing))
            raise InputError(f"dataset {bad.id} ({bad.product.name}): missing band(s) {', '.join(missing)}")
        optional = [b for b in getattr(plugin, "optional_bands", ()) if all(b in _names(ds) for ds in dss)]
        want = tuple(bands + optional)
        meas = dss[0].product.lookup_measurements(list(want))
        out.append(_Group(day, tuple(dss), want, tuple(meas.values())))
    return out


def _pad_px(plugin: Any) -> int:
    """Native pixels of margin so that morphology near block edges sees its neighbours:
    the plugin's ``morphology_reach`` twice over (room to spare), plus 4 for resampling kernels."""
    return 4 + 2 * int(getattr(plugin, "morphology_reach", 0) or 0)


def _load_group(g: _Group, plugin: Any, dst: GeoBox, pad: int) -> xr.Dataset:
    """One (day, CRS) group: native read, plugin masking and fusing, onto ``dst``."""
    gbox = native_geobox(g.datasets[0], g.bands, dst, pad)
    for ds in g.datasets:  # one header per dataset (cached): its files share a CRS
        _check_crs(ds, g.measurements[0].name)
    try:
        with stage("read"):
            xx = load_group(g.datasets, g.measurements, gbox, _unpadded(g, plugin, gbox, dst, pad))
    except Exception as e:  # noqa: BLE001 - rasterio/datacube raise many types; name the inputs
        msg = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        raise InputError(f"cannot read dataset(s) {', '.join(str(d.id) for d in g.datasets)}: {msg}"
                         f"{access_hint(msg, str(_band_info(g.datasets[0], g.measurements[0].name).uri))}") from None
    xx = harmonise(xx, g.datasets[0])  # Sentinel-2 baseline offset, where the source profile marked it
    xx = xx.rename({m.name: b for b, m in zip(g.bands, g.measurements) if m.name != b})
    with stage("mask"):
        xx = plugin.native_transform(xx)
    with stage("fuse"):
        xx = plugin.fuser(xx)
    with stage("reproject"):
        return _reproject(xx, dst, plugin)


def _unpadded(g: _Group, plugin: Any, gbox: GeoBox, dst: GeoBox, pad: int) -> dict[str, tuple[slice, slice]]:
    """Windows of ``gbox`` for the bands that need no morphology margin (all but the plugin's
    mask bands): ``dst`` itself when it is a crop of ``gbox``, else ``gbox`` less the margin
    but 4 pixels (room for resampling kernels). No plugin mask bands: every band is padded."""
    masks = set(getattr(plugin, "mask_bands", ()) or ())
    if not masks:
        return {}
    win = _aligned_window(gbox, dst)
    if win is None:
        m = max(0, pad - 4)
        ny, nx = gbox.shape.yx
        if ny <= 2 * m or nx <= 2 * m:
            return {}
        win = (slice(m, ny - m), slice(m, nx - m))
    return {meas.name: win for b, meas in zip(g.bands, g.measurements) if b not in masks}


def _load_block(groups: list[_Group], plugin: Any, dst: GeoBox, threads: int = 1,
                buffers: dict[str, np.ndarray] | None = None) -> xr.Dataset:
    """The (day, y, x) stack of ``dst``: each day is written into it as soon as it is ready.

    Filling one preallocated array per band keeps a block's memory at the stack itself
    plus the groups in flight (a few per thread), instead of every group and then their
    concatenation.
    """
    days = sorted({g.day for g in groups})
    stack: _Stack | None = None
    lock = threading.Lock()

    def put(day: np.datetime64, one: xr.Dataset) -> None:
        nonlocal stack
        with lock:  # the first day shapes the stack; later days write their own slices
            if stack is None:
                stack = _Stack(one, days, buffers)
        stack.put(days.index(day), one)

    _load_days(groups, plugin, dst, threads, put)
    assert stack is not None
    return stack.dataset()


class _Sums:
    """``plugin.sums_of`` each day, added up as the days arrive: a DaySumPlugin's reduce
    without the (day, y, x) stack."""

    def __init__(self, plugin: Any) -> None:
        self.plugin = plugin
        self.total: dict[str, xr.DataArray] = {}
        self.day_bytes = 0
        self.days = 0
        self._lock = threading.Lock()

    def put(self, day: np.datetime64, one: xr.Dataset) -> None:
        with stage("kernel"):
            part = self.plugin.sums_of(one)  # on the loader's thread; the adding is serialised
        with self._lock, stage("kernel"):
            self.day_bytes = max(self.day_bytes, _stack_bytes(one))
            self.days += 1
            add_sums(self.total, part)

    def held_bytes(self, threads: int) -> int:
        """The sums, and the days that may be in flight while they are added up."""
        in_flight = min(self.days, _in_flight(threads))
        return sum(int(v.nbytes) for v in self.total.values()) + in_flight * self.day_bytes


def _sum_block(groups: list[_Group], plugin: Any, dst: GeoBox, threads: int = 1) -> _Sums:
    sums = _Sums(plugin)
    _load_days(groups, plugin, dst, threads, sums.put)
    return sums


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes
    import ctypes.util

    # glibc's own name first: ``find_library`` runs ``ldconfig -p`` in a subprocess (0.7 s)
    for name in ("libc.so.6", None):
        try:
            return ctypes.CDLL(name or ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc
            continue
    return None


def release_free_memory() -> None:
    """Hand the heap pages freed by a day's temporaries back to the OS (glibc's
    ``malloc_trim``). Arrays of a few MB (a day's bands as read, masked, warped) come from
    malloc's arenas once its mmap threshold has grown, and freed they stay resident: over a
    warped tile that was 0.1-0.2 GiB of the peak. No-op without glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _in_flight(threads: int) -> int:
    """Groups ``_load_days`` holds at most at once: those submitted to the loaders (bounded, so
    finished ones never pile up) and the one being handed over; one without threads."""
    return 2 * threads + 1 if threads > 1 else 1


def _load_days(groups: list[_Group], plugin: Any, dst: GeoBox, threads: int,
               put: Callable[[np.datetime64, xr.Dataset], None]) -> None:
    """Load every group onto ``dst`` and hand each fused day to ``put`` as soon as it is
    complete (a day covered in several CRSs is fused again on the tile grid first).

    With threads, a day that is one group is handed over by the loader thread itself (so
    ``put``, e.g. a plugin's day sums, runs in parallel too): ``put`` must be thread-safe.
    """
    pad = _pad_px(plugin)
    parts_of_day: dict[np.datetime64, int] = defaultdict(int)
    for g in groups:
        parts_of_day[g.day] += 1
    waiting: dict[np.datetime64, list[xr.Dataset]] = defaultdict(list)

    def load_and_put(g: _Group) -> xr.Dataset | None:
        xx = _load_group(g, plugin, dst, pad)
        if parts_of_day[g.day] > 1:
            return xx
        put(g.day, xx)
        del xx
        release_free_memory()
        return None

    def place(g: _Group, xx: xr.Dataset | None) -> None:
        if xx is None:
            return  # put by its loader
        waiting[g.day].append(xx)
        if len(waiting[g.day]) < parts_of_day[g.day]:
            return  # the day is also covered by a group in another CRS: fuse them on the tile grid
        parts = waiting.pop(g.day)
        put(g.day, plugin.fuser(xr.concat(parts, "time")) if len(parts) > 1 else parts[0])

    if threads > 1 and len(groups) > 1:  # reads and warps release the GIL
        from concurrent.futures import ThreadPoolExecutor

        from .algo import one_kernel_thread

        # the loaders are the parallelism here: their morphology must not start threads of its own
        with ThreadPoolExecutor(max_workers=threads, initializer=one_kernel_thread) as pool:
            ahead = _in_flight(threads) - 1
            pending = [(g, pool.submit(load_and_put, g)) for g in groups[:ahead]]
            nxt = ahead
            while pending:
                g, fut = pending.pop(0)
                xx = fut.result()
                if nxt < len(groups):
                    pending.append((groups[nxt], pool.submit(load_and_put, groups[nxt])))
                    nxt += 1
                place(g, xx)
    else:
        for g in groups:
            place(g, _load_group(g, plugin, dst, pad))


def _buffer(buffers: dict[str, np.ndarray] | None, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A (day, y, x) array, a view of the strip before's when it fits: the strips of a tile
    reuse one set of pages instead of faulting in fresh ones (~1.5 s a strip at 2048 px)."""
    if buffers is None:
        return np.empty(shape, dtype=dtype)
    buf = buffers.get(name)
    if buf is None or buf.dtype != dtype or buf.shape[0] != shape[0] or buf.shape[2:] != shape[2:] \
            or buf.shape[1] < shape[1]:
        buf = buffers[name] = np.empty(shape, dtype=dtype)
    return buf[:, : shape[1]]


class _Stack:
    """One (day, y, x) array per band, shaped and typed after the first fused day."""

    def __init__(self, first: xr.Dataset, days: list[np.datetime64], buffers: dict[str, np.ndarray] | None) -> None:
        self.days = days
        self.template = first
        self.arrays = {n: _buffer(buffers, str(n), (len(days), *v.shape[1:]), v.dtype)
                       for n, v in first.data_vars.items()}
        self.filled = np.zeros(len(days), dtype=bool)

    def put(self, i: int, one: xr.Dataset) -> None:
        with stage("stack"):
            for name, arr in self.arrays.items():
                arr[i] = np.asarray(one[name].data)[0]
        self.filled[i] = True

    def dataset(self) -> xr.Dataset:
        assert self.filled.all()
        t = self.template
        time = np.array([d.astype("datetime64[ns]") for d in self.days])
        coords = {k: v for k, v in t.coords.items() if "time" not in v.dims}
        coords["time"] = ("time", time)
        data = {n: (t[n].dims, arr, t[n].attrs) for n, arr in self.arrays.items()}
        return xr.Dataset(data, coords=coords, attrs=t.attrs)


def load_task_data(task: Task, plugin: Any, threads: int = 1) -> xr.Dataset:
    """The whole (time, y, x) stack on ``task.geobox`` that ``plugin.reduce`` takes."""
    return _load_block(_groups(task, plugin), plugin, task.geobox, threads)


def reduce_task(task: Task, plugin: Any, block_bytes: int = DEFAULT_BLOCK_BYTES, threads: int = 1) -> xr.Dataset:
    """``plugin.reduce`` over the tile, computed strip by strip (rows of the tile).

    The first strip is small (see ``_first_rows``); what it held (the plugin's stack, or a
    DaySumPlugin's sums and days in flight) tells how many bytes a row really takes, and
    the other strips are as tall as ``block_bytes`` of that allows (``_strip_rows``). Each
    strip is loaded ``plugin.reduce_margin`` rows taller above and below (within the tile),
    so that morphology in ``reduce`` sees the neighbours a whole-tile reduce sees, and its
    result is cropped back to the strip.
    """
    groups = _groups(task, plugin)
    tile = task.geobox
    ny = tile.shape.y
    margin = int(getattr(plugin, "reduce_margin", 0) or 0)
    grid = _source_tile_rows(groups[0], tile)
    strips = [(0, _first_rows(groups, tile, block_bytes, grid))]
    parts = []
    buffers: dict[str, np.ndarray] = {}
    i = 0
    while i < len(strips):  # the first strip appends the others
        y0, y1 = strips[i]
        i += 1
        a, b = max(0, y0 - margin), min(ny, y1 + margin)
        if _streams(plugin):  # days are added up as they come: no stack
            with stage("load"):
                sums = _sum_block(groups, plugin, tile[a:b, :], threads)
            held = sums.held_bytes(threads)
            with stage("reduce"):
                res = plugin.reduce_sums(sums.total)
            del sums
        else:
            with stage("load"):
                xx = _load_block(groups, plugin, tile[a:b, :], threads, buffers)
            held = _stack_bytes(xx)
            with stage("reduce"):
                res = plugin.reduce(xx)
            del xx  # a taller next strip replaces the buffers: let this stack go first
        if i == 1:  # the others follow what a row of the first strip held
            strips += _strips(y1, ny, _strip_rows(held / (b - a), block_bytes, margin), grid)
        with stage("reduce"):
            res = res.compute() if hasattr(res, "compute") else res
        if (a, b) != (y0, y1):
            res = res.isel(y=slice(y0 - a, y1 - a))
        for name in res.data_vars:  # the next strip reuses the buffers: keep no view of them
            if any(np.may_share_memory(res[name].data, buf) for buf in buffers.values()):
                res[name] = res[name].copy()
        parts.append(res)
    out = xr.concat(parts, "y") if len(parts) > 1 else parts[0]
    for name in out.data_vars:  # concat keeps attrs of the first part; make sure nodata survives
        out[name].attrs.update(parts[0][name].attrs)
    return out


def _streams(plugin: Any) -> bool:
    """A DaySumPlugin whose ``reduce`` is still the sum of its ``day_sums``: a subclass that
    overrides ``reduce`` gets the stack it expects."""
    return isinstance(plugin, DaySumPlugin) and type(plugin).reduce is DaySumPlugin.reduce


def _stack_bytes(xx: xr.Dataset) -> int:
    return sum(int(v.nbytes) for v in xx.data_vars.values())


def _first_rows(groups: list[_Group], tile: GeoBox, block_bytes: int, grid: tuple[int, int]) -> int:
    """Rows of the first strip: the whole tile when its inputs are small (``ONE_STRIP_SHARE``),
    else to the first source COG tile row boundary ``MIN_STRIP_ROWS`` or more down
    (``FIRST_STRIP_ROWS`` when the sources are not on the tile's grid), fewer when that many
    rows of the inputs (bands as loaded, on the tile grid) exceed ``block_bytes``."""
    ny, nx = tile.shape.yx
    days = len({g.day for g in groups})
    row_bytes = max(1, days * nx * sum(np.dtype(m.dtype).itemsize for m in groups[0].measurements))
    if ONE_STRIP_SHARE * row_bytes * ny <= block_bytes:
        return ny
    period, phase = grid
    probe = phase + period * max(0, -(-(MIN_STRIP_ROWS - phase) // period)) if period else FIRST_STRIP_ROWS
    return int(min(ny, probe, max(MIN_STRIP_ROWS, block_bytes // row_bytes)))


def _strip_rows(row_bytes: float, block_bytes: int, margin: int = 0) -> int:
    """Rows of a strip whose stack (``row_bytes`` a row), with ``margin`` rows above and
    below, fits ``block_bytes``; ``MIN_STRIP_ROWS`` at least."""
    return max(MIN_STRIP_ROWS, int(block_bytes // max(1.0, row_bytes)) - 2 * margin)


def _strips(y0: int, ny: int, rows: int, grid: tuple[int, int]) -> list[tuple[int, int]]:
    """Row ranges from ``y0`` to ``ny`` of at most ``rows`` rows, cut on the source COGs' tile rows.

    A compressed COG tile is decompressed whole by every read that touches it: strips cut
    across source tiles decompress them once per strip. When a strip can hold whole source
    tile rows (``grid``: rows per source tile row and the tile row of a boundary, see
    ``_source_tile_rows``), strips end on their boundaries; otherwise they are ``rows`` tall.
    """
    period, phase = grid
    out = []
    while y0 < ny:
        y1 = min(ny, y0 + rows)
        if y1 < ny and period and rows >= period:
            y1 = max(y0 + 1, y1 - (y1 - phase) % period)
        out.append((y0, y1))
        y0 = y1
    return out


def _source_tile_rows(g: _Group, tile: GeoBox) -> tuple[int, int]:
    """(rows of the tile per source COG tile row, tile row of a source tile boundary), or (0, 0)
    when the source is not on the tile's grid (another CRS, non-integer scale)."""
    import rasterio

    ds = g.datasets[0]
    try:
        band = _band_info(ds, g.measurements[0].name)
        with rasterio.open(band.uri) as src:
            t, bh = src.transform, src.block_shapes[0][0]
            same = src.crs is not None and _same_crs(src.crs.to_wkt(), tile.crs)
    except Exception:  # noqa: BLE001 - the read reports unreadable files; this only picks strip sizes
        return 0, 0
    a = tile.affine
    k = t.e / a.e if a.e else 0
    if not same or k <= 0 or abs(bh * k - round(bh * k)) > 1e-6:
        return 0, 0
    period = int(round(bh * k))
    first = (t.f - a.f) / a.e  # tile row of the source's row 0
    if period < 1 or abs(first - round(first)) > 1e-6:
        return 0, 0
    return period, int(round(first)) % period


def _aligned_window(src: GeoBox, dst: GeoBox) -> tuple[slice, slice] | None:
    """Pixel window of ``src`` that is exactly ``dst`` (same CRS, pixel size and grid), if any."""
    a, b = src.affine, dst.affine
    if src.crs != dst.crs or (a.a, a.b, a.d, a.e) != (b.a, b.b, b.d, b.e):
        return None
    col, row = (b.c - a.c) / a.a, (b.f - a.f) / a.e
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    c0, r0 = int(round(col)), int(round(row))
    ny, nx = dst.shape.yx
    if c0 < 0 or r0 < 0 or r0 + ny > src.shape.y or c0 + nx > src.shape.x:
        return None
    return slice(r0, r0 + ny), slice(c0, c0 + nx)


def _reproject(xx: xr.Dataset, dst: GeoBox, plugin: Any) -> xr.Dataset:
    window = _aligned_window(xx.odc.geobox, dst)
    if window is not None:  # the native pixels are the tile's pixels: a crop, no resampling
        ys, xs = window
        cropped = xx.isel(y=ys, x=xs)
        return cropped.assign_coords(y=xr_coords(dst)["y"], x=xr_coords(dst)["x"])
    return warp_bands(xx, dst, plugin.resampling_for)

"""Geometric median and median absolute deviations (smad, emad, bcmad) of image stacks.

Two layers:

- a drop-in for geomad 1.0.0's array API on ``X`` shaped (y, x, band, time):
  :func:`nangeomedian_pcm`, :func:`smad_pcm`, :func:`emad_pcm`, :func:`bcmad_pcm`,
  plus :func:`geomedian_mads`, which computes all of them and the count in one pass;
- :func:`geomedian_with_mads` on an xarray Dataset (one (time, y, x) variable per band),
  as odc-algo's function of that name used by the odc-stats ``gm`` plugins, working
  block by block over rows so peak memory follows ``block_bytes``, not the tile.

Definitions (per pixel, observations with any band missing are dropped): the
geomedian minimises the sum of Euclidean distances to the observations (Weiszfeld's
iteration with the Vardi-Zhang step, from the mean, until a step is shorter than
``eps``); smad = median of 1 - cos(x, m), emad = median of ||x - m||, bcmad = median
of sum|x - m| / sum|x + m|; count = number of valid observations.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..errors import ConfigError, InputError
from . import _geomedian as _k
from ._parallel import resolve_threads, threads

__all__ = [
    "GeomedianMads",
    "DEFAULT_BLOCK_BYTES",
    "nangeomedian_pcm",
    "smad_pcm",
    "emad_pcm",
    "bcmad_pcm",
    "geomedian_mads",
    "geomedian_with_mads",
]

#: Default input bytes per block of rows in :func:`geomedian_with_mads` (64 MiB: the block is a
#: transposed copy of its rows, so this is what the kernel adds to the input; larger blocks
#: were not faster).
DEFAULT_BLOCK_BYTES = 64 * 2**20

_DEFAULT_NODATA = {np.dtype("int16"): -999, np.dtype("uint16"): 0}


class GeomedianMads(NamedTuple):
    """Per-pixel results of :func:`geomedian_mads`; arrays are (y, x[, band])."""

    gm: np.ndarray
    """Geometric median (y, x, band), float32, in the input's units (DN for integers)."""
    smad: np.ndarray
    """Spectral MAD (y, x), float32, unitless."""
    emad: np.ndarray
    """Euclidean MAD (y, x), float32, reflectance units (``DN * scale + offset``)."""
    bcmad: np.ndarray
    """Bray-Curtis MAD (y, x), float32, unitless."""
    count: np.ndarray
    """Observations with every band valid (y, x), uint16."""
    iterations: np.ndarray
    """Weiszfeld steps taken (y, x), int32: shows where ``maxiters`` was reached."""


def _check_stack(X: Any, name: str = "X") -> np.ndarray:
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.ndim != 4:
        raise InputError(f"{name} must be 4-D (y, x, band, time), got shape {X.shape}")
    if X.dtype.kind not in "fiu" or X.dtype.itemsize > 8:
        raise InputError(f"{name} must be float or integer, got dtype {X.dtype}")
    if X.dtype == np.float16:
        X = X.astype(np.float32)
    return X


def _nodata_for(X: np.ndarray, nodata: float | None) -> tuple[Any, bool]:
    """The nodata value in X's dtype and whether to test for it."""
    if nodata is None:
        nodata = _DEFAULT_NODATA.get(X.dtype)
    if nodata is None:  # floats: NaN (and +-inf) are missing anyway
        return X.dtype.type(0), False
    if isinstance(nodata, float) and math.isnan(nodata):
        return X.dtype.type(0), False
    if X.dtype.kind in "iu":
        info = np.iinfo(X.dtype)
        if nodata != int(nodata) or not info.min <= nodata <= info.max:
            return X.dtype.type(0), False  # can never match an integer value
    return X.dtype.type(nodata), True


def _scaling(X: np.ndarray, scale: float, offset: float) -> tuple[float, float]:
    """geomad semantics: scale/offset apply to integer input only."""
    if not (isinstance(scale, (int, float, np.number)) and math.isfinite(scale) and scale != 0):
        raise ConfigError(f"scale must be a finite non-zero number, got {scale!r}")
    if not (isinstance(offset, (int, float, np.number)) and math.isfinite(offset)):
        raise ConfigError(f"offset must be a finite number, got {offset!r}")
    if X.dtype.kind == "f":
        return 1.0, 0.0
    return float(scale), float(offset)


def _check_iter(eps: float, maxiters: int) -> tuple[float, int]:
    if not (isinstance(eps, (int, float, np.number)) and eps > 0 and math.isfinite(eps)):
        raise ConfigError(f"eps must be a positive number, got {eps!r}")
    if isinstance(maxiters, bool) or not isinstance(maxiters, (int, np.integer)) or maxiters < 0:
        raise ConfigError(f"maxiters must be a non-negative integer, got {maxiters!r}")
    return float(eps), int(maxiters)


def _weights(weight: Any, n: int) -> np.ndarray:
    if weight is None:
        return np.ones(max(n, 1), dtype=np.float32)
    w = np.asarray(weight, dtype=np.float32).reshape(-1)
    if w.shape != (n,):
        raise ConfigError(f"weight must have one value per time step ({n}), got shape {w.shape}")
    if not (np.all(np.isfinite(w)) and np.all(w >= 0)):
        raise ConfigError("weight must be finite and non-negative")
    return np.ascontiguousarray(w) if n else np.ones(1, dtype=np.float32)


def _run_gm(
    X: np.ndarray,
    weight: Any,
    maxiters: int,
    eps: float,
    num_threads: int | None,
    nodata: float | None,
    scale: float,
    offset: float,
    want_mads: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float]:
    X = _check_stack(X)
    eps, maxiters = _check_iter(eps, maxiters)
    sc, off = _scaling(X, scale, offset)
    nd, has_nd = _nodata_for(X, nodata)
    w = _weights(weight, X.shape[3])
    ny, nx, p, _ = X.shape
    gm = np.empty((ny, nx, p), dtype=np.float32)
    mads = np.empty((ny, nx, 3) if want_mads else (1, 1, 3), dtype=np.float32)
    count = np.empty((ny, nx), dtype=np.uint16)
    iters = np.empty((ny, nx), dtype=np.int32)
    with threads(num_threads):
        _k.gm_mads_rows(X, nd, has_nd, X.dtype.kind == "f", sc, off, w, eps, maxiters,
                        want_mads, gm, mads, count, iters)
    return gm, mads, count, iters, sc, off


def _to_input_units(gm: np.ndarray, sc: float, off: float) -> np.ndarray:
    """Reflectance back to the input's units (DN for integer input), as float32."""
    if sc == 1.0 and off == 0.0:
        return gm
    out = gm.astype(np.float64)
    out -= off
    out /= sc
    return out.astype(np.float32)


def nangeomedian_pcm(
    X: np.ndarray,
    weight: np.ndarray | None = None,
    maxiters: int = 1000,
    eps: float = 1e-4,
    num_threads: int | None = None,
    nocheck: bool = False,
    nodata: float | None = None,
    scale: float = 1.0,
    offset: float = 0.0,
) -> np.ndarray:
    """Geometric median over time of ``X`` (y, x, band, time) -> (y, x, band) float32.

    As geomad's: float32 data use NaN for missing; int16 (nodata -999) and uint16
    (nodata 0) are iterated in ``DN * scale + offset`` units, in which ``eps`` is
    measured, and returned in DN (float32, unrounded). An observation with any band
    missing is dropped; a pixel with none is NaN. ``weight`` (time,) weights the
    observations. ``nocheck`` is accepted for compatibility (missing data are always
    handled). Unlike geomad, each pixel starts from its own mean (order-independent).
    """
    del nocheck
    gm, _, _, _, sc, off = _run_gm(X, weight, maxiters, eps, num_threads, nodata,
                                   scale, offset, False)
    return _to_input_units(gm, sc, off)


def geomedian_mads(
    X: np.ndarray,
    weight: np.ndarray | None = None,
    maxiters: int = 1000,
    eps: float = 1e-4,
    num_threads: int | None = None,
    nodata: float | None = None,
    scale: float = 1.0,
    offset: float = 0.0,
) -> GeomedianMads:
    """Geomedian, smad, emad, bcmad and count of ``X`` (y, x, band, time) in one pass.

    Same arguments as :func:`nangeomedian_pcm`; the MADs are taken around the
    unrounded float geomedian, emad in reflectance units.
    """
    gm, mads, count, iters, sc, off = _run_gm(X, weight, maxiters, eps, num_threads,
                                              nodata, scale, offset, True)
    return GeomedianMads(
        gm=_to_input_units(gm, sc, off),
        smad=mads[..., 0],
        emad=mads[..., 1],
        bcmad=mads[..., 2],
        count=count,
        iterations=iters,
    )


def _run_mads(X, gm, num_threads, nodata, scale, offset) -> np.ndarray:
    X = _check_stack(X)
    sc, off = _scaling(X, scale, offset)
    nd, has_nd = _nodata_for(X, nodata)
    gm = np.asarray(gm)
    if gm.shape != X.shape[:3]:
        raise InputError(f"gm must have shape {X.shape[:3]} (y, x, band) to match X, got {gm.shape}")
    G = gm.astype(np.float64) * sc + off if (sc, off) != (1.0, 0.0) else gm
    G = np.ascontiguousarray(G, dtype=np.float32)
    ny, nx, _, _ = X.shape
    mads = np.empty((ny, nx, 3), dtype=np.float32)
    with threads(num_threads):
        _k.mads_rows(X, G, nd, has_nd, X.dtype.kind == "f", sc, off, mads)
    return mads


def smad_pcm(X: np.ndarray, gm: np.ndarray, num_threads: int | None = None,
             nocheck: bool = False, nodata: float | None = None,
             scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Spectral MAD: median over valid observations of 1 - cos(x, gm); (y, x) float32.

    ``gm`` is in the units :func:`nangeomedian_pcm` returns for the same ``X``,
    ``scale`` and ``offset`` (DN for integer input). NaN where nothing is valid.
    """
    del nocheck
    return _run_mads(X, gm, num_threads, nodata, scale, offset)[..., 0].copy()


def emad_pcm(X: np.ndarray, gm: np.ndarray, num_threads: int | None = None,
             nocheck: bool = False, nodata: float | None = None,
             scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Euclidean MAD: median over valid observations of ||x - gm||, in reflectance
    units (``DN * scale + offset`` for integer input); (y, x) float32."""
    del nocheck
    return _run_mads(X, gm, num_threads, nodata, scale, offset)[..., 1].copy()


def bcmad_pcm(X: np.ndarray, gm: np.ndarray, num_threads: int | None = None,
              nocheck: bool = False, nodata: float | None = None,
              scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Bray-Curtis MAD: median over valid observations of sum|x - gm| / sum|x + gm|;
    (y, x) float32."""
    del nocheck
    return _run_mads(X, gm, num_threads, nodata, scale, offset)[..., 2].copy()


# --------------------------------------------------------------------------------------
# xarray level
# --------------------------------------------------------------------------------------


def _round_to(values: np.ndarray, dtype: np.dtype, nodata: Any) -> np.ndarray:
    """Float DN -> integer dtype, rounded to nearest (ties to even), clipped, NaN -> nodata."""
    info = np.iinfo(dtype)
    missing = np.isnan(values)
    out = np.rint(values)  # ties are measure-zero for an iterated float result
    np.clip(out, info.min, info.max, out=out)
    out[missing] = nodata
    return out.astype(dtype)


def geomedian_with_mads(
    src: Any,
    compute_mads: bool = True,
    compute_count: bool = True,
    scale: float = 1.0,
    offset: float = 0.0,
    eps: float | None = None,
    maxiters: int = 1000,
    num_threads: int | None = None,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    nodata: float | None = None,
    **kw: Any,
) -> Any:
    """Geomedian of every band plus smad, emad, bcmad and count, as an xarray Dataset.

    ``src`` is a Dataset whose variables are the bands, each (time, y, x) with the same
    dtype (numpy- or dask-backed), or a DataArray (y, x, band, time) like odc-algo's.
    Values are iterated in ``value * scale + offset`` units (any offset, including 0),
    where ``eps`` is measured (default: 1e-4 for float input, ``0.1 * scale`` for
    integer input, as odc-algo); bands come back in the input dtype, integers rounded
    to nearest, nodata (``attrs['nodata']``, else ``nodata``, else -999/0 for
    int16/uint16) where no observation is valid. emad is in input units (divided by
    ``scale``) and count is uint16, as odc-algo reports them.

    The tile is processed in blocks of whole rows holding at most ``block_bytes`` of
    input (at least one row), so peak memory is the input, the outputs and one block.
    ``num_threads`` threads share the rows of each block (``None``: all cores).
    Extra keyword arguments of odc-algo (``reshape_strategy``, ``work_chunks``,
    ``out_chunks``) are accepted and ignored.
    """
    import xarray as xr

    unknown = set(kw) - {"reshape_strategy", "work_chunks", "out_chunks"}
    if unknown:
        raise ConfigError(f"geomedian_with_mads got unexpected argument(s) {sorted(unknown)}")
    if isinstance(block_bytes, bool) or not isinstance(block_bytes, (int, np.integer)) or block_bytes < 1:
        raise ConfigError(f"block_bytes must be a positive integer, got {block_bytes!r}")

    if isinstance(src, xr.DataArray):
        if src.ndim != 4:
            raise InputError(f"src DataArray must be (y, x, band, time), got dims {src.dims}")
        ydim, xdim, bdim, tdim = src.dims
        names = [str(b) for b in (src.coords[bdim].values if bdim in src.coords
                                  else range(src.shape[2]))]
        bands = [src.isel({bdim: i}).transpose(tdim, ydim, xdim) for i in range(src.shape[2])]
        attrs = dict(src.attrs)
    elif isinstance(src, xr.Dataset):
        names = [str(n) for n in src.data_vars]
        if not names:
            raise InputError("src Dataset has no bands")
        bands = [src[n] for n in names]
        attrs = dict(bands[0].attrs)
    else:
        raise InputError(f"src must be an xarray Dataset or DataArray, got {type(src).__name__}")

    first = bands[0]
    if first.ndim != 3:
        raise InputError(f"band {names[0]!r} must be (time, y, x), got dims {first.dims}")
    for n, b in zip(names, bands):
        if b.dims != first.dims or b.shape != first.shape:
            raise InputError(f"band {n!r} has dims {b.dims} {b.shape}, expected {first.dims} {first.shape}")
        if b.dtype != first.dtype:
            raise InputError(f"band {n!r} has dtype {b.dtype}, expected {first.dtype} like {names[0]!r}")
    dtype = np.dtype(first.dtype)
    if dtype.kind not in "fiu":
        raise InputError(f"bands must be float or integer, got dtype {dtype}")
    is_float = dtype.kind == "f"
    if eps is None:
        eps = 1e-4 if is_float else 0.1 * scale
    eps, maxiters = _check_iter(eps, maxiters)
    if not (math.isfinite(scale) and scale != 0 and math.isfinite(offset)):
        raise ConfigError(f"scale/offset must be finite and scale non-zero, got {scale!r}/{offset!r}")
    if nodata is None:
        nodata = attrs.get("nodata", first.attrs.get("nodata"))
    if nodata is None and not is_float:
        nodata = _DEFAULT_NODATA.get(dtype)
        if nodata is None:
            raise ConfigError(f"nodata must be given for {dtype} bands (no 'nodata' attribute)")
    probe = np.empty((0, 0, 0, 0), dtype=dtype)
    nd, has_nd = _nodata_for(probe, nodata)
    out_nodata = nodata if nodata is not None else np.nan

    tdim, ydim, xdim = first.dims
    nt, ny, nx = first.shape
    nb = len(bands)
    w = _weights(None, nt)

    row_bytes = max(1, nb * nt * nx * dtype.itemsize)
    rows = int(max(1, min(ny, block_bytes // row_bytes)))
    if num_threads != 1:  # rows are shared among threads: give each a few, whatever the budget
        rows = min(ny, max(rows, 4 * resolve_threads(num_threads)))
    chunks = getattr(first.data, "chunks", None)
    if chunks is not None and len(set(chunks[1][:-1])) <= 1 and chunks[1][0] <= rows:
        rows = max(chunks[1][0], rows // chunks[1][0] * chunks[1][0])  # whole dask chunks

    out_gm = [np.empty((ny, nx), dtype=dtype) for _ in range(nb)]
    mads = np.empty((ny, nx, 3), dtype=np.float32) if compute_mads else None
    count = np.empty((ny, nx), dtype=np.uint16)
    # (row, band, time, x): one row's data is contiguous, so the per-pixel gather in
    # the kernel stays within a few hundred KiB (L2, few TLB pages) per row
    # x padded so a (band, time) plane is an odd number of cache lines long: with a
    # power-of-two stride the ~band*time lines a pixel reads map to a couple of L1 sets
    lines = -(-nx * dtype.itemsize // 64)
    nxp = (lines | 1) * 64 // dtype.itemsize if 64 % dtype.itemsize == 0 else nx
    buf = np.empty((rows, nb, nt, max(nxp, nx)), dtype=dtype)
    gm_blk = np.empty((rows, nx, nb), dtype=np.float32)
    mads_blk = np.empty((rows, nx, 3) if compute_mads else (1, 1, 3), dtype=np.float32)
    iters = np.empty((rows, nx), dtype=np.int32)

    with threads(num_threads):
        for r0 in range(0, ny, rows):
            r1 = min(ny, r0 + rows)
            h = r1 - r0
            _load_rows(bands, ydim, r0, r1, buf)
            X = buf[:h, :, :, :nx].transpose(0, 3, 1, 2)
            _k.gm_mads_rows(X, nd, has_nd, is_float, float(scale), float(offset), w, eps,
                            maxiters, compute_mads, gm_blk[:h], mads_blk[:h] if compute_mads
                            else mads_blk, count[r0:r1], iters[:h])
            for j in range(nb):
                g = gm_blk[:h, :, j].astype(np.float64)
                g -= offset
                g /= scale
                if is_float:
                    out_gm[j][r0:r1] = g
                else:
                    out_gm[j][r0:r1] = _round_to(g, dtype, nodata)
            if compute_mads:
                mads[r0:r1] = mads_blk[:h]
    del buf

    coords = {k: v for k, v in first.coords.items() if tdim not in v.dims}
    data_vars = {}
    for n, g in zip(names, out_gm):
        battrs = dict(attrs)
        battrs.update(src[n].attrs if isinstance(src, xr.Dataset) else {})
        if not is_float:
            battrs["nodata"] = out_nodata
        data_vars[n] = xr.DataArray(g, dims=(ydim, xdim), coords=coords, attrs=battrs)
    if compute_mads:
        data_vars["smad"] = xr.DataArray(mads[..., 0], dims=(ydim, xdim), coords=coords)
        emad = mads[..., 1]
        emad /= scale
        data_vars["emad"] = xr.DataArray(emad, dims=(ydim, xdim), coords=coords)
        data_vars["bcmad"] = xr.DataArray(mads[..., 2], dims=(ydim, xdim), coords=coords)
    if compute_count:
        data_vars["count"] = xr.DataArray(count, dims=(ydim, xdim), coords=coords)
    return xr.Dataset(data_vars, coords=coords)


def _load_rows(bands: list, ydim: str, r0: int, r1: int, buf: np.ndarray) -> None:
    """Rows r0:r1 of every band into ``buf[:r1-r0, b]`` (computing dask data); the
    copy is spread over the kernel threads."""
    h = r1 - r0
    parts = [b.data[:, r0:r1, :] for b in bands]
    if any(hasattr(p, "dask") for p in parts):
        import dask

        parts = dask.compute(*parts)
    for j, part in enumerate(parts):
        part = np.asarray(part)
        if part.dtype != buf.dtype:
            part = part.astype(buf.dtype)
        _k.copy_rows(part, buf[:h, j, :, : part.shape[2]])

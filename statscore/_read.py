"""Reading a group of datasets onto a native grid: datacube's loader, minus its per-read cost.

``Datacube.load_data`` spends most of its time around each read (data source objects,
environment activation, region computation, a warp for every band whose pixels are a
multiple of the target's): ~17 ms per band of a 550 x 550 window here, against ~5 ms
for the read itself. Our native grids are built on the datasets' own pixels, so nearly
every read is a window of the file, repeated ``k`` times along each axis when the band's
pixels are ``k`` times the grid's (20 m bands on a 10 m grid): exactly what nearest
resampling gives on aligned grids. Those reads are done here with rasterio directly;
anything else (another CRS, non-integer scales or offsets, a resampling other than
nearest where pixels are scaled, several datasets in one time slice, custom fusers,
netCDF/HDF, extra dimensions) goes through datacube's own ``reproject_and_fuse``. The
result is the ``xarray.Dataset`` ``Datacube.load_data`` returns, value for value
(tests/test_read.py compares them).

:func:`warp_bands` puts such a group onto a tile grid in another CRS: what odc-geo's
``xr_reproject`` gives band by band, in one GDAL warp per group of like bands (one dtype,
resampling and nodata) instead of one per band, each of which sets up its transformation
anew; bilinear integer bands not even that: GDAL gives the coordinates it samples at (a
warp of two coordinate ramps per pair of grids) and ``statscore.algo.bilinear_at`` samples
every band there by GDAL's rules (tests/test_warp_bands.py compares them all with GDAL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import rasterio
import rasterio.warp
import xarray as xr
from datacube import Datacube
from datacube.model import Dataset
from datacube.storage import BandInfo
from datacube.storage._load import reproject_and_fuse
from datacube.storage._rio import _is_hdf, _url2rasterio
from datacube.utils.math import num2numpy, valid_mask
from odc.geo.geobox import GeoBox
from odc.geo.math import is_nodata_empty, maybe_int, resolve_fill_value, resolve_nodata
from odc.geo.warp import resampling_s2rio
from odc.geo.xr import xr_coords, xr_reproject
from rasterio.enums import Resampling

from .algo.resample import bilinear_at

__all__ = ["load_group", "warp_bands"]

_NEAREST = ("nearest", "near", 0)


def load_group(datasets: Sequence[Dataset], measurements: Sequence[Any], gbox: GeoBox,
               windows: Mapping[str, tuple[slice, slice]] | None = None) -> xr.Dataset:
    """``Datacube.load_data(Datacube.group_datasets(datasets, "time"), gbox, measurements)``, faster.

    ``windows`` limits some bands to a window of ``gbox`` (the rest of them stays nodata):
    bands that no morphology looks at need no margin, and a margin that crosses a source
    COG tile row costs a whole row of tiles decompressed.
    """
    sources = Datacube.group_datasets(list(datasets), "time")
    out = _storage(sources, gbox, measurements)
    for i, slice_datasets in enumerate(sources.values):
        for m in measurements:
            win = (windows or {}).get(m.name)
            dest = out[m.name].data[i] if win is None else out[m.name].data[i][win]
            g = gbox if win is None else gbox[win]
            nodata = dest.dtype.type(m.nodata) if m.nodata is not None else None
            if len(slice_datasets) == 1 and m.get("fuser") is None:
                band = _band_info(slice_datasets[0], m.name)
                if _plain(band) and _read_window(band, m, dest, g, nodata):
                    continue
            _datacube_read(slice_datasets, m, dest, g, nodata)
    return out


def _storage(sources: xr.DataArray, gbox: GeoBox, measurements: Sequence[Any]) -> xr.Dataset:
    """What ``Datacube.create_storage`` builds (nodata-filled bands, its attrs and coords), at a
    fraction of its cost: it deep-copies coordinates and builds each band's coords anew."""
    crs_attrs = {"crs": str(gbox.crs), "grid_mapping": "spatial_ref"} if gbox.crs is not None else {}
    coords = {str(k): v for k, v in sources.coords.items()}
    coords.update({str(k): v for k, v in xr_coords(gbox, "spatial_ref").items()})
    dims = (*sources.dims, *gbox.dimensions)
    shape = (*sources.shape, *gbox.shape.yx)
    data = {m.name: xr.Variable(dims, np.full(shape, m.nodata, dtype=m.dtype), {**m.dataarray_attrs(), **crs_attrs})
            for m in measurements}
    return xr.Dataset(data, coords=coords, attrs=crs_attrs)


_BAND_INFO: dict[tuple[int, str], tuple[Dataset, BandInfo]] = {}


def _band_info(ds: Dataset, band: str) -> BandInfo:
    """datacube's BandInfo (path resolution) once per dataset band: each costs ~2 ms of document
    field lookups (even ``ds.id`` is one), and a tile read in strips asks for the same again.
    Keyed by the object (kept alive in the entry, so its ``id()`` is not reused)."""
    key = (id(ds), band)
    hit = _BAND_INFO.get(key)
    if hit is None or hit[0] is not ds:
        if len(_BAND_INFO) > 100_000:
            _BAND_INFO.clear()
        hit = _BAND_INFO[key] = (ds, BandInfo(ds, band))
    return hit[1]


def _plain(band: BandInfo) -> bool:
    """A single-band raster we can open with rasterio as datacube would (no layers, parts, dims)."""
    return not _is_hdf(band.format) and band.layer is None and not band.dims and "#part=" not in str(band.uri)


def _datacube_read(datasets: Sequence[Dataset], m: Any, dest: np.ndarray, gbox: GeoBox, nodata: Any) -> None:
    from datacube.drivers import new_datasource

    reproject_and_fuse([new_datasource(BandInfo(ds, m.name)) for ds in datasets], dest, gbox, nodata,
                       resampling=m.get("resampling_method", "nearest"), fuse_func=m.get("fuser"))


def _scale_and_offset(a: float, b: float, origin_src: float, origin_dst: float) -> tuple[int, int] | None:
    """Integer ``k`` (source pixel / target pixel) and the target's offset in target pixels, if exact."""
    if b == 0 or a == 0 or (a > 0) != (b > 0):
        return None
    k = a / b
    off = (origin_dst - origin_src) / b
    if k < 1 or abs(k - round(k)) > 1e-9 or abs(off - round(off)) > 1e-6:
        return None
    return int(round(k)), int(round(off))


def _read_window(band: BandInfo, m: Any, dest: np.ndarray, gbox: GeoBox, fill: Any = None) -> bool:
    """Read ``band`` into ``dest`` when its pixels tile ``gbox``'s exactly; False if they do not.

    ``dest`` holds ``fill`` everywhere (None: unknown); the file's nodata pixels leave it as it is."""
    with rasterio.open(_url2rasterio(band.uri, band.format, band.layer), sharing=False) as src:
        t, g = src.transform, gbox.affine
        if t.is_identity or src.crs is None or t.b or t.d or g.b or g.d:
            return False
        if not _same_crs(src.crs.to_wkt(), gbox.crs):
            return False
        col = _scale_and_offset(t.a, g.a, t.c, g.c)
        row = _scale_and_offset(t.e, g.e, t.f, g.f)
        if col is None or row is None or col[0] != row[0]:
            return False
        k, c0 = col
        r0 = row[1]
        if k > 1 and m.get("resampling_method", "nearest") not in _NEAREST:
            return False
        bidx = band.band or 1
        nodata = src.nodatavals[bidx - 1]
        nodata = num2numpy(band.nodata if nodata is None else nodata, src.dtypes[bidx - 1])
        ny, nx = dest.shape
        # target pixel (i, j) is source pixel ((r0 + i) // k, (c0 + j) // k)
        i0, i1 = max(0, -r0), min(ny, k * src.height - r0)
        j0, j1 = max(0, -c0), min(nx, k * src.width - c0)
        if i0 >= i1 or j0 >= j1:
            return True  # no overlap: the slice stays nodata, as datacube leaves it
        s_r0, s_r1 = (r0 + i0) // k, (r0 + i1 - 1) // k + 1
        s_c0, s_c1 = (c0 + j0) // k, (c0 + j1 - 1) // k + 1
        pix = src.read(bidx, window=((s_r0, s_r1), (s_c0, s_c1)))
    # ``dest`` holds ``fill`` (the band's nodata) until written: where the file's nodata is
    # that same value, copying its nodata pixels too changes nothing, and skips a mask
    valid = None if _same_value(nodata, fill, dest.dtype) else valid_mask(pix, nodata)
    out = dest[i0:i1, j0:j1]
    if k == 1:
        np.copyto(out, pix, where=True if valid is None else valid)
    else:
        _repeat_into(out, pix, k, r0 + i0 - s_r0 * k, c0 + j0 - s_c0 * k, valid)
    return True


def _repeat_into(out: np.ndarray, pix: np.ndarray, k: int, row: int, col: int,
                 where: np.ndarray | None = None) -> None:
    """``out[..., i, j] = pix[..., (row + i) // k, (col + j) // k]`` (``row``, ``col`` >= 0), only
    where ``where`` (on ``pix``'s grid) when given: each of the k x k phases of ``out`` is a
    window of ``pix``, copied as it is, with no k x k larger temporary."""
    h, w = out.shape[-2:]
    for a in range(k):
        ra = (a - row) % k  # the first row of out in phase a, and its source row
        sa, na = (row + ra) // k, len(range(ra, h, k))
        for b in range(k):
            cb = (b - col) % k
            sb, nb = (col + cb) // k, len(range(cb, w, k))
            np.copyto(out[..., ra::k, cb::k], pix[..., sa:sa + na, sb:sb + nb],
                      where=True if where is None else where[..., sa:sa + na, sb:sb + nb])


def _same_value(nodata: Any, fill: Any, dtype: np.dtype) -> bool:
    """Whether ``nodata`` (the file's) and ``fill`` (what ``dest`` was filled with) are one
    value of ``dtype``; never for NaN (NaNs may differ in their bits: keep the mask)."""
    if fill is None or nodata is None:
        return False
    try:
        a, b = np.asarray(nodata).astype(dtype), np.asarray(fill).astype(dtype)
    except (TypeError, ValueError, OverflowError):
        return False
    if dtype.kind == "f" and (np.isnan(a) or np.isnan(b)):
        return False
    return bool(a == b) and a.tobytes() == b.tobytes()


_CRS_SAME: dict[tuple[str, str], bool] = {}


def _same_crs(wkt: str, crs: Any) -> bool:
    key = (wkt, str(crs))
    if key not in _CRS_SAME:  # pyproj comparisons cost milliseconds; files of a run share a few CRSs
        from odc.geo.crs import CRS

        _CRS_SAME[key] = CRS(wkt) == crs
    return _CRS_SAME[key]



# Resamplings for which one multi-band GDAL warp gives, band for band, what a warp of each
# band alone gives (GDAL 3.12, rasterio 1.5), provided the bands share their nodata pixels
# (a one-band warp skips a target pixel whose nearest source pixel is nodata; a multi-band
# one only where it is nodata in every band). Measured, not documented: GDAL's multi-band
# cubic, lanczos and sum kernels round integers differently (off by one), so those are
# warped a plane at a time.
_MULTIBAND_SAFE = frozenset(("nearest", "bilinear", "cubic_spline", "average", "mode", "min", "max",
                             "med", "q1", "q3", "rms"))
_WARP_MEM_MB = 64  # GDAL's default warp memory limit, which the one-band warps run under
_REPROJECT_SKIP_ATTRS = frozenset(("crs", "crs_wkt", "grid_mapping", "gcps", "epsg", "nodata", "_FillValue"))


def warp_bands(xx: xr.Dataset, dst: GeoBox, resampling_for: Callable[[str, Any], Any]) -> xr.Dataset:
    """Every band of ``xx`` onto ``dst``: what ``odc.geo.xr.xr_reproject`` gives band by band
    (``resampling_for(name, dtype)``, ``dst_nodata`` from the band's ``nodata`` attribute,
    the band's attributes kept; the dataset's less ``crs`` and ``grid_mapping``), value for
    value, in one GDAL warp per group of like bands.

    Each warp sets up its coordinate transformation (~10 ms, even for a small array), so
    planes of one dtype, resampling and nodata go through ``rasterio.warp.reproject``
    together as one (plane, y, x) stack. Bands whose spatial dimensions are not the last
    two go through ``xr_reproject`` itself.
    """
    src = xx.odc.geobox
    ny, nx = src.shape.yx
    out: dict[str, xr.DataArray] = {}
    kept: dict[str, tuple[list, Any]] = {}  # name: (warped planes, dst nodata)
    nodatas: dict[str, tuple[Any, Any]] = {}  # name: (src nodata, fill value)
    jobs: dict[tuple, list[tuple[str, int]]] = {}  # like planes: (band, plane index)
    for name, band in xx.data_vars.items():
        name, method = str(name), resampling_for(str(name), band.dtype)
        if band.dims[-2:] != tuple(src.dimensions):
            r = xr_reproject(band, dst, resampling=method, dst_nodata=band.attrs.get("nodata"))
            r.attrs.update(band.attrs)
            out[name] = r
            continue
        src_nodata = resolve_nodata("auto", band.dtype, band.odc.nodata)
        dst_nodata = resolve_nodata(band.attrs.get("nodata"), band.dtype, src_nodata)
        fill = resolve_fill_value(dst_nodata, src_nodata, band.dtype)
        n = int(np.prod(band.shape[:-2], dtype=int))
        kept[name] = ([None] * n, dst_nodata)
        nodatas[name] = (src_nodata, fill)
        rio = resampling_s2rio(method) if isinstance(method, str) else Resampling(method)
        key = (band.dtype.str, rio, _nodata_key(src_nodata), _nodata_key(fill))
        jobs.setdefault(key, []).extend((name, i) for i in range(n))
    for (_, method, _, _), planes in jobs.items():
        src_nodata, fill = nodatas[planes[0][0]]
        arrays = {name: xx.variables[name].values.reshape(-1, ny, nx) for name in {p[0] for p in planes}}
        # without GDAL where it is not needed: nearest onto a nested grid repeats pixels;
        # bilinear integer planes are sampled at GDAL's coordinates, plane by plane
        integer = arrays[planes[0][0]].dtype.kind in "iu"
        nest = _nested(src, dst) if method == Resampling.nearest else None
        coords = _warp_coords(src, dst) if method == Resampling.bilinear and integer else None
        fast = nest is not None or coords is not None
        for part in [planes] if fast else _like_planes(planes, arrays, method, src_nodata, dst):
            stack = np.stack([arrays[name][i] for name, i in part])
            if nest is not None:
                res = _repeat_stack(stack, nest, dst, src_nodata, fill)
            elif coords is not None:
                res = bilinear_at(stack, *coords, src_nodata, np.full((len(stack), *dst.shape.yx), fill, stack.dtype))
            else:
                res = _warp_stack(stack, src, dst, method, src_nodata, fill)
            for (name, i), plane in zip(part, res):  # views of res: no copy of the tile
                kept[name][0][i] = plane
    sdims = set(src.dimensions)
    band_dims = [set(xx.variables[name].dims) for name in kept]
    coords = {k: c.variable for k, c in xx.coords.items()  # those xr_reproject keeps of some band
              if not (c.ndim == 0 and ("spatial_ref" in c.attrs or "crs_wkt" in c.attrs))
              and sdims.isdisjoint(c.dims) and any(set(c.dims) <= d for d in band_dims)}
    coords.update({k: c.variable for k, c in xr_coords(dst).items()})
    result: dict[str, Any] = {}
    for name, var in xx.data_vars.items():
        name = str(name)
        result[name] = out[name] if name in out else _like_xr_reproject(var.variable, *kept[name], dst)
    res = xr.Dataset(result, coords=coords)
    res.attrs.update({k: v for k, v in xx.attrs.items() if k not in ("crs", "grid_mapping")})
    return res


def _nested(src: GeoBox, dst: GeoBox) -> tuple[int, int, int] | None:
    """``(k, row, col)`` when every pixel of ``dst`` lies inside one pixel of ``src``: same CRS,
    no rotation, ``src`` pixels ``k`` x ``k`` of ``dst``'s, ``dst``'s pixel (0, 0) at
    ``(row, col)`` of ``src`` upsampled by ``k``, and ``dst`` inside ``src``. None otherwise."""
    a, b = src.affine, dst.affine
    if a.b or a.d or b.b or b.d or src.crs is None or src.crs != dst.crs:
        return None
    k = _scale_and_offset(a.a, b.a, a.c, b.c)
    r = _scale_and_offset(a.e, b.e, a.f, b.f)
    if k is None or r is None or k[0] != r[0] or k[0] < 2:
        return None
    (k, col), (_, row) = k, r
    ny, nx = dst.shape.yx
    if row < 0 or col < 0 or row + ny > k * src.shape.y or col + nx > k * src.shape.x:
        return None
    return k, row, col


def _repeat_stack(stack: np.ndarray, nest: tuple[int, int, int], dst: GeoBox, src_nodata: Any,
                  fill: Any) -> np.ndarray:
    """What a GDAL nearest warp of a (plane, y, x) stack gives on ``dst``, a grid nested in
    the stack's (``_nested``): each target pixel is the source pixel it lies in, ``fill`` where
    that is nodata. The centre of target row ``i`` lies in source row ``(row + i) // k``
    exactly (no rounding), as for columns."""
    k, row, col = nest
    ny, nx = dst.shape.yx
    if src_nodata is not None and _nodata_key(src_nodata) != _nodata_key(fill):
        # nodata pixels become fill, on the smaller grid (a NaN is kept unless nodata is NaN, as GDAL does)
        nd = np.asarray(src_nodata).astype(stack.dtype)
        mask = np.isnan(stack) if _nodata_key(src_nodata) == "nan" else stack == nd
        if mask.any():
            stack = np.where(mask, np.asarray(fill).astype(stack.dtype), stack)
    out = np.empty((*stack.shape[:-2], ny, nx), dtype=stack.dtype)
    _repeat_into(out, stack, k, row, col)
    return out


def _nodata_key(v: Any) -> Any:
    """A dict key for a nodata value: NaN equals NaN, 0 equals 0.0 (GDAL takes a double)."""
    if v is None:
        return None
    f = float(v)
    return "nan" if np.isnan(f) else f


def _nodata_mask(a: np.ndarray, nodata: Any) -> np.ndarray | None:
    """The pixels GDAL takes as nodata in ``a`` (NaN too, in floats); None where it takes none."""
    floating = np.issubdtype(a.dtype, np.floating)
    if nodata is None and not floating:
        return None
    mask = np.isnan(a) if floating else np.zeros(a.shape, bool)
    if nodata is not None and not np.isnan(float(nodata)):
        mask |= a == np.asarray(nodata).astype(a.dtype)
    return mask


def _like_planes(planes: list[tuple[str, int]], arrays: dict[str, np.ndarray], method: Resampling,
                 src_nodata: Any, dst: GeoBox) -> list[list[tuple[str, int]]]:
    """``planes`` in lists that one multi-band warp each gives as one warp per plane would:
    planes sharing their nodata pixels (any, for nearest), where the resampling allows it and
    a one-plane warp is not cut into chunks (chunks change the approximated transformation)."""
    a = arrays[planes[0][0]]
    item = 2 if a.dtype.name in ("bool", "int8") else a.dtype.itemsize
    # more than GDAL's cost of a one-plane warp: pixels, validity masks and densities
    cost = (a.shape[-2] * a.shape[-1] + dst.shape.y * dst.shape.x) * (item + 9)
    if len(planes) == 1 or method.name not in _MULTIBAND_SAFE or cost > _WARP_MEM_MB * 2**20:
        return [[p] for p in planes]
    if method == Resampling.nearest:
        return [planes]
    parts: list[tuple[np.ndarray | None, list[tuple[str, int]]]] = []
    for name, i in planes:
        mask = _nodata_mask(arrays[name][i], src_nodata)
        for m, part in parts:
            if (m is None) == (mask is None) and (m is None or np.array_equal(m, mask)):
                part.append((name, i))
                break
        else:
            parts.append((mask, [(name, i)]))
    return [part for _, part in parts]


KERNEL_SCALE = 1
"""Warps use resampling kernels of radius 1 (``XSCALE=YSCALE=1``), as odc-geo's
``xr_reproject`` does by default. ``odc-stats run`` passes both as None, letting GDAL size
the kernel from each warp window's scale, rotation included (GDAL issue 7750): its
values then depend on how the tile is cut into windows, so strips of a tile would not
equal the whole tile. On a rotated UTM -> Albers tile (bench ``run``) this makes our
bands differ from odc-stats run's by tens of DN on noisy data (counts exact); against
odc-stats' own loading and reduce with radius-1 kernels they agree within 1 DN."""


def _warp_stack(stack: np.ndarray, src: GeoBox, dst: GeoBox, method: Resampling, src_nodata: Any,
                fill: Any) -> np.ndarray:
    """``odc.geo.warp.rio_reproject``'s ``rasterio.warp.reproject`` call, on a (plane, y, x) stack:
    booleans warped as 0/255 bytes, int8 as int16 (GDAL warps neither)."""
    out = np.full((len(stack), *dst.shape.yx), fill, dtype=stack.dtype)
    if stack.dtype == np.bool_:
        src_arr = np.where(stack, np.uint8(255), np.uint8(0))
        dst_arr = np.where(out, np.uint8(255), np.uint8(0))
    elif stack.dtype == np.int8:
        src_arr, dst_arr = stack.astype(np.int16), out.astype(np.int16)
    else:
        src_arr, dst_arr = stack, out
    rasterio.warp.reproject(
        src_arr, dst_arr, src_transform=src.transform, src_crs=str(src.crs), dst_transform=dst.transform,
        dst_crs=str(dst.crs), resampling=method, src_nodata=src_nodata, dst_nodata=fill,
        warp_mem_limit=_WARP_MEM_MB * len(stack), XSCALE=1, YSCALE=1)  # see KERNEL_SCALE
    if stack.dtype == np.bool_:
        np.copyto(out, dst_arr > 127, casting="unsafe")
    elif dst_arr is not out:
        np.copyto(out, dst_arr, casting="unsafe")
    return out


_COORDS_PAD = 2


def _warp_coords(src: GeoBox, dst: GeoBox) -> tuple[np.ndarray, np.ndarray] | None:
    """Source pixel coordinates (x, y) of every ``dst`` pixel centre, as GDAL's warper
    computes them (its approximate transformer, 0.125 px), or None when some ``dst`` pixel
    is within a pixel of the source's edge or off it (where GDAL has rules of its own).

    Taken from GDAL itself: a bilinear warp of two ramps (each source pixel's own centre
    coordinate) returns, at every target pixel, the point it was sampled at, since bilinear
    interpolation of a linear function is exact. The ramps reach ``_COORDS_PAD`` pixels
    past the source so that no sample is cut by its edge. Once per (source, target) grid
    pair: the days of a strip share them.
    """
    key = (str(src.crs), tuple(src.affine), tuple(src.shape.yx), str(dst.crs), tuple(dst.affine), tuple(dst.shape.yx))
    with _COORDS_LOCK:  # loader threads: the first computes, the others wait for it (once a strip)
        if key not in _COORDS:
            _COORDS[key] = _ramp_coords(src, dst)
            while len(_COORDS) > 2:  # the grids of the strip being loaded
                _COORDS.pop(next(iter(_COORDS)))
        return _COORDS[key]


_COORDS: dict[tuple, tuple[np.ndarray, np.ndarray] | None] = {}
_COORDS_LOCK = threading.Lock()


def _ramp_coords(src: GeoBox, dst: GeoBox) -> tuple[np.ndarray, np.ndarray] | None:
    from affine import Affine

    ny, nx = src.shape.yx
    pad = _COORDS_PAD
    shape = (ny + 2 * pad, nx + 2 * pad)
    ramps = np.empty((2, *shape))
    ramps[0] = np.arange(shape[1], dtype=np.float64) + 0.5
    ramps[1] = (np.arange(shape[0], dtype=np.float64) + 0.5)[:, None]
    out = np.full((2, *dst.shape.yx), np.nan)
    rasterio.warp.reproject(
        ramps, out, src_transform=src.affine * Affine.translation(-pad, -pad), src_crs=str(src.crs),
        dst_transform=dst.transform, dst_crs=str(dst.crs), resampling=Resampling.bilinear, src_nodata=None,
        dst_nodata=np.nan, warp_mem_limit=_WARP_MEM_MB * len(ramps), XSCALE=1, YSCALE=1)  # see KERNEL_SCALE
    sx, sy = out[0] - pad, out[1] - pad
    inside = (sx >= 1) & (sx < nx - 1) & (sy >= 1) & (sy < ny - 1)  # NaN: False
    return (sx, sy) if inside.all() else None


def _like_xr_reproject(band: xr.Variable, planes: list[np.ndarray], dst_nodata: Any, dst: GeoBox) -> xr.Variable:
    """``planes`` as ``xr_reproject(band, dst)`` gives it (attributes, encoding), then ``band``'s
    own attributes over them."""
    attrs = {k: v for k, v in band.attrs.items() if k not in _REPROJECT_SKIP_ATTRS}
    if not is_nodata_empty(dst_nodata):
        attrs.update({k: maybe_int(float(dst_nodata), 1e-6) for k in ("nodata", "_FillValue")})
    attrs.update(band.attrs)
    dims = (*band.dims[:-2], *dst.dimensions)
    data = planes[0] if len(planes) == 1 else np.stack(planes)
    return xr.Variable(dims, data.reshape(*band.shape[:-2], *dst.shape.yx), attrs,
                       encoding={"grid_mapping": "spatial_ref"})

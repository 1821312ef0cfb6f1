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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import rasterio
import xarray as xr
from datacube import Datacube
from datacube.model import Dataset
from datacube.storage import BandInfo
from datacube.storage._load import reproject_and_fuse
from datacube.storage._rio import _is_hdf, _url2rasterio
from datacube.utils.math import num2numpy, valid_mask
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

__all__ = ["load_group"]

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
                if _plain(band) and _read_window(band, m, dest, g):
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


def _read_window(band: BandInfo, m: Any, dest: np.ndarray, gbox: GeoBox) -> bool:
    """Read ``band`` into ``dest`` when its pixels tile ``gbox``'s exactly; False if they do not."""
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
    if k > 1:
        pix = np.repeat(np.repeat(pix, k, axis=0), k, axis=1)
        a, b = r0 + i0 - s_r0 * k, c0 + j0 - s_c0 * k
        pix = pix[a:a + (i1 - i0), b:b + (j1 - j0)]
    np.copyto(dest[i0:i1, j0:j1], pix, where=valid_mask(pix, nodata))
    return True


_CRS_SAME: dict[tuple[str, str], bool] = {}


def _same_crs(wkt: str, crs: Any) -> bool:
    key = (wkt, str(crs))
    if key not in _CRS_SAME:  # pyproj comparisons cost milliseconds; files of a run share a few CRSs
        from odc.geo.crs import CRS

        _CRS_SAME[key] = CRS(wkt) == crs
    return _CRS_SAME[key]

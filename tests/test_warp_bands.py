"""statscore._read.warp_bands gives what odc-geo's xr_reproject gives band by band (as
statscore.load reprojected before), in fewer GDAL warps.

A small Sentinel-2-like group in UTM (uint16 bands with nodata 0 and holes of their own, a
float32 band with NaN, a boolean mask) onto an Albers grid at another resolution that
reaches past the source.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio.warp
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords, xr_reproject

import statscore._read as reader

RESAMPLING = {"red": "bilinear", "nir": "bilinear", "swir": "cubic", "green": "nearest", "ndvi": "bilinear",
              "cloud": "nearest", "blue": "bilinear"}


def _group(holes: bool = True) -> xr.Dataset:
    rng = np.random.default_rng(42)
    src = GeoBox.from_bbox((500_000, 6_200_000, 501_200, 6_201_000), "EPSG:32756", resolution=10)
    shape = (1, *src.shape.yx)
    edge = np.zeros(shape, bool)
    edge[..., :, :7] = True  # outside the scene: nodata in every band
    crs = {"crs": "EPSG:32756", "grid_mapping": "spatial_ref"}
    bands = {}
    for name in ("blue", "green", "red", "nir", "swir"):
        v = rng.integers(1, 10_000, shape, dtype=np.uint16)
        v[edge] = 0
        if holes and name in ("red", "swir"):  # saturated/missing pixels in one band only
            v[rng.random(shape) < 0.03] = 0
        bands[name] = xr.Variable(("time", "y", "x"), v, {"nodata": 0, "units": "1", **crs})
    ndvi = rng.random(shape, dtype=np.float32)
    ndvi[edge | (rng.random(shape) < 0.05)] = np.nan
    bands["ndvi"] = xr.Variable(("time", "y", "x"), ndvi, {"nodata": np.nan, **crs})
    bands["cloud"] = xr.Variable(("time", "y", "x"), rng.random(shape) < 0.3, dict(crs))
    coords = {"time": [np.datetime64("2021-01-05T00:00:00", "ns")], **xr_coords(src, "spatial_ref")}
    return xr.Dataset(bands, coords=coords, attrs={"crs": "EPSG:32756", "grid_mapping": "spatial_ref",
                                                   "source": "test"})


def _tile(xx: xr.Dataset) -> GeoBox:
    """An Albers box at 15 m over the group's east part and past its eastern edge."""
    ext = xx.odc.geobox.extent.to_crs("EPSG:3577")
    x0, y0, x1, y1 = ext.boundingbox
    return GeoBox.from_bbox((x0 + 400, y0, x1 + 300, y1), "EPSG:3577", resolution=15)


def _resampling_for(name: str, dtype) -> str:
    return "nearest" if np.dtype(dtype) == np.bool_ else RESAMPLING[name]


def _per_band(xx: xr.Dataset, dst: GeoBox, resampling_for=_resampling_for) -> xr.Dataset:
    """What statscore.load._reproject did: xr_reproject band by band."""
    out = {}
    for name, band in xx.data_vars.items():
        r = xr_reproject(band, dst, resampling=resampling_for(str(name), band.dtype),
                         dst_nodata=band.attrs.get("nodata"))
        r.attrs.update(band.attrs)
        out[name] = r
    res = xr.Dataset(out)
    res.attrs.update({k: v for k, v in xx.attrs.items() if k not in ("crs", "grid_mapping")})
    return res


def _assert_identical(ours: xr.Dataset, ref: xr.Dataset) -> None:
    assert list(ours.data_vars) == list(ref.data_vars) and ours.attrs == ref.attrs
    for name in ref.data_vars:
        a, b = ours[name], ref[name]
        assert a.dtype == b.dtype and a.dims == b.dims, name
        np.testing.assert_array_equal(a.values, b.values, err_msg=str(name))  # NaN where NaN
        assert a.attrs.keys() == b.attrs.keys(), name
        for k in a.attrs:
            assert a.attrs[k] == b.attrs[k] or (np.isnan(a.attrs[k]) and np.isnan(b.attrs[k])), (name, k)
        assert a.encoding.get("grid_mapping") == b.encoding.get("grid_mapping"), name
    xr.testing.assert_identical(ours.coords.to_dataset(), ref.coords.to_dataset())


@pytest.mark.parametrize("holes", [True, False], ids=["own-holes", "shared-nodata"])
def test_warp_bands_matches_xr_reproject_band_by_band(holes):
    xx = _group(holes)
    dst = _tile(xx)
    ours = reader.warp_bands(xx, dst, _resampling_for)
    ref = _per_band(xx, dst)
    _assert_identical(ours, ref)
    # the tile reaches past the scene: nodata there, data elsewhere
    red = ours["red"].values[0]
    assert (red == 0).any() and (red > 0).mean() > 0.5
    assert ours["cloud"].dtype == bool and ours["cloud"].values.any()
    assert np.isnan(ours["ndvi"].values).any() and not np.isnan(ours["ndvi"].values).all()


def test_warp_bands_warps_like_bands_together(monkeypatch):
    calls = []
    real = rasterio.warp.reproject

    def counting(source, destination, **kw):
        if source.dtype != np.float64:  # not the coordinate ramps
            calls.append(source.shape[0] if source.ndim == 3 else 1)
        return real(source, destination, **kw)

    monkeypatch.setattr(rasterio.warp, "reproject", counting)
    xx = _group(holes=False)
    reader.warp_bands(xx, _tile(xx), _resampling_for)
    # uint16 bilinear (blue, red, nir: one nodata pattern), uint16 nearest (green),
    # uint16 cubic (swir), float32 bilinear (ndvi), bool nearest (cloud)
    assert sorted(calls) == [1, 1, 1, 1, 3]


def test_warp_bands_splits_bands_with_holes_of_their_own(monkeypatch):
    calls = []
    real = rasterio.warp.reproject
    monkeypatch.setattr(rasterio.warp, "reproject", lambda source, destination, **kw: (
        source.dtype == np.float64 or calls.append(len(source))) and None or real(source, destination, **kw))
    xx = _group(holes=True)
    reader.warp_bands(xx, _tile(xx), _resampling_for)
    # red has nodata pixels blue and nir do not: bilinear would differ warped together
    assert sorted(calls) == [1, 1, 1, 1, 1, 2]


def _nearest(name: str, dtype) -> str:
    return "nearest"


@pytest.mark.parametrize("box,res", [
    ((500_035, 6_200_015, 500_835, 6_200_965), 5),  # 2 x 2 per source pixel, odd offsets
    ((500_000, 6_200_000, 501_200, 6_201_000), 5),  # the whole source
    ((500_010, 6_200_020, 501_190, 6_200_980), 10 / 3),  # 3 x 3
    ((499_990, 6_200_015, 500_835, 6_200_965), 5),  # past the source's west edge: GDAL warps it
])
def test_nearest_onto_a_nested_grid_repeats_pixels_as_gdal_warps_them(box, res, monkeypatch):
    """A grid whose pixels lie inside the source's (pq's 20 m masks onto a 10 m tile) is
    filled by repeating source pixels, without GDAL, value for value as GDAL's warp."""
    xx = _group(holes=True)
    other = xr.where(xx["ndvi"] > 0.9, np.float32(-999), xx["ndvi"]).assign_attrs(nodata=-999)  # and NaN
    assert np.isnan(other.values).any() and (other.values == -999).any()
    xx = xx.assign(index=other)
    dst = GeoBox.from_bbox(box, "EPSG:32756", resolution=res)
    calls = []
    real = rasterio.warp.reproject
    monkeypatch.setattr(rasterio.warp, "reproject",
                        lambda source, destination, **kw: calls.append(len(source)) or real(source, destination, **kw))
    ours = reader.warp_bands(xx, dst, _nearest)
    inside = box[0] >= 500_000
    assert (calls == []) == inside
    monkeypatch.setattr(rasterio.warp, "reproject", real)
    _assert_identical(ours, _per_band(xx, dst, _nearest))
    assert (ours["red"].values == 0).any() and np.isnan(ours["ndvi"].values).any() and ours["cloud"].values.any()
    index = ours["index"].values  # nodata -999 and NaN both kept, as GDAL keeps them
    assert (index == -999).any() and np.isnan(index).any()


def _inner_tile(xx: xr.Dataset) -> GeoBox:
    """An Albers box at 10 m well inside the group: every target pixel has source pixels all
    around it, as the tiles loaded with a margin do."""
    ext = xx.odc.geobox.extent.to_crs("EPSG:3577")
    x0, y0, x1, y1 = ext.boundingbox
    return GeoBox.from_bbox((x0 + 250, y0 + 250, x1 - 250, y1 - 250), "EPSG:3577", resolution=10)


@pytest.mark.parametrize("holes", [True, False], ids=["own-holes", "shared-nodata"])
def test_bilinear_integer_planes_inside_the_source_skip_gdal_with_the_same_values(holes, monkeypatch):
    """Bilinear integer planes are resampled by statscore.algo.resample at GDAL's coordinates
    (one GDAL warp of two coordinate ramps per grid pair): equal to GDAL's own warp of each
    band, value for value, nodata holes and all."""
    xx = _group(holes)
    dst = _inner_tile(xx)
    ref = _per_band(xx, dst)
    calls = []
    real = rasterio.warp.reproject
    monkeypatch.setattr(rasterio.warp, "reproject", lambda source, destination, **kw: (
        calls.append((source.dtype.name, len(source) if source.ndim == 3 else 1)) and None
        or real(source, destination, **kw)))
    reader._COORDS.clear()
    ours = reader.warp_bands(xx, dst, _resampling_for)
    _assert_identical(ours, ref)
    # uint16 bilinear (blue, nir, red) by the kernel; GDAL: the ramps, float32 bilinear (ndvi),
    # uint16 nearest (green) and cubic (swir), bool nearest (cloud, as 0/255 bytes)
    assert sorted(calls) == [("float32", 1), ("float64", 2), ("uint16", 1), ("uint16", 1), ("uint8", 1)]
    red = ours["red"].values[0]
    assert (red == 0).any() == holes and (red > 0).mean() > 0.9


def test_bilinear_kernel_agrees_with_gdal_on_a_sentinel_2_like_day():
    """A 1300 x 1100 UTM window with clouds erased (nodata 0) onto 10 m Albers, as a gm-s2
    day on the warp path: every pixel as GDAL warps it."""
    src = GeoBox.from_bbox((300_000, 6_230_000, 313_000, 6_241_000), "EPSG:32756", resolution=10)
    cx, cy = src.extent.centroid.to_crs("EPSG:3577").coords[0]
    x0, y0 = 10 * round(cx / 10) - 4000, 10 * round(cy / 10) - 3000
    dst = GeoBox.from_bbox((x0, y0, x0 + 8000, y0 + 6000), "EPSG:3577", resolution=10)
    rng = np.random.default_rng(7)
    stack = rng.integers(1, 10_000, (3, *src.shape.yx)).astype(np.uint16)
    stack[:, rng.random(src.shape.yx) < 0.1] = 0
    stack[:, 300:500, 200:700] = 0  # a cloud
    gdal = np.zeros((3, *dst.shape.yx), np.uint16)
    for i in range(3):
        rasterio.warp.reproject(stack[i], gdal[i], src_transform=src.transform, src_crs=str(src.crs),
                                dst_transform=dst.transform, dst_crs=str(dst.crs), resampling=rasterio.enums.Resampling.bilinear,
                                src_nodata=0, dst_nodata=0, XSCALE=1, YSCALE=1)
    ours = reader._warp_stack(stack, src, dst, rasterio.enums.Resampling.bilinear, 0, 0)
    assert reader._warp_coords(src, dst) is not None  # the kernel's path
    np.testing.assert_array_equal(ours, gdal)
    assert (gdal == 0).mean() > 0.05

"""Reprojecting one (day, CRS) group onto a tile in another CRS: ``warp_bands`` (one GDAL warp
per group of like bands) vs odc-geo's ``xr_reproject`` band by band, as load did before.

Ten uint16 Sentinel-2-like bands (nodata 0 off the scene's edge, the same pixels in every
band, as after gm-s2's masking) of 1100 x 1100 px at 10 m in EPSG:32756 onto a 1024 x 1024
px EPSG:3577 tile at 10 m, nearest and bilinear; median milliseconds per group of several
runs, and a check that both give the same pixels.
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords, xr_reproject

from statscore._read import warp_bands

BANDS = [f"B{i:02d}" for i in range(1, 11)]


def _group(px: int) -> xr.Dataset:
    rng = np.random.default_rng(0)
    src = GeoBox.from_bbox((500_000, 6_200_000, 500_000 + 10 * px, 6_200_000 + 10 * px), "EPSG:32756", resolution=10)
    attrs = {"nodata": 0, "crs": "EPSG:32756", "grid_mapping": "spatial_ref"}
    bands = {}
    for b in BANDS:
        v = rng.integers(1, 10_000, (1, px, px), dtype=np.uint16)
        v[..., : px // 10] = 0  # off the scene
        bands[b] = xr.Variable(("time", "y", "x"), v, dict(attrs))
    coords = {"time": [np.datetime64("2021-01-05", "ns")], **xr_coords(src, "spatial_ref")}
    return xr.Dataset(bands, coords=coords, attrs={"crs": "EPSG:32756", "grid_mapping": "spatial_ref"})


def _tile(xx: xr.Dataset, px: int) -> GeoBox:
    c = xx.odc.geobox.extent.centroid.to_crs("EPSG:3577")
    x, y = (round(v / 10) * 10 for v in c.coords[0])
    h = 5 * px
    return GeoBox.from_bbox((x - h, y - h, x + h, y + h), "EPSG:3577", resolution=10)


def _per_band(xx: xr.Dataset, dst: GeoBox, method: str) -> xr.Dataset:
    out = {}
    for name, band in xx.data_vars.items():
        r = xr_reproject(band, dst, resampling=method, dst_nodata=band.attrs.get("nodata"))
        r.attrs.update(band.attrs)
        out[name] = r
    return xr.Dataset(out)


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def main(quick: bool = False) -> None:
    src_px, dst_px, runs = (300, 256, 3) if quick else (1100, 1024, 7)
    xx = _group(src_px)
    dst = _tile(xx, dst_px)
    print(f"{len(BANDS)} uint16 bands {src_px}x{src_px} EPSG:32756 -> {dst_px}x{dst_px} EPSG:3577, "
          f"median of {runs} runs")
    for method in ("nearest", "bilinear"):
        ours = warp_bands(xx, dst, lambda name, dtype, m=method: m)
        ref = _per_band(xx, dst, method)
        same = all(np.array_equal(ours[b].values, ref[b].values) for b in BANDS)
        t_ref = _median_ms(lambda m=method: _per_band(xx, dst, m), runs)
        t_ours = _median_ms(lambda m=method: warp_bands(xx, dst, lambda name, dtype: m), runs)
        print(f"{method:9s} per band {t_ref:8.1f} ms  warp_bands {t_ours:8.1f} ms  "
              f"x{t_ref / t_ours:.2f}  identical={same}")


if __name__ == "__main__":
    main()

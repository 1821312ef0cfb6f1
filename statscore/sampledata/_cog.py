"""Writing one band as a Cloud Optimized GeoTIFF with rio-cogeo.

rio-cogeo rather than GDAL's COG driver because the latter will not tile below 128
pixels, and test-sized scenes (32-256 px) still need tiles and internal overviews to
be honest COGs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from affine import Affine
from rasterio.io import MemoryFile
from rio_cogeo.cogeo import cog_translate

_PREDICTOR = {"u": 2, "i": 2, "f": 3}


def blocksize_for(shape: tuple[int, int]) -> int:
    """The largest power-of-two block (16..512) that is at most half the image, so even
    test-sized images get tiles and at least one internal overview."""
    size = 16
    while size * 2 <= min(512, max(shape) // 2):
        size *= 2
    return size


def write_cog(
    path: Path,
    data: np.ndarray,
    *,
    crs: str,
    transform: Affine,
    nodata: float | int | None,
    categorical: bool,
) -> None:
    """Write a 2-D array as a tiled, DEFLATE-compressed COG with internal overviews
    (nearest for categorical masks, average for reflectance)."""
    height, width = data.shape
    block = blocksize_for(data.shape)
    levels = 0
    while max(height, width) / 2 ** (levels + 1) >= block / 2 and levels < 6:
        levels += 1
    src_profile = dict(driver="GTiff", height=height, width=width, count=1, dtype=data.dtype.name,
                       crs=crs, transform=transform, nodata=nodata)
    dst_profile = dict(driver="GTiff", interleave="pixel", tiled=True, blockxsize=block, blockysize=block,
                       compress="DEFLATE", predictor=_PREDICTOR[data.dtype.kind])
    with MemoryFile() as mem:
        with mem.open(**src_profile) as tmp:
            tmp.write(data, 1)
        with mem.open() as src:
            cog_translate(
                src, str(path), dst_profile,
                nodata=nodata,
                overview_level=max(levels, 1),
                overview_resampling="nearest" if categorical else "average",
                in_memory=True, quiet=True, use_cog_driver=False,
                config={"GDAL_NUM_THREADS": "1"},
            )

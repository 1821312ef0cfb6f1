"""Statistics kernels (pure numpy/numba): geomedian + MADs, counts, percentiles,
medoid, mask morphology, bilinear resampling at given coordinates (GDAL's rules).

``statscore.algo`` is also a drop-in for geomad's array API (``nangeomedian_pcm``,
``smad_pcm``, ``emad_pcm``, ``bcmad_pcm``).
"""

from ._parallel import one_kernel_thread
from ._parallel import threads as kernel_threads
from .count import clear_count, count_valid
from .geomedian import (
    DEFAULT_BLOCK_BYTES,
    GeomedianMads,
    bcmad_pcm,
    emad_pcm,
    geomedian_mads,
    geomedian_with_mads,
    nangeomedian_pcm,
    smad_pcm,
)
from .medoid import medoid, medoid_composite
from .morphology import closing, dilation, erosion, mask_cleanup, opening
from .percentile import percentile, xr_quantile, xr_quantile_bands
from .resample import bilinear_at

__all__ = [
    "DEFAULT_BLOCK_BYTES",
    "GeomedianMads",
    "bcmad_pcm",
    "bilinear_at",
    "clear_count",
    "closing",
    "count_valid",
    "dilation",
    "emad_pcm",
    "erosion",
    "geomedian_mads",
    "geomedian_with_mads",
    "kernel_threads",
    "mask_cleanup",
    "one_kernel_thread",
    "medoid",
    "medoid_composite",
    "nangeomedian_pcm",
    "opening",
    "percentile",
    "smad_pcm",
    "xr_quantile",
    "xr_quantile_bands",
]

"""Statistics kernels (pure numpy/numba): geomedian + MADs, counts, percentiles,
medoid, mask morphology.

``statscore.algo`` is also a drop-in for geomad's array API (``nangeomedian_pcm``,
``smad_pcm``, ``emad_pcm``, ``bcmad_pcm``).
"""

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

__all__ = [
    "DEFAULT_BLOCK_BYTES",
    "GeomedianMads",
    "bcmad_pcm",
    "emad_pcm",
    "geomedian_mads",
    "geomedian_with_mads",
    "nangeomedian_pcm",
    "smad_pcm",
]

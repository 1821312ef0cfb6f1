"""Compile every numba kernel into its on-disk cache ahead of the first task.

A kernel is compiled the first time it is called with new argument types (seconds for
the geomedian's), then loaded from numba's cache (``NUMBA_CACHE_DIR``, else the package's
``__pycache__``) by later processes. A fresh worker container would pay that compile on
its first task; the Batch image runs ``python -m statscore.algo.warm`` at build time so
that its cache already holds the kernels for the input types the plugins load.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import numpy as np

#: Input dtypes of the plugins' stacks: Sentinel-2 L2A and fractional cover (uint16/uint8),
#: Landsat ARD (int16), tasselled-cap wetness (float32).
DTYPES = ("uint16", "int16", "uint8", "float32")


def compile_kernels(dtypes: Sequence[str] = DTYPES) -> float:
    """Call each kernel as the plugins do, on a tiny stack of each dtype; returns seconds."""
    import xarray as xr

    from . import bilinear_at, geomedian_with_mads, mask_cleanup, medoid_composite, xr_quantile_bands
    from .median import nanmedian

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    mask_cleanup(rng.random((2, 8, 8)) > 0.5, [("closing", 2), ("opening", 1), ("dilation", 1)])
    for name in dtypes:
        dtype = np.dtype(name)
        nodata = 0 if dtype.kind == "u" else (-999 if dtype.kind == "i" else np.nan)
        bands = {b: (("time", "y", "x"), rng.integers(1, 100, (4, 3, 5)).astype(dtype), {"nodata": nodata})
                 for b in ("a", "b")}
        ds = xr.Dataset(bands)
        geomedian_with_mads(ds)  # rows in one block: contiguous copies
        two_rows = 2 * len(bands) * 4 * 5 * dtype.itemsize  # blocks of some rows: strided copies
        geomedian_with_mads(ds, block_bytes=two_rows, num_threads=1)
        medoid_composite(ds)
        if dtype.kind in "iu":  # warps of integer bands (statscore._read)
            planes = rng.integers(1, 100, (2, 6, 6)).astype(dtype)
            at = np.full((3, 4), 2.5)
            bilinear_at(planes, at, at, nodata, np.zeros((2, 3, 4), dtype))
        xr_quantile_bands(ds, [0.1, 0.5, 0.9], nodata=nodata)
        if dtype.kind == "f":  # ndvi-median and model-pixel: NaN-skipping medians of float stacks
            nanmedian(ds["a"].values)
    return time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m statscore.algo.warm [DTYPE ...]``"""
    args = list(sys.argv[1:] if argv is None else argv) or list(DTYPES)
    print(f"numba kernels compiled for {', '.join(args)} in {compile_kernels(args):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

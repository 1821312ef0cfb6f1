"""Binary mask morphology with a disk footprint: dilation, erosion, opening, closing.

Same semantics as odc-algo's ``mask_cleanup`` (its vendored scikit-image isotropic
operators): the footprint of radius ``r`` holds every pixel at Euclidean distance
``<= r``; pixels outside the array count as neither set nor clear (dilation does not
grow from outside, erosion does not eat in from the edge); opening is erosion then
dilation, closing dilation then erosion; radius 0 does nothing; a filter list is
applied in order. One deliberate difference: an all-clear mask stays clear under
dilation and an all-set mask stays set under erosion (odc-algo's distance transform
has no background there and sets/clears pixels near the top-left corner).

Dilation is computed exactly and in O(pixels * (2r + 1)): per row the distance to the
nearest set pixel, then a pixel is set when some row ``dy`` away has a set pixel
within ``floor(sqrt(r^2 - dy^2))`` columns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numba import njit, prange

from ..errors import ConfigError, InputError, suggest
from ._parallel import threads

__all__ = ["OPERATIONS", "DEFAULT_FILTERS", "dilation", "erosion", "opening", "closing",
           "mask_cleanup", "filters_reach"]

#: Operation names accepted in a filter list, as in odc-stats configs.
OPERATIONS = ("opening", "closing", "dilation", "erosion")

#: odc-algo's default: remove specks smaller than radius 2, then pad by 5.
DEFAULT_FILTERS: tuple[tuple[str, int], ...] = (("opening", 2), ("dilation", 5))


@njit(cache=True, nogil=True, parallel=True)
def _dilate(mask, half, out):
    """out[i, r, c] = some mask[i, r + dy, c + dx] with |dx| <= half[dy + R]."""
    nz, ny, nx = mask.shape
    R = (half.shape[0] - 1) // 2
    cap = np.int32(R + 1 if R + 1 < nx + 1 else nx + 1)
    for z in range(nz):
        h = np.empty((ny, nx), dtype=np.int32)  # column distance to the nearest set pixel
        for r in prange(ny):
            last = -(1 << 30)
            for c in range(nx):
                if mask[z, r, c]:
                    last = c
                h[r, c] = min(c - last, cap)
            nxt = 1 << 30
            for c in range(nx - 1, -1, -1):
                if mask[z, r, c]:
                    nxt = c
                h[r, c] = min(h[r, c], nxt - c)
        for r in prange(ny):
            for c in range(nx):
                out[z, r, c] = False
            for dy in range(-R, R + 1):
                rr = r + dy
                if rr < 0 or rr >= ny:
                    continue
                lim = half[dy + R]
                for c in range(nx):
                    out[z, r, c] |= h[rr, c] <= lim


def _half_widths(radius: float) -> np.ndarray:
    """half[dy + R] = largest k with k^2 + dy^2 <= radius^2, for |dy| <= R = floor(radius)."""
    R = int(math.floor(radius))
    r2 = float(radius) * float(radius)
    half = np.empty(2 * R + 1, dtype=np.int32)
    for dy in range(-R, R + 1):
        k = int(math.isqrt(int(r2 - dy * dy))) if r2 - dy * dy >= 0 else -1
        while (k + 1) ** 2 + dy * dy <= r2:
            k += 1
        while k >= 0 and k * k + dy * dy > r2:
            k -= 1
        half[dy + R] = k
    return half


def _as_mask(mask: Any) -> tuple[np.ndarray, tuple[int, ...]]:
    m = np.asarray(mask)
    if m.ndim < 2:
        raise InputError(f"mask must have at least 2 dimensions (y, x), got shape {m.shape}")
    if m.dtype != bool:
        m = m.astype(bool)
    return m.reshape(-1, *m.shape[-2:]), m.shape


def _check_radius(radius: Any) -> float:
    if isinstance(radius, bool) or not isinstance(radius, (int, float, np.number)) \
            or not math.isfinite(radius) or radius < 0:
        raise ConfigError(f"radius must be a non-negative number, got {radius!r}")
    return float(radius)


#: Below this many pixels a mask is dilated on one thread: starting the parallel loops
#: costs more than they save (and much more on a busy machine, where the other threads
#: wait for a core).
SMALL_MASK_PX = 1 << 18


def _dilation3(m: np.ndarray, radius: float) -> np.ndarray:
    out = np.empty_like(m)
    _dilate(m, _half_widths(radius), out)
    return out


def _threads_for(m: np.ndarray, num_threads: int | None) -> int | None:
    return 1 if m.size < SMALL_MASK_PX else num_threads


def dilation(mask: np.ndarray, radius: float, num_threads: int | None = None) -> np.ndarray:
    """Set every pixel within Euclidean distance ``radius`` of a set pixel."""
    m, shape = _as_mask(mask)
    r = _check_radius(radius)
    if r < 1:
        return m.reshape(shape).copy()
    with threads(_threads_for(m, num_threads)):
        return _dilation3(m, r).reshape(shape)


def erosion(mask: np.ndarray, radius: float, num_threads: int | None = None) -> np.ndarray:
    """Keep set only pixels whose every pixel within ``radius`` (inside the array) is set."""
    m, shape = _as_mask(mask)
    r = _check_radius(radius)
    if r < 1:
        return m.reshape(shape).copy()
    with threads(_threads_for(m, num_threads)):
        return ~_dilation3(~m, r).reshape(shape)


def opening(mask: np.ndarray, radius: float, num_threads: int | None = None) -> np.ndarray:
    """Erosion then dilation: removes set regions the disk does not fit in."""
    return dilation(erosion(mask, radius, num_threads), radius, num_threads)


def closing(mask: np.ndarray, radius: float, num_threads: int | None = None) -> np.ndarray:
    """Dilation then erosion: fills clear holes and gaps the disk does not fit in."""
    return erosion(dilation(mask, radius, num_threads), radius, num_threads)


_OPS = {"opening": opening, "closing": closing, "dilation": dilation, "erosion": erosion}


def check_filters(mask_filters: Iterable[Sequence[Any]] | None) -> list[tuple[str, float]]:
    """Validate an ordered list of ``[operation, radius]`` pairs (``None``: the default)."""
    if mask_filters is None:
        return list(DEFAULT_FILTERS)
    out = []
    for item in mask_filters:
        if isinstance(item, (str, bytes)) or len(item) != 2:
            raise ConfigError(f"mask filter must be an [operation, radius] pair, got {item!r}")
        op, radius = item
        if op not in _OPS:
            raise ConfigError(f"unknown mask filter operation {op!r}{suggest(str(op), OPERATIONS)};"
                              f" expected one of {', '.join(OPERATIONS)}")
        out.append((op, _check_radius(radius)))
    return out


def filters_reach(filters: Iterable[Sequence[Any]]) -> int:
    """Pixels around a pixel that ordered ``[op, radius]`` filters can look at (so beyond a
    block edge, what can change a result): ``ceil(radius)`` per erosion or dilation, twice
    that per opening or closing (an erosion then a dilation). A bound: a disk of radius
    ``r`` reaches ``floor(r)`` pixels."""
    return sum(int(math.ceil(float(r))) * (2 if op in ("opening", "closing") else 1) for op, r in filters)


def mask_cleanup(mask: Any, mask_filters: Iterable[Sequence[Any]] | None = None,
                 num_threads: int | None = None) -> Any:
    """Apply morphological operations in order to a boolean mask (..., y, x).

    ``mask_filters`` is an ordered list of ``(operation, radius)`` with operation one of
    opening, closing, dilation, erosion (default: opening 2 then dilation 5, as
    odc-algo). Accepts numpy arrays and xarray DataArrays (numpy- or dask-backed; the
    last two dimensions are y, x; dask blocks overlap by the filters' reach, so the
    result equals the whole-array one).
    """
    filters = check_filters(mask_filters)

    def run(m: np.ndarray) -> np.ndarray:
        m = np.asarray(m).astype(bool)
        for op, radius in filters:
            if radius > 0:
                m = _OPS[op](m, radius, num_threads)
        return m

    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - xarray is a dependency
        xr = None
    if xr is not None and isinstance(mask, xr.DataArray):
        data = mask.data
        if hasattr(data, "dask"):
            d = filters_reach(filters)
            depth = {data.ndim - 2: d, data.ndim - 1: d}
            out = data.astype(bool).map_overlap(run, depth=depth, boundary="none", dtype=bool)
        else:
            out = run(data)
        return xr.DataArray(out, dims=mask.dims, coords=mask.coords, attrs=mask.attrs,
                            name=mask.name)
    return run(mask)

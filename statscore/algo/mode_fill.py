"""Fill placeholder pixels of a class map with the most common class around them.

The rule of odc-stats' land-cover ``replace_nodata_with_mode``: a pixel holding
``target`` takes the most frequent class in the (2r + 1)² window around it for the
smallest r in 1..``radius`` whose window has any class (``target`` and ``exclude``
values do not count; ties go to the smallest class); a pixel with none keeps
``target``. The map is extended at its edges by repeating the edge pixels (dask's
``boundary="nearest"``, as odc-stats runs it on one chunk per tile). Windows read the
input, never pixels already filled. Counts come from summed-area tables, one per class
present, so the cost does not depend on how many pixels are filled.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..errors import InputError

__all__ = ["fill_with_mode"]


def _window_counts(hit: np.ndarray, r: int, pad: int) -> np.ndarray:
    """Per pixel of the unpadded map, the number of ``hit`` pixels in its (2r+1)² window;
    ``hit`` is the map padded by ``pad`` >= r on every side."""
    sat = np.zeros((hit.shape[0] + 1, hit.shape[1] + 1), dtype=np.int32)
    np.cumsum(np.cumsum(hit, axis=0, dtype=np.int32), axis=1, out=sat[1:, 1:])
    ny, nx = hit.shape[0] - 2 * pad, hit.shape[1] - 2 * pad
    y0, x0 = pad - r, pad - r
    y1, x1 = y0 + ny, x0 + nx
    w = 2 * r + 1
    return (sat[y0 + w:y1 + w, x0 + w:x1 + w] - sat[y0:y1, x0 + w:x1 + w]
            - sat[y0 + w:y1 + w, x0:x1] + sat[y0:y1, x0:x1])


def fill_with_mode(classes: np.ndarray, target: int, exclude: Iterable[int] = (), radius: int = 1) -> np.ndarray:
    """``classes`` (y, x, integers) with its ``target`` pixels filled as described above."""
    classes = np.asarray(classes)
    if classes.ndim != 2 or classes.dtype.kind not in "iu":
        raise InputError(f"fill_with_mode needs a 2-D integer class map, got {classes.dtype} {classes.shape}")
    out = classes.copy()
    todo = classes == target
    if radius < 1 or not todo.any():
        return out
    padded = np.pad(classes, radius, mode="edge")
    skip = set(int(v) for v in exclude) | {int(target)}
    values = [int(v) for v in np.unique(padded) if int(v) not in skip]
    for r in range(1, radius + 1):
        if not todo.any() or not values:
            break
        best = np.zeros(classes.shape, dtype=np.int32)
        best_value = np.zeros(classes.shape, dtype=classes.dtype)
        for v in values:  # ascending: a tie keeps the smaller class
            n = _window_counts(padded == v, r, radius)
            better = n > best
            best[better] = n[better]
            best_value[better] = v
        filled = todo & (best > 0)
        out[filled] = best_value[filled]
        todo &= ~filled
    return out

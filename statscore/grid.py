"""Named tiling grids and ``crs;res;shape`` grid specs, as odc-stats names them.

The grids are odc-geo ``GridSpec`` objects; names and origins match odc-dscache so a
cache written by either tool opens in the other.
"""

from __future__ import annotations

from odc.geo import CRS, resyx_, xy_, yx_
from odc.geo.gridspec import GridSpec

from .errors import ConfigError, suggest

__all__ = ["GRIDS", "grid_names", "parse_grid", "tile_bounds"]

_AU_ORIGIN = yx_(-5472000.0, -2688000.0)
_AU_EXT_ORIGIN = yx_(-6912000.0, -4416000.0)
_GLOBAL_ORIGIN = yx_(-7392000.0, -17376000.0)


def _grid(epsg: int, tile_m: float, res: float, origin=None) -> GridSpec:
    n = int(round(tile_m / res))
    return GridSpec(crs=CRS(f"EPSG:{epsg}"), tile_shape=xy_(n, n), resolution=res, origin=origin)


def _build() -> dict[str, GridSpec]:
    grids: dict[str, GridSpec] = {
        "albers_au_25": _grid(3577, 100_000, 25),
        "au": _grid(3577, 96_000, 96_000, _AU_ORIGIN),
        "au_extended": _grid(3577, 96_000, 96_000, _AU_EXT_ORIGIN),
        "au_extended_s2": _grid(3577, 32_000, 32_000, _AU_EXT_ORIGIN),
        "global": _grid(6933, 96_000, 96_000, _GLOBAL_ORIGIN),
    }
    for r in (10, 20, 30, 60):
        grids[f"au_{r}"] = _grid(3577, 96_000, r, _AU_ORIGIN)
        grids[f"au_extended_{r}"] = _grid(3577, 96_000, r, _AU_EXT_ORIGIN)
        grids[f"global_{r}"] = _grid(6933, 96_000, r, _GLOBAL_ORIGIN)
    for r in (10, 20, 40, 80):
        grids[f"au_extended_s2_{r}"] = _grid(3577, 32_000, r, _AU_EXT_ORIGIN)
    grids["africa"] = grids["global"]
    for r in (10, 20, 30, 60):
        grids[f"africa_{r}"] = grids[f"global_{r}"]
    return grids


GRIDS: dict[str, GridSpec] = _build()
"""Named grids; ``-`` in a user-given name is read as ``_``."""


def grid_names() -> list[str]:
    return sorted(GRIDS)


def _parse_spec(text: str) -> GridSpec:
    """``"epsg:6933;10;9600"`` or ``"epsg:6936;-10x10;9600x9600"`` (origin 0,0)."""
    parts = text.split(";")
    if len(parts) != 3:
        raise ConfigError(
            f"grid {text!r}: expected a grid name or 'crs;resolution;shape' "
            f"(e.g. 'epsg:6933;10;9600'); named grids: {', '.join(grid_names())}"
        )
    crs_s, res_s, shape_s = (p.strip() for p in parts)
    try:
        crs = CRS(crs_s)
    except Exception:  # pyproj raises several types
        raise ConfigError(f"grid {text!r}: unknown CRS {crs_s!r}") from None
    try:
        if "x" in res_s:
            ry, rx = (float(v) for v in res_s.split("x"))
            res = resyx_(ry, rx)
        else:
            res = resyx_(-abs(float(res_s)), abs(float(res_s)))
        if "x" in shape_s:
            sy, sx = (int(v) for v in shape_s.split("x"))
        else:
            sy = sx = int(shape_s)
    except ValueError:
        raise ConfigError(
            f"grid {text!r}: resolution and shape must be numbers, like '10' / '-10x10' and '9600' / '9600x9600'"
        ) from None
    if sx <= 0 or sy <= 0 or res.x == 0 or res.y == 0:
        raise ConfigError(f"grid {text!r}: resolution and shape must be non-zero and positive shape")
    return GridSpec(crs=crs, tile_shape=xy_(sx, sy), resolution=res, origin=None)


def parse_grid(text: str) -> tuple[str, GridSpec]:
    """Resolve a grid name or spec into ``(name, GridSpec)``.

    The name is kept as the user spelt it (``au-30`` stays ``au-30``), since odc-stats
    stores it so in the cache's group keys; a spec's name has ``;`` replaced by ``_``.
    """
    text = (text or "").strip()
    if not text:
        raise ConfigError(f"--grid is required: one of {', '.join(grid_names())} or 'crs;resolution;shape'")
    gs = GRIDS.get(text.replace("-", "_"))
    if gs is not None:
        return text, gs
    if ";" not in text:
        raise ConfigError(
            f"unknown grid {text!r}{suggest(text.replace('-', '_'), grid_names())}; "
            f"valid: {', '.join(grid_names())} or a 'crs;resolution;shape' spec"
        )
    return text.replace(";", "_"), _parse_spec(text)


def tile_bounds(gs: GridSpec, ix, iy):
    """Tile edges ``(x0, y0, x1, y1)`` in the grid CRS, vectorised over index arrays."""
    tx, ty = gs.tile_size.xy
    ox, oy = gs.origin.xy
    return (ox + ix * tx, oy + iy * ty, ox + (ix + 1) * tx, oy + (iy + 1) * ty)

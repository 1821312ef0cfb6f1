"""Task identity: ``(period, x, y)`` and every textual form odc-stats users type.

Forms accepted by :func:`parse_task`:
``2015--P1Y/49/24`` (rendered), ``2015--P1Y,49,24``, ``x49/y24/2015--P1Y`` (output
folder), ``x+003/y+004/2019--P1Y`` (README form) and ``<grid>/2015--P1Y/+0049/+0024``
(cache group key).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .errors import InputError

__all__ = ["TileIdx", "render_task", "parse_task", "group_key", "task_folder", "TileRange", "parse_tile_range"]


class TileIdx(NamedTuple):
    """One task: a period string and a tile index; sorts as odc-stats sorts tasks."""

    period: str
    x: int
    y: int


_PERIOD = r"\d{4}(?:-\d{2}){0,2}--P[0-9YMWDTHS]+"
_INT = r"[+-]?\d+"
_FORMS = [
    re.compile(rf"^(?P<t>{_PERIOD})[/,](?P<x>{_INT})[/,](?P<y>{_INT})$"),
    re.compile(rf"^x(?P<x>{_INT})[/,]y(?P<y>{_INT})[/,](?P<t>{_PERIOD})$"),
    re.compile(rf"^[^/]+/(?P<t>{_PERIOD})/(?P<x>{_INT})/(?P<y>{_INT})$"),
]


def render_task(tidx: tuple[str, int, int]) -> str:
    """``2015--P1Y/49/24``: the form odc-stats prints and puts in SQS messages."""
    t, x, y = tidx
    return f"{t}/{x:02d}/{y:02d}"


def parse_task(text: str) -> TileIdx:
    """Any accepted textual form -> :class:`TileIdx`; :class:`InputError` otherwise."""
    s = text.strip()
    for rx in _FORMS:
        m = rx.match(s)
        if m:
            return TileIdx(m["t"], int(m["x"]), int(m["y"]))
    raise InputError(
        f"task {text!r}: expected forms like '2015--P1Y/49/24', 'x49/y24/2015--P1Y' "
        "or 'x+003/y+004/2019--P1Y'"
    )


def group_key(grid: str, tidx: tuple[str, int, int]) -> str:
    """The cache group name odc-dscache uses: ``au-30/2015--P1Y/+0049/+0024``."""
    t, x, y = tidx
    return f"{grid}/{t}/{x:+05d}/{y:+05d}"


def task_folder(tidx: tuple[str, int, int]) -> str:
    """Output folder relative to the product location: ``x49/y24/2015--P1Y``."""
    t, x, y = tidx
    return f"x{x:02d}/y{y:02d}/{t}"


class TileRange(NamedTuple):
    """Half-open tile index ranges ``[x0, x1) x [y0, y1)``."""

    x0: int
    x1: int
    y0: int
    y1: int

    def contains(self, ix, iy):
        """Vectorised membership test over index arrays."""
        return (ix >= self.x0) & (ix < self.x1) & (iy >= self.y0) & (iy < self.y1)


def parse_tile_range(text: str) -> TileRange:
    """``"x0:x1,y0:y1"`` as odc-stats' ``--tiles`` option."""
    m = re.fullmatch(rf"\s*({_INT}):({_INT})\s*,\s*({_INT}):({_INT})\s*", text or "")
    if not m:
        raise InputError(f"--tiles {text!r}: expected 'x0:x1,y0:y1', e.g. '40:45,20:22'")
    x0, x1, y0, y1 = (int(v) for v in m.groups())
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"--tiles {text!r}: ranges are half-open and must not be empty")
    return TileRange(x0, x1, y0, y1)

"""Masking and fusing helpers shared by the plugins: class and bit-flag masks, erasing,
same-day fusers, the RGBA preview. numpy- or dask-backed DataArrays throughout."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..algo.morphology import check_filters
from ..errors import ConfigError, InputError, suggest

__all__ = [
    "enum_classes", "enum_mask", "bit_flags_mask", "erase", "erase_bands", "fuse_first_valid", "fuse_or",
    "fuse_mean", "to_rgba", "check_filter_map", "Filters",
]

Filters = list[tuple[str, float]]


# ---- class masks ----------------------------------------------------------------------


def _enum_table(mask: xr.DataArray, defaults: Mapping[int, str]) -> dict[str, int]:
    """Class name -> value from the band's ``flags_definition`` (the first flag whose
    values are integer-keyed names), else ``defaults``."""
    flags = mask.attrs.get("flags_definition")
    if isinstance(flags, Mapping):
        for flag in flags.values():
            values = flag.get("values") if isinstance(flag, Mapping) else None
            if isinstance(values, Mapping) and values and all(isinstance(v, str) for v in values.values()):
                try:
                    return {str(name): int(key) for key, name in values.items()}
                except (TypeError, ValueError):
                    continue
    return {name: int(value) for value, name in defaults.items()}


def enum_classes(mask: xr.DataArray, names: Iterable[str | int], defaults: Mapping[int, str]) -> list[int]:
    """Values of the classes ``names`` (names or integers) of a class band."""
    table = _enum_table(mask, defaults)
    out = []
    for name in names:
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
            out.append(int(name))
        elif name in table:
            out.append(table[name])
        else:
            raise ConfigError(f"unknown class {name!r} of band {mask.name!r}{suggest(str(name), list(table))};"
                              f" classes: {', '.join(map(repr, table))}")
    return out


def enum_mask(mask: xr.DataArray, names: Iterable[str | int], defaults: Mapping[int, str]) -> xr.DataArray:
    """True where ``mask`` is one of the classes ``names``."""
    values = enum_classes(mask, names, defaults)
    data = mask.data
    if values and isinstance(data, np.ndarray) and data.dtype in (np.uint8, np.uint16):
        # a table lookup: what ``isin`` gives, ~15x faster (it sorts or compares per value)
        table = np.zeros(np.iinfo(data.dtype).max + 1, dtype=bool)
        table[[v for v in values if 0 <= v < table.size]] = True
        out = xr.DataArray(np.take(table, data), dims=mask.dims, coords=mask.coords, attrs=dict(mask.attrs),
                           name=mask.name)
    else:
        out = mask.isin(values) if values else xr.zeros_like(mask, dtype=bool)
    return out.assign_attrs({})


def check_class_names(names: Iterable[str | int], defaults: Mapping[int, str], what: str) -> None:
    """Early check of class names against the product's usual classes."""
    known = set(defaults.values())
    for name in names:
        if isinstance(name, str) and name not in known:
            raise ConfigError(f"unknown {what} class {name!r}{suggest(name, sorted(known))};"
                              f" classes: {', '.join(map(repr, defaults.values()))}")


# ---- bit flags ------------------------------------------------------------------------


def _flag_match(flag_def: Mapping[str, Any], value: Any, name: str) -> tuple[int, int]:
    bits = flag_def["bits"]
    bits = [bits] if isinstance(bits, int) else list(bits)
    mask = 0
    for b in bits:
        mask |= 1 << int(b)
    for key, label in flag_def.get("values", {}).items():
        if label == value and type(label) is type(value) or (str(label) == str(value)):
            return mask, int(key) << min(bits)
    choices = [repr(v) for v in flag_def.get("values", {}).values()]
    raise ConfigError(f"flag {name!r} has no value {value!r}; values: {', '.join(choices)}")


def bit_flags_mask(band: xr.DataArray, flags: Mapping[str, Any], defaults: Mapping[str, Any],
                   any_of: bool = True) -> xr.DataArray:
    """Per pixel whether the bit flags match ``flags`` ({flag: value}): any of them
    (``any_of``) or all of them. Flag definitions come from the band's
    ``flags_definition``, else ``defaults``."""
    table = band.attrs.get("flags_definition") or defaults
    out = None
    data = band.astype(np.int64) if band.dtype.kind == "i" else band
    for name, value in flags.items():
        if name not in table:
            raise ConfigError(f"unknown flag {name!r} of band {band.name!r}{suggest(str(name), list(table))};"
                              f" flags: {', '.join(table)}")
        m, v = _flag_match(table[name], value, name)
        hit = (data & m) == v
        out = hit if out is None else (out | hit if any_of else out & hit)
    if out is None:
        out = xr.zeros_like(band, dtype=bool) if any_of else xr.ones_like(band, dtype=bool)
    return out.assign_attrs({})


# ---- filters --------------------------------------------------------------------------


def check_filter_map(filters: Mapping[Any, Any] | None, what: str) -> dict[Any, Filters] | None:
    """Validate {key: [[op, radius], ...]}; keys may be a class name or a list of them."""
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise ConfigError(f"{what} must be a mapping of name -> [[operation, radius], ...], got {filters!r}")
    out = {}
    for key, value in filters.items():
        if isinstance(key, list):
            key = tuple(key)
        out[key] = check_filters(value)
    return out


# ---- erasing --------------------------------------------------------------------------


def nodata_of(band: xr.DataArray) -> Any:
    nd = band.attrs.get("nodata")
    if nd is None and band.dtype.kind == "f":
        return float("nan")
    return nd


def erase(band: xr.DataArray, bad: xr.DataArray, nodata: Any = None) -> xr.DataArray:
    """``band`` with ``nodata`` (default its own) where ``bad``; dtype and attrs kept."""
    if nodata is None:
        nodata = nodata_of(band)
    if nodata is None:
        raise InputError(f"band {band.name!r} has no nodata value to erase pixels with")
    fill = np.array(nodata).astype(band.dtype)
    if isinstance(bad, xr.DataArray) and bad.dims == band.dims and bad.shape == band.shape:
        # same grid: skip xarray's alignment, which costs more than the masking itself
        return band.copy(deep=False, data=_where_fill(bad.data, fill, band.data))
    out = band.where(~bad, fill)
    if out.dtype != band.dtype:
        out = out.astype(band.dtype)
    return out.assign_attrs(band.attrs)


def _where_fill(bad: Any, fill: np.ndarray, data: Any) -> Any:
    """``np.where(bad, fill, data)``, the same values: integer numpy bands as
    ``data * ~bad + fill * bad``, exact for integers (each pixel is ``data`` or ``fill`` plus
    0) and 20-30x faster than ``np.where``'s per-element branch on a scattered mask."""
    if not (isinstance(bad, np.ndarray) and isinstance(data, np.ndarray) and bad.dtype == np.bool_
            and data.dtype.kind in "iu" and bad.shape == data.shape):
        return np.where(bad, fill, data)
    out = np.multiply(data, ~bad)
    if fill != 0:
        np.add(out, np.multiply(bad, fill, dtype=data.dtype), out=out)
    return out


def erase_bands(xx: xr.Dataset, names: Iterable[str], bad: xr.DataArray, nodata: Any = None) -> xr.Dataset:
    """The bands ``names`` of ``xx``, each erased where ``bad`` (a Dataset with ``xx``'s attrs)."""
    names = list(names)
    sub = xx[names]
    return sub.copy(deep=False, data={n: erase(sub[n], bad, nodata).data for n in names})


def is_missing(data: np.ndarray, nodata: Any) -> np.ndarray:
    """Per element whether ``data`` is NaN or ``nodata``."""
    if data.dtype == np.bool_:
        return ~data
    miss = np.isnan(data) if data.dtype.kind == "f" else np.zeros(data.shape, dtype=bool)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        miss |= data == nodata
    return miss


# ---- fusers ---------------------------------------------------------------------------


def _fuse_array(band: xr.DataArray, op: Callable[[np.ndarray], np.ndarray]) -> xr.DataArray:
    """Apply ``op`` ((t, ...) -> (...)) over the leading (time) axis; keeps time length 1."""
    if band.shape[0] == 1:
        return band
    tdim = band.dims[0]
    data = band.data
    if hasattr(data, "dask"):
        data = data.rechunk({0: -1})
        out = data.map_blocks(lambda b: op(b)[None], chunks=((1,), *data.chunks[1:]), dtype=band.dtype)
    else:
        out = op(np.asarray(data))[None]
    coords = {k: (v[:1] if tdim in v.dims else v) for k, v in band.coords.items()}
    return xr.DataArray(out, dims=band.dims, coords=coords, attrs=band.attrs, name=band.name)


def _single(xx: xr.Dataset) -> bool:
    """One observation per band already: every fuser is the identity (most groups are one scene)."""
    return all(v.ndim > 0 and v.shape[0] == 1 for v in xx.data_vars.values())


def _first_valid_np(nodata: Any) -> Callable[[np.ndarray], np.ndarray]:
    def op(stack: np.ndarray) -> np.ndarray:
        if stack.dtype == np.bool_:
            return stack.any(axis=0)
        out = stack[0].copy()
        for layer in stack[1:]:
            gap = is_missing(out, nodata)
            out[gap] = layer[gap]
        return out
    return op


def fuse_first_valid(xx: xr.Dataset | xr.DataArray) -> Any:
    """Per pixel the first valid value of the group (booleans: OR)."""
    if isinstance(xx, xr.Dataset):
        if _single(xx):
            return xx
        return xr.Dataset({n: fuse_first_valid(xx[n]) for n in xx.data_vars}, attrs=xx.attrs)
    return _fuse_array(xx, _first_valid_np(nodata_of(xx)))


def fuse_or(xx: xr.Dataset | xr.DataArray) -> Any:
    """Per pixel OR of the group's boolean masks."""
    if isinstance(xx, xr.Dataset):
        if _single(xx):
            return xx
        return xr.Dataset({n: fuse_or(xx[n]) for n in xx.data_vars}, attrs=xx.attrs)
    return _fuse_array(xx, lambda s: np.asarray(s, dtype=bool).any(axis=0))


def fuse_mean(xx: xr.Dataset | xr.DataArray, nodata: Any) -> Any:
    """Per pixel mean of the group's valid values, rounded for integers (odc-stats'
    mean fuser for overlapping fractional-cover / tasseled-cap scenes)."""
    if isinstance(xx, xr.Dataset):
        return xr.Dataset({n: fuse_mean(xx[n], nodata) for n in xx.data_vars}, attrs=xx.attrs)

    def op(stack: np.ndarray) -> np.ndarray:
        ok = ~is_missing(stack, nodata)
        n = ok.sum(axis=0)
        total = np.where(ok, stack, 0).sum(axis=0, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / n
        if stack.dtype.kind != "f":
            mean = np.rint(mean)
        mean[n == 0] = nodata
        return mean.astype(stack.dtype)

    return _fuse_array(xx, op)


# ---- preview --------------------------------------------------------------------------


def to_rgba(xx: xr.Dataset, bands: Sequence[str], clamp: tuple[float, float]) -> xr.DataArray:
    """uint8 (y, x, band) with band = r, g, b, a: values clamped to ``clamp`` and scaled
    to 0..255 (rounded); alpha 255 where the red band is valid."""
    missing = [b for b in bands if b not in xx.data_vars]
    if missing:
        raise InputError(f"rgb band(s) {', '.join(map(repr, missing))} not in the result "
                         f"(have: {', '.join(map(str, xx.data_vars))})")
    lo, hi = clamp
    red = xx[bands[0]]

    def u8(band: xr.DataArray) -> np.ndarray:
        v = np.asarray(band.data, dtype=np.float64)
        v = np.clip(np.nan_to_num(v, nan=lo), lo, hi)
        return np.rint((v - lo) * (255.0 / (hi - lo))).astype(np.uint8)

    valid = ~is_missing(np.asarray(red.data), nodata_of(red))
    planes = [u8(xx[b]) for b in bands] + [np.where(valid, 255, 0).astype(np.uint8)]
    data = np.stack(planes, axis=-1)
    ydim, xdim = red.dims[-2:]
    coords = {k: v for k, v in red.coords.items() if set(v.dims) <= {ydim, xdim}}
    coords["band"] = ["r", "g", "b", "a"]
    return xr.DataArray(data, dims=(ydim, xdim, "band"), coords=coords, name="rgba")

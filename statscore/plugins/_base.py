"""The plugin interface: what a statistic needs as input and how it reduces a time stack.

The shape is odc-stats' ``StatsPluginInterface``, so its users recognise it. The run
orchestration calls, in order:

1. ``plugin.input_bands`` (and ``optional_bands``) to know what to load;
2. ``plugin.native_transform(xx)`` on each dataset loaded in its native CRS
   (masking, morphology), a Dataset of (time, y, x) bands;
3. ``plugin.fuser(xx)`` on every same-solar-day group in the native CRS (always, also
   for a group of one), which returns the group as one time slice (time length 1);
4. reprojection to the tile GeoBox, each band with ``plugin.resampling_for(band, dtype)``;
5. ``plugin.reduce(xx)`` on the (time, y, x) Dataset -> Dataset of (y, x) bands named
   and ordered as ``plugin.measurements``, with ``output_dtypes()`` / ``output_nodata()``
   (possibly on strips of the tile, each with ``plugin.reduce_margin`` rows of context
   above and below that are cropped off the result);
6. ``plugin.rgba(result)`` -> optional uint8 (y, x, band=r,g,b,a) preview.

Plugins are pure xarray/numpy transforms: numpy- or dask-backed input is accepted
everywhere; a ``reduce`` result may be dask-backed (call ``.compute()``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ..algo.morphology import filters_reach
from ..errors import ConfigError, InputError

__all__ = ["StatsPlugin", "DaySumPlugin", "CountPlugin", "RESAMPLING_METHODS", "add_sums", "filters_reach",
           "count_by_days"]

#: Resampling names accepted per band (GDAL/rasterio names, as datacube takes them).
RESAMPLING_METHODS = ("nearest", "bilinear", "cubic", "cubic_spline", "lanczos", "average",
                      "mode", "min", "max", "med", "q1", "q3", "sum", "rms")


class StatsPlugin(ABC):
    """Base of every statistic: subclasses set the class attributes, ``measurements``,
    ``input_bands``, ``output_dtypes``/``output_nodata`` and ``reduce``."""

    NAME: ClassVar[str] = "*unset*"
    """Product name the outputs are published under (odc-stats' ``NAME``)."""
    SHORT_NAME: ClassVar[str] = ""
    """Short product name used in paths (odc-stats' ``SHORT_NAME``)."""
    VERSION: ClassVar[str] = "0.0.0"
    """Product version."""
    PRODUCT_FAMILY: ClassVar[str] = "statistics"
    """eo3 ``odc:product_family``."""

    #: Bands whose values are classes or counts (nearest-neighbour overviews).
    CATEGORICAL: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        resampling: str | Mapping[str, str] = "bilinear",
        chunks: Mapping[str, int] | None = None,
        group_by: str = "solar_day",
        rgb_bands: Sequence[str] | None = None,
        rgb_clamp: Sequence[float] = (1.0, 3_000.0),
    ):
        self.resampling = _check_resampling(resampling)
        self.chunks = dict(chunks) if chunks is not None else {"y": -1, "x": -1}
        if group_by not in ("solar_day", "time"):
            raise ConfigError(f"group_by must be 'solar_day' or 'time', got {group_by!r}")
        self.group_by = group_by
        if rgb_bands is not None:
            rgb_bands = tuple(rgb_bands)
            if len(rgb_bands) != 3:
                raise ConfigError(f"rgb_bands must name 3 bands (red, green, blue), got {list(rgb_bands)}")
        self.rgb_bands: tuple[str, str, str] | None = rgb_bands  # type: ignore[assignment]
        clamp = tuple(float(v) for v in rgb_clamp)
        if len(clamp) != 2 or not clamp[0] < clamp[1]:
            raise ConfigError(f"rgb_clamp must be [low, high] with low < high, got {list(rgb_clamp)}")
        self.rgb_clamp: tuple[float, float] = clamp  # type: ignore[assignment]

    # ---- what the plugin needs and produces ------------------------------------------

    @property
    @abstractmethod
    def input_bands(self) -> tuple[str, ...]:
        """Bands to load, as the product names them (or their aliases)."""

    @property
    def optional_bands(self) -> tuple[str, ...]:
        """Bands loaded when the product has them."""
        return ()

    @property
    @abstractmethod
    def measurements(self) -> tuple[str, ...]:
        """Output bands, in order."""

    @abstractmethod
    def output_dtypes(self) -> dict[str, np.dtype]:
        """Output band -> numpy dtype, for every band of ``measurements``."""

    @abstractmethod
    def output_nodata(self) -> dict[str, float | int | None]:
        """Output band -> nodata value (NaN for float bands; ``None``: every value is
        data, e.g. a count where 0 means no observation)."""

    @property
    def categorical_bands(self) -> tuple[str, ...]:
        """Output bands holding classes or counts: overviews use nearest, not average."""
        return tuple(b for b in self.measurements if b in self.CATEGORICAL)

    def resampling_for(self, band: str, dtype: Any = None) -> str:
        """Resampling for reprojecting ``band`` (after ``native_transform``): boolean and
        mask bands always ``nearest``; otherwise the configured method (a mapping may
        name bands, with ``"*"`` for the rest)."""
        if dtype is not None and np.dtype(dtype) == np.bool_:
            return "nearest"
        if band in self.mask_bands:
            return "nearest"
        if isinstance(self.resampling, Mapping):
            return self.resampling.get(band, self.resampling.get("*", "nearest"))
        return self.resampling

    @property
    def mask_bands(self) -> tuple[str, ...]:
        """Input bands holding classes or bit flags (never interpolated)."""
        return ()

    @property
    def morphology_reach(self) -> int:
        """Pixels around a pixel that the plugin's morphology looks at: the largest
        :func:`filters_reach` among its ``cloud_filters``, ``filters`` and
        ``aerosol_filters`` (each a list of ``[op, radius]`` or a mapping of such lists)."""
        reach = 0
        for attr in ("cloud_filters", "filters", "aerosol_filters"):
            found = getattr(self, attr, None)
            if not found:
                continue
            for filters in (found.values() if isinstance(found, Mapping) else [found]):
                reach = max(reach, filters_reach(filters))
        return reach

    @property
    def reduce_margin(self) -> int:
        """Tile pixels of context ``reduce`` needs around each output pixel (0: every
        output pixel depends on its own time series only). A tile reduced in strips is
        loaded this many rows beyond each strip, and the result cropped back."""
        return 0

    # ---- the pipeline ----------------------------------------------------------------

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        """Per dataset, in its native CRS: masking before reprojection. Default: float
        bands without ``nodata`` get NaN."""
        for name in xx.data_vars:
            band = xx[name]
            if band.attrs.get("nodata") is None and band.dtype.kind == "f":
                band.attrs["nodata"] = float("nan")
        return xx

    def fuser(self, xx: xr.Dataset) -> xr.Dataset:
        """One same-solar-day group (time, y, x) -> one slice (time length 1). Default:
        per pixel the first valid value (not ``nodata``, not NaN); booleans OR."""
        from ._masking import fuse_first_valid

        return fuse_first_valid(xx)

    @abstractmethod
    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        """(time, y, x) bands on the tile -> (y, x) bands named as ``measurements``."""

    def rgba(self, xx: xr.Dataset) -> xr.DataArray | None:
        """RGBA uint8 preview (y, x, band) of ``rgb_bands`` scaled from ``rgb_clamp`` to
        0..255 (rounded); alpha 0 where the red band is nodata. ``None`` without
        ``rgb_bands``."""
        if self.rgb_bands is None:
            return None
        from ._masking import to_rgba

        return to_rgba(xx, self.rgb_bands, self.rgb_clamp)

    # ---- helpers for subclasses ------------------------------------------------------

    def _require(self, xx: xr.Dataset, bands: Sequence[str], where: str = "input") -> None:
        missing = [b for b in bands if b not in xx.data_vars]
        if missing:
            have = ", ".join(map(str, xx.data_vars)) or "none"
            raise InputError(f"plugin {self.SHORT_NAME_OR_NAME!r}: {where} band(s) "
                             f"{', '.join(map(repr, missing))} missing (have: {have})")

    @property
    def SHORT_NAME_OR_NAME(self) -> str:  # noqa: N802 - reads like the class attributes
        return self.SHORT_NAME or self.NAME

    def _finish(self, out: Mapping[str, xr.DataArray]) -> xr.Dataset:
        """Outputs in ``measurements`` order, cast to ``output_dtypes`` with ``nodata``
        attributes set (absent for ``None``)."""
        dtypes = self.output_dtypes()
        nodata = self.output_nodata()
        data_vars = {}
        for name in self.measurements:
            band = out[name]
            dt = dtypes[name]
            if band.dtype != dt:
                band = band.astype(dt)
            # an input band's nodata/_FillValue must not survive into an output (a count
            # band derived from QA_PIXEL would read 1 as missing)
            attrs = {k: v for k, v in band.attrs.items() if k not in ("nodata", "_FillValue", "flags_definition")}
            if nodata[name] is not None:
                attrs["nodata"] = nodata[name]
            data_vars[name] = xr.DataArray(band.data, dims=band.dims, coords=band.coords,
                                           attrs=attrs, name=name)
        return xr.Dataset(data_vars)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.NAME} v{self.VERSION}: {', '.join(self.measurements)}>"


class DaySumPlugin(StatsPlugin):
    """A statistic made from per-pixel sums over days (days observed, clear, wet...).

    ``reduce(xx)`` is ``reduce_sums`` of the sums of ``day_sums`` over the days of ``xx``;
    the loader (``statscore.load``) adds each day up as it arrives instead of stacking the
    days, so memory holds the sums and the days in flight, not the (day, y, x) stack.
    """

    #: Bands ``native_transform`` makes that ``day_sums`` reads (checked with a clear error).
    SUM_INPUTS: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def day_sums(self, xx: xr.Dataset) -> Mapping[str, xr.DataArray]:
        """Per-pixel integer sums over the time dimension of ``xx`` (one day or several)."""

    def reduce_sums(self, sums: Mapping[str, xr.DataArray]) -> xr.Dataset:
        """The outputs from the sums over every day. Default: the sums are the outputs."""
        return self._finish(sums)

    def sums_of(self, xx: xr.Dataset) -> dict[str, xr.DataArray]:
        """``day_sums`` over the days of ``xx``, a few at a time, its inputs checked first:
        what the loader adds up as days arrive, and what ``reduce`` takes on a stack."""
        self._require(xx, self.sum_inputs, where="native_transform")
        return count_by_days(self.day_sums, xx)

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        return self.reduce_sums(self.sums_of(xx))

    @property
    def sum_inputs(self) -> tuple[str, ...]:
        """Bands ``day_sums`` reads (default ``SUM_INPUTS``)."""
        return self.SUM_INPUTS


class CountPlugin(DaySumPlugin):
    """Plugins whose every output is a uint16 count: classes (nearest overviews), no
    nodata (0 is a count; a pixel never observed has ``total`` 0)."""

    @property
    def categorical_bands(self) -> tuple[str, ...]:
        return self.measurements

    def output_dtypes(self) -> dict[str, np.dtype]:
        return {b: np.dtype("uint16") for b in self.measurements}

    def output_nodata(self) -> dict[str, float | int | None]:
        return {b: None for b in self.measurements}


def _check_resampling(resampling: Any) -> str | dict[str, str]:
    def one(method: Any) -> str:
        if method not in RESAMPLING_METHODS:
            from ..errors import suggest

            raise ConfigError(f"unknown resampling {method!r}{suggest(str(method), RESAMPLING_METHODS)};"
                              f" expected one of {', '.join(RESAMPLING_METHODS)}")
        return str(method)

    if isinstance(resampling, Mapping):
        return {str(k): one(v) for k, v in resampling.items()}
    return one(resampling)


COUNT_BLOCK_BYTES = 4 * 2**20
"""Most bytes of one boolean (time, y, x) temporary that :func:`count_by_days` lets a count make."""


def count_by_days(count: Callable[[xr.Dataset], Mapping[str, xr.DataArray]], xx: xr.Dataset) -> dict[str, xr.DataArray]:
    """``count(xx)``, per-pixel sums over time (the first dimension), computed on a few
    time steps at a time and added up in place.

    A count like ``(valid & ~erased).sum("time")`` builds (time, y, x) temporaries as big
    as the stack; on slices of at most ``COUNT_BLOCK_BYTES`` per boolean temporary they stay
    small. Integer sums wrap the same way either way, so the result is identical.
    Dask-backed input is counted in one call (dask already works in chunks).
    """
    first = next(iter(xx.data_vars.values()))
    tdim, nt = first.dims[0], first.shape[0]
    days = max(1, COUNT_BLOCK_BYTES // max(1, math.prod(first.shape[1:])))
    if nt <= days or any(hasattr(v.data, "dask") for v in xx.data_vars.values()):
        return dict(count(xx))
    total: dict[str, xr.DataArray] = {}
    for t0 in range(0, nt, days):
        add_sums(total, count(xx.isel({tdim: slice(t0, t0 + days)})))
    return total


def add_sums(total: dict[str, xr.DataArray], part: Mapping[str, xr.DataArray]) -> dict[str, xr.DataArray]:
    """Add ``part``'s per-pixel sums into ``total`` in place (an empty ``total`` takes them);
    integers wrap as a sum over the whole stack would."""
    if not total:
        total.update(part)
        return total
    for name, band in part.items():
        acc = total[name].data
        np.add(acc, np.asarray(band.data), out=acc, casting="no")
    return total


def is_nan(value: Any) -> bool:
    """True for a float NaN nodata."""
    return isinstance(value, float) and math.isnan(value)

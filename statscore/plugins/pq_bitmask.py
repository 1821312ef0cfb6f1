"""USGS Collection 2 Landsat pixel quality counts (``pq-ls-bitmask``, odc-stats'
``StatsPQLSBitmask``).

``QA_PIXEL`` -> ``total`` (fill bit clear), ``clear`` (none of ``flags`` set: default
high-confidence cloud or cirrus), ``clear_*`` per entry of ``filters`` (cloud mask after
that morphology, done on the tile); with ``aerosol_band`` also ``clear_aerosol`` (clear
and not high aerosol: ``SR_QA_AEROSOL`` level 3, or ``SR_ATMOS_OPACITY`` > 0.3) and,
for ``SR_QA_AEROSOL``, ``clear_*`` per ``aerosol_filters`` entry. Counts are uint16
with no nodata (0 is a count; see ``pq``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..algo import mask_cleanup
from ..errors import ConfigError, suggest
from ._base import CountPlugin
from ._masking import bit_flags_mask, check_filter_map, fuse_or
from .registry import register

__all__ = ["StatsPQLSBitmask", "QA_PIXEL_FLAGS"]


def _bit(bit: int, off: Any, on: Any) -> dict[str, Any]:
    return {"bits": bit, "values": {"0": off, "1": on}}


_CONF = {"0": "none", "1": "low", "2": "medium", "3": "high"}
QA_PIXEL_FLAGS: dict[str, dict[str, Any]] = {
    "nodata": _bit(0, False, True),
    "dilated_cloud": _bit(1, "not_dilated", "dilated"),
    "cirrus": _bit(2, "not_high_confidence", "high_confidence"),
    "cloud": _bit(3, "not_high_confidence", "high_confidence"),
    "cloud_shadow": _bit(4, "not_high_confidence", "high_confidence"),
    "snow": _bit(5, "not_high_confidence", "high_confidence"),
    "clear": _bit(6, False, True),
    "water": _bit(7, "land_or_cloud", "water"),
    "cloud_confidence": {"bits": [8, 9], "values": _CONF},
    "cloud_shadow_confidence": {"bits": [10, 11], "values": _CONF},
    "snow_ice_confidence": {"bits": [12, 13], "values": _CONF},
    "cirrus_confidence": {"bits": [14, 15], "values": _CONF},
}
"""USGS C2 QA_PIXEL bit flags, used when the band carries no ``flags_definition``."""

DEFAULT_FLAGS = {"cloud": "high_confidence", "cirrus": "high_confidence"}
DEFAULT_NODATA_FLAGS = {"nodata": False}
AEROSOL_BANDS = ("SR_QA_AEROSOL", "SR_ATMOS_OPACITY")


def check_flags(flags: Mapping[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(flags, Mapping):
        raise ConfigError(f"{what} must be a mapping of flag -> value, got {flags!r}")
    for key in flags:
        if key not in QA_PIXEL_FLAGS:
            raise ConfigError(f"unknown {what} flag {key!r}{suggest(str(key), list(QA_PIXEL_FLAGS))};"
                              f" flags: {', '.join(QA_PIXEL_FLAGS)}")
    return dict(flags)


def _check_names(filters: Mapping[str, Any], what: str) -> None:
    for name in filters:
        if not isinstance(name, str) or not name.startswith("clear_"):
            raise ConfigError(f"{what} names must start with 'clear_' (they name output bands), got {name!r}")


class StatsPQLSBitmask(CountPlugin):
    NAME = "pc_ls_bitmask"
    SHORT_NAME = NAME
    VERSION = "0.0.1"
    PRODUCT_FAMILY = "pixel_quality_statistics"

    def __init__(
        self,
        *,
        pq_band: str = "QA_PIXEL",
        aerosol_band: str | None = None,
        flags: Mapping[str, Any] | None = None,
        nodata_flags: Mapping[str, Any] | None = None,
        filters: Mapping[str, Iterable[Sequence[Any]]] | None = None,
        aerosol_filters: Mapping[str, Iterable[Sequence[Any]]] | None = None,
        resampling: str | Mapping[str, str] = "nearest",
        **kwargs: Any,
    ):
        super().__init__(resampling=resampling, **kwargs)
        self.pq_band = pq_band
        if aerosol_band is not None and aerosol_band not in AEROSOL_BANDS:
            raise ConfigError(f"aerosol_band must be one of {', '.join(AEROSOL_BANDS)}"
                              f"{suggest(str(aerosol_band), AEROSOL_BANDS)}, got {aerosol_band!r}")
        self.aerosol_band = aerosol_band
        self.flags = check_flags(DEFAULT_FLAGS if flags is None else flags, "flags")
        self.nodata_flags = check_flags(DEFAULT_NODATA_FLAGS if nodata_flags is None else nodata_flags,
                                        "nodata_flags")
        self.filters = check_filter_map(filters or {}, "filters") or {}
        self.aerosol_filters = check_filter_map(aerosol_filters or {}, "aerosol_filters") or {}
        _check_names(self.filters, "filters")
        _check_names(self.aerosol_filters, "aerosol_filters")

    @property
    def input_bands(self) -> tuple[str, ...]:
        return (self.pq_band,) + ((self.aerosol_band,) if self.aerosol_band else ())

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return self.input_bands

    @property
    def measurements(self) -> tuple[str, ...]:
        out = ["total", "clear", *self.filters]
        if self.aerosol_band:
            out.append("clear_aerosol")
            if self.aerosol_band == "SR_QA_AEROSOL":
                out.extend(self.aerosol_filters)
        return tuple(out)

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        """-> ``keeps`` (has data), ``erased`` (cloud flags), ``erased_aerosol``."""
        self._require(xx, self.input_bands)
        qa = xx[self.pq_band]
        out = {
            "keeps": bit_flags_mask(qa, self.nodata_flags, QA_PIXEL_FLAGS, any_of=False),
            "erased": bit_flags_mask(qa, self.flags, QA_PIXEL_FLAGS, any_of=True),
        }
        if self.aerosol_band == "SR_QA_AEROSOL":
            level = (xx[self.aerosol_band].astype(np.int64) & 0b1100_0000) >> 6
            out["erased_aerosol"] = level == 3
        elif self.aerosol_band == "SR_ATMOS_OPACITY":
            opacity = xx[self.aerosol_band]
            out["erased_aerosol"] = (opacity != -9999) & (opacity * 0.001 > 0.3)
        return xr.Dataset(out, attrs=xx.attrs)

    def fuser(self, xx: xr.Dataset) -> xr.Dataset:
        return fuse_or(xx)

    @property
    def reduce_margin(self) -> int:
        """``filters`` and ``aerosol_filters`` run in ``reduce``, on the tile."""
        return self.morphology_reach

    @property
    def sum_inputs(self) -> tuple[str, ...]:
        return ("keeps", "erased") + (("erased_aerosol",) if self.aerosol_band else ())

    def day_sums(self, xx: xr.Dataset) -> dict[str, xr.DataArray]:
        valid = xx["keeps"].astype(bool)
        erased = xx["erased"].astype(bool)
        tdim = valid.dims[0]

        def count(ok: xr.DataArray) -> xr.DataArray:
            return ok.sum(dim=tdim, dtype="uint16")

        out = {"total": count(valid), "clear": count(valid & ~erased)}
        cleaned = {}
        for name, filters in {**self.filters, **self.aerosol_filters}.items():
            cleaned[name] = mask_cleanup(erased, filters)
        for name in self.filters:
            out[name] = count(valid & ~cleaned[name])
        if self.aerosol_band:
            aerosol = xx["erased_aerosol"].astype(bool)
            out["clear_aerosol"] = count(valid & ~erased & ~aerosol)
            if self.aerosol_band == "SR_QA_AEROSOL":
                for name in self.aerosol_filters:
                    out[name] = count(valid & ~cleaned[name] & ~aerosol)
        return out


register("pq-ls-bitmask", StatsPQLSBitmask)

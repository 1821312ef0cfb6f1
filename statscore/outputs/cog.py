"""Cloud-optimised GeoTIFFs: odc-stats' ``cog_opts`` as a typed object, and the writer.

``cog_opts`` in an odc-stats config looks like::

    cog_opts:
      zlevel: 9
      overrides:
        rgba: {compress: jpeg, jpeg_quality: 90}
        count: {overview_resampling: nearest}

Top-level settings apply to every band; ``overrides`` (or, as odc-stats also accepts,
a top-level key whose value is a mapping) change them for one band. An ``rgba``
override turns on the RGBA preview COG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import rasterio
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling
from rasterio.shutil import copy as rio_copy

from ..errors import ConfigError, InputError, suggest
from ..stages import stage

__all__ = ["CogSettings", "CogOptions", "cog_bytes", "overview_levels"]

_COMPRESSIONS = ("deflate", "zstd", "lzw", "jpeg", "webp", "lerc", "none")
_RESAMPLINGS = ("nearest", "average", "bilinear", "cubic", "mode", "gauss", "min", "max", "med", "rms")
_ALIASES = {"compression": "compress", "ovr_blocksize": "overview_blocksize", "quality": "jpeg_quality"}


@dataclass(frozen=True)
class CogSettings:
    """How one file is written. ``None`` means "chosen from the band's dtype"."""

    compress: str = "deflate"
    """GDAL compression, lower case: ``deflate``, ``zstd``, ``lzw``, ``jpeg``, ``webp``, ``none``."""
    zlevel: int = 9
    """DEFLATE level (1..9)."""
    zstd_level: int = 9
    """ZSTD level (1..22)."""
    jpeg_quality: int = 90
    """JPEG/WEBP quality (1..100)."""
    predictor: int | None = None
    """TIFF predictor; ``None``: 2 (horizontal) for integers, 3 (floating point) for floats."""
    blocksize: int = 800
    """Tile edge of the full-resolution image, pixels (multiple of 16)."""
    overview_blocksize: int = 256
    """Tile edge of the overviews, pixels (multiple of 16)."""
    overview_resampling: str | None = None
    """``None``: ``average`` for continuous bands, ``nearest`` for categorical ones."""

    def resolved(self, dtype: np.dtype, categorical: bool = False) -> CogSettings:
        """Fill the dtype-dependent choices for a band of ``dtype``."""
        predictor = self.predictor
        if predictor is None:
            if self.compress in ("jpeg", "webp", "none", "lerc"):
                predictor = 1
            else:
                predictor = 3 if dtype.kind == "f" else 2
        resampling = self.overview_resampling
        if resampling is None:
            resampling = "nearest" if categorical or dtype.kind == "b" else "average"
        return replace(self, predictor=predictor, overview_resampling=resampling)

    def gdal_options(self) -> dict[str, Any]:
        """GTiff creation options (compression part)."""
        opts: dict[str, Any] = {"compress": self.compress.upper()}
        if self.compress == "deflate":
            opts["zlevel"] = self.zlevel
        elif self.compress == "zstd":
            opts["zstd_level"] = self.zstd_level
        elif self.compress == "jpeg":
            opts["jpeg_quality"] = self.jpeg_quality
        elif self.compress == "webp":
            opts["webp_level"] = self.jpeg_quality
        if self.predictor not in (None, 1):
            opts["predictor"] = self.predictor
        return opts


_KEYS = tuple(f.name for f in fields(CogSettings))


def _settings_kw(cfg: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        name = _ALIASES.get(str(key), str(key))
        if name not in _KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}{suggest(str(key), [*_KEYS, *_ALIASES])}")
        if name in ("compress", "overview_resampling"):
            value = str(value).lower()
            valid = _COMPRESSIONS if name == "compress" else _RESAMPLINGS
            if value not in valid:
                raise ConfigError(f"{where}.{key}: {value!r} is not one of {', '.join(valid)}{suggest(value, valid)}")
        elif name != "predictor" or value is not None:
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{where}.{key}: expected an integer, got {value!r}") from None
            if name in ("blocksize", "overview_blocksize") and (value <= 0 or value % 16):
                raise ConfigError(f"{where}.{key}: {value} is not a positive multiple of 16")
            if name == "predictor" and value not in (1, 2, 3):
                raise ConfigError(f"{where}.{key}: {value} is not 1, 2 or 3")
        out[name] = value
    return out


@dataclass(frozen=True)
class CogOptions:
    """odc-stats' ``cog_opts``: settings for all bands plus per-band overrides."""

    default: CogSettings = field(default_factory=CogSettings)
    """Settings for every band without an override."""
    overrides: Mapping[str, CogSettings] = field(default_factory=lambda: MappingProxyType({}))
    """Band name -> settings (the defaults with that band's keys changed)."""

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None = None) -> CogOptions:
        """Validate a ``cog_opts`` mapping; unknown keys are :class:`ConfigError`."""
        cfg = dict(cfg or {})
        per_band = cfg.pop("overrides", None) or {}
        if not isinstance(per_band, Mapping):
            raise ConfigError(f"cog_opts.overrides: expected a mapping of band -> settings, got {per_band!r}")
        per_band = dict(per_band)
        for key in [k for k, v in cfg.items() if isinstance(v, Mapping)]:
            per_band[key] = cfg.pop(key)  # odc-stats reads a nested top-level mapping as a band override
        default = CogSettings(**_settings_kw(cfg, "cog_opts"))
        overrides: dict[str, CogSettings] = {}
        for band, bcfg in per_band.items():
            if not isinstance(bcfg, Mapping):
                raise ConfigError(f"cog_opts.overrides.{band}: expected a mapping of settings, got {bcfg!r}")
            kw = _settings_kw(bcfg, f"cog_opts.overrides.{band}")
            if band == "rgba":
                kw.setdefault("compress", "jpeg")
            overrides[str(band)] = replace(default, **kw)
        return cls(default, MappingProxyType(overrides))

    @property
    def rgba(self) -> bool:
        """Whether the RGBA preview COG is asked for (an ``rgba`` override exists)."""
        return "rgba" in self.overrides

    def for_band(self, band: str, dtype: np.dtype | str, categorical: bool = False) -> CogSettings:
        """Resolved settings for ``band`` of ``dtype``."""
        base = self.overrides.get(band)
        if base is None:
            base = replace(self.default, compress="jpeg") if band == "rgba" else self.default
        return base.resolved(np.dtype(dtype), categorical)


def overview_levels(shape: tuple[int, int], overview_blocksize: int) -> list[int]:
    """Decimation factors 2, 4, ... until the coarsest overview fits in one overview block."""
    longest = max(shape)
    n = max(0, math.ceil(math.log2(longest / overview_blocksize))) if longest > overview_blocksize else 0
    return [2**i for i in range(1, n + 1)]


def _gdal_dtype(dtype: np.dtype, band: str) -> str:
    if dtype.kind == "b":
        return "uint8"
    if dtype.kind not in "uif" or dtype.itemsize > 8 or dtype == np.float16:
        raise InputError(f"band {band!r}: dtype {dtype} cannot be written to a GeoTIFF")
    return dtype.name


def cog_bytes(
    pixels: np.ndarray,
    geobox: GeoBox,
    settings: CogSettings,
    *,
    nodata: float | int | None = None,
    band: str = "",
    photometric: str | None = None,
    mask: np.ndarray | None = None,
    threads: int = 1,
) -> bytes:
    """Encode ``pixels`` (``(y, x)`` or ``(band, y, x)``) on ``geobox`` as COG bytes.

    The image is tiled at ``settings.blocksize``; overviews are built with
    ``settings.overview_resampling`` at ``settings.overview_blocksize`` and stored
    before the full-resolution data, as the COG layout requires. ``mask`` (``(y, x)``,
    non-zero = valid) is stored as an internal TIFF mask, as for JPEG RGB previews.
    ``threads`` > 1 compresses the blocks on that many GDAL threads (the same bytes: blocks
    are compressed independently and written in order).
    """
    pix = np.asarray(pixels)
    if pix.ndim == 2:
        pix = pix[np.newaxis]
    if pix.ndim != 3 or pix.shape[1:] != tuple(geobox.shape):
        raise InputError(f"band {band!r}: pixel shape {pixels.shape} does not match the tile {tuple(geobox.shape)}")
    dtype = _gdal_dtype(pix.dtype, band)
    if pix.dtype.kind == "b":
        pix = pix.astype("uint8")
    count, h, w = pix.shape
    assert settings.overview_resampling is not None, "resolve the settings first"
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": w,
        "height": h,
        "count": count,
        "dtype": dtype,
        "crs": geobox.crs.to_wkt() if geobox.crs is not None else None,
        "transform": geobox.transform,
        "tiled": True,
        "blockxsize": settings.blocksize,
        "blockysize": settings.blocksize,
    }
    if nodata is not None:
        profile["nodata"] = nodata
    final = {
        "tiled": True,
        "blockxsize": settings.blocksize,
        "blockysize": settings.blocksize,
        "copy_src_overviews": True,
        **settings.gdal_options(),
    }
    if photometric:
        final["photometric"] = photometric
    if threads > 1:
        final["num_threads"] = threads
    levels = overview_levels((h, w), settings.overview_blocksize)
    env = {"GDAL_TIFF_OVR_BLOCKSIZE": settings.overview_blocksize, "GDAL_PAM_ENABLED": "NO"}
    if mask is not None:
        env["GDAL_TIFF_INTERNAL_MASK"] = "YES"
    with stage("encode"), rasterio.Env(**env):
        with rasterio.MemoryFile() as tmp_file, tmp_file.open(**profile) as tmp:
            tmp.write(pix)
            if mask is not None:
                tmp.write_mask(np.where(np.asarray(mask) != 0, 255, 0).astype("uint8"))
            if levels:
                tmp.build_overviews(levels, Resampling[settings.overview_resampling])
            with rasterio.MemoryFile() as out:
                rio_copy(tmp, out.name, driver="GTiff", **final)
                return bytes(out.getbuffer())

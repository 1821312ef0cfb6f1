"""Geometric median composites with MADs and a clear count: ``gm-generic``, ``gm-s2``,
``gm-ls`` (odc-stats' ``StatsGM``, ``StatsGMS2``, ``StatsGMLS``).

Masking happens per dataset in its native CRS: the ``nodata_classes`` of the mask band,
non-contiguous pixels, and cloud classes after their ordered morphology filters are set
to nodata; the mask (and contiguity) bands are then dropped. ``reduce`` runs
``statscore.algo.geomedian_with_mads`` block by block (memory follows ``block_bytes``)
with reflectance ``DN * scale + offset``: odc-stats passes scale 1e-4 and offset
-1e-4 for both Sentinel-2 and DEA Landsat, and so do we by default; the offset matters
to smad and bcmad (they are not translation invariant), and unlike odc-algo an offset
of 0 does not switch off scaling or nodata handling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ..algo import DEFAULT_BLOCK_BYTES, geomedian_with_mads, mask_cleanup
from ..errors import ConfigError, InputError
from ._base import StatsPlugin
from ._masking import Filters, check_class_names, check_filter_map, enum_mask, erase_bands
from .registry import register

__all__ = ["StatsGM", "StatsGMS2", "StatsGMLS", "SCL_CLASSES", "FMASK_CLASSES"]

SCL_CLASSES: dict[int, str] = {
    0: "no data", 1: "saturated or defective", 2: "dark area pixels", 3: "cloud shadows",
    4: "vegetation", 5: "bare soils", 6: "water", 7: "unclassified",
    8: "cloud medium probability", 9: "cloud high probability", 10: "thin cirrus",
    11: "snow or ice",
}
"""Sen2Cor scene classes (used when the SCL band carries no ``flags_definition``)."""

FMASK_CLASSES: dict[int, str] = {0: "nodata", 1: "valid", 2: "cloud", 3: "shadow", 4: "snow", 5: "water"}
"""DEA Fmask classes (used when the fmask band carries no ``flags_definition``)."""

_DEFAULT_NODATA = {np.dtype("uint16"): 0, np.dtype("int16"): -999, np.dtype("uint8"): 0}
_AUX = ("smad", "emad", "bcmad", "count")


def _nodata_for_dtype(dtype: np.dtype, nodata: Any) -> float | int:
    if nodata is not None:
        if dtype.kind != "f":
            if isinstance(nodata, float) and not float(nodata).is_integer():
                raise ConfigError(f"nodata {nodata!r} is not an integer for dtype {dtype}")
            info = np.iinfo(dtype)
            if not info.min <= int(nodata) <= info.max:
                raise ConfigError(f"nodata {nodata!r} does not fit dtype {dtype}")
            return int(nodata)
        return float(nodata)
    if dtype.kind == "f":
        return float("nan")
    if dtype in _DEFAULT_NODATA:
        return _DEFAULT_NODATA[dtype]
    raise ConfigError(f"nodata must be given for dtype {dtype}")


class StatsGM(StatsPlugin):
    """Geomedian of any bands sharing one dtype, masked by a class band.

    Outputs: the bands (input dtype, rounded to nearest for integers, nodata where no
    clear observation), smad/emad/bcmad float32 (NaN), count uint16 (clear
    observations; 0 is a count, no nodata).
    """

    NAME = "gm"
    SHORT_NAME = NAME
    VERSION = "0.0.0"
    PRODUCT_FAMILY = "geomedian"

    #: Class table of the mask band when it has no ``flags_definition``.
    MASK_CLASSES: ClassVar[Mapping[int, str]] = FMASK_CLASSES
    #: Cloud classes masked (without buffering) when ``cloud_filters`` is None.
    UNBUFFERED_CLOUD: ClassVar[tuple[str, ...]] = ("cloud", "shadow")

    def __init__(
        self,
        bands: Sequence[str],
        mask_band: str,
        *,
        contiguity_band: str | None = None,
        nodata_classes: Sequence[str | int] | None = None,
        cloud_filters: Mapping[Any, Iterable[Sequence[Any]]] | None = None,
        aux_names: Mapping[str, str] | None = None,
        dtype: str = "uint16",
        nodata: float | int | None = None,
        scale: float = 1e-4,
        offset: float = -1e-4,
        eps: float | None = None,
        maxiters: int = 1000,
        num_threads: int | None = None,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
        basis_band: str | None = None,
        work_chunks: Sequence[int] | None = None,
        reshape_strategy: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if isinstance(bands, str) or not bands:
            raise ConfigError(f"bands must be a non-empty list of band names, got {bands!r}")
        self.bands = tuple(bands)
        if not isinstance(mask_band, str) or not mask_band:
            raise ConfigError(f"mask_band must be a band name, got {mask_band!r}")
        self.mask_band = mask_band
        self.contiguity_band = contiguity_band
        self.nodata_classes = tuple(nodata_classes) if nodata_classes is not None else ()
        self.cloud_filters: dict[Any, Filters] | None = check_filter_map(cloud_filters, "cloud_filters")
        if self._strict_classes:
            for classes in [self.nodata_classes, *map(self._class_tuple, self.cloud_filters or {})]:
                check_class_names(classes, self.MASK_CLASSES, self.mask_band)
        names = dict(zip(_AUX, _AUX))
        if aux_names is not None:
            unknown = set(aux_names) - set(_AUX)
            if unknown:
                raise ConfigError(f"aux_names keys must be among {', '.join(_AUX)}, got {sorted(unknown)}")
            names.update(aux_names)
        self.aux_names = names
        self.dtype = np.dtype(dtype)
        if self.dtype.kind not in "fiu":
            raise ConfigError(f"dtype must be a numeric dtype name, got {dtype!r}")
        self.nodata = _nodata_for_dtype(self.dtype, nodata)
        self.scale = float(scale)
        self.offset = float(offset)
        if not np.isfinite(self.scale) or self.scale == 0 or not np.isfinite(self.offset):
            raise ConfigError(f"scale/offset must be finite and scale non-zero, got {scale!r}/{offset!r}")
        self.eps = eps
        self.maxiters = int(maxiters)
        self.num_threads = num_threads
        self.block_bytes = int(block_bytes)
        self.basis_band = basis_band or self.bands[0]
        # odc-stats' dask layout knobs: accepted for config compatibility, not needed
        # (memory follows block_bytes)
        self.work_chunks = work_chunks
        self.reshape_strategy = reshape_strategy

    #: Whether class names are checked against ``MASK_CLASSES`` at construction (else
    #: when the mask band's ``flags_definition`` is known, in ``native_transform``).
    _strict_classes: ClassVar[bool] = False

    @staticmethod
    def _class_tuple(key: Any) -> tuple:
        return key if isinstance(key, tuple) else (key,)

    # ---- bands -----------------------------------------------------------------------

    @property
    def input_bands(self) -> tuple[str, ...]:
        extra = (self.mask_band,) + ((self.contiguity_band,) if self.contiguity_band else ())
        return self.bands + tuple(b for b in extra if b not in self.bands)

    @property
    def mask_bands(self) -> tuple[str, ...]:
        return (self.mask_band,) + ((self.contiguity_band,) if self.contiguity_band else ())

    @property
    def aux_bands(self) -> tuple[str, ...]:
        return tuple(self.aux_names[k] for k in _AUX)

    @property
    def measurements(self) -> tuple[str, ...]:
        return self.bands + self.aux_bands

    @property
    def categorical_bands(self) -> tuple[str, ...]:
        return (self.aux_names["count"],)

    def output_dtypes(self) -> dict[str, np.dtype]:
        out = {b: self.dtype for b in self.bands}
        out.update({self.aux_names[k]: np.dtype("float32") for k in ("smad", "emad", "bcmad")})
        out[self.aux_names["count"]] = np.dtype("uint16")
        return out

    def output_nodata(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {b: self.nodata for b in self.bands}
        out.update({self.aux_names[k]: float("nan") for k in ("smad", "emad", "bcmad")})
        out[self.aux_names["count"]] = None
        return out

    # ---- pipeline --------------------------------------------------------------------

    def bad_pixels(self, xx: xr.Dataset) -> xr.DataArray:
        """True where a pixel is not a clear observation (before erasing)."""
        mask = xx[self.mask_band]
        bad = enum_mask(mask, self.nodata_classes, self.MASK_CLASSES)
        if self.contiguity_band is not None:
            bad = bad | (xx[self.contiguity_band] == 0)
        if self.cloud_filters is None:
            bad = bad | enum_mask(mask, self.UNBUFFERED_CLOUD, self.MASK_CLASSES)
        else:
            for classes, filters in self.cloud_filters.items():
                cloud = enum_mask(mask, self._class_tuple(classes), self.MASK_CLASSES)
                bad = bad | mask_cleanup(cloud, filters)
        return bad

    def native_transform(self, xx: xr.Dataset) -> xr.Dataset:
        self._require(xx, self.input_bands)
        bad = self.bad_pixels(xx)
        return erase_bands(xx, self.bands, bad)

    def _stack(self, xx: xr.Dataset) -> xr.Dataset:
        self._require(xx, self.bands)
        src = xx[list(self.bands)]
        dtypes = {b: src[b].dtype for b in self.bands}
        wrong = {b: str(d) for b, d in dtypes.items() if d != self.dtype}
        if wrong:
            raise InputError(f"plugin {self.SHORT_NAME_OR_NAME!r} expects {self.dtype} bands "
                             f"(plugin_config dtype), got {wrong}")
        return src

    def reduce(self, xx: xr.Dataset) -> xr.Dataset:
        src = self._stack(xx)
        gm = geomedian_with_mads(src, scale=self.scale, offset=self.offset, eps=self.eps,
                                 maxiters=self.maxiters, num_threads=self.num_threads,
                                 block_bytes=self.block_bytes, nodata=self._input_nodata(src))
        return self._finish({self.aux_names.get(str(k), str(k)): v for k, v in gm.data_vars.items()})

    def _input_nodata(self, src: xr.Dataset) -> Any:
        nd = src[self.bands[0]].attrs.get("nodata")
        return self.nodata if nd is None else nd


register("gm-generic", StatsGM)


class StatsGMS2(StatsGM):
    """Sentinel-2 L2A annual geomedian (``gm-s2``): B02..B12 masked by SCL."""

    NAME = "gm_s2_annual"
    SHORT_NAME = NAME
    VERSION = "0.0.0"
    PRODUCT_FAMILY = "geomedian"
    MASK_CLASSES = SCL_CLASSES
    _strict_classes = True

    DEFAULT_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
    CLOUD_CLASSES = ("cloud shadows", "cloud medium probability", "cloud high probability", "thin cirrus")
    DEFAULT_FILTER = (("opening", 2), ("dilation", 5))

    def __init__(
        self,
        *,
        bands: Sequence[str] | None = None,
        mask_band: str = "SCL",
        nodata_classes: Sequence[str | int] | None = ("no data",),
        cloud_filters: Mapping[Any, Iterable[Sequence[Any]]] | None = None,
        aux_names: Mapping[str, str] | None = None,
        rgb_bands: Sequence[str] | None = None,
        **kwargs: Any,
    ):
        if cloud_filters is None:
            cloud_filters = {self.CLOUD_CLASSES: self.DEFAULT_FILTER}
        names = {"smad": "SMAD", "emad": "EMAD", "bcmad": "BCMAD", "count": "COUNT"}
        names.update(aux_names or {})
        if bands is None:
            bands = self.DEFAULT_BANDS
            if rgb_bands is None:
                rgb_bands = ("B04", "B03", "B02")
        kwargs.setdefault("dtype", "uint16")
        super().__init__(bands=bands, mask_band=mask_band, nodata_classes=nodata_classes,
                         cloud_filters=cloud_filters, aux_names=names, rgb_bands=rgb_bands, **kwargs)


register("gm-s2", StatsGMS2)


class StatsGMLS(StatsGM):
    """DEA Landsat ARD annual geomedian (``gm-ls``): nbart bands masked by fmask and
    nbart_contiguity; MADs named sdev, edev, bcdev."""

    NAME = "gm_ls_annual"
    SHORT_NAME = NAME
    VERSION = "3.0.1"
    PRODUCT_FAMILY = "geomedian"
    MASK_CLASSES = FMASK_CLASSES
    _strict_classes = True

    DEFAULT_BANDS = ("nbart_red", "nbart_green", "nbart_blue", "nbart_nir", "nbart_swir_1", "nbart_swir_2")

    def __init__(
        self,
        *,
        bands: Sequence[str] | None = None,
        mask_band: str = "fmask",
        contiguity_band: str | None = "nbart_contiguity",
        nodata_classes: Sequence[str | int] | None = ("nodata",),
        cloud_filters: Mapping[Any, Iterable[Sequence[Any]]] | None = None,
        aux_names: Mapping[str, str] | None = None,
        rgb_bands: Sequence[str] | None = None,
        **kwargs: Any,
    ):
        names = {"smad": "sdev", "emad": "edev", "bcmad": "bcdev", "count": "count"}
        names.update(aux_names or {})
        if bands is None:
            bands = self.DEFAULT_BANDS
            if rgb_bands is None:
                rgb_bands = ("nbart_red", "nbart_green", "nbart_blue")
        # odc-stats lists the contiguity band among the bands and drops it from the outputs
        bands = tuple(b for b in bands if b != contiguity_band)
        kwargs.setdefault("dtype", "int16")
        super().__init__(bands=bands, mask_band=mask_band, contiguity_band=contiguity_band,
                         nodata_classes=nodata_classes, cloud_filters=cloud_filters,
                         aux_names=names, rgb_bands=rgb_bands, **kwargs)


register("gm-ls", StatsGMLS)

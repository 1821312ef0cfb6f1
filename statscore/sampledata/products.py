"""The sample products as data: bands, native resolutions, nodata and mask flags.

Product definitions follow what a datacube user already indexes: Element 84 /
DE Africa ``s2_l2a`` (Sen2Cor SCL classes), DEA Collection 3 ``ga_ls8c_ard_3``
(``oa_fmask`` alias ``fmask``, ``oa_nbart_contiguity`` alias ``nbart_contiguity``, as in
DEA's own product and datasets), USGS Collection 2 Level-2 ``ls8_c2l2_sr``
(``QA_PIXEL`` bit flags, scale 2.75e-5, offset -0.2), and DEA's derivatives of the ARD
scenes: Water Observations ``ga_ls_wo_3`` (``water`` bit flags, nodata 1) and
Fractional Cover ``ga_ls_fc_3`` (``bs``, ``pv``, ``npv`` percent and ``ue``, nodata 255),
the inputs of odc-stats' ``wofs-summary`` and ``fc-percentiles``. ``write_products``
writes the eo3 product YAMLs that ``datacube product add`` accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from statscore.errors import ConfigError, suggest

SCL_CLASSES: dict[int, str] = {
    0: "no data",
    1: "saturated or defective",
    2: "dark area pixels",
    3: "cloud shadows",
    4: "vegetation",
    5: "bare soils",
    6: "water",
    7: "unclassified",
    8: "cloud medium probability",
    9: "cloud high probability",
    10: "thin cirrus",
    11: "snow or ice",
}
"""Sen2Cor scene classification; the names are those odc-stats' gm-s2 masks by."""

FMASK_CLASSES: dict[int, str] = {
    0: "nodata",
    1: "valid",
    2: "cloud",
    3: "shadow",
    4: "snow",
    5: "water",
}
"""DEA Fmask classes (``oa_fmask``)."""

QA_PIXEL_BITS: dict[str, tuple[int, ...]] = {
    "nodata": (0,),
    "dilated_cloud": (1,),
    "cirrus": (2,),
    "cloud": (3,),
    "cloud_shadow": (4,),
    "snow": (5,),
    "clear": (6,),
    "water": (7,),
    "cloud_confidence": (8, 9),
    "cloud_shadow_confidence": (10, 11),
    "snow_ice_confidence": (12, 13),
    "cirrus_confidence": (14, 15),
}
"""USGS Collection 2 Level-2 QA_PIXEL bit layout."""


WOFS_BITS: dict[str, int] = {
    "nodata": 0,
    "noncontiguous": 1,
    "low_solar_angle": 2,
    "terrain_shadow": 3,
    "high_slope": 4,
    "cloud_shadow": 5,
    "cloud": 6,
    "water_observed": 7,
}
"""DEA Water Observations ``water`` bits (0 everywhere: clear and dry; 128: clear and wet)."""


@dataclass(frozen=True)
class Band:
    """One measurement of a product."""

    name: str
    dtype: str
    nodata: int
    resolution: float
    """Native pixel size in metres."""
    role: str
    """``reflectance``, ``mask`` (classes or bits), ``contiguity``, ``water`` (WOfS bit
    flags) or ``cover`` (a fractional cover percentage or the unmixing error)."""
    wavelength: float | None = None
    """Centre wavelength in micrometres (reflectance bands)."""
    common_name: str | None = None
    aliases: tuple[str, ...] = ()
    units: str = "1"
    scale: float | None = None
    offset: float | None = None
    flags: dict[str, Any] | None = None


@dataclass(frozen=True)
class Product:
    """A sample product: how its scenes are acquired, named and stored."""

    name: str
    description: str
    family: str
    """``s2`` (MGRS tiles, 5-day revisit) or ``landsat`` (WRS-2, 16-day revisit)."""
    platforms: tuple[str, ...]
    instrument: str
    bands: tuple[Band, ...]
    license: str
    producer: str
    product_family: str
    extra_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def band_names(self) -> list[str]:
        return [b.name for b in self.bands]

    def band(self, name: str) -> Band:
        for b in self.bands:
            if b.name == name or name in b.aliases:
                return b
        raise ConfigError(f"product {self.name!r} has no band {name!r}{suggest(name, self.band_names)}")

    @property
    def finest_resolution(self) -> float:
        return min(b.resolution for b in self.bands)

    @property
    def coarsest_resolution(self) -> float:
        return max(b.resolution for b in self.bands)

    @property
    def mask_band(self) -> Band:
        return next(b for b in self.bands if b.role == "mask")


def _bitflag(bit: int, off: Any, on: Any, description: str) -> dict[str, Any]:
    return {"bits": bit, "values": {"0": off, "1": on}, "description": description}


_CONFIDENCE = {"0": "none", "1": "low", "2": "medium", "3": "high"}

_S2_BANDS = (
    # name, resolution, wavelength (um), common name, aliases
    ("B02", 10, 0.490, "blue", ("band_02", "blue")),
    ("B03", 10, 0.560, "green", ("band_03", "green")),
    ("B04", 10, 0.665, "red", ("band_04", "red")),
    ("B05", 20, 0.705, "rededge", ("band_05", "red_edge_1", "rededge1")),
    ("B06", 20, 0.740, "rededge", ("band_06", "red_edge_2", "rededge2")),
    ("B07", 20, 0.783, "rededge", ("band_07", "red_edge_3", "rededge3")),
    ("B08", 10, 0.842, "nir", ("band_08", "nir", "nir_1")),
    ("B8A", 20, 0.865, "nir08", ("band_8a", "nir_narrow", "nir08")),
    ("B11", 20, 1.610, "swir16", ("band_11", "swir_1", "swir16")),
    ("B12", 20, 2.190, "swir22", ("band_12", "swir_2", "swir22")),
)

S2_L2A = Product(
    name="s2_l2a",
    description="Sentinel-2a and Sentinel-2b imagery, processed to Level 2A (surface reflectance) "
    "and converted to Cloud Optimized GeoTIFFs (synthetic sample data)",
    family="s2",
    platforms=("sentinel-2a", "sentinel-2b"),
    instrument="msi",
    license="CC-BY-4.0",
    producer="esa.int",
    product_family="ard",
    bands=(
        *(
            Band(n, "uint16", 0, r, "reflectance", wl, cn, al)
            for n, r, wl, cn, al in _S2_BANDS
        ),
        Band(
            "SCL", "uint8", 0, 20, "mask", aliases=("mask", "qa"),
            flags={
                "qa": {
                    "bits": [0, 1, 2, 3, 4, 5, 6, 7],
                    "values": {str(k): v for k, v in SCL_CLASSES.items()},
                    "description": "Sen2Cor Scene Classification",
                }
            },
        ),
    ),
)

_LS_BANDS = (
    # DEA name, USGS name, wavelength (um), common name, DEA aliases
    ("nbart_blue", "SR_B2", 0.482, "blue", ("nbart_band02", "blue")),
    ("nbart_green", "SR_B3", 0.561, "green", ("nbart_band03", "green")),
    ("nbart_red", "SR_B4", 0.655, "red", ("nbart_band04", "red")),
    ("nbart_nir", "SR_B5", 0.865, "nir08", ("nbart_band05", "nir")),
    ("nbart_swir_1", "SR_B6", 1.609, "swir16", ("nbart_band06", "swir_1", "swir1")),
    ("nbart_swir_2", "SR_B7", 2.201, "swir22", ("nbart_band07", "swir_2", "swir2")),
)

GA_LS8C_ARD_3 = Product(
    name="ga_ls8c_ard_3",
    description="Geoscience Australia Landsat 8 OLI-TIRS Analysis Ready Data Collection 3 "
    "(synthetic sample data)",
    family="landsat",
    platforms=("landsat-8",),
    instrument="OLI_TIRS",
    license="CC-BY-4.0",
    producer="ga.gov.au",
    product_family="ard",
    bands=(
        *(
            Band(n, "int16", -999, 30, "reflectance", wl, cn, al)
            for n, _, wl, cn, al in _LS_BANDS
        ),
        Band(
            "oa_fmask", "uint8", 0, 30, "mask", aliases=("fmask",),
            flags={
                "fmask": {
                    "bits": [0, 1, 2, 3, 4, 5, 6, 7],
                    "values": {str(k): v for k, v in FMASK_CLASSES.items()},
                    "description": "Fmask",
                }
            },
        ),
        Band(
            "oa_nbart_contiguity", "uint8", 255, 30, "contiguity",
            aliases=("nbart_contiguity",),
            flags={"contiguous": {"bits": [0], "values": {"0": False, "1": True}}},
        ),
    ),
)

LS8_C2L2_SR = Product(
    name="ls8_c2l2_sr",
    description="USGS Landsat 8 Collection 2 Level-2 Surface Reflectance (synthetic sample data)",
    family="landsat",
    platforms=("landsat-8",),
    instrument="OLI_TIRS",
    license="CC0-1.0",
    producer="usgs.gov",
    product_family="level2",
    bands=(
        *(
            Band(u, "uint16", 0, 30, "reflectance", wl, cn,
                 tuple(dict.fromkeys((n.removeprefix("nbart_"), cn))),
                 scale=2.75e-5, offset=-0.2)
            for n, u, wl, cn, _ in _LS_BANDS
        ),
        Band(
            "QA_PIXEL", "uint16", 1, 30, "mask", aliases=("pq", "pixel_quality"),
            units="bit_index",
            flags={
                "nodata": _bitflag(0, False, True, "Fill"),
                "dilated_cloud": _bitflag(1, "not_dilated", "dilated", "Dilated cloud"),
                "cirrus": _bitflag(2, "not_high_confidence", "high_confidence", "Cirrus"),
                "cloud": _bitflag(3, "not_high_confidence", "high_confidence", "Cloud"),
                "cloud_shadow": _bitflag(4, "not_high_confidence", "high_confidence", "Cloud shadow"),
                "snow": _bitflag(5, "not_high_confidence", "high_confidence", "Snow"),
                "clear": _bitflag(6, False, True, "Clear (no cloud and no dilated cloud)"),
                "water": _bitflag(7, "land_or_cloud", "water", "Water"),
                "cloud_confidence": {"bits": [8, 9], "values": _CONFIDENCE, "description": "Cloud confidence"},
                "cloud_shadow_confidence": {"bits": [10, 11], "values": _CONFIDENCE, "description": "Cloud shadow confidence"},
                "snow_ice_confidence": {"bits": [12, 13], "values": _CONFIDENCE, "description": "Snow/ice confidence"},
                "cirrus_confidence": {"bits": [14, 15], "values": _CONFIDENCE, "description": "Cirrus confidence"},
            },
        ),
    ),
)

GA_LS_WO_3 = Product(
    name="ga_ls_wo_3",
    description="Geoscience Australia Landsat Water Observations Collection 3 (synthetic sample data, "
    "from the ga_ls8c_ard_3 scenes)",
    family="landsat",
    platforms=("landsat-8",),
    instrument="OLI_TIRS",
    license="CC-BY-4.0",
    producer="ga.gov.au",
    product_family="wo",
    bands=(
        Band(
            "water", "uint8", 1, 30, "water", flags={
                **{name: _bitflag(bit, False, True, name.replace("_", " ").capitalize())
                   for name, bit in WOFS_BITS.items()},
                "dry": {"bits": [7, 6, 5, 4, 3, 1, 0], "values": {"0": True}, "description": "Clear and dry"},
                "wet": {"bits": [7, 6, 5, 4, 3, 1, 0], "values": {"128": True}, "description": "Clear and wet"},
            },
        ),
    ),
)

GA_LS_FC_3 = Product(
    name="ga_ls_fc_3",
    description="Geoscience Australia Landsat Fractional Cover Collection 3 (synthetic sample data, "
    "from the ga_ls8c_ard_3 scenes)",
    family="landsat",
    platforms=("landsat-8",),
    instrument="OLI_TIRS",
    license="CC-BY-4.0",
    producer="ga.gov.au",
    product_family="fc",
    bands=(
        Band("bs", "uint8", 255, 30, "cover", units="percent", aliases=("bare",)),
        Band("pv", "uint8", 255, 30, "cover", units="percent", aliases=("green_veg",)),
        Band("npv", "uint8", 255, 30, "cover", units="percent", aliases=("dead_veg",)),
        Band("ue", "uint8", 255, 30, "cover", units="1", aliases=("err",)),
    ),
)

PRODUCTS: dict[str, Product] = {p.name: p for p in (S2_L2A, GA_LS8C_ARD_3, LS8_C2L2_SR, GA_LS_WO_3, GA_LS_FC_3)}


def get_product(name: str) -> Product:
    """The sample product called ``name``; a ConfigError naming the valid ones otherwise."""
    try:
        return PRODUCTS[name]
    except KeyError:
        raise ConfigError(
            f"unknown sample product {name!r}{suggest(name, list(PRODUCTS))}; "
            f"valid names: {', '.join(PRODUCTS)}"
        ) from None


def product_definition(product: str | Product) -> dict[str, Any]:
    """The eo3 product definition document (as ``datacube product add`` reads it)."""
    p = get_product(product) if isinstance(product, str) else product
    measurements = []
    for b in p.bands:
        m: dict[str, Any] = {"name": b.name, "dtype": b.dtype, "nodata": b.nodata, "units": b.units}
        if b.aliases:
            m["aliases"] = list(b.aliases)
        if b.scale is not None:
            m["scale_factor"] = b.scale
            m["add_offset"] = b.offset
        if b.flags is not None:
            m["flags_definition"] = b.flags
        measurements.append(m)
    return {
        "name": p.name,
        "description": p.description,
        "license": p.license,
        "metadata_type": "eo3",
        "metadata": {
            "product": {"name": p.name},
            "properties": {"odc:file_format": "GeoTIFF", "odc:product_family": p.product_family},
        },
        "measurements": measurements,
    }


def write_products(out_dir: str | Path) -> dict[str, Path]:
    """Write ``<name>.odc-product.yaml`` for every sample product; returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in PRODUCTS:
        path = out / f"{name}.odc-product.yaml"
        path.write_text(yaml.safe_dump(product_definition(name), sort_keys=False, allow_unicode=True))
        written[name] = path
    return written

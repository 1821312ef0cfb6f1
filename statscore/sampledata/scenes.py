"""Synthetic scenes on disk: one COG per band, an eo3 document and a STAC item each.

Pixel size. By default (``native=False``) each scene covers its whole realistic
extent (a 109.8 km MGRS tile, a rotated 185 x 180 km WRS-2 scene) with at most
``size_px`` pixels across its finest grid: 256 gives 430 m "10 m" pixels for S2 and
870 m pixels for Landsat, a few hundred kB a scene. The bands keep their native ratios
(S2 20 m bands at twice the 10 m pixel size). With ``native=True`` the pixels are
the native 10/20/30 m and the scene is a ``size_px`` window of the full scene,
placed at the point of the scene nearest the region's centre (so scenes from
different tiles, orbits and UTM zones overlap there), and its footprint is the
valid part of that window.

In both cases the footprint written to the documents is the valid-data polygon: a
pixel holds data exactly when its centre is inside it, and nodata otherwise (swath
edge wedges for S2, rotated-scene corners for Landsat, the outside of the window).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import shapely
import yaml
from affine import Affine
from odc.geo.geobox import GeoBox
from shapely.geometry import Polygon, box

from statscore.errors import ConfigError
from statscore.sampledata import documents, mgrs
from statscore.sampledata._cog import write_cog
from statscore.sampledata.acquisitions import Acquisition, acquisitions
from statscore.sampledata.products import Band, Product, get_product
from statscore.sampledata.regions import DEFAULT_REGION, Region, region_geometry
from statscore.sampledata.spectra import CLOUD_SHADOW_FACTOR, LandCover, World, pass_seed, _CLOUD

NAMESPACE = uuid.UUID("2f6b8f3a-5a0c-4d0e-9a51-7d1c1f0b5e21")
"""UUID5 namespace of sample dataset ids."""

FORMATS = ("eo3", "stac")

# Reflectance bands of each family, as indices into spectra.WAVELENGTHS_UM.
_SPECTRUM_INDEX = {
    "B02": 0, "B03": 1, "B04": 2, "B05": 3, "B06": 4, "B07": 5, "B08": 6, "B8A": 7,
    "B11": 8, "B12": 9,
    "blue": 0, "green": 1, "red": 2, "nir08": 7, "swir16": 8, "swir22": 9,
}


@dataclass(frozen=True)
class SceneRecord:
    """What was written for one scene."""

    id: uuid.UUID
    label: str
    product: str
    region_code: str
    crs: str
    """``EPSG:32755`` style."""
    footprint: Polygon
    """Valid-data polygon in ``crs``."""
    datetime: datetime
    """Acquisition time, UTC."""
    solar_date: date
    """Local solar date of the acquisition (may be a day after the UTC date)."""
    platform: str
    cloud_cover: float
    """Percent of valid pixels under cloud or cirrus (not shadow)."""
    grids: dict[str, GeoBox]
    """``default`` (finest bands) and, for S2, ``g20m``."""
    band_paths: dict[str, Path]
    eo3_path: Path | None = None
    stac_path: Path | None = None
    folder: Path = field(default=Path("."))

    @property
    def epsg(self) -> int:
        return int(self.crs.split(":")[1])

    @property
    def footprint_wgs84(self) -> Polygon:
        """The footprint in lon/lat (densified to 2 km before reprojecting)."""
        return mgrs.project(shapely.segmentize(self.footprint, 2000.0), mgrs.from_utm(self.epsg), 1e9)


def _parse_date(value: str | date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _label(product: Product, acq: Acquisition) -> str:
    t = acq.datetime
    if product.family == "s2":
        sat = "S2A" if acq.platform.endswith("a") else "S2B"
        return f"{sat}_{acq.region_code}_{t:%Y%m%d}_0_L2A"
    if product.name.startswith("ga_"):
        return f"{product.name}-2-1_{acq.region_code}_{t:%Y-%m-%d}_final"
    processed = t + timedelta(days=10)
    return f"LC08_L2SP_{acq.region_code}_{t:%Y%m%d}_{processed:%Y%m%d}_02_T1"


def _grid_name(product: Product, band: Band) -> str:
    return "default" if band.resolution == product.finest_resolution else f"g{band.resolution:g}m"


def _grids(
    product: Product, acq: Acquisition, size_px: int, native: bool, anchor: tuple[float, float] | None
) -> dict[str, GeoBox] | None:
    """The pixel grids of one scene, or None when a native window misses its data."""
    fine = product.finest_resolution
    coarse = product.coarsest_resolution
    x0, y0, x1, y1 = acq.bounds
    if native:
        res = fine
        span = size_px * fine
        if anchor is None:
            cx, cy = acq.footprint.centroid.coords[0]
        else:
            near = shapely.ops.nearest_points(acq.footprint, shapely.Point(anchor))[0]
            cx, cy = near.x, near.y
        # Window on the coarsest band's grid, clamped inside the scene.
        wx = x0 + round((cx - span / 2 - x0) / coarse) * coarse
        wy = y1 - round((y1 - (cy + span / 2)) / coarse) * coarse
        wx = max(x0, min(wx, x0 + math.floor((x1 - span - x0) / coarse) * coarse))
        wy = min(y1, max(wy, y1 - math.floor((y1 - y0 - span) / coarse) * coarse))
        left, top, width, height = wx, wy, span, span
    else:
        res = fine * math.ceil(max(x1 - x0, y1 - y0) / fine / size_px)
        left, top, width, height = x0, y1, x1 - x0, y1 - y0
    grids = {}
    for b in product.bands:
        name = _grid_name(product, b)
        if name in grids:
            continue
        r = res * b.resolution / fine
        shape = (math.ceil(height / r - 1e-9), math.ceil(width / r - 1e-9))
        grids[name] = GeoBox(shape, Affine(r, 0, left, 0, -r, top), f"EPSG:{acq.epsg}")
    return grids


def _pixel_lonlat(gbox: GeoBox, epsg: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ny, nx = gbox.shape.yx
    t = gbox.transform
    xs = t.c + (np.arange(nx) + 0.5) * t.a
    ys = t.f + (np.arange(ny) + 0.5) * t.e
    x, y = np.meshgrid(xs, ys)
    lon, lat = mgrs.from_utm(epsg).transform(x, y)
    return x, y, np.asarray(lon), np.asarray(lat)


def _cloud_cover_for_pass(seed: int, when: date, track: int, cloudiness: float) -> float:
    """Expected cloudy fraction of one pass: clear about a third of the time."""
    rng = np.random.default_rng(pass_seed(seed, when, track) + 17)
    if rng.random() < 0.35 or cloudiness <= 0:
        return 0.0
    return float(min(0.95, rng.beta(0.8, 1.6) * cloudiness / 0.33))


def _encode(band: Band, rho: np.ndarray) -> np.ndarray:
    """Reflectance x 10000 -> stored values of a reflectance band."""
    if band.scale is not None:
        dn = (rho / 10000.0 - band.offset) / band.scale
        return np.clip(np.rint(dn), 1, 65535).astype(band.dtype)
    lo = 1 if band.dtype.startswith("u") else -998
    return np.clip(np.rint(rho), lo, 10000 if band.dtype == "int16" else 65535).astype(band.dtype)


# QA_PIXEL values (USGS Collection 2): fill, clear land/water, cloud, cirrus, shadow.
QA_FILL, QA_CLEAR, QA_WATER, QA_CLOUD, QA_CIRRUS, QA_SHADOW = 1, 21824, 21952, 22280, 54596, 23824


def _mask(band: Band, valid: np.ndarray, lc: np.ndarray, opacity: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    cloud = opacity > 0
    thin = cloud & (opacity <= 0.3)
    water = lc == LandCover.WATER
    if band.name == "SCL":
        out = np.where(water, 6, np.where((lc == LandCover.FOREST) | (lc == LandCover.CROP), 4, 5))
        out[shadow] = 3
        out[cloud] = np.where(opacity[cloud] > 0.7, 9, 8)
        out[thin] = 10
    elif band.name == "oa_fmask":
        out = np.where(water, 5, 1)
        out[shadow] = 3
        out[cloud] = 2
    else:  # QA_PIXEL
        out = np.where(water, QA_WATER, QA_CLEAR)
        out[shadow] = QA_SHADOW
        out[cloud] = QA_CLOUD
        out[thin] = QA_CIRRUS
    out = out.astype(band.dtype)
    out[~valid] = band.nodata
    return out


def _water(band: Band, valid: np.ndarray, lc: np.ndarray, opacity: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    """WOfS ``water`` flags: 1 outside the data, cloud (64) and cloud shadow (32) bits, else
    128 on water and 0 on dry land (clear observations)."""
    out = np.where(lc == LandCover.WATER, 128, 0).astype(band.dtype)
    out[shadow] = 32
    out[opacity > 0] = 64
    out[~valid] = band.nodata
    return out


def _cover(band: Band, valid: np.ndarray, rho: np.ndarray, opacity: np.ndarray) -> np.ndarray:
    """Fractional cover from the same reflectance: green cover from NDVI, the rest split
    into bare soil and dry vegetation by short-wave infrared brightness; ``ue`` grows
    under cloud. Percent (uint8), nodata outside the data."""
    red, nir, swir = rho[2].astype(np.float64), rho[7].astype(np.float64), rho[8].astype(np.float64)
    ndvi = (nir - red) / np.maximum(nir + red, 1.0)
    pv = np.clip((ndvi - 0.05) / 0.75, 0, 1)
    bs = (1 - pv) * np.clip((swir - 1200.0) / 2000.0, 0.1, 0.9)
    fractions = {"pv": pv, "bs": bs, "npv": 1 - pv - bs}
    if band.name == "ue":
        value = 4 + 30 * opacity.astype(np.float64) + 3 * np.abs(ndvi)
    else:
        value = 100 * fractions[band.name]
    out = np.clip(np.rint(value), 0, 254).astype(band.dtype)
    out[~valid] = band.nodata
    return out


def _properties(product: Product, acq: Acquisition, gsd: float, cloud_cover: float, rng: np.random.Generator) -> dict:
    t = acq.datetime.replace(microsecond=acq.datetime.microsecond // 1000 * 1000)
    props = {
        "datetime": documents._iso(t),
        "eo:cloud_cover": round(cloud_cover, 3),
        "eo:gsd": gsd,
        "eo:instrument": product.instrument,
        "eo:platform": acq.platform,
        "odc:file_format": "GeoTIFF",
        "odc:processing_datetime": documents._iso(t + timedelta(hours=5 + 24 * int(rng.integers(0, 3)))),
        "odc:producer": product.producer,
        "odc:product_family": product.product_family,
        "odc:region_code": acq.region_code,
    }
    if product.family == "s2":
        props["sat:relative_orbit"] = acq.orbit
    else:
        path, row = int(acq.region_code[:3]), int(acq.region_code[3:])
        props["landsat:wrs_path"] = path
        props["landsat:wrs_row"] = row
        props["landsat:collection_number"] = 2 if product.name.startswith("ls") else 1
    if product.name.startswith("ga_"):
        props["dea:dataset_maturity"] = "final"
        props["odc:dataset_version"] = "3.2.1"
        xy = float(np.round(rng.gamma(2.0, 0.18), 2))
        props["gqa:iterative_mean_xy"] = xy
        props["gqa:cep90"] = float(np.round(xy * 1.8, 2))
    return props


def _write_scene(
    product: Product,
    acq: Acquisition,
    out_dir: Path,
    *,
    seed: int,
    size_px: int,
    native: bool,
    anchor: tuple[float, float] | None,
    cloudiness: float,
    formats: Sequence[str],
    world: World,
) -> SceneRecord | None:
    grids = _grids(product, acq, size_px, native, anchor)
    window = box(*grids["default"].extent.boundingbox)
    footprint = shapely.intersection(acq.footprint, window)
    if footprint.is_empty or footprint.area < 0.01 * window.area:
        return None
    footprint = shapely.normalize(footprint)
    if footprint.geom_type != "Polygon":
        footprint = max(getattr(footprint, "geoms", [footprint]), key=lambda g: g.area)
    label = _label(product, acq)
    dataset_id = uuid.uuid5(NAMESPACE, f"{label}/seed={seed}/size={size_px}/native={native}")
    folder = out_dir / product.name / acq.region_path / f"{acq.datetime:%Y/%m/%d}" / label
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(dataset_id.int % 2**63)
    track = acq.orbit
    cover = _cloud_cover_for_pass(seed, acq.solar_date, track, cloudiness)

    band_grids = {b.name: _grid_name(product, b) for b in product.bands}
    band_files = {b.name: f"{label}_{b.name}.tif" for b in product.bands}
    shapely.prepare(footprint)
    cloud_pct = 0.0
    # cloud cover is counted on the mask band's grid (any grid when there is no mask)
    cloud_grid = next((band_grids[b.name] for b in product.bands if b.role in ("mask", "water")), "default")
    for gname, gbox in grids.items():
        x, y, lon, lat = _pixel_lonlat(gbox, acq.epsg)
        valid = shapely.contains_xy(footprint, x, y)
        lc = world.land_cover(lon, lat)
        rho = world.reflectance(lon, lat, acq.solar_date, lc)
        opacity, shadow = world.clouds(lon, lat, acq.solar_date, track, cover)
        if shadow.any():
            rho[:, shadow] *= np.float32(CLOUD_SHADOW_FACTOR)
        if opacity.any():
            rho = rho * (1 - opacity) + _CLOUD[:, None, None].astype(np.float32) * opacity
        rho *= 1.0 + np.float32(0.01) * rng.standard_normal(rho.shape, dtype=np.float32)
        for b in product.bands:
            if band_grids[b.name] != gname:
                continue
            if b.role == "reflectance":
                data = _encode(b, rho[_SPECTRUM_INDEX[b.name if product.family == "s2" else b.common_name]])
                data[~valid] = b.nodata
            elif b.role == "mask":
                data = _mask(b, valid, lc, opacity, shadow)
            elif b.role == "water":
                data = _water(b, valid, lc, opacity, shadow)
            elif b.role == "cover":
                data = _cover(b, valid, rho, opacity)
            else:  # contiguity: 1 where every band has data
                data = valid.astype(b.dtype)
            write_cog(folder / band_files[b.name], data, crs=f"EPSG:{acq.epsg}",
                      transform=gbox.transform, nodata=b.nodata, categorical=b.role != "reflectance")
        if gname == cloud_grid:
            cloud_pct = 100.0 * int((valid & (opacity > 0)).sum()) / max(int(valid.sum()), 1)

    gsd = float(abs(grids["default"].resolution.x))
    props = _properties(product, acq, gsd, cloud_pct, rng)
    common = dict(dataset_id=dataset_id, label=label, product=product, epsg=acq.epsg, footprint=footprint,
                  grids=grids, band_grids=band_grids, band_files=band_files, properties=props)
    eo3_path = stac_path = None
    if "eo3" in formats:
        eo3_path = folder / f"{label}.odc-metadata.yaml"
        doc = documents.eo3_document(**common)
        eo3_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    if "stac" in formats:
        stac_path = folder / f"{label}.stac-item.json"
        item = documents.stac_item(**common, eo3_filename=eo3_path.name if eo3_path else None)
        documents.write_stac_item(item, stac_path)
    return SceneRecord(
        id=dataset_id,
        label=label,
        product=product.name,
        region_code=acq.region_code,
        crs=f"EPSG:{acq.epsg}",
        footprint=footprint,
        datetime=datetime.fromisoformat(props["datetime"].replace("Z", "+00:00")),
        solar_date=acq.solar_date,
        platform=acq.platform,
        cloud_cover=props["eo:cloud_cover"],
        grids=grids,
        band_paths={b: folder / f for b, f in band_files.items()},
        eo3_path=eo3_path,
        stac_path=stac_path,
        folder=folder,
    )


def generate_scenes(
    out_dir: str | Path,
    *,
    product: str = "s2_l2a",
    region: Region = DEFAULT_REGION,
    start: str | date = "2020-01-01",
    end: str | date = "2020-12-31",
    seed: int = 0,
    size_px: int = 256,
    native: bool = False,
    cloudiness: float = 0.33,
    formats: Iterable[str] = FORMATS,
    limit: int | None = None,
) -> list[SceneRecord]:
    """Write every scene of ``product`` acquired over ``region`` between the local
    solar dates ``start`` and ``end`` (inclusive) under ``out_dir``.

    ``size_px`` caps the pixels across the finest grid; ``native`` switches from a
    whole scene at a coarse pixel size to a native-resolution window (see the module
    docstring). ``cloudiness`` scales the mean cloud cover (0 for none). ``limit``
    keeps the first N acquisitions in time. Same arguments, same files and ids.
    """
    prod = get_product(product)
    formats = tuple(formats)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ConfigError(f"unknown format(s) {sorted(unknown)}; valid: {', '.join(FORMATS)}")
    if size_px < 16:
        raise ConfigError(f"size_px must be at least 16, not {size_px}")
    d0, d1 = _parse_date(start), _parse_date(end)
    if d1 < d0:
        raise ConfigError(f"end {d1} is before start {d0}")
    geom = region_geometry(region)
    acqs = acquisitions(prod, geom, d0, d1)
    if limit is not None:
        acqs = acqs[:limit]
    world = World(seed)
    lon, lat = geom.centroid.coords[0]
    anchors: dict[int, tuple[float, float]] = {}
    out = Path(out_dir)
    records = []
    for acq in acqs:
        if acq.epsg not in anchors:
            anchors[acq.epsg] = mgrs.to_utm(acq.epsg).transform(lon, lat)
        rec = _write_scene(prod, acq, out, seed=seed, size_px=size_px, native=native,
                           anchor=anchors[acq.epsg], cloudiness=cloudiness, formats=formats, world=world)
        if rec is not None:
            records.append(rec)
    return records

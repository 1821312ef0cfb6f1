"""Documents describing one output dataset: eo3 (``.odc-metadata.yaml``), the STAC item,
``.proc-info.yaml``, and the datacube product definition they index against."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pystac
import xarray as xr
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension

from .. import __version__
from ..model import OutputProduct, Task

__all__ = ["FileInfo", "product_definition", "eo3_document", "stac_item", "stac_collection", "proc_info",
           "band_nodata", "iso_utc", "COLLECTION_FILE"]

EO3_SCHEMA = "https://schemas.opendatacube.org/dataset"
PROCESSING_EXT = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
TIFF = "image/tiff; application=geotiff; profile=cloud-optimized"
COLLECTION_FILE = "collection.json"
"""The product's STAC collection, at the root of its output location (where the AWS run
summary also writes it); items without a ``collections_site`` link to it relatively."""


@dataclass(frozen=True)
class FileInfo:
    """A file written for a task: name relative to the folder, size, SHA-1."""

    name: str
    size: int
    sha1: str
    """Hex digest."""

    @property
    def multihash(self) -> str:
        """``file:checksum``: multihash code 0x11 (sha1), length 0x14 (20 bytes), digest."""
        return f"1114{self.sha1}"


def iso_utc(t: datetime) -> str:
    """``2015-01-01T00:00:00Z``; naive times are UTC."""
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc).replace(tzinfo=None)
    return t.isoformat() + "Z"


def band_nodata(da: xr.DataArray) -> float | int | None:
    """A band's nodata from its ``nodata`` (or ``_FillValue``) attribute, typed to its dtype."""
    nd = da.attrs.get("nodata", da.attrs.get("_FillValue"))
    if nd is None:
        return None
    if da.dtype.kind in "iub" and not (isinstance(nd, float) and math.isnan(nd)):
        return int(nd)
    return float(nd)


def _product_href(product: OutputProduct) -> str | None:
    return f"https://{product.collections_site}/product/{product.name}" if product.collections_site else None


def _license(product: OutputProduct) -> str:
    return str(product.properties.get("license", "CC-BY-4.0"))


def _collection_href(task: Task, collection_file: str = COLLECTION_FILE) -> str:
    """The item's ``collection`` link: the product page on ``collections_site`` (as odc-stats
    links it) or else the collection document at the output root, relative to the item."""
    site = _product_href(task.product)
    return site or "../" * len(task.location.split("/")) + collection_file


def _crs_text(task: Task) -> str:
    crs = task.geobox.crs
    return f"epsg:{crs.epsg}" if crs.epsg is not None else crs.to_wkt()


def _sources(task: Task) -> tuple[str, str]:
    """``eo:platform`` (sorted, comma joined) and ``eo:instrument`` (sorted, ``_`` joined) of the inputs."""
    platforms: set[str] = set()
    instruments: set[str] = set()
    for ds in task.datasets:
        props = ds.metadata_doc.get("properties", {})
        if props.get("eo:platform"):
            platforms.update(str(p) for p in str(props["eo:platform"]).split(","))
        ins = props.get("eo:instrument")
        if ins:
            instruments.update(str(i) for i in (ins if isinstance(ins, list) else [ins]))
    return ",".join(sorted(platforms)), "_".join(sorted(instruments))


def _properties(task: Task, processing_dt: datetime) -> dict[str, Any]:
    product = task.product
    props: dict[str, Any] = {
        "datetime": iso_utc(task.time_range.start),
        "dtr:start_datetime": iso_utc(task.time_range.start),
        "dtr:end_datetime": iso_utc(task.time_range.end),
        "odc:processing_datetime": iso_utc(processing_dt.replace(microsecond=0)),
        "odc:region_code": task.region_code,
        "odc:product_family": product.product_family,
        "odc:producer": product.producer,
        "odc:dataset_version": product.version,
        "odc:file_format": "GeoTIFF",
    }
    if product.naming_conventions_values:
        props["odc:naming_conventions"] = product.naming_conventions_values
    if product.maturity and product.naming_conventions_values.startswith("dea"):
        props["dea:dataset_maturity"] = product.maturity
    platform, instrument = _sources(task)
    if platform:
        props["eo:platform"] = platform
    if instrument:
        props["eo:instrument"] = instrument
    props.update(product.properties)
    return props


def eo3_document(
    task: Task,
    result: xr.Dataset,
    *,
    processing_dt: datetime,
    accessories: Mapping[str, str] = {},
    extra_properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The eo3 dataset document: bands in ``task.product.measurements`` order, relative paths.

    ``extra_properties`` (e.g. the input fingerprint) are added to ``properties``; the STAC
    item takes its properties from this document, so they land there too."""
    product = task.product
    gbox = task.geobox
    doc: dict[str, Any] = {
        "$schema": EO3_SCHEMA,
        "id": str(task.uuid),
        "label": task.prefix,
        "product": {"name": product.name},
        "crs": _crs_text(task),
        "geometry": gbox.extent.json,
        "grids": {"default": {"shape": list(gbox.shape), "transform": list(gbox.transform)[:9]}},
        "properties": {**_properties(task, processing_dt), **dict(extra_properties or {})},
        "measurements": {b: {"path": p} for b, p in task.band_paths().items()},
        "accessories": {k: {"path": v} for k, v in accessories.items()},
        "lineage": {product.classifier: [str(u) for u in task.lineage]} if task.lineage else {},
    }
    href = _product_href(product)
    if href:
        doc["product"]["href"] = href
    return doc


def product_definition(product: OutputProduct, result: xr.Dataset) -> dict[str, Any]:
    """A datacube (eo3) product definition for ``datacube product add`` matching the outputs."""
    measurements = []
    for band in product.measurements:
        da = result[band]
        m: dict[str, Any] = {
            "name": band,
            "dtype": "uint8" if da.dtype.kind == "b" else da.dtype.name,
            "units": str(da.attrs.get("units", "1")),
        }
        nd = band_nodata(da)
        if nd is None and product.nodata and band in product.nodata:
            nd = product.nodata[band]
        if nd is not None:
            m["nodata"] = nd
        if "flags_definition" in da.attrs:
            m["flags_definition"] = da.attrs["flags_definition"]
        measurements.append(m)
    doc: dict[str, Any] = {
        "name": product.name,
        "description": f"{product.name} {product.version}: {product.product_family} by {product.producer}",
        "metadata_type": "eo3",
        "license": _license(product),
        "metadata": {"product": {"name": product.name}},
        "measurements": measurements,
    }
    return doc


def stac_collection(product: OutputProduct) -> dict[str, Any]:
    """The product's STAC collection (``collection.json`` at the output root).

    Written by the first task of a product that has no ``collections_site``, so that the
    items' ``collection`` field and link resolve. It depends on the product settings only
    (concurrent workers write the same document); the extent is therefore open: the whole
    globe and no time bounds, narrowed by whoever catalogues the finished product (the AWS
    run summary rewrites it with the periods done).
    """
    providers = [pystac.Provider(name=product.producer, roles=[pystac.ProviderRole.PROCESSOR,
                                                                pystac.ProviderRole.PRODUCER])]
    col = pystac.Collection(
        id=product.name,
        title=f"{product.name} {product.version}",
        description=f"{product.name} {product.version}: {product.product_family} by {product.producer} "
                    f"(statscore {__version__}, odc-stats compatible)",
        extent=pystac.Extent(pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
                             pystac.TemporalExtent([[None, None]])),
        license=_license(product),
        providers=providers,
        keywords=["odc-stats", "statscore", product.product_family],
        summaries=pystac.Summaries({"odc:product_family": [product.product_family],
                                    "odc:producer": [product.producer]}),
    )
    return col.to_dict(include_self_link=False, transform_hrefs=False)


def _software(processing_info: Mapping[str, Any] | None) -> dict[str, str]:
    soft = {"statscore": __version__}
    for name in ("datacube", "rasterio", "numpy"):
        try:
            soft[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            pass
    soft.update({str(k): str(v) for k, v in dict((processing_info or {}).get("software", {})).items()})
    return soft


def proc_info(task: Task, processing_info: Mapping[str, Any] | None) -> dict[str, Any]:
    """``.proc-info.yaml``: input products, the product settings, software and the caller's notes."""
    info = {k: v for k, v in dict(processing_info or {}).items() if k != "software"}
    return {
        "input-products": sorted({ds.product.name for ds in task.datasets}),
        "product": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(task.product).items()},
        "software_versions": [{"name": k, "version": v} for k, v in _software(processing_info).items()],
        **info,
    }


_RASTER_TYPES = {t.value: t for t in DataType}


def _raster_band(da: xr.DataArray) -> RasterBand:
    dtype = "uint8" if da.dtype.kind == "b" else da.dtype.name
    nd = band_nodata(da)
    if isinstance(nd, float) and math.isnan(nd):
        nd = "nan"  # type: ignore[assignment]
    return RasterBand.create(
        nodata=nd,
        data_type=_RASTER_TYPES[dtype],
        scale=float(da.attrs.get("scale_factor", 1.0)),
        offset=float(da.attrs.get("add_offset", 0.0)),
        unit=str(da.attrs["units"]) if "units" in da.attrs else None,
    )


def stac_item(
    task: Task,
    result: xr.Dataset,
    eo3: Mapping[str, Any],
    files: Mapping[str, FileInfo],
    *,
    self_href: str,
    processing_info: Mapping[str, Any] | None = None,
    collection_file: str = COLLECTION_FILE,
) -> dict[str, Any]:
    """The STAC item of a task's outputs; ``collection_file``: the product's collection
    document at the output root (linked when the product has no ``collections_site``).

    ``files`` maps asset keys to the files written (band names for the bands; ``rgba``,
    ``thumbnail``, ``odc-metadata``, ``checksum:sha1``, ``proc-info`` for the rest).
    """
    product = task.product
    gbox = task.geobox
    wgs84 = gbox.extent.to_crs("epsg:4326")
    bbox = wgs84.boundingbox
    eo3_props = dict(eo3["properties"])
    # eo3's eo:platform / eo:instrument are STAC common metadata (the eo extension has no such
    # fields), as eodatasets3 maps them
    props = {k: v for k, v in eo3_props.items() if k not in ("datetime", "eo:platform", "eo:instrument")}
    if eo3_props.get("eo:platform"):
        props["platform"] = eo3_props["eo:platform"]
    if eo3_props.get("eo:instrument"):
        props["instruments"] = [i.lower() for i in str(eo3_props["eo:instrument"]).split("_")]
    props["start_datetime"] = eo3_props["dtr:start_datetime"]
    props["end_datetime"] = eo3_props["dtr:end_datetime"]
    props["odc:product"] = product.name
    props["title"] = task.prefix
    processing_dt = datetime.fromisoformat(eo3_props["odc:processing_datetime"].replace("Z", "+00:00"))
    inputs = sorted({ds.product.name for ds in task.datasets})
    lineage = (processing_info or {}).get("lineage") or (
        f"{product.name} {product.version} for {task.region_code} {task.short_time} from "
        f"{len(task.lineage)} source datasets of {', '.join(inputs) or 'no products'}"
    )
    item = pystac.Item(
        id=str(task.uuid),
        geometry=wgs84.json,
        bbox=[bbox.left, bbox.bottom, bbox.right, bbox.top],
        datetime=task.time_range.start.replace(tzinfo=timezone.utc),
        properties=props,
        collection=product.name,
    )
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    proj.apply(
        code=f"EPSG:{gbox.crs.epsg}" if gbox.crs.epsg is not None else None,
        wkt2=None if gbox.crs.epsg is not None else gbox.crs.to_wkt(),
        shape=list(gbox.shape),
        transform=list(gbox.transform)[:6],
    )
    RasterExtension.add_to(item)
    FileExtension.add_to(item)
    item.stac_extensions.append(PROCESSING_EXT)
    item.properties["processing:software"] = _software(processing_info)
    item.properties["processing:lineage"] = str(lineage)
    item.properties["processing:datetime"] = iso_utc(processing_dt)
    item.properties["odc:lineage"] = {"inputs": [str(u) for u in task.lineage]}

    def add(key: str, media_type: str, roles: list[str], title: str) -> pystac.Asset | None:
        f = files.get(key)
        if f is None:
            return None
        asset = pystac.Asset(href=f.name, media_type=media_type, roles=roles, title=title)
        item.add_asset(key, asset)
        fext = FileExtension.ext(asset)
        fext.checksum = f.multihash
        fext.size = f.size
        return asset

    for band in product.measurements:
        asset = add(band, TIFF, ["data"], band)
        if asset is not None:
            RasterExtension.ext(asset).apply([_raster_band(result[band])])
    add("rgba", TIFF, ["overview", "visual"], "RGBA preview")
    add("thumbnail", "image/jpeg", ["thumbnail"], "Thumbnail")
    add("odc-metadata", "text/yaml", ["metadata"], "eo3 dataset document")
    add("proc-info", "text/yaml", ["metadata"], "Processing information")
    add("checksum:sha1", "text/plain", ["metadata"], "SHA-1 checksums")

    item.add_link(pystac.Link(rel="self", target=self_href, media_type="application/geo+json"))
    if "odc-metadata" in files:
        item.add_link(pystac.Link(rel="odc_yaml", target=files["odc-metadata"].name, media_type="text/yaml"))
    # STAC requires a `collection` link wherever the `collection` field is set
    item.add_link(pystac.Link(rel="collection", target=_collection_href(task, collection_file),
                              media_type="application/json"))
    href = _product_href(product)
    if href:
        item.add_link(pystac.Link(rel="product_overview", target=href, media_type="application/json"))
    return item.to_dict(include_self_link=True, transform_hrefs=False)

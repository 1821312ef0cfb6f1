"""The metadata of one sample scene: eo3 dataset document and STAC item.

Both describe the same dataset: the STAC item's id is the eo3 ``id`` (a UUID, which
is how datacube's STAC tools map items to datasets), its assets are the eo3
measurements with the same relative paths, and it links to the eo3 document
(``rel: odc_yaml``, as eodatasets3 does).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pystac
import shapely
from odc.geo.geobox import GeoBox
from pystac.extensions.eo import Band as EOBand
from pystac.extensions.eo import EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension
from pystac.extensions.sat import SatExtension

from statscore.sampledata.mgrs import from_utm, project
from statscore.sampledata.products import Product

ODC_DATASET_SCHEMA = "https://schemas.opendatacube.org/dataset"
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _grid_doc(gbox: GeoBox) -> dict[str, Any]:
    return {"shape": list(gbox.shape.yx), "transform": list(gbox.transform)[:6] + [0.0, 0.0, 1.0]}


def eo3_document(
    *,
    dataset_id: UUID,
    label: str,
    product: Product,
    epsg: int,
    footprint: shapely.Polygon,
    grids: Mapping[str, GeoBox],
    band_grids: Mapping[str, str],
    band_files: Mapping[str, str],
    properties: Mapping[str, Any],
) -> dict[str, Any]:
    """An eo3 dataset document (``$schema`` https://schemas.opendatacube.org/dataset)."""
    measurements: dict[str, Any] = {}
    for band in product.band_names:
        m: dict[str, Any] = {"path": band_files[band]}
        if band_grids[band] != "default":
            m["grid"] = band_grids[band]
        measurements[band] = m
    return {
        "$schema": ODC_DATASET_SCHEMA,
        "id": str(dataset_id),
        "label": label,
        "product": {"name": product.name},
        "crs": f"epsg:{epsg}",
        "geometry": shapely.geometry.mapping(footprint),
        "grids": {name: _grid_doc(g) for name, g in grids.items()},
        "properties": dict(properties),
        "measurements": measurements,
        "lineage": {},
    }


def stac_item(
    *,
    dataset_id: UUID,
    label: str,
    product: Product,
    epsg: int,
    footprint: shapely.Polygon,
    grids: Mapping[str, GeoBox],
    band_grids: Mapping[str, str],
    band_files: Mapping[str, str],
    properties: Mapping[str, Any],
    eo3_filename: str | None,
) -> pystac.Item:
    """A STAC item with the projection, eo and raster extensions; hrefs are relative."""
    wgs84 = project(shapely.segmentize(footprint, 2000.0), from_utm(epsg), 1e9)
    wgs84 = shapely.set_precision(wgs84, 1e-6)
    dt = datetime.fromisoformat(properties["datetime"].replace("Z", "+00:00"))
    props = {
        "title": label,
        "platform": properties["eo:platform"],
        "instruments": [product.instrument.lower()],
        "constellation": "sentinel-2" if product.family == "s2" else "landsat",
        "gsd": properties["eo:gsd"],
        "created": properties["odc:processing_datetime"],
        "odc:product": product.name,
        "odc:region_code": properties["odc:region_code"],
        "odc:file_format": "GeoTIFF",
        "odc:processing_datetime": properties["odc:processing_datetime"],
        "odc:product_family": properties["odc:product_family"],
    }
    props.update({k: v for k, v in properties.items() if k.split(":")[0] in ("landsat", "sat", "gqa", "dea")})
    item = pystac.Item(
        id=str(dataset_id),
        geometry=shapely.geometry.mapping(wgs84),
        bbox=list(wgs84.bounds),
        datetime=dt,
        properties=props,
    )
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    proj.code = f"EPSG:{epsg}"
    proj.shape = list(grids["default"].shape.yx)
    proj.transform = list(grids["default"].transform)[:6]
    proj.geometry = shapely.geometry.mapping(footprint)
    EOExtension.ext(item, add_if_missing=True).cloud_cover = properties["eo:cloud_cover"]
    if any(k.startswith("sat:") for k in props):
        SatExtension.add_to(item)  # the relative orbit copied from the eo3 properties
    RasterExtension.add_to(item)

    for band in product.bands:
        asset = pystac.Asset(href=f"./{band_files[band.name]}", media_type=COG_MEDIA_TYPE,
                             title=band.name, roles=["data"])
        gbox = grids[band_grids[band.name]]
        if band_grids[band.name] != "default":
            aproj = ProjectionExtension.ext(asset)
            aproj.shape = list(gbox.shape.yx)
            aproj.transform = list(gbox.transform)[:6]
        rb = RasterBand.create(
            nodata=band.nodata,
            data_type=DataType(band.dtype),
            spatial_resolution=float(abs(gbox.resolution.x)),
            scale=band.scale,
            offset=band.offset,
        )
        RasterExtension.ext(asset).bands = [rb]
        if band.wavelength is not None:
            EOExtension.ext(asset).bands = [
                EOBand.create(name=band.name, common_name=band.common_name,
                              center_wavelength=band.wavelength)
            ]
        item.add_asset(band.name, asset)
    if eo3_filename:
        item.add_link(pystac.Link(rel="odc_yaml", target=f"./{eo3_filename}", media_type="text/yaml",
                                  title="ODC dataset document"))
    return item


def write_stac_item(item: pystac.Item, path: Path) -> None:
    """Write the item as JSON without a self link, keeping the relative hrefs."""
    import json

    path.write_text(json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False), indent=2))

"""STAC items: valid against the STAC 1.1 item schema (shipped with pystac, so no
network), with projection/eo/raster extension fields that agree with the eo3
document and the files."""

from __future__ import annotations

import json

import pystac
import pytest
import rasterio
import shapely
import yaml
from pystac.extensions.eo import EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import RasterExtension
from pystac.validation.stac_validator import JsonSchemaSTACValidator

from statscore.sampledata import PRODUCTS


@pytest.fixture(scope="module")
def validator() -> JsonSchemaSTACValidator:
    return JsonSchemaSTACValidator()  # its schema cache holds pystac's bundled core schemas


def test_items_validate_against_the_core_item_schema(all_scenes, validator):
    for rec in all_scenes[::3]:
        d = json.loads(rec.stac_path.read_text())
        validator.validate_core(d, pystac.STACObjectType.ITEM, d["stac_version"], str(rec.stac_path))


def test_a_broken_item_fails_the_schema(all_scenes, validator):
    d = json.loads(all_scenes[0].stac_path.read_text())
    del d["properties"]["datetime"]
    with pytest.raises(pystac.STACValidationError):
        validator.validate_core(d, pystac.STACObjectType.ITEM, d["stac_version"], "broken")


def test_item_and_eo3_document_describe_the_same_dataset(all_scenes):
    for rec in all_scenes[::4]:
        item = pystac.Item.from_file(str(rec.stac_path))
        doc = yaml.safe_load(rec.eo3_path.read_text())
        assert item.id == doc["id"] == str(rec.id)
        assert item.properties["odc:product"] == doc["product"]["name"] == rec.product
        assert item.properties["odc:region_code"] == doc["properties"]["odc:region_code"]
        assert item.datetime == rec.datetime
        assert item.properties["title"] == doc["label"]
        for name, m in doc["measurements"].items():
            asset = item.assets[name]
            assert asset.href == f"./{m['path']}"
            assert (rec.stac_path.parent / m["path"]).exists()
        (odc_yaml,) = item.get_links("odc_yaml")
        assert (rec.stac_path.parent / odc_yaml.href).resolve() == rec.eo3_path.resolve()
        # The lon/lat geometry is the eo3 footprint reprojected.
        assert shapely.geometry.shape(item.geometry).buffer(1e-4).contains(rec.footprint_wgs84.buffer(-1e-4))


def test_extension_fields_match_the_files(all_scenes):
    for rec in all_scenes[::6]:
        item = pystac.Item.from_file(str(rec.stac_path))
        assert ProjectionExtension.has_extension(item)
        assert RasterExtension.has_extension(item) and EOExtension.has_extension(item)
        proj = ProjectionExtension.ext(item)
        assert proj.code == rec.crs
        assert EOExtension.ext(item).cloud_cover == rec.cloud_cover
        product = PRODUCTS[rec.product]
        for band in product.bands:
            asset = item.assets[band.name]
            (rb,) = RasterExtension.ext(asset).bands
            with rasterio.open(rec.band_paths[band.name]) as src:
                assert rb.nodata == src.nodata and str(getattr(rb.data_type, "value", rb.data_type)) == src.dtypes[0]
                shape = ProjectionExtension.ext(asset).shape or proj.shape
                transform = ProjectionExtension.ext(asset).transform or proj.transform
                assert list(shape) == [src.height, src.width]
                assert transform == list(src.transform)[:6]
            assert rb.scale == band.scale and rb.offset == band.offset
            if band.wavelength:
                (eob,) = EOExtension.ext(asset).bands
                assert eob.common_name == band.common_name

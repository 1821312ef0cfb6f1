"""The eo3 document and STAC item of a written task: valid, complete, and indexable into a
real PostgreSQL datacube whose load gives back what was written."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pystac
import pytest
import shapely.geometry
import yaml
from eodatasets3.validate import Level, validate_dataset, validate_product
from pystac.validation.stac_validator import JsonSchemaSTACValidator

from statscore.outputs import CogOptions, product_definition, write_task_outputs

from .conftest import BANDS, SOURCE_DOCS, SOURCE_PRODUCT, make_result

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def out(tmp_path_factory, sources):
    from .conftest import make_task as _mk

    task = _mk.__wrapped__(sources)(str(tmp_path_factory.mktemp("meta")))
    result = make_result(task)
    urls = write_task_outputs(task, result, cog_opts=CogOptions(), processing_info={
        "software": {"gm-s2": "0.0.1"}, "lineage": "geomedian of clear S2 observations", "plugin": "gm-s2"})
    folder = Path(task.folder)
    item = json.loads((folder / task.metadata_path("stac-item.json")).read_text())
    eo3 = yaml.safe_load((folder / task.metadata_path("odc-metadata.yaml")).read_text())
    return task, result, urls, folder, item, eo3


def _errors(messages) -> list[str]:
    return [str(m) for m in messages if m.level == Level.error]


def test_stac_item_validates_against_the_core_schema(out):
    *_, item, _ = out
    v = JsonSchemaSTACValidator()
    v.validate_core(item, pystac.STACObjectType.ITEM, item["stac_version"], "item")
    broken = {**item, "properties": {k: x for k, x in item["properties"].items() if k != "datetime"}}
    with pytest.raises(pystac.STACValidationError):
        v.validate_core(broken, pystac.STACObjectType.ITEM, item["stac_version"], "broken")


def test_stac_item_identity_time_and_footprint(out):
    task, _, _, folder, item, eo3 = out
    p = item["properties"]
    assert item["id"] == eo3["id"] == str(task.uuid)
    assert item["collection"] == "ga_s2_gm_cyear_3"
    assert p["datetime"] == p["start_datetime"] == "2015-01-01T00:00:00Z"
    assert p["end_datetime"] == "2015-12-31T23:59:59.999999Z"
    assert p["odc:region_code"] == "x49y24" and p["odc:product"] == "ga_s2_gm_cyear_3"
    assert p["odc:lineage"]["inputs"] == sorted(str(d.id) for d in task.datasets)
    footprint = shapely.geometry.shape(item["geometry"])
    assert footprint.equals_exact(shapely.geometry.shape(task.geobox.extent.to_crs("epsg:4326").json), 1e-9)
    (self_link,) = [ln for ln in item["links"] if ln["rel"] == "self"]
    assert self_link["href"] == (folder / task.metadata_path("stac-item.json")).as_uri()  # the real name
    (odc_yaml,) = [ln for ln in item["links"] if ln["rel"] == "odc_yaml"]
    assert (folder / odc_yaml["href"]).is_file()


def test_stac_extension_fields(out):
    task, result, _, folder, item, _ = out
    exts = " ".join(item["stac_extensions"])
    for name in ("projection/v2", "raster/", "file/", "processing/"):
        assert name in exts
    p = item["properties"]
    assert p["proj:code"] == "EPSG:3577" and p["proj:shape"] == [512, 512]
    assert p["proj:transform"] == list(task.geobox.transform)[:6]
    assert p["processing:software"]["statscore"] and p["processing:software"]["gm-s2"] == "0.0.1"
    assert p["processing:lineage"] == "geomedian of clear S2 observations"
    assets = item["assets"]
    assert set(assets) == {*BANDS, "thumbnail", "odc-metadata", "proc-info", "checksum:sha1"}
    for key, asset in assets.items():
        data = (folder / asset["href"]).read_bytes()  # hrefs relative to the item
        assert asset["file:size"] == len(data)
        assert asset["file:checksum"] == "1114" + hashlib.sha1(data).hexdigest()
    (rb,) = assets["red"]["raster:bands"]
    assert rb == {"nodata": 0, "data_type": "uint16", "scale": 1.0, "offset": 0.0, "unit": "1"}
    assert assets["smad"]["raster:bands"][0]["nodata"] == "nan"
    assert assets["smad"]["raster:bands"][0]["data_type"] == "float32"
    assert "thumbnail" in assets["thumbnail"]["roles"] and assets["thumbnail"]["type"] == "image/jpeg"


def test_eo3_document_content(out):
    task, _, _, folder, _, eo3 = out
    assert eo3["$schema"] == "https://schemas.opendatacube.org/dataset"
    assert eo3["product"]["name"] == "ga_s2_gm_cyear_3" and eo3["crs"] == "epsg:3577"
    assert eo3["grids"]["default"]["shape"] == [512, 512]
    p = eo3["properties"]
    assert p["datetime"] == p["dtr:start_datetime"] == "2015-01-01T00:00:00Z"
    assert p["eo:platform"] == "sentinel-2a,sentinel-2b" and p["eo:instrument"] == "MSI"
    assert (p["odc:producer"], p["odc:product_family"], p["odc:dataset_version"]) == ("ga.gov.au", "geomedian", "1.0.0")
    assert p["odc:processing_datetime"].endswith("Z")
    assert list(eo3["measurements"]) == list(BANDS)
    for m in [*eo3["measurements"].values(), *eo3["accessories"].values()]:
        assert (folder / m["path"]).is_file()
    assert set(eo3["accessories"]) == {"thumbnail", "checksum:sha1", "metadata:processor"}
    assert eo3["lineage"] == {"level3": sorted(str(d.id) for d in task.datasets)}
    proc = yaml.safe_load((folder / task.metadata_path("proc-info.yaml")).read_text())
    assert proc["input-products"] == ["s2_l2a"] and proc["plugin"] == "gm-s2"


def test_eo3_document_validates_with_eodatasets3(out):
    task, result, urls, *_, eo3 = out
    product = json.loads(json.dumps(product_definition(task.product, result)))
    assert _errors(validate_product(product)) == []
    eo3_path = next(u for u in urls if u.endswith(".odc-metadata.yaml"))
    msgs = list(validate_dataset(eo3, product_definition=product, thorough=True, readable_location=eo3_path))
    assert _errors(msgs) == []
    wrong = json.loads(json.dumps(product))
    wrong["measurements"][0]["dtype"] = "int8"  # the validator does look at the files
    assert _errors(validate_dataset(eo3, product_definition=wrong, thorough=True, readable_location=eo3_path))


def test_indexes_into_postgres_datacube_and_loads_back_equal(out, pg_url, tmp_path):
    task, result, urls, folder, _, eo3 = out
    env = dict(os.environ, ODC_DEFAULT_DB_URL=pg_url, ODC_DEFAULT_INDEX_DRIVER="postgres")

    def sh(*args: str) -> None:
        r = subprocess.run([str(BIN / "datacube"), *args], env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{args[:2]}: {r.stdout[-2000:]}\n{r.stderr[-2000:]}"

    product_yaml = tmp_path / "product.yaml"
    product_yaml.write_text(yaml.safe_dump(product_definition(task.product, result), sort_keys=False))
    eo3_path = folder / task.metadata_path("odc-metadata.yaml")
    (tmp_path / "source.yaml").write_text(yaml.safe_dump(SOURCE_PRODUCT))
    sources = []
    for doc in SOURCE_DOCS:
        sources.append(tmp_path / f"{doc['id']}.odc-metadata.yaml")
        sources[-1].write_text(yaml.safe_dump(doc))
    sh("system", "init")
    sh("product", "add", str(tmp_path / "source.yaml"), str(product_yaml))
    sh("dataset", "add", *map(str, sources))
    sh("dataset", "add", str(eo3_path))  # the default: lineage must resolve in the index

    from datacube import Datacube
    from datacube.cfg import ODCConfig

    cfg = ODCConfig(raw_dict={"default": {"db_url": pg_url, "index_driver": "postgres"}})
    with Datacube(env=cfg["default"]) as dc:
        (ds,) = dc.find_datasets(product="ga_s2_gm_cyear_3")
        assert str(ds.id) == eo3["id"]
        ds = dc.index.datasets.get(ds.id, include_sources=True)
        assert sorted(str(s.id) for s in ds.sources.values()) == sorted(str(d.id) for d in task.datasets)
        loaded = dc.load(product="ga_s2_gm_cyear_3", like=task.geobox, measurements=list(BANDS))
    assert loaded.sizes["time"] == 1 and loaded.odc.geobox == task.geobox
    for band in BANDS:
        got, want = loaded[band].isel(time=0).values, result[band].values
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)

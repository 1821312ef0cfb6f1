"""Product definitions: accepted by datacube and eodatasets3, with the names users know."""

from __future__ import annotations

from importlib.resources import files

import pytest
import yaml
from datacube.model import MetadataType, Product
from datacube.utils import read_documents
from eodatasets3.validate import Level, validate_product

from statscore.sampledata import PRODUCTS


def eo3_metadata_type() -> MetadataType:
    path = files("datacube.index.abstract") / "default-metadata-types.yaml"
    doc = next(d for _, d in read_documents(str(path)) if d["name"] == "eo3")
    return MetadataType(doc)


def test_write_products_writes_one_yaml_per_product(product_paths):
    assert set(product_paths) == {"s2_l2a", "ga_ls8c_ard_3", "ls8_c2l2_sr", "ga_ls_wo_3", "ga_ls_fc_3"}
    for name, path in product_paths.items():
        assert path.name == f"{name}.odc-product.yaml"
        assert yaml.safe_load(path.read_text())["name"] == name


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_product_definition_is_valid_for_datacube_and_eodatasets3(product_paths, name):
    doc = yaml.safe_load(product_paths[name].read_text())
    Product.validate(doc)  # the jsonschema `datacube product add` applies
    product = Product(eo3_metadata_type(), doc)
    assert product.name == name
    errors = [m for m in validate_product(doc) if m.level == Level.error]
    assert errors == []


def test_s2_bands_resolutions_and_scl_classes(product_paths):
    doc = yaml.safe_load(product_paths["s2_l2a"].read_text())
    m = {x["name"]: x for x in doc["measurements"]}
    assert list(m) == ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12", "SCL"]
    assert {m[b]["dtype"] for b in m if b != "SCL"} == {"uint16"}
    assert all(m[b]["nodata"] == 0 for b in m)
    values = m["SCL"]["flags_definition"]["qa"]["values"]
    assert len(values) == 12
    assert values["3"] == "cloud shadows" and values["9"] == "cloud high probability"
    assert values["10"] == "thin cirrus" and values["0"] == "no data"
    res = {b.name: b.resolution for b in PRODUCTS["s2_l2a"].bands}
    assert [b for b, r in res.items() if r == 10] == ["B02", "B03", "B04", "B08"]


def test_ard_uses_dea_names_with_aliases(product_paths):
    doc = yaml.safe_load(product_paths["ga_ls8c_ard_3"].read_text())
    m = {x["name"]: x for x in doc["measurements"]}
    assert m["nbart_red"]["dtype"] == "int16" and m["nbart_red"]["nodata"] == -999
    assert m["oa_fmask"]["aliases"] == ["fmask"]
    assert m["oa_fmask"]["flags_definition"]["fmask"]["values"] == {
        "0": "nodata", "1": "valid", "2": "cloud", "3": "shadow", "4": "snow", "5": "water"}
    assert "nbart_contiguity" in m["oa_nbart_contiguity"]["aliases"]


def test_c2_scale_offset_and_qa_bits(product_paths):
    doc = yaml.safe_load(product_paths["ls8_c2l2_sr"].read_text())
    m = {x["name"]: x for x in doc["measurements"]}
    assert [n for n in m if n.startswith("SR_")] == [f"SR_B{i}" for i in range(2, 8)]
    assert m["SR_B4"]["scale_factor"] == 2.75e-5 and m["SR_B4"]["add_offset"] == -0.2
    flags = m["QA_PIXEL"]["flags_definition"]
    assert flags["cloud"]["bits"] == 3 and flags["cloud_shadow"]["bits"] == 4
    assert flags["cloud_confidence"]["bits"] == [8, 9]


def test_ard_derivatives_have_dea_bands_and_water_bits(product_paths):
    """WOfS and FC as wofs-summary and fc-percentiles read them (DEA's names and bits)."""
    wo = yaml.safe_load(product_paths["ga_ls_wo_3"].read_text())["measurements"]
    assert [(m["name"], m["dtype"], m["nodata"]) for m in wo] == [("water", "uint8", 1)]
    flags = wo[0]["flags_definition"]
    assert (flags["cloud"]["bits"], flags["cloud_shadow"]["bits"], flags["water_observed"]["bits"]) == (6, 5, 7)
    assert flags["wet"]["values"] == {"128": True}
    fc = yaml.safe_load(product_paths["ga_ls_fc_3"].read_text())["measurements"]
    assert [(m["name"], m["dtype"], m["nodata"]) for m in fc] == [
        ("bs", "uint8", 255), ("pv", "uint8", 255), ("npv", "uint8", 255), ("ue", "uint8", 255)]

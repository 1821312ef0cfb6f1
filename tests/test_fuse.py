"""Fusion (``--input-products a+b``): one dataset per time and region holding both."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path

import yaml
from click.testing import CliRunner
from odc.dscache import DatasetCache

from statscore.cli import main
from statscore.ids import odc_uuid

DOC = {
    "$schema": "https://schemas.opendatacube.org/dataset",
    "crs": "epsg:32755",
    "geometry": {"type": "Polygon", "coordinates": [[[600000, 6000000], [610000, 6000000], [610000, 6010000],
                                                     [600000, 6010000], [600000, 6000000]]]},
    "grids": {"default": {"shape": [1000, 1000], "transform": [10, 0, 600000, 0, -10, 6010000, 0, 0, 1]}},
    "lineage": {},
}


def _product(name: str, band: str) -> dict:
    return {"name": name, "metadata_type": "eo3", "metadata": {"product": {"name": name}},
            "measurements": [{"name": band, "dtype": "uint16", "nodata": 0, "units": "1"}]}


def _write(folder: Path, product: str, band: str, when: str, region: str) -> str:
    doc = copy.deepcopy(DOC)
    ds_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{product}/{when}/{region}"))
    doc.update(id=ds_id, label=f"{product}_{region}_{when[:10]}", product={"name": product},
               properties={"datetime": when, "odc:region_code": region},
               measurements={band: {"path": f"{band}.tif"}})
    (folder / f"{product}_{region}_{when[:10]}.odc-metadata.yaml").write_text(yaml.safe_dump(doc))
    return ds_id


def test_fused_tasks_hold_one_dataset_per_complete_group(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, band in (("prod_a", "red"), ("prod_b", "water")):
        (docs / f"{name}.odc-product.yaml").write_text(yaml.safe_dump(_product(name, band)))
    pairs = []
    for when in ("2020-02-01T00:00:00Z", "2020-03-01T00:00:00Z"):
        pairs.append((_write(docs, "prod_a", "red", when, "55HBU"), _write(docs, "prod_b", "water", when, "55HBU")))
    _write(docs, "prod_a", "red", "2020-04-01T00:00:00Z", "55HBU")  # no prod_b partner: dropped

    out = tmp_path / "fused.db"
    r = CliRunner().invoke(main, ["save-tasks", "--grid", "au_30", "--year", "2020", "--input-products",
                                  f"{docs}/prod_a*.yaml+{docs}/prod_b*.yaml", str(out)])
    assert r.exit_code == 0, r.output
    cache = DatasetCache.open_ro(str(out))
    groups = list(cache.groups())
    assert groups and all(n == 2 for _, n in groups)
    fused_name = "fused__prod_a__prod_b"
    assert set(cache.products) == {fused_name}
    expected = {str(odc_uuid(fused_name, "0.0.0", list(p))) for p in pairs}
    assert all({str(u) for u in cache.get_group(name)} == expected for name, _ in groups)
    ds = cache.get(uuid.UUID(sorted(expected)[0]))
    assert set(ds.measurements) == {"red", "water"}
    assert sorted(ds.metadata_doc["lineage"]["source_datasets"]) in [sorted(p) for p in pairs]


def test_ignore_time_joins_a_timeless_product_and_optional_may_be_missing(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, band in (("prod_a", "red"), ("dem", "elevation"), ("prod_c", "extra")):
        (docs / f"{name}.odc-product.yaml").write_text(yaml.safe_dump(_product(name, band)))
    a1 = _write(docs, "prod_a", "red", "2020-02-01T00:00:00Z", "55HBU")
    a2 = _write(docs, "prod_a", "red", "2020-03-01T00:00:00Z", "55HBU")
    c1 = _write(docs, "prod_c", "extra", "2020-02-01T00:00:00Z", "55HBU")
    dem = _write(docs, "dem", "elevation", "2000-01-01T00:00:00Z", "55HBU")  # outside the year: time ignored

    out = tmp_path / "f.db"
    r = CliRunner().invoke(main, ["save-tasks", "--grid", "au_30", "--year", "2020",
                                  "--input-products", f"{docs}/prod_a*.yaml+{docs}/dem*.yaml+{docs}/prod_c*.yaml",
                                  "--ignore-time", f"{docs}/dem*.yaml", "--optional-products", "prod_c", str(out)])
    assert r.exit_code == 0, r.output
    cache = DatasetCache.open_ro(str(out))
    ids = {str(u) for name, _ in cache.groups() for u in cache.get_group(name)}
    assert ids == {str(odc_uuid("fused__prod_a__dem__prod_c", "0.0.0", [a1, dem, c1])),
                   str(odc_uuid("fused__prod_a__dem", "0.0.0", [a2, dem]))}

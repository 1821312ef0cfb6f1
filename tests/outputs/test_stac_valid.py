"""Every STAC item we write is valid STAC 1.1 with valid extension fields, with and without a
``collections_site``; the checker itself (tests/stac_support.py, run by tests/conftest.py
after every test) rejects what it must; ``make demo``'s items validate."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from statscore.errors import InputError
from statscore.outputs import CogOptions, write_task_outputs
from tests.stac_support import StacInvalid, validate_collection, validate_item

from .conftest import make_result


def _write(make_task, root: Path, **kw):
    task = make_task(str(root), **kw)
    write_task_outputs(task, make_result(task), cog_opts=CogOptions())
    folder = Path(task.folder)
    return task, json.loads((folder / task.metadata_path("stac-item.json")).read_text())


def _link(item: dict, rel: str) -> dict:
    (link,) = [ln for ln in item["links"] if ln["rel"] == rel]
    return link


def test_item_with_a_collections_site_links_to_its_product_page(make_task, tmp_path):
    task, item = _write(make_task, tmp_path / "site")
    validate_item(item, "with collections_site")
    assert item["collection"] == "ga_s2_gm_cyear_3"
    assert _link(item, "collection")["href"] == "https://collections.dea.ga.gov.au/product/ga_s2_gm_cyear_3"
    assert not (tmp_path / "site" / "collection.json").exists()  # the site serves it


def test_item_without_a_collections_site_links_to_the_collection_the_run_writes(make_task, tmp_path):
    task, item = _write(make_task, tmp_path / "local", collections_site="")
    validate_item(item, "without collections_site")
    href = _link(item, "collection")["href"]
    assert href == "../../../collection.json"
    target = (Path(task.folder) / href).resolve()
    assert target == (tmp_path / "local" / "collection.json").resolve()
    collection = json.loads(target.read_text())
    validate_collection(collection, str(target))
    assert collection["id"] == item["collection"] == "ga_s2_gm_cyear_3"
    assert collection["license"] == "CC-BY-4.0" and collection["providers"][0]["name"] == "ga.gov.au"


def test_a_second_task_keeps_the_collection_and_another_product_gets_its_own(make_task, tmp_path):
    root = tmp_path / "shared"
    _write(make_task, root, collections_site="")
    first = (root / "collection.json").stat().st_mtime_ns
    task = make_task(str(root), collections_site="")
    task2 = type(task)(task.product, type(task.tile_index)("2016--P1Y", 49, 24), task.geobox,
                       type(task.time_range).parse("2016--P1Y"), task.datasets)
    write_task_outputs(task2, make_result(task2), cog_opts=CogOptions())
    assert (root / "collection.json").stat().st_mtime_ns == first  # written once, kept
    # a second product at the same root (as odc-stats allows) gets a collection of its own
    other, item = _write(make_task, root, collections_site="", name="ga_s2_other_3", short_name="other")
    validate_item(item, "second product")
    assert _link(item, "collection")["href"] == "../../../ga_s2_other_3.collection.json"
    own = json.loads((root / "ga_s2_other_3.collection.json").read_text())
    assert own["id"] == "ga_s2_other_3" and json.loads((root / "collection.json").read_text())["id"] == \
        "ga_s2_gm_cyear_3"


def test_a_collection_file_of_another_kind_is_an_error_and_the_task_leaves_nothing(make_task, tmp_path):
    root = tmp_path / "broken"
    root.mkdir()
    (root / "collection.json").write_text("[1, 2]")
    task = make_task(str(root), collections_site="")
    with pytest.raises(InputError, match="collection.json: not a STAC collection document"):
        write_task_outputs(task, make_result(task), cog_opts=CogOptions())
    assert not [p for p in Path(task.folder).rglob("*") if p.is_file()]
    (root / "collection.json").unlink()  # (the suite's STAC check would reject it, rightly)


def test_the_checker_rejects_what_stac_rejects(make_task, tmp_path):
    _, item = _write(make_task, tmp_path / "c", collections_site="")

    def broken(change) -> dict:
        doc = copy.deepcopy(item)
        change(doc)
        return doc

    cases = {
        # the bug of odc-stats-style items without a collections_site: a collection, no link
        "collection field without a collection link":
            lambda d: d.update(links=[ln for ln in d["links"] if ln["rel"] != "collection"]),
        "no datetime": lambda d: d["properties"].pop("datetime"),
        "proj:shape of one number": lambda d: d["properties"].update({"proj:shape": [512]}),
        "raster data type": lambda d: d["assets"]["red"]["raster:bands"][0].update(data_type="uint12"),
        "file:size": lambda d: d["assets"]["red"].update({"file:size": -1}),
        "undeclared extension": lambda d: d["stac_extensions"].remove(
            "https://stac-extensions.github.io/file/v2.1.0/schema.json"),
        "processing:software": lambda d: d["properties"].update({"processing:software": {"statscore": 1}}),
        "an extension nobody checks": lambda d: d["stac_extensions"].append(
            "https://stac-extensions.github.io/nonesuch/v1.0.0/schema.json"),
    }
    for what, change in cases.items():
        with pytest.raises(StacInvalid):
            validate_item(broken(change), what)
            pytest.fail(f"not rejected: {what}")


@pytest.mark.slow
def test_demo_items_validate(tmp_path):
    """``make demo`` (one tile per plugin): its products' items and collections, and its
    generated input scenes' items, all validate."""
    from statscore.demo import main

    out = tmp_path / "demo"
    assert main(["--out", str(out), "--tiles", "1"]) == 0
    items = sorted((out / "products").rglob("*.stac-item.json"))
    assert {p.relative_to(out / "products").parts[0] for p in items} == {"gm-s2", "pq"}
    for path in items:
        doc = json.loads(path.read_text())
        validate_item(doc, str(path))
        collection = (path.parent / _link(doc, "collection")["href"]).resolve()
        validate_collection(json.loads(collection.read_text()), str(collection))
        assert json.loads(collection.read_text())["id"] == doc["collection"]
    # the generated inputs' items are validated after the test, by tests/conftest.py
    assert len(list((out / "inputs").rglob("*.stac-item.json"))) > 100

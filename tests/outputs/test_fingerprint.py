"""The input fingerprint: what changes it, what does not, and where it is written."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import yaml

from statscore.config import RunConfig
from statscore.outputs import FINGERPRINT_PROPERTY, CogOptions, product_fingerprint, write_task_outputs
from statscore.plugins import resolve_plugin
from statscore.run import task_fingerprint

from .conftest import make_result


def _fp(task, plugin="gm-s2", plugin_config=None, **cfg):
    plugin_config = plugin_config or {}
    return task_fingerprint(task, resolve_plugin(plugin, plugin_config),
                            RunConfig(plugin=plugin, plugin_config=plugin_config, **cfg))


def test_same_inputs_same_fingerprint_whatever_the_spelling(make_task, tmp_path):
    task = make_task(str(tmp_path / "a"))
    fp = _fp(task)
    assert fp.startswith("sha256:") and len(fp) == 7 + 64
    assert _fp(make_task(str(tmp_path / "elsewhere"))) == fp  # where it is written does not count
    assert _fp(task, "statscore.plugins.gm.StatsGMS2") == fp  # short name or class path
    # the plugin's own defaults spelled out, and runtime settings, change nothing
    assert _fp(task, plugin_config={"cloud_filters": resolve_plugin("gm-s2").cloud_filters}) == fp
    assert _fp(task, plugin_config={"num_threads": 7, "work_chunks": [400, 400]}) == fp
    assert _fp(task, threads=3, memory_limit="2G", max_processing_time=60) == fp
    # datasets in another order are the same inputs
    assert _fp(dataclasses.replace(task, datasets=tuple(reversed(task.datasets)))) == fp


def test_each_input_changes_the_fingerprint(make_task, tmp_path):
    task = make_task(str(tmp_path / "a"))
    fp = _fp(task)
    others = [
        _fp(dataclasses.replace(task, datasets=task.datasets[:1])),  # a dataset fewer (or more)
        _fp(task, "pq"),
        _fp(task, plugin_config={"cloud_filters": {"cloud shadows": [["dilation", 3]]}}),
        _fp(task, cog_opts={"zlevel": 6}),
        _fp(dataclasses.replace(task, product=dataclasses.replace(task.product, version="2.0.0"))),
        _fp(dataclasses.replace(task, geobox=task.geobox[:256, :256])),
    ]
    assert len({fp, *others}) == len(others) + 1


def test_written_into_the_stac_item_and_the_eo3_document(make_task, tmp_path):
    task = make_task(str(tmp_path / "out"))
    assert product_fingerprint(task) is None  # no product yet
    write_task_outputs(task, make_result(task), cog_opts=CogOptions.from_config({}), fingerprint="sha256:abc")
    folder = Path(task.folder)
    item = json.loads((folder / task.metadata_path("stac-item.json")).read_text())
    eo3 = yaml.safe_load((folder / task.metadata_path("odc-metadata.yaml")).read_text())
    assert item["properties"][FINGERPRINT_PROPERTY] == eo3["properties"][FINGERPRINT_PROPERTY] == "sha256:abc"
    assert product_fingerprint(task) == "sha256:abc"
    # a product without one (odc-stats', or written before fingerprints) has none: an update recomputes it
    item["properties"].pop(FINGERPRINT_PROPERTY)
    (folder / task.metadata_path("stac-item.json")).write_text(json.dumps(item))
    assert product_fingerprint(task) is None

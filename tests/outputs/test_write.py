"""write_task_outputs on local disk: files, layout, checksums, skip/overwrite, atomicity."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rio_cogeo import cog_validate

import statscore.outputs.store as store
from statscore.errors import InputError
from statscore.outputs import CogOptions, is_task_done, write_task_outputs

from .conftest import BANDS, make_result, make_rgba

OPTS = CogOptions.from_config({"zlevel": 9, "overrides": {"smad": {"compress": "zstd", "blocksize": 256}}})
RGBA_OPTS = CogOptions.from_config({"overrides": {"rgba": {"compress": "jpeg", "jpeg_quality": 90}}})


def _folder(task) -> Path:
    return Path(task.folder)


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def written(make_task, tmp_path):
    task = make_task(str(tmp_path / "out"))
    result = make_result(task)
    urls = write_task_outputs(task, result, cog_opts=OPTS, rgba=make_rgba(task))
    return task, result, urls


def test_odc_stats_layout_and_order(written, tmp_path):
    task, _, urls = written
    prefix = "ga_s2_gm_cyear_3_x49y24_2015--P1Y_final"
    folder = tmp_path / "out" / "x49" / "y24" / "2015--P1Y"
    assert _folder(task) == folder
    names = [u.rsplit("/", 1)[1] for u in urls]
    assert names == [f"{prefix}_{b}.tif" for b in BANDS] + [
        f"{prefix}_thumbnail.jpg", f"{prefix}.sha1", f"{prefix}.proc-info.yaml",
        f"{prefix}.odc-metadata.yaml", f"{prefix}.stac-item.json",
    ]
    assert _visible(folder) == sorted(names)  # no temp files, no rgba without the override
    assert not urls.skipped and is_task_done(task)


def test_every_cog_is_valid_and_holds_the_result(written):
    task, result, _ = written
    for band in BANDS:
        path = _folder(task) / task.band_paths()[band]
        assert cog_validate(str(path), strict=True) == (True, [], []), band
        with rasterio.open(path) as f:
            da = result[band]
            assert f.dtypes[0] == da.dtype.name and f.transform == task.geobox.transform
            np.testing.assert_array_equal(f.read(1), da.values)
            if da.dtype.kind == "f":
                assert np.isnan(f.nodata)
            else:
                assert f.nodata == 0


def test_cog_settings_follow_cog_opts_with_the_per_band_override(written):
    task, _, _ = written
    for band in BANDS:
        with rasterio.open(_folder(task) / task.band_paths()[band]) as f:
            tags = f.tags(ns="IMAGE_STRUCTURE")
            if band == "smad":
                assert (tags["COMPRESSION"], tags["PREDICTOR"], f.block_shapes[0]) == ("ZSTD", "3", (256, 256))
            else:
                assert (tags["COMPRESSION"], tags["PREDICTOR"], f.block_shapes[0]) == ("DEFLATE", "2", (800, 800))
            assert f.overviews(1) == [2]
        with rasterio.open(_folder(task) / task.band_paths()[band], OVERVIEW_LEVEL=0) as f:
            assert f.block_shapes[0] == (256, 256)


def test_sha1_lines_match_the_files(written):
    task, _, _ = written
    folder = _folder(task)
    lines = (folder / task.metadata_path("sha1")).read_text().splitlines()
    listed = {}
    for line in lines:
        digest, name = line.split("  ", 1)  # sha1sum format, as odc-stats writes it
        listed[name] = digest
    expected = {n for n in _visible(folder) if not n.endswith((".sha1", ".stac-item.json"))}
    assert set(listed) == expected
    for name, digest in listed.items():
        assert hashlib.sha1((folder / name).read_bytes()).hexdigest() == digest


def test_rgba_preview_only_with_the_override(make_task, tmp_path):
    task = make_task(str(tmp_path / "rgba"))
    urls = write_task_outputs(task, make_result(task), cog_opts=RGBA_OPTS, rgba=make_rgba(task))
    path = _folder(task) / task.aux_path("rgba")
    assert str(path) in urls
    assert cog_validate(str(path)) == (True, [], [])
    with rasterio.open(path) as f:
        assert f.count == 3 and "JPEG" in f.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"]
        assert f.tags(ns="IMAGE_STRUCTURE")["JPEG_QUALITY"] == "90"
        mask = f.read_masks(1)
        assert (mask[:16, :16] == 0).all() and (mask[16:, 16:] == 255).all()  # alpha -> mask
    doc = json.loads((_folder(task) / task.metadata_path("stac-item.json")).read_text())
    assert doc["assets"]["rgba"]["href"] == task.aux_path("rgba")


def test_thumbnail_is_a_jpeg_also_in_a_folder_with_dots(make_task, tmp_path):
    task = make_task(str(tmp_path / "v1.2.3.out"), short_name="gm.s2.v1")
    write_task_outputs(task, make_result(task), cog_opts=OPTS)
    thumb = _folder(task) / "gm.s2.v1_x49y24_2015--P1Y_final_thumbnail.jpg"
    with rasterio.open(thumb) as f:
        assert f.driver == "JPEG" and f.count == 3 and f.shape == (52, 52)
        assert f.read()[:, 0, 0].tolist() == [0, 0, 0]  # nodata corner is black
    assert is_task_done(task)


def test_existing_item_is_skipped_and_overwrite_rewrites(written):
    task, result, _ = written
    folder = _folder(task)
    item = folder / task.metadata_path("stac-item.json")
    before = {n: (folder / n).read_bytes() for n in _visible(folder)}
    again = write_task_outputs(task, make_result(task, seed=1), cog_opts=OPTS)
    assert again == [] and again.skipped
    assert {n: (folder / n).read_bytes() for n in _visible(folder)} == before

    urls = write_task_outputs(task, make_result(task, seed=1), cog_opts=OPTS, overwrite=True)
    assert not urls.skipped and len(urls) == len(before)
    with rasterio.open(folder / task.band_paths()["red"]) as f:
        np.testing.assert_array_equal(f.read(1), make_result(task, seed=1)["red"].values)
    assert item.read_bytes() != before[item.name]


def test_a_failure_mid_write_leaves_nothing_behind(make_task, tmp_path, monkeypatch):
    task = make_task(str(tmp_path / "fail"))
    calls = []
    real_put = store.LocalFolder.put

    def put(self, name, data, content_type):
        if len(calls) == 2:
            raise OSError("disk full")
        calls.append(name)
        return real_put(self, name, data, content_type)

    monkeypatch.setattr(store.LocalFolder, "put", put)
    with pytest.raises(Exception, match="disk full"):
        write_task_outputs(task, make_result(task), cog_opts=OPTS)
    assert len(calls) == 2
    assert _visible(_folder(task)) == []  # the two COGs written were removed, no temp files
    assert not is_task_done(task)


def test_an_unwritable_band_fails_before_anything_complete_looking(make_task, tmp_path):
    task = make_task(str(tmp_path / "bad"))
    result = make_result(task)
    result["smad"] = result["smad"].astype("complex64")
    with pytest.raises(InputError, match="band 'smad'"):
        write_task_outputs(task, result, cog_opts=OPTS)
    assert _visible(_folder(task)) == []


def test_a_failed_overwrite_leaves_no_item(written, monkeypatch):
    task, _, _ = written
    import statscore.outputs.write as w

    def boom(*a, **k):
        raise RuntimeError("metadata failed")

    monkeypatch.setattr(w, "eo3_document", boom)
    with pytest.raises(RuntimeError):
        write_task_outputs(task, make_result(task), cog_opts=OPTS, overwrite=True)
    assert not is_task_done(task)
    assert not any(n.startswith(".") for n in _visible(_folder(task)))


def test_missing_band_names_the_band(make_task, tmp_path):
    task = make_task(str(tmp_path / "miss"))
    with pytest.raises(InputError, match="the result has no band 'smad'"):
        write_task_outputs(task, make_result(task).drop_vars("smad"), cog_opts=OPTS)
    assert _visible(_folder(task)) == []


def test_file_url_location(make_task, tmp_path):
    task = make_task((tmp_path / "url").as_uri())
    urls = write_task_outputs(task, make_result(task), cog_opts=OPTS)
    assert urls[-1].startswith("file://") and urls[-1].endswith(".stac-item.json")
    assert (tmp_path / "url" / "x49" / "y24" / "2015--P1Y" / task.metadata_path("stac-item.json")).is_file()
    assert is_task_done(task)


def test_an_interrupted_rename_leaves_no_temp_file(make_task, tmp_path, monkeypatch):
    task = make_task(str(tmp_path / "tmpfile"))

    def no_rename(src, dst):
        assert Path(src).name.startswith(".") and Path(src).exists()  # written under a hidden temp name
        raise OSError("rename failed")

    monkeypatch.setattr(store.os, "replace", no_rename)
    with pytest.raises(Exception, match="rename failed"):
        write_task_outputs(task, make_result(task), cog_opts=OPTS)
    assert [p.name for p in _folder(task).iterdir()] == []


def test_product_nodata_fills_bands_without_one(make_task, tmp_path):
    from dataclasses import replace

    task = make_task(str(tmp_path / "nd"))
    task = replace(task, product=replace(task.product, nodata={"red": 7}))
    result = make_result(task)
    result["red"].attrs.pop("nodata")
    write_task_outputs(task, result, cog_opts=OPTS)
    with rasterio.open(_folder(task) / task.band_paths()["red"]) as f:
        assert f.nodata == 7
    item = json.loads((_folder(task) / task.metadata_path("stac-item.json")).read_text())
    assert item["assets"]["red"]["raster:bands"][0]["nodata"] == 7


def test_an_unknown_scheme_is_a_config_error(make_task):
    from statscore.errors import ConfigError

    task = make_task("gs://bucket/prefix")
    with pytest.raises(ConfigError, match="'gs://bucket/prefix/x49/y24/2015--P1Y': expected a file:// path or an s3:// URL"):
        write_task_outputs(task, make_result(task), cog_opts=OPTS)

"""statscore._read.load_group returns what Datacube.load_data returns, value for value.

Real generated Sentinel-2 COGs (10, 20 and 60 m bands, nodata outside the scene) read
onto native grids (the fast window path, including 20 m bands repeated onto 10 m) and
onto grids it must hand to datacube (another CRS, a half-pixel shift).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from affine import Affine
from datacube import Datacube
from odc.geo.geobox import GeoBox

import statscore._read as reader
from statscore.load import native_geobox
from statscore.sampledata import generate_scenes, write_products
from statscore.sources.files import FileDatasets, read_document

BANDS = ["B02", "B04", "B05", "B8A", "B11", "SCL"]  # 10 m and 20 m grids, uint16 and uint8


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> list:
    root = tmp_path_factory.mktemp("read")
    write_products(root / "products")
    recs = generate_scenes(root / "data", product="s2_l2a", region="au-se-small", start="2020-01-01",
                           end="2020-01-31", size_px=96, native=True, limit=4)
    fd = FileDatasets()
    fd.add_product(read_document(str(root / "products" / "s2_l2a.odc-product.yaml")),
                   str(root / "products" / "s2_l2a.odc-product.yaml"))
    docs = sorted(Path(root / "data").rglob("*.odc-metadata.yaml"))
    assert len(docs) >= 2 and recs
    return [fd.dataset(read_document(str(p)), p.as_uri()) for p in docs]


def _both(dss: list, gbox: GeoBox) -> tuple[xr.Dataset, xr.Dataset]:
    meas = list(dss[0].product.lookup_measurements(BANDS).values())
    ours = reader.load_group(dss, meas, gbox)
    ref = Datacube.load_data(Datacube.group_datasets(dss, "time"), gbox, meas)
    return ours, ref


def _assert_same(ours: xr.Dataset, ref: xr.Dataset) -> None:
    assert list(ours.data_vars) == list(ref.data_vars) and ours.attrs == ref.attrs
    for name in ref.data_vars:
        assert ours[name].dtype == ref[name].dtype and ours[name].dims == ref[name].dims, name
        np.testing.assert_array_equal(ours[name].values, ref[name].values, err_msg=name)
        assert ours[name].attrs == ref[name].attrs, name
    xr.testing.assert_identical(ours.coords.to_dataset(), ref.coords.to_dataset())


def test_native_grid_is_read_by_windows_and_matches_datacube(datasets, monkeypatch):
    ds = datasets[0]
    scene = native_geobox(ds, BANDS, _scene_box(ds), pad_px=0)
    # a box over the scene's edge: part inside, part nodata; 20 m bands repeated onto 10 m
    gbox = GeoBox((scene.shape.y // 2 + 16, scene.shape.x // 3 + 11),
                  scene.affine * Affine.translation(-11, scene.shape.y // 2 - 7), scene.crs)
    monkeypatch.setattr(reader, "_datacube_read", _no_fallback)
    ours, ref = _both([ds], gbox)
    monkeypatch.undo()
    _assert_same(ours, ref)
    assert (ref["B02"].values == 0).any() and (ref["B02"].values > 0).any()  # both cases were exercised


def test_several_times_each_read_alone(datasets, monkeypatch):
    dss = [d for d in datasets if d.crs == datasets[0].crs][:2]
    assert len(dss) == 2 and dss[0].center_time != dss[1].center_time
    gbox = native_geobox(dss[0], BANDS, _scene_box(dss[0]), pad_px=4)
    monkeypatch.setattr(reader, "_datacube_read", _no_fallback)
    ours, ref = _both(dss, gbox)
    monkeypatch.undo()
    assert ours.sizes["time"] == 2
    _assert_same(ours, ref)


@pytest.mark.parametrize("shift", ["half-pixel", "other-crs"])
def test_grids_that_are_not_windows_go_through_datacube(datasets, shift):
    ds = datasets[0]
    native = native_geobox(ds, BANDS, _scene_box(ds), pad_px=0)
    if shift == "half-pixel":
        gbox = GeoBox(native.shape, native.affine * native.affine.translation(0.5, 0.5), native.crs)
    else:
        gbox = GeoBox.from_geopolygon(native.extent.to_crs("EPSG:3577"), resolution=20, crs="EPSG:3577")
    ours, ref = _both([ds], gbox)
    _assert_same(ours, ref)


def _scene_box(ds) -> GeoBox:
    grid = ds.metadata_doc["grids"]["default"]
    return GeoBox(tuple(grid["shape"]), Affine(*grid["transform"][:6]), ds.crs)


def _no_fallback(*args, **kwargs):
    raise AssertionError("the window path should have read this")

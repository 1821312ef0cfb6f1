"""geomedian_with_mads on Datasets: blocks, rounding, scaling, odc-algo agreement."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import xarray as xr

from statscore.algo import geomedian_mads, geomedian_with_mads
from statscore.errors import ConfigError, InputError

SCALE, OFFSET = 1e-4, -1e-4


def _dataset(X: np.ndarray, nodata=0, chunks=None) -> xr.Dataset:
    data = {}
    for j in range(X.shape[2]):
        a = np.ascontiguousarray(X[:, :, j, :].transpose(2, 0, 1))
        if chunks is not None:
            import dask.array as da

            a = da.from_array(a, chunks=(-1, *chunks))
        data[f"b{j}"] = xr.DataArray(a, dims=("time", "y", "x"), attrs={"nodata": nodata})
    ny, nx = X.shape[:2]
    return xr.Dataset(data, coords={"y": np.arange(ny) * -10.0, "x": np.arange(nx) * 10.0,
                                    "time": np.arange(X.shape[3])})


def test_equals_array_api_rounded(stack_u16):
    ds = _dataset(stack_u16)
    out = geomedian_with_mads(ds, scale=SCALE, offset=OFFSET, eps=1e-6, num_threads=1)
    res = geomedian_mads(stack_u16, scale=SCALE, offset=OFFSET, eps=1e-6, num_threads=1)
    for j in range(stack_u16.shape[2]):
        band = out[f"b{j}"].values
        assert band.dtype == np.uint16
        want = np.where(np.isnan(res.gm[..., j]), 0, np.rint(np.nan_to_num(res.gm[..., j])))
        np.testing.assert_array_equal(band, want.astype(np.uint16))
    np.testing.assert_allclose(out["emad"].values, res.emad / SCALE, rtol=1e-6)
    np.testing.assert_array_equal(out["smad"].values, res.smad)
    np.testing.assert_array_equal(out["count"].values, res.count)
    assert out["count"].dtype == np.uint16
    assert list(out.data_vars)[-4:] == ["smad", "emad", "bcmad", "count"]
    np.testing.assert_array_equal(out.y.values, ds.y.values)


def test_rounds_not_truncates():
    from . import _reference as ref

    # the Fermat point of a triangle is not on the DN grid
    obs = np.array([[1000, 1000], [1007, 1000], [1000, 1009]], dtype=np.uint16)
    want = ref.geomedian(obs.astype(np.float64) * SCALE + OFFSET, eps=1e-12)
    want_dn = (want - OFFSET) / SCALE
    assert np.all(np.rint(want_dn) != np.floor(want_dn))  # the test can tell them apart
    X = obs.T[None, None]
    out = geomedian_with_mads(_dataset(X), scale=SCALE, offset=OFFSET, eps=1e-8, num_threads=1)
    np.testing.assert_array_equal([out["b0"].values[0, 0], out["b1"].values[0, 0]],
                                  np.rint(want_dn))
    # float input comes back unrounded
    Xf = np.full((1, 1, 2, 3), 123.6, dtype=np.float32)
    outf = geomedian_with_mads(_dataset(Xf, nodata=np.nan), num_threads=1)
    assert outf["b0"].values[0, 0] == np.float32(123.6)


def test_block_size_and_threads_do_not_change_results(stack_u16):
    ds = _dataset(stack_u16)
    kw = dict(scale=SCALE, offset=OFFSET, eps=1e-5)
    a = geomedian_with_mads(ds, num_threads=1, **kw)
    one_row = stack_u16.shape[1] * stack_u16.shape[2] * stack_u16.shape[3] * 2
    b = geomedian_with_mads(ds, num_threads=2, block_bytes=one_row * 2 + 1, **kw)
    c = geomedian_with_mads(ds, num_threads=2, block_bytes=1, **kw)  # one row at a time
    xr.testing.assert_identical(a, b)
    xr.testing.assert_identical(a, c)


def test_dask_input_any_tile_size(stack_u16):
    ds = _dataset(stack_u16, chunks=(4, 5))  # 9 x 11 px: not a multiple of the chunks
    out = geomedian_with_mads(ds, scale=SCALE, offset=OFFSET, eps=1e-5, block_bytes=10_000)
    ref = geomedian_with_mads(_dataset(stack_u16), scale=SCALE, offset=OFFSET, eps=1e-5)
    xr.testing.assert_identical(out, ref)


def test_offset_zero_still_scales_and_masks(stack_u16):
    # odc-algo skips scaling and nodata masking when offset is 0; we must not
    out = geomedian_with_mads(_dataset(stack_u16), scale=SCALE, offset=0.0, eps=1e-6)
    res = geomedian_mads(stack_u16, scale=SCALE, offset=0.0, eps=1e-6)
    np.testing.assert_array_equal(out["count"].values, res.count)
    assert out["count"].values.min() < stack_u16.shape[3]  # nodata was masked
    np.testing.assert_allclose(out["emad"].values, res.emad / SCALE, rtol=1e-6)


def test_all_missing_pixel_gets_nodata():
    X = np.zeros((2, 2, 3, 5), dtype=np.uint16)
    X[1, 1] = 500
    out = geomedian_with_mads(_dataset(X), scale=SCALE, offset=OFFSET)
    assert out["b0"].values[0, 0] == 0 and out["count"].values[0, 0] == 0
    assert np.isnan(out["emad"].values[0, 0])
    assert out["b2"].values[1, 1] == 500 and out["count"].values[1, 1] == 5
    assert out["b0"].attrs["nodata"] == 0


def test_agrees_with_odc_algo(stack_u16):
    odc = importlib.import_module("odc.algo")
    X = stack_u16[:8, :8]  # odc-algo 'mem' needs a multiple of work_chunks
    ds = _dataset(X, chunks=(8, 8))
    kw = dict(scale=SCALE, offset=OFFSET, eps=1e-6, maxiters=1000, num_threads=1)
    theirs = odc.geomedian_with_mads(ds, work_chunks=(4, 4), **kw).compute()
    mine = geomedian_with_mads(ds, **kw)
    for j in range(X.shape[2]):
        # odc-algo truncates where we round: at most 1 DN apart, never below theirs
        diff = mine[f"b{j}"].values.astype(int) - theirs[f"b{j}"].values.astype(int)
        assert diff.min() >= 0 and diff.max() <= 1
    np.testing.assert_array_equal(mine["count"].values, theirs["count"].values)
    for k, tol in (("smad", 1e-5), ("bcmad", 1e-5), ("emad", 1e-5 / SCALE)):
        np.testing.assert_allclose(mine[k].values, theirs[k].values, atol=tol)


def test_dataarray_yxbt_input(stack_u16):
    da = xr.DataArray(stack_u16, dims=("y", "x", "band", "time"),
                      coords={"band": [f"b{j}" for j in range(stack_u16.shape[2])]},
                      attrs={"nodata": 0})
    a = geomedian_with_mads(da, scale=SCALE, offset=OFFSET)
    b = geomedian_with_mads(_dataset(stack_u16), scale=SCALE, offset=OFFSET)
    for j in range(stack_u16.shape[2]):
        np.testing.assert_array_equal(a[f"b{j}"].values, b[f"b{j}"].values)


def test_bad_inputs():
    with pytest.raises(InputError, match="Dataset or DataArray"):
        geomedian_with_mads(np.zeros((3, 3)))
    ds = _dataset(np.zeros((2, 2, 2, 3), dtype=np.uint16))
    with pytest.raises(ConfigError, match="block_bytes"):
        geomedian_with_mads(ds, block_bytes=0)
    with pytest.raises(ConfigError, match="unexpected argument"):
        geomedian_with_mads(ds, reshape="mem")
    ds["b1"] = ds["b1"].astype(np.int16)
    with pytest.raises(InputError, match="band 'b1' has dtype int16"):
        geomedian_with_mads(ds)

"""Medoid composite and clear counts."""

from __future__ import annotations

import numpy as np
import xarray as xr

from statscore.algo import clear_count, count_valid, geomedian_mads, medoid, medoid_composite


def test_medoid_hand_case():
    # observations (time, band); band 1 alone varies: 2, 3, 4, 9 (time 0 is nodata)
    obs = np.array([[0, 0], [7, 2], [7, 3], [7, 4], [7, 9]], dtype=np.uint16)
    X = obs.T[None, None]
    out, idx = medoid(X)
    # sums of distances: 2 -> 1+2+7=10, 3 -> 1+1+6=8, 4 -> 2+1+5=8, 9 -> 7+6+5=18;
    # 3 and 4 tie: the earlier wins
    assert idx[0, 0] == 2
    np.testing.assert_array_equal(out[0, 0], [7, 3])


def test_medoid_matches_brute_force(stack_f32):
    out, idx = medoid(stack_f32, num_threads=2)
    for r in range(stack_f32.shape[0]):
        for c in range(stack_f32.shape[1]):
            px = stack_f32[r, c].astype(np.float64)
            ok = np.where(np.all(np.isfinite(px), axis=0))[0]
            if len(ok) == 0:
                assert idx[r, c] == -1 and np.all(np.isnan(out[r, c]))
                continue
            obs = px[:, ok].T
            cost = np.sqrt(((obs[:, None] - obs[None]) ** 2).sum(-1)).sum(1)
            assert idx[r, c] == ok[np.argmin(cost)]
            np.testing.assert_array_equal(out[r, c], stack_f32[r, c, :, idx[r, c]])


def test_medoid_composite_dataset():
    rng = np.random.default_rng(0)
    X = rng.integers(1, 1000, (4, 5, 3, 6)).astype(np.int16)
    X[0, 0] = -999
    ds = xr.Dataset({f"b{j}": (("time", "y", "x"), X[:, :, j, :].transpose(2, 0, 1))
                     for j in range(3)})
    out = medoid_composite(ds, nodata=-999)
    comp, idx = medoid(X)
    np.testing.assert_array_equal(out["b1"].values, comp[..., 1])
    np.testing.assert_array_equal(out["index"].values, idx)
    assert out["b0"].values[0, 0] == -999 and idx[0, 0] == -1


def test_clear_count():
    m = np.array([[True, False], [True, True], [False, False]])
    np.testing.assert_array_equal(clear_count(m), np.array([2, 1], dtype=np.uint16))
    x = xr.DataArray(m, dims=("time", "x"))
    np.testing.assert_array_equal(clear_count(x, "time").values, [2, 1])


def test_count_valid_equals_geomedian_count(stack_u16, stack_f32):
    np.testing.assert_array_equal(count_valid(stack_u16), geomedian_mads(stack_u16).count)
    want = np.all(np.isfinite(stack_f32), axis=2).sum(-1)
    np.testing.assert_array_equal(count_valid(stack_f32), want)

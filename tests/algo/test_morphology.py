"""Disk morphology: hand cases, scipy brute force, odc-algo's mask_cleanup."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import xarray as xr

from statscore.algo import closing, dilation, erosion, mask_cleanup, opening
from statscore.errors import ConfigError


def _disk(r: int) -> np.ndarray:
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    return x * x + y * y <= r * r


def test_dilation_of_a_point_is_the_disk():
    m = np.zeros((11, 11), dtype=bool)
    m[5, 5] = True
    for r in (1, 2, 3, 5):
        want = np.zeros_like(m)
        want[5 - r:6 + r, 5 - r:6 + r] = _disk(r)
        np.testing.assert_array_equal(dilation(m, r), want)
    # radius 2: the disk is 13 pixels (no corners of the 5x5 box)
    assert dilation(m, 2).sum() == 13


def test_erosion_keeps_centres_where_the_disk_fits_and_ignores_the_edge():
    m = np.ones((7, 9), dtype=bool)
    m[3, 4] = False
    got = erosion(m, 1)
    want = np.ones_like(m)
    want[2:5, 3:6] = ~np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)
    np.testing.assert_array_equal(got, want)
    # no clear pixel: nothing to erode from (the array edge is not background)
    np.testing.assert_array_equal(erosion(np.ones((5, 5), bool), 2), np.ones((5, 5), bool))
    np.testing.assert_array_equal(dilation(np.zeros((5, 5), bool), 2), np.zeros((5, 5), bool))


def test_matches_scipy_brute_force():
    ndi = importlib.import_module("scipy.ndimage")
    rng = np.random.default_rng(0)
    m = rng.random((40, 37)) < 0.1
    for r in (1, 2, 3, 5, 7):
        fp = _disk(r)
        np.testing.assert_array_equal(dilation(m, r), ndi.binary_dilation(m, fp))
        # erosion with the outside counted as set
        np.testing.assert_array_equal(erosion(~m, r), ndi.binary_erosion(~m, fp, border_value=1))


@pytest.mark.parametrize("filters", [
    [("opening", 2), ("dilation", 5)],
    [("closing", 3)],
    [("erosion", 1), ("dilation", 4), ("opening", 1)],
    [("dilation", 0), ("closing", 2), ("erosion", 2)],
])
def test_matches_odc_algo_mask_cleanup(filters):
    odc = importlib.import_module("odc.algo._masking")
    rng = np.random.default_rng(1)
    # blobs of cloud plus specks, on a few time slices
    base = rng.random((3, 60, 70)) < 0.03
    blobs = np.stack([dilation(b, 3) for b in base]) | (rng.random((3, 60, 70)) < 0.05)
    got = mask_cleanup(blobs, filters)
    for t in range(3):
        want = odc.mask_cleanup_np(blobs[t], filters)
        np.testing.assert_array_equal(got[t], want)


def test_order_matters():
    m = np.zeros((15, 15), dtype=bool)
    m[7, 7] = True
    # opening first removes the speck; dilating first keeps a disk
    assert not mask_cleanup(m, [("opening", 1), ("dilation", 2)]).any()
    assert mask_cleanup(m, [("dilation", 2), ("opening", 1)]).sum() == 13


def test_opening_closing_definitions():
    rng = np.random.default_rng(3)
    m = rng.random((30, 30)) < 0.4
    np.testing.assert_array_equal(opening(m, 2), dilation(erosion(m, 2), 2))
    np.testing.assert_array_equal(closing(m, 2), erosion(dilation(m, 2), 2))


def test_dask_blocks_equal_whole_array():
    da = importlib.import_module("dask.array")
    rng = np.random.default_rng(4)
    m = rng.random((2, 64, 64)) < 0.05
    x = xr.DataArray(da.from_array(m, chunks=(1, 20, 24)), dims=("time", "y", "x"))
    filters = [("opening", 2), ("dilation", 5)]
    got = mask_cleanup(x, filters).compute()
    np.testing.assert_array_equal(got.values, mask_cleanup(m, filters))


def test_bad_filters():
    m = np.zeros((3, 3), dtype=bool)
    with pytest.raises(ConfigError, match="dilaton.*did you mean 'dilation'"):
        mask_cleanup(m, [("dilaton", 2)])
    with pytest.raises(ConfigError, match="radius"):
        mask_cleanup(m, [("dilation", -1)])


def test_unset_num_threads_follows_the_callers_setting():
    """``odc-stats run --threads 1`` (and loader threads) lower numba's thread count for the
    calling thread: kernels asked for no particular count must follow it, not take every core."""
    import numba

    from statscore.algo import kernel_threads
    from statscore.algo._parallel import resolve_threads

    with kernel_threads(1):
        assert resolve_threads(None) == 1
        assert numba.get_num_threads() == 1
    assert resolve_threads(None) == numba.get_num_threads()


def test_small_and_large_masks_dilate_alike_on_any_thread_count():
    """Masks below SMALL_MASK_PX run on one thread; the result must not depend on that."""
    from statscore.algo.morphology import SMALL_MASK_PX

    rng = np.random.default_rng(5)
    side = int(np.sqrt(SMALL_MASK_PX)) + 8
    for shape in ((1, 40, 40), (1, side, side)):
        m = rng.random(shape) > 0.97
        one = dilation(m, 3, num_threads=1)
        many = dilation(m, 3, num_threads=None)
        np.testing.assert_array_equal(one, many)
        assert one.sum() > m.sum()


def test_loader_threads_run_their_kernels_on_one_thread():
    from concurrent.futures import ThreadPoolExecutor

    from statscore.algo import one_kernel_thread
    from statscore.algo._parallel import resolve_threads

    with ThreadPoolExecutor(max_workers=2, initializer=one_kernel_thread) as pool:
        assert {pool.submit(resolve_threads, None).result() for _ in range(4)} == {1}

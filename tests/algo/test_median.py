"""statscore.algo.nanmedian: numpy's nanmedian, exactly, in the data's float type."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from statscore.algo.median import nanmedian
from statscore.errors import InputError


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("t", [1, 2, 3, 8, 41])
def test_equals_numpy_nanmedian(dtype, t):
    rng = np.random.default_rng(t)
    x = (rng.random((t, 9, 11)) * 100).astype(dtype)
    x[rng.random(x.shape) < 0.3] = np.nan
    x[:, 0, 0] = np.nan  # never valid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on all-NaN pixels
        want = np.nanmedian(x, axis=0).astype(dtype)
    got = nanmedian(x)
    assert got.dtype == x.dtype and np.isnan(got[0, 0])
    np.testing.assert_array_equal(got, want)


def test_even_count_is_the_mean_of_the_middle_two_and_other_shapes_work():
    x = np.array([[4.0, 1.0], [np.nan, 2.0], [2.0, np.nan], [8.0, 9.0]], "float32")
    assert nanmedian(x).tolist() == [4.0, 2.0]  # (2+4+8 -> 4), (1, 2, 9 -> 2)
    assert nanmedian(np.array([1.0, 3.0], "float32")).tolist() == 2.0
    with pytest.raises(InputError, match="float"):
        nanmedian(np.zeros((3, 2), "int16"))

"""statscore.algo.bilinear_at on hand-computed cases (GDAL's rules; tests/test_warp_bands.py
compares it with GDAL's warps pixel for pixel)."""

from __future__ import annotations

import numpy as np
import pytest

from statscore.algo import bilinear_at
from statscore.errors import InputError

SRC = np.array([[[10, 20, 30],
                 [40, 50, 60],
                 [70, 80, 90]]], dtype=np.uint16)


def _at(points, nodata=None, src=SRC, fill=7):
    sx = np.array([[p[0] for p in points]], float)
    sy = np.array([[p[1] for p in points]], float)
    out = np.full((len(src), 1, len(points)), fill, src.dtype)
    return bilinear_at(src, sx, sy, nodata, out)[0, 0].tolist()


def test_pixel_centres_and_midpoints():
    # centre of (0, 0); between the 4 upper-left pixels; a quarter of the way right of (1, 1)'s centre
    assert _at([(0.5, 0.5), (1.0, 1.0), (1.75, 1.5)]) == [10, 30, 53]  # 52.5 rounds half up


def test_nodata_neighbours_are_left_out_and_the_weights_renormalised():
    src = SRC.copy()
    src[0, 0, 1] = 0
    # (1, 1): neighbours 10, 0 (nodata), 40, 50 -> (10 + 40 + 50) / 3 = 33.3
    assert _at([(1.0, 1.0)], nodata=0, src=src) == [33]
    # without nodata the 0 counts
    assert _at([(1.0, 1.0)], src=src) == [25]


def test_a_point_in_a_nodata_pixel_is_left_as_is():
    src = SRC.copy()
    src[0, 1, 1] = 0
    assert _at([(1.4, 1.4), (2.5, 2.5)], nodata=0, src=src) == [7, 90]


def test_points_off_the_source_or_not_finite_are_left_as_is():
    assert _at([(-0.1, 1.0), (3.0, 1.0), (1.0, 3.2), (np.nan, 1.0), (0.2, 0.2), (2.9, 2.9)]) == [7, 7, 7, 7, 10, 90]


def test_signed_values_round_half_up():
    src = np.array([[[-5, 3], [-7, -9]]], dtype=np.int16)
    assert _at([(1.0, 1.0)], src=src) == [-4]  # -4.5 rounds half up to -4


@pytest.mark.parametrize("dtype", ["float32", "bool"])
def test_integer_planes_only(dtype):
    with pytest.raises(InputError, match="integer planes"):
        bilinear_at(np.zeros((1, 2, 2), dtype), np.zeros((1, 1)), np.zeros((1, 1)), None, np.zeros((1, 1, 1), dtype))

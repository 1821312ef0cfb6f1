"""Geomedian + MADs + count against a float64 reference, geomad 1.0.0, and edge cases."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from statscore.algo import (
    bcmad_pcm,
    emad_pcm,
    geomedian_mads,
    nangeomedian_pcm,
    smad_pcm,
)
from statscore.errors import ConfigError, InputError

from . import _reference as ref

SCALE, OFFSET = 1e-4, -1e-4


def _refl(stack_u16: np.ndarray) -> np.ndarray:
    x = stack_u16.astype(np.float64) * SCALE + OFFSET
    x[stack_u16 == 0] = np.nan
    return x


@pytest.mark.parametrize("eps", [1e-4, 1e-5, 1e-6])
def test_geomedian_within_5_eps_of_float64_reference(stack_u16, eps):
    got = nangeomedian_pcm(stack_u16, eps=eps, scale=SCALE, offset=OFFSET, num_threads=1)
    refl = _refl(stack_u16)
    worst = 0.0
    for r in range(stack_u16.shape[0]):
        for c in range(stack_u16.shape[1]):
            obs = ref.valid_obs(refl[r, c])
            want = ref.geomedian(obs, eps=1e-9)
            mine = got[r, c].astype(np.float64) * SCALE + OFFSET
            if len(obs) == 0:
                assert np.all(np.isnan(got[r, c]))
                continue
            worst = max(worst, float(np.abs(mine - want).max()))
    assert worst < 5 * eps


def test_mads_and_count_match_reference(stack_f32):
    res = geomedian_mads(stack_f32, eps=1e-6, num_threads=1)
    for r in range(stack_f32.shape[0]):
        for c in range(stack_f32.shape[1]):
            obs = ref.valid_obs(stack_f32[r, c])
            assert res.count[r, c] == len(obs)
            if len(obs) == 0:
                assert np.isnan(res.smad[r, c]) and np.isnan(res.emad[r, c])
                continue
            m = ref.geomedian(obs, eps=1e-9)
            s, e, b = ref.mads(obs, m)
            assert abs(res.smad[r, c] - s) < 1e-5
            assert abs(res.emad[r, c] - e) < 1e-5
            assert abs(res.bcmad[r, c] - b) < 1e-5


def test_separate_mad_functions_agree_with_one_pass(stack_u16):
    kw = dict(scale=SCALE, offset=OFFSET, num_threads=1)
    res = geomedian_mads(stack_u16, eps=1e-6, **kw)
    np.testing.assert_allclose(smad_pcm(stack_u16, res.gm, **kw), res.smad, atol=1e-6)
    np.testing.assert_allclose(emad_pcm(stack_u16, res.gm, **kw), res.emad, atol=1e-6)
    np.testing.assert_allclose(bcmad_pcm(stack_u16, res.gm, **kw), res.bcmad, atol=1e-6)


def test_agrees_with_geomad(stack_f32):
    geomad = importlib.import_module("geomad")
    # geomad seeds from the neighbour and mishandles partially-missing pixels; compare
    # on pixels with data, float input, at eps 1e-6.
    mine = nangeomedian_pcm(stack_f32, eps=1e-6, num_threads=1)
    theirs = geomad.nangeomedian_pcm(stack_f32, eps=1e-6, num_threads=1)
    np.testing.assert_allclose(mine, theirs, atol=1e-5, equal_nan=True)
    for mine_f, theirs_f in [(smad_pcm, geomad.smad_pcm), (emad_pcm, geomad.emad_pcm),
                             (bcmad_pcm, geomad.bcmad_pcm)]:
        np.testing.assert_allclose(mine_f(stack_f32, mine, num_threads=1),
                                   theirs_f(stack_f32, theirs, num_threads=1), atol=1e-5)


def test_agrees_with_geomad_uint16(stack_u16):
    geomad = importlib.import_module("geomad")
    kw = dict(eps=1e-6, scale=SCALE, offset=OFFSET, num_threads=1)
    # geomad's uint16 mean counts per band; use fully valid or fully missing pixels
    mine = nangeomedian_pcm(stack_u16, **kw)
    theirs = geomad.nangeomedian_pcm(stack_u16, **kw)
    np.testing.assert_allclose(mine * SCALE, theirs * SCALE, atol=1e-5, equal_nan=True)


def test_int16_nodata_and_float_input_give_same_result(stack_u16, stack_f32):
    i16 = stack_u16.astype(np.int16)
    i16[stack_u16 == 0] = -999
    a = nangeomedian_pcm(i16, eps=1e-6, scale=SCALE, offset=OFFSET, num_threads=1)
    b = nangeomedian_pcm(stack_f32, eps=1e-6, num_threads=1)
    np.testing.assert_allclose(a * SCALE + OFFSET, b, atol=2e-6, equal_nan=True)


def test_result_does_not_depend_on_pixel_order_or_threads(stack_u16):
    kw = dict(eps=1e-5, scale=SCALE, offset=OFFSET)
    a = geomedian_mads(stack_u16, num_threads=1, **kw)
    perm = np.random.default_rng(3).permutation(stack_u16.shape[1])
    b = geomedian_mads(stack_u16[:, perm], num_threads=2, **kw)
    np.testing.assert_array_equal(a.gm[:, perm], b.gm)
    np.testing.assert_array_equal(a.emad[:, perm], b.emad)
    np.testing.assert_array_equal(a.count[:, perm], b.count)
    # a single pixel alone gives the same as inside the tile
    c = geomedian_mads(stack_u16[4:5, 3:4], num_threads=1, **kw)
    np.testing.assert_array_equal(c.gm[0, 0], a.gm[4, 3])


def _one(obs: list[list[float]], **kw) -> np.ndarray:
    """Geomedian of one pixel given as a list of observations (time, band)."""
    X = np.asarray(obs, dtype=np.float32).T[None, None]
    return nangeomedian_pcm(X, num_threads=1, **kw)[0, 0]


def test_all_missing_pixel_is_nan_and_count_zero():
    X = np.full((1, 2, 3, 4), np.nan, dtype=np.float32)
    X[0, 1] = 0.5
    res = geomedian_mads(X, num_threads=1)
    assert np.all(np.isnan(res.gm[0, 0])) and res.count[0, 0] == 0
    assert np.isnan(res.smad[0, 0]) and np.isnan(res.emad[0, 0]) and np.isnan(res.bcmad[0, 0])
    np.testing.assert_array_equal(res.gm[0, 1], [0.5, 0.5, 0.5])
    assert res.count[0, 1] == 4
    u = np.zeros((1, 1, 3, 4), dtype=np.uint16)
    assert np.all(np.isnan(nangeomedian_pcm(u, scale=SCALE, offset=OFFSET)))


def test_no_time_steps():
    X = np.empty((2, 2, 3, 0), dtype=np.float32)
    res = geomedian_mads(X)
    assert np.all(np.isnan(res.gm)) and np.all(res.count == 0)


def test_one_observation_is_itself():
    np.testing.assert_array_equal(_one([[0.1, 0.2, 0.3]]), np.float32([0.1, 0.2, 0.3]))
    X = np.full((1, 1, 3, 5), np.nan, dtype=np.float32)
    X[0, 0, :, 2] = [0.3, 0.25, 0.125]
    X[0, 0, 0, 4] = 0.9  # partially missing observation is dropped
    np.testing.assert_array_equal(nangeomedian_pcm(X)[0, 0], np.float32([0.3, 0.25, 0.125]))


def test_two_observations_give_a_point_between_them():
    a, b = np.array([0.1, 0.2, 0.3]), np.array([0.3, 0.1, 0.5])
    m = _one([a, b], eps=1e-7).astype(np.float64)
    # any point of the segment minimises; ours stays at the mean
    assert np.linalg.norm(m - a) + np.linalg.norm(m - b) == pytest.approx(np.linalg.norm(a - b), abs=1e-6)


def test_identical_observations():
    m = _one([[0.2, 0.4]] * 6)
    np.testing.assert_array_equal(m, np.float32([0.2, 0.4]))


def test_iterate_on_an_observation_vardi_zhang():
    # mean of these is exactly the middle observation, which is the geomedian
    obs = [[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
    np.testing.assert_array_equal(_one(obs), [0.0, 0.0])
    # a majority at one point: the geomedian is that point (mean is elsewhere)
    obs = [[0.5, 0.5]] * 3 + [[0.9, 0.1], [0.1, 0.2]]
    np.testing.assert_allclose(_one(obs, eps=1e-7), [0.5, 0.5], atol=1e-6)
    # the iterate lands on an observation that is not the optimum and moves on
    obs = [[0.0, 0.0], [1.0, 0.0], [1.0, 0.1], [1.0, -0.1], [-1.0, 0.0]]
    want = ref.geomedian(np.array(obs), eps=1e-12)
    np.testing.assert_allclose(_one(obs, eps=1e-7), want, atol=1e-5)
    assert want[0] > 0.1


@pytest.mark.parametrize("mag", [1e-30, 1e30])
def test_extreme_values_are_scaled_safely(mag):
    rng = np.random.default_rng(5)
    obs = rng.normal(size=(9, 4))
    want = ref.geomedian(obs, eps=1e-12)
    got = _one((obs * mag).tolist(), eps=1e-6 * mag).astype(np.float64) / mag
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_extreme_uint16_values():
    obs = np.array([[65535, 65535], [1, 1], [65535, 1], [1, 65535], [30000, 30000]], dtype=np.uint16)
    X = obs.T[None, None]
    got = nangeomedian_pcm(X, eps=1e-6, scale=SCALE, offset=0.0).astype(np.float64)
    want = ref.geomedian(obs.astype(np.float64) * SCALE, eps=1e-12) / SCALE
    np.testing.assert_allclose(got[0, 0], want, atol=0.05)


def test_maxiters_returns_the_iterate():
    rng = np.random.default_rng(2)
    X = rng.random((3, 3, 4, 20)).astype(np.float32)
    res0 = geomedian_mads(X, maxiters=0, num_threads=1)
    np.testing.assert_allclose(res0.gm, X.mean(axis=3), atol=1e-6)  # the start: the mean
    assert np.all(res0.iterations == 0)
    res2 = geomedian_mads(X, maxiters=2, eps=1e-12, num_threads=1)
    assert np.all(res2.iterations == 2)
    full = geomedian_mads(X, eps=1e-7, num_threads=1)
    # two steps move from the mean toward the solution
    assert np.all(np.abs(res2.gm - full.gm).max(axis=2) < np.abs(res0.gm - full.gm).max(axis=2) + 1e-7)


def test_weights_repeat_observations():
    rng = np.random.default_rng(4)
    X = rng.random((2, 2, 3, 5)).astype(np.float32)
    w = np.array([1, 2, 1, 3, 1], dtype=np.float32)
    Xr = np.repeat(X, w.astype(int), axis=3)
    np.testing.assert_allclose(nangeomedian_pcm(X, weight=w, eps=1e-7),
                               nangeomedian_pcm(Xr, eps=1e-7), atol=1e-5)


def test_bad_arguments_name_themselves():
    X = np.zeros((1, 1, 2, 3), dtype=np.float32)
    with pytest.raises(InputError, match="X must be 4-D"):
        nangeomedian_pcm(X[0])
    with pytest.raises(ConfigError, match="eps"):
        nangeomedian_pcm(X, eps=0)
    with pytest.raises(ConfigError, match="maxiters"):
        nangeomedian_pcm(X, maxiters=-1)
    with pytest.raises(ConfigError, match="num_threads"):
        nangeomedian_pcm(X, num_threads=0)
    with pytest.raises(ConfigError, match="weight"):
        nangeomedian_pcm(X, weight=[1, 2])
    with pytest.raises(InputError, match="gm must have shape"):
        smad_pcm(X, np.zeros((1, 1, 3)))
    with pytest.raises(ConfigError, match="scale"):
        nangeomedian_pcm(X.astype(np.uint16), scale=0)


@pytest.mark.parametrize("nt", [64, 65, 100, 101])
def test_mads_of_long_series(nt):
    # beyond 64 valid observations the medians switch from rank counting to quickselect
    rng = np.random.default_rng(nt)
    X = rng.random((1, 2, 3, nt)).astype(np.float32)
    X[0, 1, 1, 3] = np.nan
    res = geomedian_mads(X, eps=1e-7, num_threads=1)
    for c in range(2):
        obs = ref.valid_obs(X[0, c])
        s, e, b = ref.mads(obs, res.gm[0, c].astype(np.float64))
        assert abs(res.smad[0, c] - s) < 1e-6
        assert abs(res.emad[0, c] - e) < 1e-6
        assert abs(res.bcmad[0, c] - b) < 1e-6

"""Geomedian plugins: masking, morphology order, hand-computed geomedians, dtypes, and
agreement with odc-stats 1.9.14's own StatsGMS2 / StatsGMLS."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from statscore.errors import InputError
from statscore.plugins import resolve_plugin

from .conftest import FMASK_ATTRS, S2_BANDS, SCL_ATTRS, s2_scene, stack


def s2(values: np.ndarray, scl: np.ndarray) -> xr.Dataset:
    """Every S2 band = ``values`` (t, y, x), with the given SCL."""
    data = {b: np.asarray(values, dtype="uint16") for b in S2_BANDS}
    data["SCL"] = np.asarray(scl, dtype="uint8")
    attrs = {b: {"nodata": 0} for b in S2_BANDS}
    attrs["SCL"] = SCL_ATTRS
    return stack(data, attrs)


# ---- masking --------------------------------------------------------------------------


def test_gm_s2_masks_classes_and_drops_no_data():
    # 3 dates x 2x2: vegetation (4), cloud shadows (3), cloud medium/high (8, 9), cirrus
    # (10), no data (0), snow (11, kept)
    scl = [[[4, 3], [8, 9]], [[10, 0], [11, 4]], [[4, 4], [4, 4]]]
    p = resolve_plugin("gm-s2", cloud_filters={("cloud shadows", "cloud medium probability",
                                                 "cloud high probability", "thin cirrus"): []})
    out = p.native_transform(s2(np.full((3, 2, 2), 700), scl))
    assert list(out.data_vars) == list(S2_BANDS)  # SCL dropped
    assert out["B04"].values.tolist() == [[[700, 0], [0, 0]], [[0, 0], [700, 700]],
                                          [[700, 700], [700, 700]]]
    assert out["B04"].dtype == np.uint16 and out["B04"].attrs["nodata"] == 0


def _cloud_scene(cloud: np.ndarray) -> xr.Dataset:
    scl = np.where(cloud, 9, 4)[None]
    return s2(np.full(scl.shape, 1000), scl)


def test_gm_s2_default_filter_opening_2_then_dilation_5():
    cloud = np.zeros((30, 30), dtype=bool)
    cloud[2, 2] = True             # a speck: removed by the opening
    cloud[12:17, 12:17] = True     # a 5x5 cloud: survives opening 2, grows by 5
    masked = resolve_plugin("gm-s2").native_transform(_cloud_scene(cloud))["B02"].values[0] == 0
    assert not masked[2, 2]
    assert masked[12:17, 12:17].all()
    assert masked[14, 7] and not masked[14, 6]     # 5 px left of the block edge, not 6
    assert masked[14, 21] and not masked[14, 22]
    # disks are dy^2 + dx^2 <= r^2. Opening 2 keeps only the radius-2 disk (13 px) around the
    # block's centre (14, 14): only there does a whole radius-2 disk fit in the 5x5 block, so
    # the corners go. Dilation 5 of that: (10, 10) is reached from (13, 13) (3^2 + 3^2 <= 25),
    # but (9, 9) is not, though a dilation of the whole square would reach it from (12, 12)
    assert masked[10, 10] and masked[9, 10] and masked[7, 14]
    assert not masked[9, 9] and not masked[8, 9]
    assert masked.sum() == 149  # the radius-2 disk dilated by the radius-5 disk (counted point by point)


def test_gm_s2_filter_order_matters():
    cloud = np.zeros((20, 20), dtype=bool)
    cloud[10, 10] = True
    p = resolve_plugin("gm-s2", cloud_filters={"cloud high probability": [["dilation", 5], ["opening", 2]]})
    masked = p.native_transform(_cloud_scene(cloud))["B02"].values[0] == 0
    # dilation first turns the speck into a radius-5 disk that the opening mostly keeps
    disk = sum(1 for dy in range(-5, 6) for dx in range(-5, 6) if dx * dx + dy * dy <= 25)
    assert masked[10, 10] and masked[10, 14] and not masked[10, 16]
    assert 60 < masked.sum() <= disk
    default = resolve_plugin("gm-s2").native_transform(_cloud_scene(cloud))["B02"].values[0] == 0
    assert default.sum() == 0


def test_gm_s2_missing_band_is_an_input_error():
    ds = s2(np.ones((1, 2, 2)), np.full((1, 2, 2), 4)).drop_vars("B8A")
    with pytest.raises(InputError, match="'B8A' missing"):
        resolve_plugin("gm-s2").native_transform(ds)


# ---- reduce ---------------------------------------------------------------------------


def test_gm_s2_reduce_hand_values():
    # pixel (0,0): one clear obs -> itself; (0,1): A, A, B -> A; (1,0): nothing clear;
    # (1,1): three identical obs
    vals = np.array([[[1234, 500], [0, 800]],
                     [[0, 500], [0, 800]],
                     [[0, 2500], [0, 800]]], dtype="uint16")
    scl = np.where(vals == 0, 0, 4)
    p = resolve_plugin("gm-s2", cloud_filters={})
    out = p.reduce(p.native_transform(s2(vals, scl)))
    assert list(out.data_vars) == list(p.measurements)
    for b in S2_BANDS:
        assert out[b].values.tolist() == [[1234, 500], [0, 800]]
    assert out["COUNT"].values.tolist() == [[1, 3], [0, 3]]
    assert np.isnan(out["SMAD"].values[1, 0]) and np.isnan(out["EMAD"].values[1, 0])
    # median(0, 0, |B - A|) = 0, to within the iteration's eps (0.1 DN)
    assert out["EMAD"].values[0, 1] == pytest.approx(0, abs=0.1)
    assert out["EMAD"].values[1, 1] == pytest.approx(0, abs=0.1)
    assert out["SMAD"].values[0, 0] == pytest.approx(0, abs=1e-6)


def test_gm_rounds_to_nearest_not_truncates():
    # two bands, points (-10, 0), (10, 0), (0, 30) around (1000, 2000): the geometric
    # median is the Fermat point (0, 10 / sqrt(3)) = (1000, 2005.77) -> 2006, not 2005
    a = np.array([990, 1010, 1000], dtype="uint16").reshape(3, 1, 1)
    b = np.array([2000, 2000, 2030], dtype="uint16").reshape(3, 1, 1)
    m = np.full((3, 1, 1), 1, dtype="uint8")  # fmask valid
    ds = stack({"a": a, "b": b, "m": m}, {"a": {"nodata": 0}, "b": {"nodata": 0}, "m": FMASK_ATTRS})
    p = resolve_plugin("gm-generic", bands=["a", "b"], mask_band="m")
    out = p.reduce(p.native_transform(ds))
    assert out["a"].item() == 1000 and out["b"].item() == 2006
    # emad (DN): median distance = the two base points' sqrt(10^2 + (10/sqrt 3)^2)
    assert out["emad"].item() == pytest.approx(math.sqrt(100 + 100 / 3), abs=0.05)
    assert out["count"].item() == 3


def test_gm_s2_output_dtypes_and_nodata(rng):
    p = resolve_plugin("gm-s2")
    out = p.reduce(p.native_transform(s2_scene(rng, 4, 6, 5)))
    for band, dtype in p.output_dtypes().items():
        assert out[band].dtype == dtype, band
        nd = p.output_nodata()[band]
        if nd is None:
            assert "nodata" not in out[band].attrs
        elif isinstance(nd, float) and math.isnan(nd):
            assert math.isnan(out[band].attrs["nodata"])
        else:
            assert out[band].attrs["nodata"] == nd
    assert p.output_nodata()["B02"] == 0 and p.output_nodata()["COUNT"] is None


def test_gm_s2_dask_input_equals_numpy(rng):
    ds = s2_scene(rng, 5, 16, 12)
    p = resolve_plugin("gm-s2", block_bytes=4096)
    a = p.reduce(p.native_transform(ds.copy()))
    b = p.reduce(p.native_transform(ds.chunk({"time": 1, "y": 8, "x": 6})))
    xr.testing.assert_identical(a, b)


def test_gm_s2_agrees_with_odc_stats(rng):
    from odc.stats.plugins.gm import StatsGMS2

    ds = s2_scene(rng, 7, 32, 32, cloud=0.4)
    ds["SCL"].values[:, :5, :5] = 9  # a cloud the opening keeps: never clear at (0, 0)
    ours = resolve_plugin("gm-s2")
    a = ours.reduce(ours.native_transform(ds.copy(deep=True)))
    ref = StatsGMS2(work_chunks=(32, 32))
    # odc-algo's morphology on numpy input (its dask path loses dilation near the array
    # edge), its geomedian on dask (the only input it takes)
    b = ref.reduce(ref.native_transform(ds.copy(deep=True)).chunk({"time": 1})).compute()
    assert list(a.data_vars) == list(b.data_vars)
    unique = a["COUNT"].values >= 3  # with 1 or 2 obs any point between them is a median
    for band in S2_BANDS:
        d = np.abs(a[band].values.astype(int) - b[band].values.astype(int))
        assert d[unique].max() <= 1, band
        assert d[a["COUNT"].values == 1].max() <= 1  # odc-algo truncates x.9999 -> x
    for band in ("SMAD", "BCMAD"):
        np.testing.assert_allclose(a[band].values[unique], b[band].values[unique], atol=1e-4)
    # EMAD in DN both: within 1e-4 reflectance = 1 DN
    np.testing.assert_allclose(a["EMAD"].values[unique] * 1e-4, b["EMAD"].values[unique] * 1e-4, atol=1e-4)
    assert (a["COUNT"].values == b["COUNT"].values).all()
    assert a["COUNT"].values[0, 0] == 0 and a["B02"].values[0, 0] == 0


# ---- gm-ls ----------------------------------------------------------------------------


LS_BANDS = ("nbart_red", "nbart_green", "nbart_blue", "nbart_nir", "nbart_swir_1", "nbart_swir_2")


def ls(values, fmask, contiguity) -> xr.Dataset:
    data = {b: np.asarray(values, dtype="int16") for b in LS_BANDS}
    data["fmask"] = np.asarray(fmask, dtype="uint8")
    data["nbart_contiguity"] = np.asarray(contiguity, dtype="uint8")
    attrs = {b: {"nodata": -999} for b in LS_BANDS}
    attrs["fmask"] = FMASK_ATTRS
    attrs["nbart_contiguity"] = {"nodata": 255}
    return stack(data, attrs)


def test_gm_ls_masks_fmask_and_contiguity_and_names_aux_bands():
    # dates x 2x2: fmask valid(1) cloud(2) shadow(3) nodata(0) snow(4) water(5)
    vals = np.array([[[100, 200], [300, 400]], [[110, 210], [310, 410]]])
    fmask = [[[1, 2], [3, 0]], [[4, 5], [1, 1]]]
    contig = [[[1, 1], [1, 1]], [[1, 1], [0, 1]]]
    p = resolve_plugin("gm-ls")
    nt = p.native_transform(ls(vals, fmask, contig))
    assert list(nt.data_vars) == list(LS_BANDS)
    assert nt["nbart_red"].values.tolist() == [[[100, -999], [-999, -999]], [[110, 210], [-999, 410]]]
    out = p.reduce(nt)
    assert list(out.data_vars) == [*LS_BANDS, "sdev", "edev", "bcdev", "count"]
    # two observations: every point between them minimises the distance sum; the Weiszfeld
    # iteration starts at their mean, where the two unit vectors cancel, and stays there
    assert out["nbart_red"].values.tolist() == [[105, 210], [-999, 410]]
    assert out["nbart_red"].values[0, 1] == 210 and out["nbart_red"].values[1, 0] == -999
    assert out["count"].values.tolist() == [[2, 1], [0, 1]]
    assert out["nbart_red"].dtype == np.int16 and out["nbart_red"].attrs["nodata"] == -999
    assert out["sdev"].dtype == np.float32 and math.isnan(out["sdev"].attrs["nodata"])


def test_gm_ls_agrees_with_odc_stats(rng):
    from odc.stats.plugins.gm import StatsGMLS

    t, ny, nx = 6, 20, 20
    base = rng.integers(200, 3000, size=(len(LS_BANDS), 1, ny, nx))
    vals = {b: (base[i] + rng.normal(0, 150, (t, ny, nx))).astype("int16") for i, b in enumerate(LS_BANDS)}
    ds = ls(np.zeros((t, ny, nx)), rng.choice([1, 1, 1, 2, 3, 0, 4, 5], size=(t, ny, nx)),
            rng.choice([1, 1, 1, 1, 0], size=(t, ny, nx)))
    for b in LS_BANDS:
        ds[b].values[:] = vals[b]
    ours = resolve_plugin("gm-ls")
    a = ours.reduce(ours.native_transform(ds.copy(deep=True)))
    ref = StatsGMLS(work_chunks=(ny, nx))
    b = ref.reduce(ref.native_transform(ds.copy(deep=True)).chunk({"time": 1})).compute()
    assert list(a.data_vars) == list(b.data_vars)
    unique = a["count"].values >= 3  # with 1 or 2 obs any point between them is a median
    for band in LS_BANDS:
        assert np.abs(a[band].values.astype(int) - b[band].values.astype(int))[unique].max() <= 1
    for band in ("sdev", "bcdev"):
        np.testing.assert_allclose(a[band].values[unique], b[band].values[unique], atol=1e-4)
    np.testing.assert_allclose(a["edev"].values[unique] * 1e-4, b["edev"].values[unique] * 1e-4, atol=1e-4)
    assert (a["count"].values == b["count"].values).all()


# ---- gm-ls-bitmask --------------------------------------------------------------------


C2 = ("red", "green", "blue", "nir", "swir_1", "swir_2")


def test_gm_ls_bitmask_masks_bits_and_rescales_with_rounding():
    # (0,0): one clear obs DN 10021 -> (10021 * 2.75e-5 - 0.2) * 1e4 = 755.775 -> 756
    # (0,1): fill bit set on the only obs; (1,0): cloud bit 3; (1,1): DN below reflectance 0
    vals = np.array([[[10021, 20000], [20000, 7000]]], dtype="uint16")
    qa = np.array([[[0b1000000, 0b1], [0b1000, 0b1000000]]], dtype="uint16")
    data = {b: vals for b in C2}
    data["QA_PIXEL"] = qa
    ds = stack(data, {b: {"nodata": 0} for b in C2})
    p = resolve_plugin("gm-ls-bitmask")
    nt = p.fuser(p.native_transform(ds))
    out = p.reduce(nt)
    assert out["red"].values.tolist() == [[756, 0], [0, 0]]
    assert out["count"].values.tolist() == [[1, 0], [0, 0]]
    assert out["emad"].values.tolist() == [[0, 0], [0, 0]]
    for band, dtype in p.output_dtypes().items():
        assert out[band].dtype == dtype, band
    assert out["emad"].attrs["nodata"] == 0 and math.isnan(out["smad"].attrs["nodata"])


def test_gm_ls_bitmask_filters_grow_the_cloud_on_the_tile():
    qa = np.zeros((2, 9, 9), dtype="uint16")
    qa[:, 4, 4] = 1 << 3
    vals = np.full((2, 9, 9), 20000, dtype="uint16")
    ds = stack({**{b: vals for b in C2}, "QA_PIXEL": qa}, {b: {"nodata": 0} for b in C2})
    p = resolve_plugin("gm-ls-bitmask", filters=[["dilation", 1]])
    out = p.reduce(p.native_transform(ds))
    assert int((out["count"].values == 0).sum()) == 5  # centre + 4 neighbours
    assert out["red"].values[0, 0] == round((20000 * 2.75e-5 - 0.2) * 1e4)


# ---- medoid-generic -------------------------------------------------------------------


def test_medoid_picks_the_central_observation_and_counts():
    # one band, (0,0): 10, 11, 50 -> 11 (distance sums 41, 40, 79); (0,1): 11 clouded ->
    # 10 and 50 tie -> the earlier, 10
    v = np.array([[[10, 10]], [[11, 11]], [[50, 50]]], dtype="int16")
    m = np.array([[[1, 1]], [[1, 2]], [[1, 1]]], dtype="uint8")
    ds = stack({"v": v, "m": m}, {"v": {"nodata": -999}, "m": FMASK_ATTRS})
    p = resolve_plugin("medoid-generic", bands=["v"], mask_band="m", dtype="int16", block_bytes=1)
    out = p.reduce(p.native_transform(ds))
    assert list(out.data_vars) == ["v", "count"]
    assert out["v"].values.tolist() == [[11, 10]]
    assert out["count"].values.tolist() == [[3, 2]]
    assert out["v"].attrs["nodata"] == -999 and out["count"].dtype == np.uint16


def test_generic_dtype_mismatch_is_an_input_error():
    ds = stack({"v": np.ones((1, 1, 1), dtype="int16"), "m": np.ones((1, 1, 1), dtype="uint8")},
               {"v": {"nodata": -999}, "m": FMASK_ATTRS})
    p = resolve_plugin("gm-generic", bands=["v"], mask_band="m")
    with pytest.raises(InputError, match="expects uint16 bands.*int16"):
        p.reduce(p.native_transform(ds))

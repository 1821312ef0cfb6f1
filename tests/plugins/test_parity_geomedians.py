"""gm-generic, gm-ls-bitmask and pq-ls-bitmask against odc-stats 1.9.14's own classes
(StatsGM, StatsGMLSBitmask, StatsPQLSBitmask) on the same random inputs: counts exact,
bands within 1 DN, MADs within 1e-4 (gm-s2, gm-ls and pq: test_gm.py, test_pq.py)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from statscore.plugins import resolve_plugin
from statscore.sampledata.products import product_definition

from .conftest import FMASK_ATTRS, SCL_ATTRS, stack
from .test_parity_summaries import assert_same, ours, theirs

C2 = ("red", "green", "blue", "nir", "swir_1", "swir_2")


def _qa_flags() -> dict:
    """QA_PIXEL's flags_definition as the USGS C2 L2 product defines it (odc-stats reads
    the bits from it)."""
    (qa,) = [m for m in product_definition("ls8_c2l2_sr")["measurements"] if m["name"] == "QA_PIXEL"]
    return qa["flags_definition"]


def qa_pixel(rng, t: int, ny: int, nx: int) -> np.ndarray:
    """Random QA_PIXEL words: fill, dilated cloud, cirrus, cloud, shadow, snow, clear, water
    bits and the confidence pairs, plus a cloud block in every date (so cloud filters never
    meet an empty mask, where odc-algo marks the array corner: README)."""
    bits = np.zeros((t, ny, nx), dtype="uint16")
    for bit, p in ((0, 0.04), (1, 0.1), (2, 0.08), (3, 0.15), (4, 0.1), (5, 0.03), (6, 0.5), (7, 0.1)):
        bits |= ((rng.random((t, ny, nx)) < p) << bit).astype("uint16")
    bits |= (rng.integers(0, 4, (t, ny, nx)) << 8).astype("uint16")
    bits |= (rng.integers(0, 4, (t, ny, nx)) << 14).astype("uint16")
    bits[:, 6:11, 6:11] = (1 << 3) | (3 << 8)
    return bits


def c2_stack(rng, t: int, ny: int, nx: int, aerosol: bool = False) -> xr.Dataset:
    base = rng.integers(8000, 20000, size=(len(C2), 1, ny, nx))
    data = {b: (base[i] + rng.normal(0, 900, (t, ny, nx))).clip(1, 65000).astype("uint16") for i, b in enumerate(C2)}
    data["red"][rng.random((t, ny, nx)) < 0.02] = 7000  # negative reflectance: dropped
    data["QA_PIXEL"] = qa_pixel(rng, t, ny, nx)
    attrs = {b: {"nodata": 0} for b in C2}
    attrs["QA_PIXEL"] = {"nodata": 1, "flags_definition": _qa_flags()}
    if aerosol:
        data["SR_QA_AEROSOL"] = (rng.integers(0, 4, (t, ny, nx)) << 6).astype("uint8")
        attrs["SR_QA_AEROSOL"] = {"nodata": 1}
    return stack(data, attrs)


def edge(shape: tuple[int, int], width: int) -> np.ndarray:
    """Pixels within ``width`` of the array's edge."""
    e = np.zeros(shape, dtype=bool)
    if width:
        e[:width], e[-width:], e[:, :width], e[:, -width:] = True, True, True, True
    return e


def reach(filters) -> int:
    """How far from the array edge a filter chain can see its padding: opening and closing
    go out and back (2r), erosion and dilation r."""
    return sum(2 * r if op in ("opening", "closing") else r for op, r in filters or [])


def assert_counts(a: np.ndarray, b: np.ndarray, radii: int = 0) -> np.ndarray:
    """Counts exact, but where odc-algo's dask morphology differs (README): within the
    filters' reach of the array edge (map_overlap pads its blocks with clear pixels there,
    so an opening erodes clouds touching the edge), where odc-stats may count more.
    Returns where both are compared exactly."""
    inner = ~edge(a.shape, radii)
    np.testing.assert_array_equal(a[inner], b[inner])
    assert (b[~inner] >= a[~inner]).all()
    return inner


def assert_geomedian_close(a: xr.Dataset, b: xr.Dataset, bands, count: str, mads=("smad", "bcmad"),
                           radii: int = 0) -> None:
    assert list(a.data_vars) == list(b.data_vars)
    inner = assert_counts(a[count].values, b[count].values, radii)
    unique = (a[count].values >= 3) & inner  # with 1 or 2 observations any point between is a median
    assert unique.sum() >= 100  # enough pixels compared
    for band in bands:
        assert a[band].dtype == b[band].dtype, band
        d = np.abs(a[band].values.astype(int) - b[band].values.astype(int))
        assert d[unique].max() <= 1, (band, d[unique].max())
        np.testing.assert_array_equal(a[band].values == 0, b[band].values == 0)
    for band in mads:
        np.testing.assert_allclose(a[band].values[unique], b[band].values[unique], atol=1e-4, err_msg=band)


@pytest.mark.parametrize("filters", [None, [["opening", 1], ["dilation", 2]]])
def test_gm_ls_bitmask_matches_odc_stats(rng, filters):
    from odc.stats.plugins.gm_ls_bitmask import StatsGMLSBitmask

    n = 24
    ds = c2_stack(rng, 12, n, n)
    kw = {"filters": filters} if filters else {}
    mine = resolve_plugin("gm-ls-bitmask", **kw)
    ref = StatsGMLSBitmask(bands=list(C2), work_chunks=(n, n), **kw)  # it indexes with bands: a list
    a = ours(mine, ds)
    b = theirs(ref, ds)
    radii = reach(filters)
    assert_geomedian_close(a, b, C2, "count", radii=radii)
    # emad: uint16 reflectance x 10,000 in both, so within 1 (1e-4 reflectance)
    unique = (a["count"].values >= 3) & ~edge(a["count"].shape, radii)
    assert np.abs(a["emad"].values.astype(int) - b["emad"].values.astype(int))[unique].max() <= 1


@pytest.mark.parametrize("config", [
    {},
    {"filters": {"clear_1_2": [["opening", 1], ["dilation", 2]]}},
    {"aerosol_band": "SR_QA_AEROSOL", "filters": {"clear_2": [["dilation", 2]]},
     "aerosol_filters": {"clear_2_aerosol": [["dilation", 2]]}},
])
def test_pq_ls_bitmask_matches_odc_stats(rng, config):
    from odc.stats.plugins.pq_bitmask import StatsPQLSBitmask

    ds = c2_stack(rng, 10, 20, 20, aerosol="aerosol_band" in config)[
        ["QA_PIXEL", *(["SR_QA_AEROSOL"] if "aerosol_band" in config else [])]]
    a = ours(resolve_plugin("pq-ls-bitmask", **config), ds)
    b = theirs(StatsPQLSBitmask(**config), ds)
    # bands in the product's order (odc-stats' dataset puts clear_aerosol before the filters)
    assert list(a.data_vars) == list(StatsPQLSBitmask(**config).measurements)
    assert set(a.data_vars) == set(b.data_vars)
    filters = {**config.get("filters", {}), **config.get("aerosol_filters", {})}
    for band in a.data_vars:
        assert a[band].dtype == b[band].dtype
        assert_counts(a[band].values, b[band].values, reach(filters.get(band)))
    assert (a["clear"].values < a["total"].values).any()


S2_GENERIC = ("B02", "B03", "B04", "B08", "B11")


def generic_stack(rng, t: int, n: int, mask: str) -> xr.Dataset:
    """S2-like bands with an SCL or a DEA fmask band, a cloud and a shadow block every date
    (cloud filters never meet an empty mask: README)."""
    base = rng.integers(300, 4000, size=(len(S2_GENERIC), 1, n, n))
    data = {b: (base[i] + rng.normal(0, 250, (t, n, n))).clip(1, 10000).astype("uint16")
            for i, b in enumerate(S2_GENERIC)}
    if mask == "SCL":
        m = rng.choice([4, 5, 6, 3, 8, 9, 10, 0], size=(t, n, n), p=[.35, .2, .1, .08, .1, .1, .04, .03])
        m[:, 3:8, 3:8], m[:, 14:18, 14:18] = 9, 3
    else:  # fmask: 0 nodata, 1 valid, 2 cloud, 3 shadow, 4 snow, 5 water
        m = rng.choice([1, 1, 1, 1, 2, 3, 0, 4, 5], size=(t, n, n))
        m[:, 3:8, 3:8], m[:, 14:18, 14:18] = 2, 3
    data[mask] = m.astype("uint8")
    attrs = {b: {"nodata": 0} for b in S2_GENERIC}
    attrs[mask] = SCL_ATTRS if mask == "SCL" else FMASK_ATTRS
    return stack(data, attrs)


@pytest.mark.parametrize("mask,config", [
    # no cloud_filters: both mask the 'cloud' and 'shadow' classes unbuffered (fmask has them;
    # for a band without them we raise ConfigError where odc-stats masks nothing)
    ("fmask", {"nodata_classes": ["nodata"]}),
    ("SCL", {"nodata_classes": ["no data"],
             "cloud_filters": {("cloud high probability", "cloud medium probability"): [["opening", 1], ["dilation", 3]],
                               "cloud shadows": [["dilation", 1]]},
             "aux_names": {"smad": "sdev", "emad": "edev", "bcmad": "bcdev", "count": "count"}}),
])
def test_gm_generic_matches_odc_stats(rng, mask, config):
    from odc.stats.plugins.gm import StatsGM

    n, t = 24, 12
    ds = generic_stack(rng, t, n, mask)
    mine = resolve_plugin("gm-generic", bands=S2_GENERIC, mask_band=mask, **config)
    ref = StatsGM(bands=S2_GENERIC, mask_band=mask, work_chunks=(n, n), **config)
    # odc-algo's morphology on numpy input, as test_gm.py does (its dask path differs at the
    # array edge, see assert_counts); its geomedian on dask, the only input it takes
    a = mine.reduce(mine.native_transform(ds.copy(deep=True)))
    b = ref.reduce(ref.native_transform(ds.copy(deep=True)).chunk({"time": 1})).compute()
    names = config.get("aux_names", {"smad": "smad", "emad": "emad", "bcmad": "bcmad", "count": "count"})
    assert_geomedian_close(a, b, S2_GENERIC, names["count"], (names["smad"], names["bcmad"]))
    unique = a[names["count"]].values >= 3
    np.testing.assert_allclose(a[names["emad"]].values[unique] * 1e-4, b[names["emad"]].values[unique] * 1e-4,
                               atol=1e-4)  # emad in DN in both

"""Generated scenes: valid COGs, eo3 and datacube documents, realistic geometry and time."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from importlib.resources import files

import numpy as np
import pytest
import rasterio
import shapely
import yaml
from datacube.index.eo3 import prep_eo3
from datacube.model import Dataset, MetadataType, Product
from datacube.utils import read_documents
from eodatasets3.validate import Level, validate_dataset
from rio_cogeo.cogeo import cog_validate

from statscore.errors import ConfigError
from statscore.sampledata import PRODUCTS, generate_scenes
from statscore.sampledata.acquisitions import solar_hours

from .conftest import SIZE


def _eo3_type_doc() -> dict:
    path = files("datacube.index.abstract") / "default-metadata-types.yaml"
    return next(d for _, d in read_documents(str(path)) if d["name"] == "eo3")


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.profile, src.transform


def _pixel_centres(transform, shape):
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    x = transform.c + xs * transform.a
    y = transform.f + ys * transform.e
    return x, y


def test_every_product_generates_scenes(s2_scenes, ard_scenes, c2_scenes):
    assert len(s2_scenes) > 12  # 2 tiles, 5-day revisit, one also on a second orbit
    assert len(ard_scenes) >= 8 and len(c2_scenes) == len(ard_scenes)


def test_bands_are_valid_cogs_with_product_dtype_and_nodata(all_scenes):
    for rec in (all_scenes[0], all_scenes[-1], next(r for r in all_scenes if r.product == "ga_ls8c_ard_3")):
        product = PRODUCTS[rec.product]
        for band in product.bands:
            path = rec.band_paths[band.name]
            valid, errors, _ = cog_validate(str(path))
            assert valid and errors == [], (path, errors)
            with rasterio.open(path) as src:
                assert src.dtypes[0] == band.dtype
                assert src.nodata == band.nodata
                assert src.crs.to_epsg() == rec.epsg
                assert src.overviews(1), f"{path} has no internal overviews"
                assert src.profile["compress"] == "deflate"


def test_eo3_documents_validate_with_eodatasets3(all_scenes, product_paths):
    eo3_type = _eo3_type_doc()
    for rec in all_scenes[::7]:
        doc = yaml.safe_load(rec.eo3_path.read_text())
        product = yaml.safe_load(product_paths[rec.product].read_text())
        messages = list(validate_dataset(doc, product_definition=product, metadata_type_definition=eo3_type,
                                         thorough=True, readable_location=rec.eo3_path))
        errors = [m for m in messages if m.level == Level.error]
        assert errors == [], (rec.eo3_path, errors)
        warnings = [m for m in messages if m.level == Level.warning]
        assert warnings == [], (rec.eo3_path, warnings)


def test_datacube_builds_datasets_from_the_documents(all_scenes, product_paths):
    eo3_type = MetadataType(_eo3_type_doc())
    for rec in all_scenes[::5]:
        product = Product(eo3_type, yaml.safe_load(product_paths[rec.product].read_text()))
        doc = prep_eo3(yaml.safe_load(rec.eo3_path.read_text()))
        ds = Dataset(product, doc, uri=rec.eo3_path.as_uri())
        assert ds.id == rec.id
        assert ds.crs.epsg == rec.epsg
        assert ds.time.begin == rec.datetime
        assert ds.extent.geom.equals_exact(rec.footprint, 1e-6)
        assert set(ds.measurements) == set(PRODUCTS[rec.product].band_names)
        assert ds.metadata.region_code == rec.region_code


def test_same_seed_same_files_other_seed_other_data(tmp_path):
    kw = dict(product="s2_l2a", region="au-se-small", start="2020-03-01", end="2020-03-10", size_px=32, limit=2)
    a = generate_scenes(tmp_path / "a", seed=5, **kw)
    b = generate_scenes(tmp_path / "b", seed=5, **kw)
    c = generate_scenes(tmp_path / "c", seed=6, **kw)
    assert [r.id for r in a] == [r.id for r in b]
    assert not {r.id for r in a} & {r.id for r in c}
    for ra, rb, rc in zip(a, b, c):
        assert ra.eo3_path.read_text() == rb.eo3_path.read_text()
        assert ra.stac_path.read_text() == rb.stac_path.read_text()
        for band in ("B04", "SCL"):
            assert np.array_equal(_read(ra.band_paths[band])[0], _read(rb.band_paths[band])[0])
        assert not np.array_equal(_read(ra.band_paths["B04"])[0], _read(rc.band_paths["B04"])[0])


def test_data_is_exactly_where_the_footprint_says(all_scenes):
    partial = 0
    for rec in all_scenes:
        product = PRODUCTS[rec.product]
        for band in (product.bands[0], product.mask_band):
            data, profile, transform = _read(rec.band_paths[band.name])
            x, y = _pixel_centres(transform, data.shape)
            inside = shapely.contains_xy(rec.footprint, x, y)
            assert np.array_equal(data != band.nodata, inside), (rec.label, band.name)
        partial += bool((~inside).any())
    assert partial > len(all_scenes) // 3  # S2 swath wedges, Landsat corners


def test_s2_swath_edges_leave_nodata_wedges_inside_the_tile(s2_scenes):
    tile = {r.region_code: shapely.box(*r.grids["default"].extent.boundingbox) for r in s2_scenes}
    wedged = [r for r in s2_scenes if r.footprint.area < 0.95 * tile[r.region_code].area]
    full = [r for r in s2_scenes if r.footprint.area > 0.99 * tile[r.region_code].area]
    assert wedged and full
    for r in wedged:
        data = _read(r.band_paths["B02"])[0]
        assert (data == 0).any() and (data != 0).any()


def test_landsat_footprints_are_rotated_wrs2_scenes(ard_scenes):
    for r in ard_scenes:
        ring = np.asarray(r.footprint.exterior.coords)
        assert len(ring) == 5
        edge = ring[1] - ring[0]
        angle = abs(np.degrees(np.arctan2(edge[0], edge[1])))
        assert 5 < min(angle, 180 - angle) < 25  # the along-track edge leans off north
        side = np.hypot(*edge)
        assert 170_000 < side < 195_000
        assert f"_{r.region_code}_" in r.label


def test_mask_classes_match_the_clouds_in_the_pixels(s2_scenes, ard_scenes, c2_scenes):
    def check(recs, refl_band, mask_band, cloud_values, clear_values, shadow_values):
        cloudy = clear = shadow = 0
        for r in recs:
            refl = _read(r.band_paths[refl_band])[0].astype(float)
            mask = _read(r.band_paths[mask_band])[0]
            is_cloud, is_clear = np.isin(mask, cloud_values), np.isin(mask, clear_values)
            is_shadow = np.isin(mask, shadow_values)
            if is_cloud.sum() > 10 and is_clear.sum() > 10:
                assert np.median(refl[is_cloud]) > 1.5 * np.median(refl[is_clear]), r.label
                cloudy += 1
            if is_shadow.sum() > 10 and is_clear.sum() > 10:
                assert np.median(refl[is_shadow]) < np.median(refl[is_clear]), r.label
                shadow += 1
            clear += is_clear.any()
            # cloud cover in the metadata is the cloudy share of valid pixels
            valid = mask != PRODUCTS[r.product].mask_band.nodata
            assert abs(r.cloud_cover - 100 * is_cloud.sum() / max(valid.sum(), 1)) < 0.01
        assert cloudy and shadow and clear

    check(s2_scenes, "B05", "SCL", [8, 9, 10], [4, 5, 6], [3])
    check(ard_scenes, "nbart_blue", "oa_fmask", [2], [1, 5], [3])
    check(c2_scenes, "SR_B2", "QA_PIXEL", [22280, 54596], [21824, 21952], [23824])
    for r in c2_scenes:
        qa = _read(r.band_paths["QA_PIXEL"])[0]
        cloud_bit = (qa & (1 << 3)) > 0
        conf = (qa >> 8) & 3
        assert np.all(conf[cloud_bit] == 3)
        assert np.all((qa[qa == 1]) == 1)  # fill


def test_land_cover_is_the_same_in_overlapping_scenes(ard_scenes, c2_scenes):
    a, c = ard_scenes[0], c2_scenes[0]
    assert a.footprint.equals(c.footprint) and a.solar_date == c.solar_date
    fa, fc = _read(a.band_paths["oa_fmask"])[0], _read(c.band_paths["QA_PIXEL"])[0]
    assert np.array_equal(fa == 5, fc == 21952)  # same water, same clouds


def test_revisit_is_5_days_for_s2_and_16_for_landsat(s2_scenes, ard_scenes):
    per_tile = defaultdict(lambda: defaultdict(list))
    for r in s2_scenes:
        orbit = yaml.safe_load(r.eo3_path.read_text())["properties"]["sat:relative_orbit"]
        per_tile[r.region_code][orbit].append(r.solar_date)
    for tile, orbits in per_tile.items():
        for dates in orbits.values():
            gaps = {(b - a).days for a, b in zip(sorted(dates), sorted(dates)[1:])}
            assert gaps == {5}, (tile, dates)
    assert any(len(o) == 2 for o in per_tile.values())  # some tiles see two orbits
    by_pathrow = defaultdict(list)
    for r in ard_scenes:
        by_pathrow[r.region_code].append(r.solar_date)
    for dates in by_pathrow.values():
        assert {(b - a).days for a, b in zip(dates, dates[1:])} == {16}
    platforms = {r.platform for r in s2_scenes}
    assert platforms == {"sentinel-2a", "sentinel-2b"}


def test_scenes_span_two_utm_zones(s2_scenes, ard_scenes):
    assert {r.crs for r in s2_scenes} == {"EPSG:32755", "EPSG:32756"}
    assert {r.crs for r in ard_scenes} == {"EPSG:32655", "EPSG:32656"}  # USGS/DEA use north zones


def test_acquisitions_are_mid_morning_solar_time(all_scenes):
    for r in all_scenes:
        lon, lat = r.footprint_wgs84.centroid.coords[0]
        local = r.datetime + timedelta(hours=lon / 15)
        assert local.date() == r.solar_date
        hours = local.hour + local.minute / 60
        assert 9.0 < hours < 11.0
        family = "s2" if r.product == "s2_l2a" else "landsat"
        assert abs(hours - solar_hours(family, lat)) < 0.75  # off-track tiles differ by up to ~40 min
    # Near 150 E a Landsat pass at ~09:40 solar time is the previous UTC day.
    landsat = [r for r in all_scenes if r.product != "s2_l2a"]
    assert all(r.datetime.date() == r.solar_date - timedelta(days=1) for r in landsat)


def test_native_windows_overlap_across_zones(tmp_path):
    recs = generate_scenes(tmp_path, product="s2_l2a", region="au-se-small", start="2020-01-01",
                           end="2020-01-05", size_px=64, native=True, cloudiness=0)
    assert {r.crs for r in recs} == {"EPSG:32755", "EPSG:32756"}
    for r in recs:
        assert r.grids["default"].resolution.x == 10 and r.grids["default"].shape.yx == (64, 64)
        assert r.grids["g20m"].resolution.x == 20 and r.grids["g20m"].shape.yx == (32, 32)
        assert r.cloud_cover == 0
    wgs = [r.footprint_wgs84 for r in recs]
    zones = defaultdict(list)
    for r, g in zip(recs, wgs):
        zones[r.crs].append(g)
    assert shapely.union_all(zones["EPSG:32755"]).intersects(shapely.union_all(zones["EPSG:32756"]))


def test_bad_arguments_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown sample product 's2_l2'.*did you mean 's2_l2a'"):
        generate_scenes(tmp_path, product="s2_l2")
    with pytest.raises(ConfigError, match="unknown region"):
        generate_scenes(tmp_path, region="mars")
    with pytest.raises(ConfigError, match="before start"):
        generate_scenes(tmp_path, start="2020-02-01", end="2020-01-01")
    with pytest.raises(ConfigError, match="format"):
        generate_scenes(tmp_path, formats=("netcdf",))


def test_water_and_cover_derive_from_the_ard_scenes(sample_root, ard_scenes):
    """ga_ls_wo_3 / ga_ls_fc_3 come from the same passes as the ARD (same region codes and
    times, so ``fc+wo`` fuse), their water flags agree with fmask class by class, and the
    cover fractions add up to 100 %."""
    kw = dict(region="au-se-small", start="2020-01-01", end="2020-02-29", size_px=SIZE, seed=3)
    wo = generate_scenes(sample_root, product="ga_ls_wo_3", **kw)
    fc = generate_scenes(sample_root, product="ga_ls_fc_3", **kw)
    key = [(r.region_code, r.datetime) for r in ard_scenes]
    assert [(r.region_code, r.datetime) for r in wo] == key == [(r.region_code, r.datetime) for r in fc]
    water_of_fmask = {0: 1, 1: 0, 2: 64, 3: 32, 5: 128}
    for ard, w, f in zip(ard_scenes, wo, fc):
        fmask, _, _ = _read(ard.band_paths["oa_fmask"])
        water, _, _ = _read(w.band_paths["water"])
        for cls, flags in water_of_fmask.items():
            assert (water[fmask == cls] == flags).all(), (ard.label, cls)
        assert w.cloud_cover == ard.cloud_cover
        cover = {b: _read(f.band_paths[b])[0].astype(int) for b in ("pv", "bs", "npv", "ue")}
        valid = fmask != 0
        assert all((cover[b][~valid] == 255).all() for b in cover)
        total = cover["pv"] + cover["bs"] + cover["npv"]
        assert (abs(total[valid] - 100) <= 2).all()
        assert (cover["ue"][valid] < 100).all()

"""cog_opts as odc-stats reads it, and the COG encoder's layout on real files."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rio_cogeo import cog_validate

from statscore.errors import ConfigError, InputError
from statscore.grid import GRIDS
from statscore.outputs import CogOptions, cog_bytes
from statscore.outputs.cog import overview_levels

GBOX = GRIDS["au_10"].tile_geobox((49, 24))[:1000, :700]


def test_defaults_are_odc_stats_run_defaults():
    o = CogOptions.from_config(None)
    u16, f32 = o.for_band("red", "uint16"), o.for_band("smad", "float32")
    assert (u16.compress, u16.zlevel, u16.blocksize, u16.overview_blocksize) == ("deflate", 9, 800, 256)
    assert (u16.predictor, f32.predictor) == (2, 3)
    assert u16.overview_resampling == "average"
    assert o.for_band("count", "uint16", categorical=True).overview_resampling == "nearest"
    assert not o.rgba


def test_overrides_apply_to_one_band_and_rgba_turns_on_the_preview():
    o = CogOptions.from_config({
        "zlevel": 6, "blocksize": 512,
        "overrides": {"smad": {"compress": "zstd", "zstd_level": 3}, "rgba": {"jpeg_quality": 80}},
        "count": {"overview_resampling": "mode"},  # odc-stats also reads a nested top-level key as an override
    })
    assert o.rgba
    assert o.for_band("red", "uint16").zlevel == 6
    smad = o.for_band("smad", "float32")
    assert (smad.compress, smad.zstd_level, smad.blocksize, smad.predictor) == ("zstd", 3, 512, 3)
    rgba = o.for_band("rgba", "uint8")
    assert (rgba.compress, rgba.jpeg_quality, rgba.predictor) == ("jpeg", 80, 1)
    assert o.for_band("count", "uint16").overview_resampling == "mode"


@pytest.mark.parametrize(
    "cfg, message",
    [
        ({"zlevl": 9}, "cog_opts: unknown key 'zlevl' (did you mean 'zlevel'?)"),
        ({"overrides": {"rgba": {"compres": "jpeg"}}}, "cog_opts.overrides.rgba: unknown key 'compres' (did you mean 'compress'?)"),
        ({"compress": "defalte"}, "(did you mean 'deflate'?)"),
        ({"blocksize": 500}, "cog_opts.blocksize: 500 is not a positive multiple of 16"),
        ({"zlevel": "high"}, "cog_opts.zlevel: expected an integer"),
        ({"overrides": ["rgba"]}, "cog_opts.overrides: expected a mapping"),
    ],
)
def test_bad_cog_opts_name_the_key(cfg, message):
    with pytest.raises(ConfigError) as err:
        CogOptions.from_config(cfg)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_overview_levels_stop_when_the_coarsest_fits_one_block():
    assert overview_levels((256, 256), 256) == []
    assert overview_levels((512, 300), 256) == [2]
    assert overview_levels((3200, 3200), 256) == [2, 4, 8, 16]


def test_encoded_cog_is_valid_with_the_configured_layout(tmp_path):
    settings = CogOptions.from_config({"blocksize": 256, "ovr_blocksize": 128}).for_band("b", "int16")
    pix = (np.arange(1000 * 700).reshape(1000, 700) % 3000 - 1000).astype("int16")
    path = tmp_path / "b.tif"
    path.write_bytes(cog_bytes(pix, GBOX, settings, nodata=-999))
    assert cog_validate(str(path), strict=True) == (True, [], [])
    with rasterio.open(path) as f:
        assert f.block_shapes == [(256, 256)]
        assert f.overviews(1) == [2, 4, 8]
        assert f.nodata == -999 and f.crs.to_epsg() == 3577 and f.transform == GBOX.transform
        assert f.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "2"
        np.testing.assert_array_equal(f.read(1), pix)
    with rasterio.open(path, OVERVIEW_LEVEL=0) as f:
        assert f.block_shapes == [(128, 128)]


@pytest.mark.parametrize("cfg,dtype", [({}, "uint16"), ({"compress": "zstd"}, "float32"),
                                       ({"compress": "jpeg"}, "uint8")])
def test_threaded_compression_writes_the_same_bytes(cfg, dtype):
    """GDAL compresses blocks on several threads (``threads``) into the same file."""
    settings = CogOptions.from_config({"blocksize": 256, "ovr_blocksize": 128, **cfg}).for_band("b", dtype)
    pix = (np.random.default_rng(5).random((1000, 700)) * 200).astype(dtype)
    one = cog_bytes(pix, GBOX, settings)
    assert cog_bytes(pix, GBOX, settings, threads=3) == one


def test_pixels_off_the_tile_or_of_an_unwritable_dtype_name_the_band():
    s = CogOptions().for_band("x", "uint16")
    with pytest.raises(InputError, match="band 'x': pixel shape"):
        cog_bytes(np.zeros((10, 10), "uint16"), GBOX, s, band="x")
    with pytest.raises(InputError, match="band 'z': dtype complex64 cannot be written"):
        cog_bytes(np.zeros(GBOX.shape, "complex64"), GBOX, s, band="z")

"""Registry: short names, dotted class paths, config keys checked with suggestions."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from statscore.errors import ConfigError
from statscore.plugins import StatsPlugin, config_keys, list_plugins, resolve_plugin
from statscore.plugins.gm import StatsGMS2

NAMES = ["dem_in_stats", "fc-percentiles", "gm-generic", "gm-ls", "gm-ls-bitmask", "gm-s2", "lccs_level34",
         "mangroves", "medoid-generic", "model-pixel", "ndvi-median", "pq", "pq-ls-bitmask",
         "s2_gm_tools.S2Cloudless_percentiles", "tcw-percentiles", "veg_class_l1", "veg_count", "wofs-summary",
         "wofs-summary-fh"]


class Doubler(StatsPlugin):
    """A user plugin outside the package, found by dotted path."""

    NAME = "doubler"

    def __init__(self, *, band: str = "x", **kwargs):
        super().__init__(**kwargs)
        self.band = band

    input_bands = property(lambda self: (self.band,))
    measurements = property(lambda self: ("double",))

    def output_dtypes(self):
        return {"double": np.dtype("int32")}

    def output_nodata(self):
        return {"double": -1}

    def reduce(self, xx):
        return self._finish({"double": (xx[self.band] * 2).sum("time")})


def test_registered_names():
    assert list(list_plugins()) == NAMES


def test_short_name_gives_a_configured_instance():
    p = resolve_plugin("gm-s2", {"work_chunks": [512, 512]}, num_threads=1)
    assert isinstance(p, StatsGMS2)
    assert p.work_chunks == [512, 512] and p.num_threads == 1


def test_dotted_path_resolves_a_user_class():
    p = resolve_plugin(f"{Doubler.__module__}.Doubler", band="y")
    ds = xr.Dataset({"y": (("time", "y", "x"), np.array([[[1, 2]], [[3, 4]]]))})
    assert p.reduce(ds)["double"].values.tolist() == [[8, 12]]
    assert p.reduce(ds)["double"].attrs["nodata"] == -1


def test_dotted_path_to_a_builtin_class():
    assert type(resolve_plugin("statscore.plugins.pq.StatsPQ")).__name__ == "StatsPQ"


def test_unknown_name_suggests():
    with pytest.raises(ConfigError, match=r"unknown plugin 'gm-s3' \(did you mean 'gm-s2'\?\).*pq-ls-bitmask"):
        resolve_plugin("gm-s3")


def test_dotted_path_not_found_or_not_a_plugin():
    with pytest.raises(ConfigError, match="not found"):
        resolve_plugin("statscore.plugins.gm.NoSuchPlugin")
    with pytest.raises(ConfigError, match="not a subclass"):
        resolve_plugin("statscore.errors.ConfigError")


def test_unknown_key_names_it_suggests_and_lists_valid_ones():
    with pytest.raises(ConfigError) as err:
        resolve_plugin("gm-s2", cloud_filter={})
    msg = str(err.value)
    assert "'cloud_filter'" in msg and "did you mean 'cloud_filters'" in msg
    assert "valid keys:" in msg and "work_chunks" in msg and "rgb_clamp" in msg


def test_config_keys_follow_kwargs_to_the_base():
    keys = config_keys(StatsGMS2)
    assert keys[:6] == ("bands", "mask_band", "nodata_classes", "cloud_filters", "aux_names", "rgb_bands")
    assert {"contiguity_band", "scale", "offset", "block_bytes", "resampling", "group_by"} <= set(keys)


def test_missing_required_key():
    with pytest.raises(ConfigError, match="gm-generic.*needs plugin_config key.*'bands', 'mask_band'"):
        resolve_plugin("gm-generic")


@pytest.mark.parametrize("cfg, match", [
    ({"cloud_filters": {"cloud shadows": [["openin", 2]]}}, "did you mean 'opening'"),
    ({"cloud_filters": {"cloud shadow": [["opening", 2]]}}, "did you mean 'cloud shadows'"),
    ({"resampling": "bilinar"}, "did you mean 'bilinear'"),
    ({"rgb_clamp": [3000, 1]}, "low < high"),
])
def test_bad_values_are_config_errors(cfg, match):
    with pytest.raises(ConfigError, match=match):
        resolve_plugin("gm-s2", **cfg)


@pytest.mark.parametrize("name", NAMES)
def test_output_metadata_covers_every_band(name, tmp_path):
    cfg = {"bands": ["a", "b"], "mask_band": "m"} if name in ("gm-generic", "medoid-generic") else {}
    if name == "dem_in_stats":
        cfg = {"input_bands": ["dem_h"]}
    if name == "mangroves":
        extent = tmp_path / "extent.geojson"
        extent.write_text('{"type": "Polygon", "coordinates": [[[150, -34], [151, -34], [151, -33], [150, -34]]]}')
        cfg = {"mangroves_extent": str(extent)}
    if name == "veg_class_l1":
        cfg = {"output_classes": {c: i for i, c in enumerate(("water", "surface", "terrestrial_veg", "intertidal",
                                                               "aquatic_veg_herb", "aquatic_veg_wood"))}}
    if name == "lccs_level34":
        (tmp_path / "classes.csv").write_text("level3,level4,level_3_4\n110,1,110\n")
        (tmp_path / "urban.geojson").write_text(
            '{"type": "Polygon", "coordinates": [[[150, -34], [151, -34], [151, -33], [150, -34]]]}')
        cfg = {"class_def_path": str(tmp_path / "classes.csv"), "urban_mask": str(tmp_path / "urban.geojson"),
               "class_condition": {"level3": ["level_3_4"], "level4": ["level3"]},
               "input_bands": ["level_3_4", "artificial_surface"]}
    if name == "model-pixel":  # the model opens on first use, not here
        (tmp_path / "model.so").write_bytes(b"")
        cfg = {"model_path": str(tmp_path / "model.so"), "bands": ["a", "b"]}
    p = resolve_plugin(name, **cfg)
    assert list(p.output_dtypes()) == list(p.measurements)
    assert list(p.output_nodata()) == list(p.measurements)
    assert set(p.categorical_bands) <= set(p.measurements)
    assert p.group_by == "solar_day"

import pytest

from statscore.config import RunConfig, load_run_config
from statscore.errors import ConfigError, InputError
from statscore.run import parse_memory, select_tasks
from statscore.task import TileIdx

TASKS = [TileIdx("2019--P1Y", x, y) for x in range(3) for y in range(2)] + [TileIdx("2020--P1Y", 0, 0)]


def test_no_spec_means_all():
    assert select_tasks(TASKS, []) == TASKS


@pytest.mark.parametrize("spec,expected", [
    (["0"], [TASKS[0]]),
    (["-1"], [TASKS[-1]]),
    (["::3"], TASKS[::3]),
    (["2:4"], TASKS[2:4]),
    (["x01/y01/2019--P1Y", "2020--P1Y/0/0"], [TileIdx("2019--P1Y", 1, 1), TileIdx("2020--P1Y", 0, 0)]),
    (["0", "0", ":1"], [TASKS[0]]),
])
def test_indexes_slices_and_triplets(spec, expected):
    assert select_tasks(TASKS, spec) == expected


@pytest.mark.parametrize("spec,needle", [(["7"], "out of range"), (["::0"], "step cannot be 0"),
                                         (["2021--P1Y/0/0"], "not in the cache"), (["nonsense"], "expected forms")])
def test_bad_selection(spec, needle):
    with pytest.raises(InputError, match=needle):
        select_tasks(TASKS, spec)


def test_memory_sizes():
    assert parse_memory("8G") == 8 << 30
    assert parse_memory("500MiB") == 500 << 20
    assert parse_memory("") is None
    with pytest.raises(ConfigError):
        parse_memory("lots")


def test_run_config_rejects_misspelt_keys(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("plugin: gm-s2\nmax_procesing_time: 60\n")
    with pytest.raises(ConfigError, match=r"unknown key 'max_procesing_time' \(did you mean 'max_processing_time'\?\)"):
        load_run_config(p)
    p.write_text("product:\n  shortname: gm\n")
    with pytest.raises(ConfigError, match=r"'product.shortname' \(did you mean 'short_name'\?\)"):
        load_run_config(p)


def test_cli_values_override_the_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("plugin: gm-s2\nthreads: 4\nproduct:\n  name: a\n  version: 1.0.0\n")
    cfg = load_run_config(p).merged(threads=2, product={"name": "b"}, plugin=None)
    assert (cfg.plugin, cfg.threads, cfg.product.name, cfg.product.version) == ("gm-s2", 2, "b", "1.0.0")
    assert RunConfig().job_queue_max_lease == 300 and RunConfig().renew_safety_margin == 30


def test_dataset_filters_any_object_all_keys():
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from statscore.run import dataset_filter

    def ds(platform, when):
        return SimpleNamespace(metadata_doc={"properties": {"eo:platform": platform}},
                               center_time=datetime.fromisoformat(when).replace(tzinfo=timezone.utc))

    keep = dataset_filter('{"eo:platform": "landsat-8", "datetime": "2019-03--P1M"}|{"eo:platform": "landsat-9"}')
    assert keep(ds("landsat-8", "2019-03-31T23:00:00"))
    assert not keep(ds("landsat-8", "2019-04-01T00:00:00"))
    assert keep(ds("landsat-9", "2020-01-01T00:00:00"))
    assert not keep(ds("sentinel-2a", "2019-03-02T00:00:00"))
    with pytest.raises(ConfigError, match="not valid JSON"):
        dataset_filter("{oops")


def test_output_product_takes_plugin_defaults_where_config_is_silent():
    from statscore.plugins import resolve_plugin
    from statscore.run import output_product

    gm = resolve_plugin("gm-s2", {})
    p = output_product(RunConfig(), gm, "s3://bucket/prefix/")
    assert (p.name, p.short_name, p.product_family, p.location) == (gm.NAME, gm.SHORT_NAME, "geomedian", "s3://bucket/prefix")
    cfg = RunConfig().merged(product={"name": "ga_s2_gm_cyear_3", "version": "1.0.0", "product_family": "gm",
                                      "maturity": "final"})
    p = output_product(cfg, gm, "file:///out")
    assert (p.name, p.version, p.product_family, p.maturity) == ("ga_s2_gm_cyear_3", "1.0.0", "gm", "final")


def test_resampling_reaches_the_plugin_as_odc_stats_passes_it(tmp_path):
    from statscore.plugins import resolve_plugin

    f = tmp_path / "c.yaml"
    f.write_text("plugin: gm-s2\nplugin_config: {resampling: bilinear, aux_names: {count: CLEAR}}\n")
    cfg = load_run_config(f).merged(resampling="nearest")  # --resampling wins over the file
    assert cfg.plugin_config == {"resampling": "nearest", "aux_names": {"count": "CLEAR"}}
    assert resolve_plugin(cfg.plugin, cfg.plugin_config).resampling_for("B04") == "nearest"
    assert load_run_config(f).plugin_config["resampling"] == "bilinear"

"""``odc-stats estimate`` and ``calibrate`` on a small real cache: sizes from footprints, seconds
per task from the model, worker-hours and cost; a calibration that times real tasks."""

from __future__ import annotations

import json

import pytest
import shapely
import yaml
from click.testing import CliRunner

from statscore.cli import main
from statscore.ops.estimate import cache_task_sizes, task_sizes
from statscore.ops.prices import worker_price
from statscore.ops.runtime import load_model
from statscore.run import TaskReader


def test_observations_are_the_tile_pixels_each_day_covers(planned):
    from datacube.api.query import solar_day

    reader = TaskReader(str(planned.db))
    sizes, missing = task_sizes(reader, reader.all_tiles)
    assert missing == 0 and len(sizes) == len(reader.all_tiles)
    gs = reader.gridspec
    for tile, size in zip(reader.all_tiles, sizes):
        dss = [reader.cache.get(u) for u in reader.tasks[tile]]
        assert size.datasets == len(dss) and size.pixels == 400 * 400  # 32 km tiles of 80 m
        # by hand: each solar day's union of footprints on the tile, in pixels
        box = shapely.box(*gs.tile_geobox((tile.x, tile.y)).boundingbox)
        days: dict = {}
        for ds in dss:
            days.setdefault(solar_day(ds), []).append(ds.extent.to_crs(gs.crs, resolution="auto").geom)
        exact = sum(shapely.union_all(g).intersection(box).area for g in days.values()) / 80 ** 2
        assert size.observations == pytest.approx(exact, abs=1), (tile, size, exact)
        assert 0 < size.observations <= size.datasets * size.pixels


def test_a_cache_without_documents_is_sized_from_its_counts(tmp_path):
    from benchmarks.bench_enumerate import continental_cache

    path = str(tmp_path / "plan.db")
    continental_cache(path, 200)
    sizes, missing = cache_task_sizes(path)
    assert len(sizes) == 200 and missing == sum(s.datasets for s in sizes) > 0
    assert all(s.observations == s.datasets * s.pixels and s.pixels == 1600 * 1600 for s in sizes)


def test_estimate_command_prices_the_predicted_worker_hours(planned):
    r = CliRunner().invoke(main, ["estimate", str(planned.db), "--plugin", "pq", "--threads", "2", "--json"])
    assert r.exit_code == 0, r.output
    est = json.loads(r.output)
    model = load_model(None).get("pq", 2)
    assert est["tiles"] == len(est["tasks"]) == len(TaskReader(str(planned.db)).all_tiles)
    for t in est["tasks"]:
        assert t["seconds"] == pytest.approx(float(model.seconds(t["pixels"], t["observations"])), abs=0.01)
    assert est["worker_hours"] == pytest.approx(sum(t["seconds"] for t in est["tasks"]) / 3600, rel=1e-3)
    price = worker_price(["r6i.4xlarge", "r6a.4xlarge", "r5.4xlarge"], spot=True, job_vcpus=2)
    assert est["prices"] == price.to_dict()
    assert est["cost_usd"] == pytest.approx(est["worker_hours"] * price.usd_per_hour, rel=1e-3)
    human = CliRunner().invoke(main, ["estimate", str(planned.db), "0", "--plugin", "pq", "--threads", "2",
                                      "--on-demand", "--instance-type", "m6i.4xlarge"])
    assert human.exit_code == 0 and "1 tiles" in human.output and "on-demand m6i.4xlarge" in human.output, human.output


def test_calibrate_times_real_tasks_and_writes_a_model_estimate_reads(planned, tmp_path):
    out = tmp_path / "model.yaml"
    r = CliRunner().invoke(main, ["calibrate", str(planned.db), "0", "1", "--plugin", "pq", "--threads", "1",
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    doc = yaml.safe_load(out.read_text())
    pq = doc["plugins"]["pq"][1]
    assert len(pq["points"]) == 2 and all(p["seconds"] > 0 for p in pq["points"])
    assert pq["calibrated"]["how"].startswith("load, reduce and write") and pq["calibrated"]["cpus"] >= 1
    # --append adds to the points of the same plugin and thread count
    r = CliRunner().invoke(main, ["calibrate", str(planned.db), "2", "--plugin", "pq", "--threads", "1",
                                  "-o", str(out), "--append"])
    assert r.exit_code == 0 and len(yaml.safe_load(out.read_text())["plugins"]["pq"][1]["points"]) == 3
    r = CliRunner().invoke(main, ["estimate", str(planned.db), "--plugin", "pq", "--threads", "1", "--model", str(out),
                                  "--json"])
    model = load_model(out).get("pq", 1)
    assert json.loads(r.output)["model"]["intercept"] == pytest.approx(model.intercept)


def test_estimate_names_a_plugin_without_calibration(planned):
    r = CliRunner().invoke(main, ["estimate", str(planned.db), "--plugin", "gm-ls"])
    assert r.exit_code == 1 and "no calibration for plugin 'gm-ls'" in r.output and "odc-stats calibrate" in r.output

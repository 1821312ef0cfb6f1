"""What a task used, measured in its process; a run's totals; the EMF lines the workers print."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import xarray as xr

from statscore.ops.prices import worker_price
from statscore.ops.usage import TaskMeter, add_up, emf_record, used_observations
from statscore.plugins import resolve_plugin


def test_meter_counts_cpu_wall_and_the_tasks_own_peak(tmp_path):
    with TaskMeter() as big:
        block = np.ones(300 * 2**20 // 8)  # 300 MiB touched
        float(block.sum())
        del block
    with TaskMeter() as small:
        sum(i * i for i in range(2_000_000))
    b, s = big.usage(), small.usage()
    assert b.peak_memory_bytes > 300 * 2**20
    assert s.peak_memory_bytes < b.peak_memory_bytes - 200 * 2**20  # the high-water mark was reset per task
    assert s.cpu_seconds > 0.05 and s.wall_seconds >= s.cpu_seconds * 0.5


def test_meter_counts_the_bytes_a_task_reads(tmp_path):
    f = tmp_path / "input.bin"
    f.write_bytes(os.urandom(5 * 2**20))
    with TaskMeter() as m:
        f.read_bytes()
    assert 5 * 2**20 <= m.usage().bytes_read < 6 * 2**20


def test_observations_are_the_count_band_without_nodata():
    gm = resolve_plugin("gm-s2")
    result = xr.Dataset({"B02": (("y", "x"), np.zeros((2, 2), "uint16")),
                         "COUNT": (("y", "x"), np.array([[3, 0], [5, 1]], "uint16"))})
    assert used_observations(result, gm) == 9
    wofs = resolve_plugin("wofs-summary")
    counts = xr.Dataset({"count_clear": (("y", "x"), np.array([[4, -999], [2, 0]], "int16"))})
    assert used_observations(counts, wofs) == 6
    assert used_observations(xr.Dataset({"x": (("y",), np.ones(3))}), gm) is None


def test_add_up_sums_maxes_and_prices():
    price = worker_price(["r6i.4xlarge"], spot=True, job_vcpus=16)
    rows = [{"cpu_seconds": 10, "wall_seconds": 1800, "peak_memory_bytes": 5, "bytes_read": 100, "observations": 7},
            {"cpu_seconds": 2.5, "wall_seconds": 1800, "peak_memory_bytes": 9, "bytes_read": 1, "observations": 3},
            {"state": "PENDING"}]
    u = add_up(rows, price)
    assert {k: u[k] for k in ("tasks", "cpu_seconds", "wall_seconds", "peak_memory_bytes", "bytes_read",
                              "observations", "worker_hours")} == {
        "tasks": 2, "cpu_seconds": 12.5, "wall_seconds": 3600, "peak_memory_bytes": 9, "bytes_read": 101,
        "observations": 10, "worker_hours": 1.0}
    assert u["cost_usd"] == pytest.approx(price.usd_per_hour)
    assert u["prices"] == {"source": price.source, "as_of": price.as_of, "instance_type": "r6i.4xlarge",
                           "pricing": "spot", "usd_per_hour": price.usd_per_hour}


def test_emf_record_follows_the_specification():
    doc = json.loads(emf_record({"TasksDone": (1, "Count"), "TaskSeconds": (12.5, "Seconds")}, {"Product": "p"},
                                {"task": "2020--P1Y/1/2"}, timestamp_ms=1_700_000_000_000))
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert doc["_aws"]["Timestamp"] == 1_700_000_000_000
    assert directive == {"Namespace": "statscore", "Dimensions": [["Product"]],
                         "Metrics": [{"Name": "TasksDone", "Unit": "Count"}, {"Name": "TaskSeconds", "Unit": "Seconds"}]}
    # every dimension and metric named in the directive is a member of the root
    assert (doc["Product"], doc["TasksDone"], doc["TaskSeconds"], doc["task"]) == ("p", 1, 12.5, "2020--P1Y/1/2")

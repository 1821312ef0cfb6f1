"""Same cache, same tile: our gm-s2 and pq products against odc-stats 1.9.14's own run.

odc-stats runs from the cache *we* wrote (so the cache format is shared both ways), as a
separate process (``python -m odc.stats run``).
"""

from __future__ import annotations

import pytest

from benchmarks._runscene import compare, make_task, ours_cmd, ref_cmd, run_measured


@pytest.fixture(scope="module")
def task_db(tmp_path_factory):
    return make_task(tmp_path_factory.mktemp("parity"), 128)


@pytest.mark.parametrize("plugin", ["gm-s2", "pq"])
def test_outputs_agree_with_odc_stats(task_db, tmp_path, plugin):
    _, _, ours = run_measured(ours_cmd(task_db, plugin, tmp_path / "ours"), timeout=600)
    assert ours.returncode == 0, ours.stderr[-2000:]
    _, _, ref = run_measured(ref_cmd(task_db, plugin, tmp_path / "ref", work_chunk=128), timeout=600)
    assert ref.returncode == 0, ref.stderr[-2000:]
    cmp = compare(tmp_path / "ours", tmp_path / "ref")
    assert cmp["same_names"] and cmp["same_id"]
    bands = cmp["bands"]
    assert all(v["nan_mismatch"] == 0 for v in bands.values()), bands
    if plugin == "gm-s2":
        assert len(bands) == 14
        for b in ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"):
            assert bands[b]["max_abs"] <= 1, (b, bands[b])  # rounding vs odc-stats' truncation
        assert bands["SMAD"]["max_abs"] < 1e-4 and bands["BCMAD"]["max_abs"] < 1e-4
        assert bands["EMAD"]["max_abs"] * 1e-4 < 1e-4  # EMAD is in DN (reflectance / 1e-4)
        assert bands["COUNT"]["max_abs"] == 0
    else:
        assert set(bands) == {"total", "clear", "clear_2_5", "clear_0_5"}
        assert all(v["max_abs"] == 0 for v in bands.values()), bands

"""The command line: writes products and scenes, one clear line on bad input."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "statscore.sampledata", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_products_and_scenes(tmp_path):
    res = run(str(tmp_path), "--product", "ls8_c2l2_sr", "--start", "2020-03-01", "--end", "2020-03-16",
              "--size", "32", "--seed", "1")
    assert res.returncode == 0, res.stderr
    assert "ls8_c2l2_sr: 4 scenes, 4 tiles" in res.stdout
    assert len(list(tmp_path.glob("products/*.odc-product.yaml"))) == 5
    assert len(list(tmp_path.glob("ls8_c2l2_sr/*/*/*/*/*/*/*.stac-item.json"))) == 4
    assert len(list(tmp_path.glob("ls8_c2l2_sr/*/*/*/*/*/*/*_QA_PIXEL.tif"))) == 4


def test_cli_bad_region_is_one_line_and_nonzero(tmp_path):
    res = run(str(tmp_path), "--region", "au_se")
    assert res.returncode != 0
    assert res.stderr.strip().splitlines() == [
        "error: unknown region 'au_se' (did you mean 'au-se'?); valid names: au-se, au-se-small, nz, africa, australia"]
    assert not (tmp_path / "products").exists()
